// domain/claims.ts against DICT API v2.6.1's claim tables, cell by cell: the createClaim key-type
// table, ClaimTypeInconsistent, the status machine, the confirm and cancel permission tables
// (type × role × reason), each status, and each deadline on both sides of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BCB_CLAIM_PERIODS,
  CANCEL_REASONS,
  CONFIRM_REASONS,
  applyClaimOperation,
  canTransition,
  checkAcknowledge,
  checkCancel,
  checkClaimCreation,
  checkClaimOperation,
  checkComplete,
  checkConfirm,
  claimDeadlines,
  claimOpenedAt,
  claimerDeadline,
  isClaimAllowed,
  isFinalClaimStatus,
  type ClaimCheck,
} from '../../domain/claims.js';
import {
  CLAIM_OPERATION_REASONS,
  CLAIM_ROLES,
  CLAIM_STATUSES,
  CLAIM_TYPES,
  KEY_TYPES,
  type ClaimOperationReason,
  type ClaimRole,
  type ClaimStatus,
  type ClaimType,
  type ExtendedClaim,
  type KeyType,
} from '../../domain/types.js';

const DAY = 86_400_000;
const OPENED = '2024-05-01T10:00:00.000Z';
const at = (days: number, extraMs = 0): string => new Date(Date.parse(OPENED) + days * DAY + extraMs).toISOString();

