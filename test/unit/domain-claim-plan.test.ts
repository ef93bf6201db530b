// What each side of a claim does next (domain/claim-plan.ts) and which decisions DICT's tables
// allow (domain/claim-decisions.ts): pure rules, every branch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisionRefusal, type ClaimDecisionOp } from '../../domain/claim-decisions.js';
import { BCB_CLAIM_PERIODS, claimerDeadline, planClaim } from '../../domain/claim-plan.js';
import type { ClaimOperationReason, ClaimRole, ClaimStatus, ClaimType, ExtendedClaim } from '../../domain/types.js';

const DAY = 24 * 60 * 60 * 1000;
const OPENED = Date.parse('2026-11-01T12:00:00Z');

function claim(type: ClaimType, status: ClaimStatus, extra: Partial<ExtendedClaim> = {}): ExtendedClaim {
  return {
    id: '7b2f1f0e-8a5e-4c1a-9d57-0c1e6f3b2a10',
    type,
    key: type === 'OWNERSHIP' ? '+5561988880000' : '11144477735',
    keyType: type === 'OWNERSHIP' ? 'PHONE' : 'CPF',
    claimerAccount: { participant: '12345678', branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2020-01-10T03:00:00Z' },
    claimer: { type: 'NATURAL_PERSON', taxIdNumber: '11144477735', name: 'Maria da Silva' },
    donorParticipant: '87654321',
    status,
    resolutionPeriodEnd: new Date(OPENED + 7 * DAY).toISOString(),
    ...(type === 'OWNERSHIP' ? { completionPeriodEnd: new Date(OPENED + 14 * DAY).toISOString() } : {}),
    lastModified: new Date(OPENED).toISOString(),
    ...extra,
  };
}

const P = BCB_CLAIM_PERIODS;

test('donor: acknowledge an OPEN claim at once', () => {
  assert.deepEqual(planClaim('DONOR', claim('PORTABILITY', 'OPEN'), OPENED, P), { due: 'ACKNOWLEDGE' });
  assert.deepEqual(planClaim('DONOR', claim('OWNERSHIP', 'OPEN'), OPENED, P), { due: 'ACKNOWLEDGE' });
});

test('donor, silent user: portability is cancelled, ownership confirmed, at ResolutionPeriodEnd', () => {
  const p = claim('PORTABILITY', 'WAITING_RESOLUTION');
  assert.deepEqual(planClaim('DONOR', p, OPENED + DAY, P), { deadline: p.resolutionPeriodEnd, onDeadline: 'CANCEL_DEFAULT_OPERATION' });
  assert.deepEqual(planClaim('DONOR', p, OPENED + 7 * DAY, P), { due: 'CANCEL_DEFAULT_OPERATION' });
  const o = claim('OWNERSHIP', 'WAITING_RESOLUTION');
  assert.deepEqual(planClaim('DONOR', o, OPENED + DAY, P), { deadline: o.resolutionPeriodEnd, onDeadline: 'CONFIRM_DEFAULT_OPERATION' });
  assert.deepEqual(planClaim('DONOR', o, OPENED + 7 * DAY + 1, P), { due: 'CONFIRM_DEFAULT_OPERATION' });
});

test('donor, ownership CONFIRMED: the closing period runs to CompletionPeriodEnd, then nothing is ours to do', () => {
  const o = claim('OWNERSHIP', 'CONFIRMED');
  assert.deepEqual(planClaim('DONOR', o, OPENED + 8 * DAY, P), { deadline: o.completionPeriodEnd, onDeadline: 'CLOSING_PERIOD_END' });
  assert.deepEqual(planClaim('DONOR', o, OPENED + 15 * DAY, P), {});
  assert.deepEqual(planClaim('DONOR', claim('PORTABILITY', 'CONFIRMED'), OPENED + DAY, P), {});
});

test('claimer, portability: complete as soon as CONFIRMED; otherwise wait for the donor', () => {
  assert.deepEqual(planClaim('CLAIMER', claim('PORTABILITY', 'CONFIRMED'), OPENED + DAY, P), { due: 'COMPLETE' });
  const w = claim('PORTABILITY', 'WAITING_RESOLUTION');
  assert.deepEqual(planClaim('CLAIMER', w, OPENED + DAY, P), { deadline: w.resolutionPeriodEnd, onDeadline: 'AWAIT_USER' });
  assert.deepEqual(planClaim('CLAIMER', w, OPENED + 8 * DAY, P), {});
});

test('claimer, ownership: day 30 without possession validation cancels with DEFAULT_OPERATION', () => {
  const o = claim('OWNERSHIP', 'CONFIRMED');
  const d30 = claimerDeadline(o, P);
  assert.equal(d30, new Date(OPENED + 30 * DAY).toISOString());
  assert.deepEqual(planClaim('CLAIMER', o, OPENED + 20 * DAY, P), { deadline: d30, onDeadline: 'CANCEL_DEFAULT_OPERATION' });
  assert.deepEqual(planClaim('CLAIMER', o, OPENED + 30 * DAY, P), { due: 'CANCEL_DEFAULT_OPERATION' });
  assert.deepEqual(planClaim('CLAIMER', claim('OWNERSHIP', 'WAITING_RESOLUTION'), OPENED + 31 * DAY, P), { due: 'CANCEL_DEFAULT_OPERATION' });
});

test('final claims plan nothing', () => {
  for (const role of ['DONOR', 'CLAIMER'] as ClaimRole[]) {
    for (const s of ['COMPLETED', 'CANCELLED'] as ClaimStatus[]) assert.deepEqual(planClaim(role, claim('OWNERSHIP', s), OPENED, P), {});
  }
});

// ---- decisions ----
const ask = (op: ClaimDecisionOp, role: ClaimRole, c: ExtendedClaim, reason: ClaimOperationReason | undefined, now = OPENED + DAY) =>
  decisionRefusal({ op, role, claim: c, ...(reason ? { reason } : {}), now, claimerDeadline: claimerDeadline(c, P) })?.bcbError;

test('confirmClaim table: who may confirm, by type and reason', () => {
  const o = claim('OWNERSHIP', 'WAITING_RESOLUTION');
  const p = claim('PORTABILITY', 'WAITING_RESOLUTION');
  assert.equal(ask('CONFIRM', 'DONOR', o, 'USER_REQUESTED'), undefined);
  assert.equal(ask('CONFIRM', 'CLAIMER', o, 'USER_REQUESTED'), 'ClaimOperationInvalid');
  assert.equal(ask('CONFIRM', 'DONOR', o, 'ACCOUNT_CLOSURE'), 'InvalidReason');
  assert.equal(ask('CONFIRM', 'DONOR', o, 'DEFAULT_OPERATION'), 'ClaimResolutionPeriodNotEnded');
  assert.equal(ask('CONFIRM', 'DONOR', o, 'DEFAULT_OPERATION', OPENED + 7 * DAY), undefined);
  assert.equal(ask('CONFIRM', 'DONOR', p, 'USER_REQUESTED'), undefined);
  assert.equal(ask('CONFIRM', 'DONOR', p, 'ACCOUNT_CLOSURE'), undefined);
  assert.equal(ask('CONFIRM', 'DONOR', p, 'DEFAULT_OPERATION'), 'InvalidReason');
  assert.equal(ask('CONFIRM', 'CLAIMER', p, 'ACCOUNT_CLOSURE'), 'ClaimOperationInvalid');
  assert.equal(ask('CONFIRM', 'DONOR', claim('PORTABILITY', 'OPEN'), 'USER_REQUESTED'), 'ClaimOperationInvalid');
  assert.equal(ask('CONFIRM', 'DONOR', claim('PORTABILITY', 'CONFIRMED'), 'USER_REQUESTED'), 'ClaimOperationInvalid');
  assert.equal(ask('CONFIRM', 'DONOR', p, undefined), 'InvalidReason');
});

test('cancelClaim, portability: the reason table, statuses and exceptions', () => {
  const w = claim('PORTABILITY', 'WAITING_RESOLUTION');
  const cases: [ClaimOperationReason, ClaimRole, string | undefined][] = [
    ['USER_REQUESTED', 'DONOR', undefined],
    ['USER_REQUESTED', 'CLAIMER', undefined],
    ['ACCOUNT_CLOSURE', 'DONOR', 'ClaimOperationInvalid'],
    ['ACCOUNT_CLOSURE', 'CLAIMER', undefined],
    ['DEFAULT_OPERATION', 'CLAIMER', 'ClaimOperationInvalid'],
    ['FRAUD', 'DONOR', undefined],
    ['FRAUD', 'CLAIMER', undefined],
    ['RECONCILIATION', 'DONOR', 'ClaimOperationInvalid'],
    ['RFB_VALIDATION', 'CLAIMER', undefined],
  ];
  for (const [reason, role, want] of cases) assert.equal(ask('CANCEL', role, w, reason), want, `${role} ${reason}`);
  // DEFAULT_OPERATION only once ResolutionPeriodEnd has passed.
  assert.equal(ask('CANCEL', 'DONOR', w, 'DEFAULT_OPERATION'), 'ClaimResolutionPeriodNotEnded');
  assert.equal(ask('CANCEL', 'DONOR', w, 'DEFAULT_OPERATION', OPENED + 7 * DAY), undefined);
  // RECONCILIATION: allowed while OPEN, not while WAITING_RESOLUTION.
  assert.equal(ask('CANCEL', 'CLAIMER', claim('PORTABILITY', 'OPEN'), 'RECONCILIATION'), undefined);
  assert.equal(ask('CANCEL', 'CLAIMER', w, 'RECONCILIATION'), 'ClaimOperationInvalid');
  // CONFIRMED: only the claimer, only FRAUD, RECONCILIATION or RFB_VALIDATION.
  const c = claim('PORTABILITY', 'CONFIRMED');
  assert.equal(ask('CANCEL', 'CLAIMER', c, 'FRAUD'), undefined);
  assert.equal(ask('CANCEL', 'CLAIMER', c, 'RECONCILIATION'), undefined);
  assert.equal(ask('CANCEL', 'CLAIMER', c, 'USER_REQUESTED'), 'ClaimOperationInvalid');
  assert.equal(ask('CANCEL', 'DONOR', c, 'FRAUD'), 'ClaimOperationInvalid');
  assert.equal(ask('CANCEL', 'CLAIMER', claim('PORTABILITY', 'COMPLETED'), 'FRAUD'), 'ClaimOperationInvalid');
});

test('cancelClaim, ownership: the claimer cancels; the donor only with FRAUD; DEFAULT_OPERATION after day 30', () => {
  const w = claim('OWNERSHIP', 'WAITING_RESOLUTION');
  const c = claim('OWNERSHIP', 'CONFIRMED');
  assert.equal(ask('CANCEL', 'CLAIMER', w, 'USER_REQUESTED'), undefined);
  assert.equal(ask('CANCEL', 'DONOR', w, 'USER_REQUESTED'), 'ClaimOperationInvalid');
  assert.equal(ask('CANCEL', 'DONOR', w, 'FRAUD'), undefined);
  // The donor's user proves possession in the closing period: FRAUD cancel of a CONFIRMED claim.
  assert.equal(ask('CANCEL', 'DONOR', c, 'FRAUD', OPENED + 10 * DAY), undefined);
  assert.equal(ask('CANCEL', 'CLAIMER', c, 'DEFAULT_OPERATION', OPENED + 29 * DAY), 'ClaimCompletionPeriodNotEnded');
  assert.equal(ask('CANCEL', 'CLAIMER', c, 'DEFAULT_OPERATION', OPENED + 30 * DAY), undefined);
  assert.equal(ask('CANCEL', 'CLAIMER', claim('OWNERSHIP', 'CANCELLED'), 'USER_REQUESTED'), 'ClaimOperationInvalid');
});

test('completeClaim: the claimer, CONFIRMED, and for ownership after CompletionPeriodEnd', () => {
  const o = claim('OWNERSHIP', 'CONFIRMED');
  assert.equal(ask('COMPLETE', 'CLAIMER', o, undefined, OPENED + 10 * DAY), 'ClaimCompletionPeriodNotEnded');
  assert.equal(ask('COMPLETE', 'CLAIMER', o, undefined, OPENED + 14 * DAY), undefined);
  assert.equal(ask('COMPLETE', 'DONOR', o, undefined, OPENED + 14 * DAY), 'ClaimOperationInvalid');
  assert.equal(ask('COMPLETE', 'CLAIMER', claim('PORTABILITY', 'CONFIRMED'), undefined), undefined);
  assert.equal(ask('COMPLETE', 'CLAIMER', claim('PORTABILITY', 'WAITING_RESOLUTION'), undefined), 'ClaimOperationInvalid');
});
