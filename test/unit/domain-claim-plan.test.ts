// What each side of a claim does next (domain/claim-plan.ts), every branch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planClaim } from '../../domain/claim-plan.js';
import { BCB_CLAIM_PERIODS, claimerDeadline } from '../../domain/claims.js';
import type { ClaimRole, ClaimStatus, ClaimType, ExtendedClaim } from '../../domain/types.js';

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

test('claimer, ownership: our user is asked to validate possession when the closing period ends; day 30 without it cancels', () => {
  const o = claim('OWNERSHIP', 'CONFIRMED');
  const d30 = claimerDeadline(o, P);
  assert.equal(d30, new Date(OPENED + 30 * DAY).toISOString());
  assert.deepEqual(planClaim('CLAIMER', o, OPENED + 10 * DAY, P), { deadline: o.completionPeriodEnd, onDeadline: 'ASK_POSSESSION_VALIDATION' });
  assert.deepEqual(planClaim('CLAIMER', o, OPENED + 14 * DAY, P), { due: 'ASK_POSSESSION_VALIDATION' });
  assert.deepEqual(planClaim('CLAIMER', o, OPENED + 20 * DAY, P, { possessionAsked: true }), { deadline: d30, onDeadline: 'CANCEL_DEFAULT_OPERATION' });
  assert.deepEqual(planClaim('CLAIMER', o, OPENED + 30 * DAY, P, { possessionAsked: true }), { due: 'CANCEL_DEFAULT_OPERATION' });
  // Before DICT confirms there is nothing to validate yet; day 30 still frees the key.
  assert.deepEqual(planClaim('CLAIMER', claim('OWNERSHIP', 'WAITING_RESOLUTION'), OPENED + DAY, P), { deadline: d30, onDeadline: 'CANCEL_DEFAULT_OPERATION' });
  assert.deepEqual(planClaim('CLAIMER', claim('OWNERSHIP', 'WAITING_RESOLUTION'), OPENED + 31 * DAY, P), { due: 'CANCEL_DEFAULT_OPERATION' });
});

test('final claims plan nothing', () => {
  for (const role of ['DONOR', 'CLAIMER'] as ClaimRole[]) {
    for (const s of ['COMPLETED', 'CANCELLED'] as ClaimStatus[]) assert.deepEqual(planClaim(role, claim('OWNERSHIP', s), OPENED, P), {});
  }
});