function claim(type: ClaimType, status: ClaimStatus, extra: Partial<ExtendedClaim> = {}): ExtendedClaim {
  return {
    type,
    key: type === 'OWNERSHIP' ? '+5561988887777' : '11122233300',
    keyType: type === 'OWNERSHIP' ? 'PHONE' : 'CPF',
    claimerAccount: { participant: '12345678', branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2010-01-10T03:00:00.000Z' },
    claimer: { type: 'NATURAL_PERSON', taxIdNumber: '11122233300', name: 'João Silva' },
    id: '123e4567-e89b-42d3-a456-426655440000',
    donorParticipant: '87654321',
    status,
    ...claimDeadlines(type, OPENED),
    lastModified: OPENED,
    ...extra,
  };
}

const err = (c: ClaimCheck): string => (c.ok ? (c.replay ? 'replay' : 'ok') : c.error);

test('createClaim table: ownership only PHONE; portability every type but EVP', () => {
  const table: Record<KeyType, [boolean, boolean]> = {
    CPF: [false, true],
    CNPJ: [false, true],
    PHONE: [true, true],
    EMAIL: [false, true],
    EVP: [false, false],
  };
  for (const kt of KEY_TYPES) {
    assert.equal(isClaimAllowed('OWNERSHIP', kt), table[kt][0], `OWNERSHIP ${kt}`);
    assert.equal(isClaimAllowed('PORTABILITY', kt), table[kt][1], `PORTABILITY ${kt}`);
    for (const [i, type] of (['OWNERSHIP', 'PORTABILITY'] as const).entries()) {
      const owner = type === 'OWNERSHIP' ? '22233344405' : '11122233300';
      const r = checkClaimCreation({ type, keyType: kt, claimerTaxIdNumber: '11122233300', claimerParticipant: '12345678', entry: { keyType: kt, ownerTaxIdNumber: owner, participant: '87654321' } });
      assert.equal(err(r), table[kt][i] ? 'ok' : 'ClaimInvalid', `${type} ${kt}`);
    }
  }
});

test('ClaimTypeInconsistent: ownership needs another person, portability the same person', () => {
  const base = { keyType: 'PHONE' as const, claimerTaxIdNumber: '11122233300', claimerParticipant: '12345678' };
  const same = { keyType: 'PHONE' as const, ownerTaxIdNumber: '11122233300', participant: '87654321' };
  const other = { ...same, ownerTaxIdNumber: '22233344405' };
  assert.equal(err(checkClaimCreation({ ...base, type: 'OWNERSHIP', entry: same })), 'ClaimTypeInconsistent');
  assert.equal(err(checkClaimCreation({ ...base, type: 'OWNERSHIP', entry: other })), 'ok');
  assert.equal(err(checkClaimCreation({ ...base, type: 'PORTABILITY', entry: other })), 'ClaimTypeInconsistent');
  assert.equal(err(checkClaimCreation({ ...base, type: 'PORTABILITY', entry: same })), 'ok');
  // Portability to the participant already holding the key: that entry exists already.
  assert.equal(err(checkClaimCreation({ ...base, type: 'PORTABILITY', entry: { ...same, participant: '12345678' } })), 'ClaimResultingEntryAlreadyExists');
  // Ownership within one participant (two customers) is a real change of owner.
  assert.equal(err(checkClaimCreation({ ...base, type: 'OWNERSHIP', entry: { ...other, participant: '12345678' } })), 'ok');
  // Claimed key type must be the entry's.
  assert.equal(err(checkClaimCreation({ ...base, type: 'PORTABILITY', keyType: 'EMAIL', entry: same })), 'ClaimInvalid');
});

test('status machine: OPEN → WAITING_RESOLUTION → CONFIRMED → COMPLETED, CANCELLED from any open status', () => {
  const allowed = new Set(['OPEN>WAITING_RESOLUTION', 'OPEN>CANCELLED', 'WAITING_RESOLUTION>CONFIRMED', 'WAITING_RESOLUTION>CANCELLED', 'CONFIRMED>COMPLETED', 'CONFIRMED>CANCELLED']);
  for (const from of CLAIM_STATUSES) for (const to of CLAIM_STATUSES) assert.equal(canTransition(from, to), allowed.has(`${from}>${to}`), `${from}>${to}`);
  assert.deepEqual(CLAIM_STATUSES.filter(isFinalClaimStatus), ['CANCELLED', 'COMPLETED']);
});

test('periods: resolution 7 days; ownership closing 7 more; claimer deadline 30 days from opening', () => {
  assert.deepEqual(claimDeadlines('PORTABILITY', OPENED), { resolutionPeriodEnd: at(7) });
  assert.deepEqual(claimDeadlines('OWNERSHIP', OPENED), { resolutionPeriodEnd: at(7), completionPeriodEnd: at(14) });
  const p = { resolutionMs: 60_000, closingMs: 30_000, claimerDeadlineMs: 120_000 };
  assert.deepEqual(claimDeadlines('OWNERSHIP', OPENED, p), { resolutionPeriodEnd: at(0, 60_000), completionPeriodEnd: at(0, 90_000) });
  assert.equal(claimOpenedAt(claim('OWNERSHIP', 'OPEN')), OPENED);
  assert.equal(claimerDeadline(claim('OWNERSHIP', 'OPEN')), at(30));
  assert.equal(claimerDeadline(claim('OWNERSHIP', 'OPEN', claimDeadlines('OWNERSHIP', OPENED, p)), p), at(0, 120_000));
  assert.equal(BCB_CLAIM_PERIODS.resolutionMs, 7 * DAY);
});

test('acknowledge: donor only; OPEN moves on, WAITING_RESOLUTION is a replay, others are ClaimOperationInvalid', () => {
  for (const type of CLAIM_TYPES) {
    for (const status of CLAIM_STATUSES) {
      const expect = status === 'OPEN' ? 'ok' : status === 'WAITING_RESOLUTION' ? 'replay' : 'ClaimOperationInvalid';
      assert.equal(err(checkAcknowledge({ claim: claim(type, status), actorRole: 'DONOR' })), expect, `${type} ${status}`);
      assert.equal(err(checkAcknowledge({ claim: claim(type, status), actorRole: 'CLAIMER' })), 'Forbidden');
    }
  }
});

// The v2 confirmClaim table: ✓ cells.
const CONFIRM_TABLE: Record<ClaimType, Record<ClaimRole, ClaimOperationReason[]>> = {
  OWNERSHIP: { DONOR: ['USER_REQUESTED', 'DEFAULT_OPERATION'], CLAIMER: [] },
  PORTABILITY: { DONOR: ['USER_REQUESTED', 'ACCOUNT_CLOSURE'], CLAIMER: [] },
};

test('confirm: every cell of the type × role × reason table (WAITING_RESOLUTION, after the resolution period)', () => {
  assert.deepEqual(CONFIRM_REASONS, CONFIRM_TABLE);
  for (const type of CLAIM_TYPES) {
    for (const role of CLAIM_ROLES) {
      for (const reason of CLAIM_OPERATION_REASONS) {
        const r = checkConfirm({ claim: claim(type, 'WAITING_RESOLUTION'), actorRole: role, reason, now: at(8) });
        const expect = role === 'CLAIMER' ? 'Forbidden' : CONFIRM_TABLE[type][role].includes(reason) ? 'ok' : 'InvalidReason';
        assert.equal(err(r), expect, `${type} ${role} ${reason}`);
      }
    }
  }
});

test('confirm: only from WAITING_RESOLUTION; same reason on CONFIRMED is a replay', () => {
  for (const type of CLAIM_TYPES) {
    for (const status of CLAIM_STATUSES) {
      const c = claim(type, status, status === 'CONFIRMED' ? { confirmReason: 'USER_REQUESTED' } : {});
      const expect = status === 'WAITING_RESOLUTION' ? 'ok' : status === 'CONFIRMED' ? 'replay' : 'ClaimOperationInvalid';
      assert.equal(err(checkConfirm({ claim: c, actorRole: 'DONOR', reason: 'USER_REQUESTED', now: at(1) })), expect, `${type} ${status}`);
    }
  }
  const confirmed = claim('OWNERSHIP', 'CONFIRMED', { confirmReason: 'DEFAULT_OPERATION' });
  assert.equal(err(checkConfirm({ claim: confirmed, actorRole: 'DONOR', reason: 'USER_REQUESTED', now: at(9) })), 'ClaimOperationInvalid');
});

test('confirm: ownership DEFAULT_OPERATION needs ResolutionPeriodEnd passed; USER_REQUESTED any time; portability has no wait', () => {
  const w = claim('OWNERSHIP', 'WAITING_RESOLUTION');
  assert.equal(err(checkConfirm({ claim: w, actorRole: 'DONOR', reason: 'DEFAULT_OPERATION', now: at(7, -1) })), 'ClaimResolutionPeriodNotEnded');
  assert.equal(err(checkConfirm({ claim: w, actorRole: 'DONOR', reason: 'DEFAULT_OPERATION', now: at(7) })), 'ok');
  assert.equal(err(checkConfirm({ claim: w, actorRole: 'DONOR', reason: 'USER_REQUESTED', now: at(0, 1) })), 'ok');
  const p = claim('PORTABILITY', 'WAITING_RESOLUTION');
  assert.equal(err(checkConfirm({ claim: p, actorRole: 'DONOR', reason: 'ACCOUNT_CLOSURE', now: at(0, 1) })), 'ok');
});

test('confirm effects: USER_REQUESTED brings an ownership CompletionPeriodEnd forward; DEFAULT_OPERATION keeps it', () => {
  const w = claim('OWNERSHIP', 'WAITING_RESOLUTION');
  const byUser = applyClaimOperation(w, { op: 'confirm', reason: 'USER_REQUESTED', actorRole: 'DONOR', now: at(2) });
  assert.equal(byUser.status, 'CONFIRMED');
  assert.equal(byUser.confirmReason, 'USER_REQUESTED');
  assert.equal(byUser.completionPeriodEnd, at(2));
  assert.equal(byUser.lastModified, at(2));
  assert.equal(err(checkComplete({ claim: byUser, actorRole: 'CLAIMER', now: at(2) })), 'ok');
  const byDefault = applyClaimOperation(w, { op: 'confirm', reason: 'DEFAULT_OPERATION', actorRole: 'DONOR', now: at(8) });
  assert.equal(byDefault.completionPeriodEnd, at(14));
  const portability = applyClaimOperation(claim('PORTABILITY', 'WAITING_RESOLUTION'), { op: 'confirm', reason: 'USER_REQUESTED', actorRole: 'DONOR', now: at(2) });
  assert.equal(portability.completionPeriodEnd, undefined);
  const cancelled = applyClaimOperation(w, { op: 'cancel', reason: 'FRAUD', actorRole: 'DONOR', now: at(3) });
  assert.deepEqual([cancelled.status, cancelled.cancelReason, cancelled.cancelledBy], ['CANCELLED', 'FRAUD', 'DONOR']);
  assert.equal(applyClaimOperation(claim('PORTABILITY', 'OPEN'), { op: 'acknowledge', actorRole: 'DONOR', now: at(1) }).status, 'WAITING_RESOLUTION');
  assert.equal(applyClaimOperation(byUser, { op: 'complete', actorRole: 'CLAIMER', now: at(3) }).status, 'COMPLETED');
});

// The v2 cancelClaim portability table (✓ cells), and ownership: claimer any reason, donor FRAUD.
const CANCEL_TABLE: Record<ClaimType, Record<ClaimRole, ClaimOperationReason[]>> = {
  PORTABILITY: {
    DONOR: ['USER_REQUESTED', 'DEFAULT_OPERATION', 'FRAUD'],
    CLAIMER: ['USER_REQUESTED', 'ACCOUNT_CLOSURE', 'FRAUD', 'RECONCILIATION', 'RFB_VALIDATION'],
  },
  OWNERSHIP: { DONOR: ['FRAUD'], CLAIMER: [...CLAIM_OPERATION_REASONS] },
};

test('cancel: every cell of the type × role × reason table (OPEN, after every deadline)', () => {
  assert.deepEqual(
    Object.fromEntries(CLAIM_TYPES.map((t) => [t, Object.fromEntries(CLAIM_ROLES.map((r) => [r, [...CANCEL_REASONS[t][r]].sort()]))])),
    Object.fromEntries(CLAIM_TYPES.map((t) => [t, Object.fromEntries(CLAIM_ROLES.map((r) => [r, [...CANCEL_TABLE[t][r]].sort()]))])),
  );
  for (const type of CLAIM_TYPES) {
    for (const role of CLAIM_ROLES) {
      for (const reason of CLAIM_OPERATION_REASONS) {
        const r = checkCancel({ claim: claim(type, 'OPEN'), actorRole: role, reason, now: at(31) });
        assert.equal(err(r), CANCEL_TABLE[type][role].includes(reason) ? 'ok' : 'InvalidReason', `${type} ${role} ${reason}`);
      }
    }
  }
});

test('cancel portability: every status × role × reason (after ResolutionPeriodEnd)', () => {
  for (const status of CLAIM_STATUSES) {
    for (const role of CLAIM_ROLES) {
      for (const reason of CLAIM_OPERATION_REASONS) {
        const r = checkCancel({ claim: claim('PORTABILITY', status), actorRole: role, reason, now: at(8) });
        let expect: string;
        if (!CANCEL_TABLE.PORTABILITY[role].includes(reason)) expect = 'InvalidReason';
        else if (status === 'OPEN') expect = 'ok';
        else if (status === 'WAITING_RESOLUTION') expect = reason === 'RECONCILIATION' ? 'ClaimOperationInvalid' : 'ok';
        else if (status === 'CONFIRMED') expect = role === 'CLAIMER' && ['FRAUD', 'RECONCILIATION', 'RFB_VALIDATION'].includes(reason) ? 'ok' : 'ClaimOperationInvalid';
        else expect = 'ClaimOperationInvalid';
        assert.equal(err(r), expect, `${status} ${role} ${reason}`);
      }
    }
  }
});

test('cancel portability: donor DEFAULT_OPERATION only after ResolutionPeriodEnd', () => {
  for (const status of ['OPEN', 'WAITING_RESOLUTION'] as const) {
    const c = claim('PORTABILITY', status);
    assert.equal(err(checkCancel({ claim: c, actorRole: 'DONOR', reason: 'DEFAULT_OPERATION', now: at(7, -1) })), 'ClaimResolutionPeriodNotEnded');
    assert.equal(err(checkCancel({ claim: c, actorRole: 'DONOR', reason: 'DEFAULT_OPERATION', now: at(7) })), 'ok');
    assert.equal(err(checkCancel({ claim: c, actorRole: 'DONOR', reason: 'FRAUD', now: at(0, 1) })), 'ok');
  }
});

test('cancel ownership: every status × role × reason (after every deadline but the closing period)', () => {
  for (const status of CLAIM_STATUSES) {
    for (const role of CLAIM_ROLES) {
      for (const reason of CLAIM_OPERATION_REASONS) {
        // Claimer: after 30 days; donor: inside the closing period of a DEFAULT_OPERATION confirmation.
        const now = role === 'CLAIMER' ? at(31) : at(10);
        const r = checkCancel({ claim: claim('OWNERSHIP', status), actorRole: role, reason, now });
        const expect = !CANCEL_TABLE.OWNERSHIP[role].includes(reason) ? 'InvalidReason' : ['OPEN', 'WAITING_RESOLUTION', 'CONFIRMED'].includes(status) ? 'ok' : 'ClaimOperationInvalid';
        assert.equal(err(r), expect, `${status} ${role} ${reason}`);
      }
    }
  }
});

test('cancel ownership: claimer DEFAULT_OPERATION only after 30 days; donor FRAUD on CONFIRMED only in the closing period', () => {
  for (const status of ['OPEN', 'WAITING_RESOLUTION', 'CONFIRMED'] as const) {
    const c = claim('OWNERSHIP', status);
    assert.equal(err(checkCancel({ claim: c, actorRole: 'CLAIMER', reason: 'DEFAULT_OPERATION', now: at(30, -1) })), 'ClaimOperationInvalid');
    assert.equal(err(checkCancel({ claim: c, actorRole: 'CLAIMER', reason: 'DEFAULT_OPERATION', now: at(30) })), 'ok');
    assert.equal(err(checkCancel({ claim: c, actorRole: 'CLAIMER', reason: 'DEFAULT_OPERATION', now: at(0, 5_000), openedAt: at(-30) })), 'ok');
    assert.equal(err(checkCancel({ claim: c, actorRole: 'CLAIMER', reason: 'USER_REQUESTED', now: at(0, 1) })), 'ok');
  }
  const confirmed = claim('OWNERSHIP', 'CONFIRMED', { confirmReason: 'DEFAULT_OPERATION' });
  assert.equal(err(checkCancel({ claim: confirmed, actorRole: 'DONOR', reason: 'FRAUD', now: at(13) })), 'ok');
  assert.equal(err(checkCancel({ claim: confirmed, actorRole: 'DONOR', reason: 'FRAUD', now: at(14) })), 'ClaimOperationInvalid');
  // Confirmed by the user: the closing period was brought forward and is over.
  const byUser = applyClaimOperation(claim('OWNERSHIP', 'WAITING_RESOLUTION'), { op: 'confirm', reason: 'USER_REQUESTED', actorRole: 'DONOR', now: at(2) });
  assert.equal(err(checkCancel({ claim: byUser, actorRole: 'DONOR', reason: 'FRAUD', now: at(2) })), 'ClaimOperationInvalid');
  // Before confirmation the donor's FRAUD cancel has no deadline.
  assert.equal(err(checkCancel({ claim: claim('OWNERSHIP', 'WAITING_RESOLUTION'), actorRole: 'DONOR', reason: 'FRAUD', now: at(20) })), 'ok');
});

test('cancel: same role and reason on a CANCELLED claim is a replay; anything else is ClaimOperationInvalid', () => {
  for (const type of CLAIM_TYPES) {
    const c = claim(type, 'CANCELLED', { cancelReason: 'FRAUD', cancelledBy: 'CLAIMER' });
    assert.equal(err(checkCancel({ claim: c, actorRole: 'CLAIMER', reason: 'FRAUD', now: at(1) })), 'replay');
    assert.equal(err(checkCancel({ claim: c, actorRole: 'CLAIMER', reason: 'USER_REQUESTED', now: at(1) })), 'ClaimOperationInvalid');
    assert.equal(err(checkCancel({ claim: c, actorRole: 'DONOR', reason: 'FRAUD', now: at(1) })), 'ClaimOperationInvalid');
  }
});

test('complete: claimer only, CONFIRMED only; ownership after CompletionPeriodEnd', () => {
  for (const type of CLAIM_TYPES) {
    for (const status of CLAIM_STATUSES) {
      const r = checkComplete({ claim: claim(type, status), actorRole: 'CLAIMER', now: at(15) });
      assert.equal(err(r), status === 'CONFIRMED' ? 'ok' : 'ClaimOperationInvalid', `${type} ${status}`);
      assert.equal(err(checkComplete({ claim: claim(type, status), actorRole: 'DONOR', now: at(15) })), 'Forbidden');
    }
  }
  const o = claim('OWNERSHIP', 'CONFIRMED', { confirmReason: 'DEFAULT_OPERATION' });
  assert.equal(err(checkComplete({ claim: o, actorRole: 'CLAIMER', now: at(14, -1) })), 'ClaimCompletionPeriodNotEnded');
  assert.equal(err(checkComplete({ claim: o, actorRole: 'CLAIMER', now: at(14) })), 'ok');
  assert.equal(err(checkComplete({ claim: claim('PORTABILITY', 'CONFIRMED'), actorRole: 'CLAIMER', now: at(0, 1) })), 'ok');
});

test('checkClaimOperation dispatches to the four checks', () => {
  const c = claim('PORTABILITY', 'OPEN');
  assert.equal(err(checkClaimOperation({ op: 'acknowledge', claim: c, actorRole: 'DONOR', now: at(1) })), 'ok');
  assert.equal(err(checkClaimOperation({ op: 'confirm', reason: 'USER_REQUESTED', claim: c, actorRole: 'DONOR', now: at(1) })), 'ClaimOperationInvalid');
  assert.equal(err(checkClaimOperation({ op: 'cancel', reason: 'ACCOUNT_CLOSURE', claim: c, actorRole: 'CLAIMER', now: at(1) })), 'ok');
  assert.equal(err(checkClaimOperation({ op: 'complete', claim: c, actorRole: 'CLAIMER', now: at(1) })), 'ClaimOperationInvalid');
});
