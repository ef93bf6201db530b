// Every branch of both claim types on both sides, against real servers with BCB's periods shrunk
// to seconds: our service (PSP 12345678: API, poller, workflows) on one side, another PSP's
// bridge (87654321, signed XML straight to the simulator) on the other.
// {ownership, portability} × {we are claimer, we are donor} × {user confirms, user cancels,
// other side cancels, timeout default, fraud cancel in the closing period, claimer's day-30 cancel}.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Code } from '@connectrpc/connect';
import type { ExtendedClaim } from '../../domain/types.js';
import { ClaimOperationReason, ClaimRole, ClaimStatus, EntryStatus, KeyType, type Claim } from '../../gen/dict/core/v1/types_pb.js';
import { captureHistory, dictClaim, newAccountNumber, SHORT_PERIODS, startClaimRequest, startPortabilityRequest, untilStatus, wait, waitFor } from '../support/claims.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, naturalPerson, newPhone } from '../support/fixtures.js';
import { OTHER_ISPB, OUR_ISPB, startStack, type Stack } from '../support/stack.js';
import { claimWorkflowId } from '../../workflows/claim-messages.js';

let s: Stack;
before(async () => {
  s = await startStack({ claimPeriods: SHORT_PERIODS, claimPoller: { intervalMs: 1_500 }, simulator: { claimPeriods: SHORT_PERIODS } });
});
after(async () => {
  await s?.stop();
});

const ours = (claimId: string) => async (): Promise<Claim | undefined> => (await s.client.getClaimStatus({ by: { case: 'claimId', value: claimId } })).claim;
const sleepUntil = async (iso: string, extraMs = 150) => new Promise((r) => setTimeout(r, Math.max(0, Date.parse(iso) - Date.now() + extraMs)));
const capture = (claimId: string, role: 'CLAIMER' | 'DONOR', name: string) => captureHistory(s.temporal, claimWorkflowId(OUR_ISPB, claimId, role), name);
const entryStatus = async (key: string) => (await s.client.getKey({ by: { case: 'key', value: key } })).entry?.status;

// ---------------------------------------------------------------------------------------------
// We are the donor: the key is ours; the other PSP opens the claim in DICT.

async function incoming(type: 'OWNERSHIP' | 'PORTABILITY') {
  const owner = naturalPerson();
  const key = type === 'OWNERSHIP' ? newPhone() : owner.taxIdNumber;
  const keyType = type === 'OWNERSHIP' ? KeyType.PHONE : KeyType.CPF;
  const created = await s.client.createKey(createKeyRequest({ keyType, key, owner, account: account(OUR_ISPB) }));
  assert.equal(created.entry?.status, EntryStatus.ACTIVE);
  const claimer = type === 'OWNERSHIP' ? naturalPerson() : owner;
  const opened = await s.otherPsp.createClaim({ claim: dictClaim(type, key, type === 'OWNERSHIP' ? 'PHONE' : 'CPF', account(OTHER_ISPB), claimer) });
  const claimId = opened.claim.id;
  const seen = await untilStatus('our donor view', ours(claimId), ClaimStatus.WAITING_RESOLUTION, 10_000);
  assert.equal(seen.role, ClaimRole.DONOR);
  return { key, claimId, claim: opened.claim };
}

const dictView = async (claimId: string): Promise<ExtendedClaim> => (await s.otherPsp.getClaim(claimId)).claim;

describe('ownership, we are the donor', { concurrency: true }, () => {
  test('our user confirms: CONFIRMED (closing period brought forward), our entry removed; the claimer completes', async () => {
    const { key, claimId } = await incoming('OWNERSHIP');
    const r = await s.client.respondToClaim({ requestId: randomUUID(), claimId, confirm: true, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CONFIRMED);
    assert.equal(r.claim?.confirmReason, ClaimOperationReason.USER_REQUESTED);
    assert.equal(await entryStatus(key), EntryStatus.DELETED);
    const d = await dictView(claimId);
    assert.ok(Date.parse(d.completionPeriodEnd!) <= Date.now(), 'USER_REQUESTED brings CompletionPeriodEnd forward');
    await s.otherPsp.completeClaim({ claimId, participant: OTHER_ISPB, requestId: randomUUID() });
    await untilStatus('completed', ours(claimId), ClaimStatus.COMPLETED);
    await capture(claimId, 'DONOR', 'claim-ownership-donor-user-confirms');
  });

  test('our user proves possession: we cancel with FRAUD; the key stays ours and unlocked', async () => {
    const { key, claimId } = await incoming('OWNERSHIP');
    const r = await s.client.respondToClaim({ requestId: randomUUID(), claimId, confirm: false, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CANCELLED);
    assert.equal(r.claim?.cancelReason, ClaimOperationReason.FRAUD);
    assert.equal(r.claim?.cancelledBy, ClaimRole.DONOR);
    const e = (await s.client.getKey({ by: { case: 'key', value: key } })).entry!;
    assert.equal(e.status, EntryStatus.ACTIVE);
    assert.equal(e.openClaimCreationDate, undefined);
    await capture(claimId, 'DONOR', 'claim-ownership-donor-user-cancels');
  });

  test('the claimer cancels: CANCELLED by the claimer; the key can be deleted again', async () => {
    const { key, claimId } = await incoming('OWNERSHIP');
    await s.otherPsp.cancelClaim({ claimId, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelledBy, ClaimRole.CLAIMER);
    const del = await s.client.deleteKey({ requestId: randomUUID(), key, reason: 1, waitTimeout: wait(10) });
    assert.equal(del.entry?.status, EntryStatus.DELETED);
  });

  test('our user is silent: at ResolutionPeriodEnd we confirm with DEFAULT_OPERATION', async () => {
    const { key, claimId } = await incoming('OWNERSHIP');
    const c = await untilStatus('confirmed', ours(claimId), ClaimStatus.CONFIRMED);
    assert.equal(c.confirmReason, ClaimOperationReason.DEFAULT_OPERATION);
    assert.equal(c.nextAction, 'CLOSING_PERIOD_END');
    assert.equal(await entryStatus(key), EntryStatus.DELETED);
    await capture(claimId, 'DONOR', 'claim-ownership-donor-default-confirm');
  });

  test('closing period: our user proves possession after the default confirmation — FRAUD cancel; the entry is not given back', async () => {
    const { key, claimId } = await incoming('OWNERSHIP');
    await untilStatus('confirmed', ours(claimId), ClaimStatus.CONFIRMED);
    const r = await s.client.respondToClaim({ requestId: randomUUID(), claimId, confirm: false, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CANCELLED);
    assert.equal(r.claim?.cancelReason, ClaimOperationReason.FRAUD);
    assert.equal(await entryStatus(key), EntryStatus.DELETED);
    // The key is free: our user registers it again.
    const again = await s.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key, account: account(OUR_ISPB) }));
    assert.equal(again.entry?.status, EntryStatus.ACTIVE);
    await capture(claimId, 'DONOR', 'claim-ownership-donor-closing-fraud-cancel');
  });

  test('the claimer never validates possession: its day-30 cancel (DEFAULT_OPERATION) reaches us', async () => {
    const { claimId, claim } = await incoming('OWNERSHIP');
    await untilStatus('confirmed', ours(claimId), ClaimStatus.CONFIRMED);
    await sleepUntil(new Date(Date.parse(claim.resolutionPeriodEnd) - SHORT_PERIODS.resolutionMs + SHORT_PERIODS.claimerDeadlineMs).toISOString());
    await s.otherPsp.cancelClaim({ claimId, participant: OTHER_ISPB, reason: 'DEFAULT_OPERATION' });
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelReason, ClaimOperationReason.DEFAULT_OPERATION);
    assert.equal(c.cancelledBy, ClaimRole.CLAIMER);
  });
});

describe('portability, we are the donor', { concurrency: true }, () => {
  test('our user confirms: CONFIRMED, our entry removed; the claimer completes', async () => {
    const { key, claimId } = await incoming('PORTABILITY');
    const r = await s.client.confirmPortability({ requestId: randomUUID(), claimId, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CONFIRMED);
    assert.equal(await entryStatus(key), EntryStatus.DELETED);
    await s.otherPsp.completeClaim({ claimId, participant: OTHER_ISPB, requestId: randomUUID() });
    await untilStatus('completed', ours(claimId), ClaimStatus.COMPLETED);
  });

  test('our user keeps the key: we cancel (USER_REQUESTED)', async () => {
    const { key, claimId } = await incoming('PORTABILITY');
    const r = await s.client.cancelPortability({ requestId: randomUUID(), claimId, reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CANCELLED);
    assert.equal(r.claim?.cancelledBy, ClaimRole.DONOR);
    assert.equal(await entryStatus(key), EntryStatus.ACTIVE);
  });

  test('the claimer cancels', async () => {
    const { claimId } = await incoming('PORTABILITY');
    await s.otherPsp.cancelClaim({ claimId, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelledBy, ClaimRole.CLAIMER);
  });

  test('our user is silent: right after ResolutionPeriodEnd we cancel with DEFAULT_OPERATION; the key stays ours', async () => {
    const { key, claimId } = await incoming('PORTABILITY');
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelReason, ClaimOperationReason.DEFAULT_OPERATION);
    assert.equal(c.cancelledBy, ClaimRole.DONOR);
    assert.equal(await entryStatus(key), EntryStatus.ACTIVE);
    await capture(claimId, 'DONOR', 'claim-portability-donor-default-cancel');
  });

  test('fraud suspected: we cancel with FRAUD', async () => {
    const { claimId } = await incoming('PORTABILITY');
    const r = await s.client.cancelPortability({ requestId: randomUUID(), claimId, reason: ClaimOperationReason.FRAUD, waitTimeout: wait(10) });
    assert.equal(r.claim?.cancelReason, ClaimOperationReason.FRAUD);
  });
});

// ---------------------------------------------------------------------------------------------
// We are the claimer: the key is at the other PSP; our user starts the claim here.

async function outgoing(type: 'OWNERSHIP' | 'PORTABILITY') {
  const owner = naturalPerson();
  const key = type === 'OWNERSHIP' ? newPhone() : owner.taxIdNumber;
  await s.registerInDict(s.otherPsp, { key, keyType: type === 'OWNERSHIP' ? 'PHONE' : 'CPF', owner: { type: 'NATURAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name }, accountNumber: newAccountNumber() });
  const claimer = type === 'OWNERSHIP' ? naturalPerson() : owner;
  const started =
    type === 'OWNERSHIP'
      ? await s.client.startClaim(startClaimRequest(key, account(OUR_ISPB), claimer))
      : await s.client.startPortability(startPortabilityRequest(key, KeyType.CPF, account(OUR_ISPB), claimer));
  const claimId = started.claim!.claimId;
  assert.equal(started.claim?.status, ClaimStatus.OPEN);
  assert.equal(started.claim?.role, ClaimRole.CLAIMER);
  // The donor PSP receives it.
  const acked = await s.otherPsp.acknowledgeClaim({ claimId, participant: OTHER_ISPB });
  await untilStatus('waiting', ours(claimId), ClaimStatus.WAITING_RESOLUTION);
  return { key, claimId, claim: acked.claim, claimer };
}

describe('ownership, we are the claimer', { concurrency: true }, () => {
  test('the donor’s user confirms: CompleteClaim right away (closing period brought forward); the key is ours', async () => {
    const { key, claimId, claimer } = await outgoing('OWNERSHIP');
    await s.otherPsp.confirmClaim({ claimId, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    await untilStatus('confirmed', ours(claimId), ClaimStatus.CONFIRMED);
    const done = await s.client.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(10) });
    assert.equal(done.claim?.status, ClaimStatus.COMPLETED);
    const e = (await s.client.getKey({ by: { case: 'key', value: key } })).entry!;
    assert.equal(e.status, EntryStatus.ACTIVE);
    assert.equal(e.owner?.taxIdNumber, claimer.taxIdNumber);
    await capture(claimId, 'CLAIMER', 'claim-ownership-claimer-completes');
  });

  test('the donor’s user proves possession: the donor cancels with FRAUD', async () => {
    const { claimId } = await outgoing('OWNERSHIP');
    await s.otherPsp.cancelClaim({ claimId, participant: OTHER_ISPB, reason: 'FRAUD' });
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelledBy, ClaimRole.DONOR);
  });

  test('our user gives up: we cancel (USER_REQUESTED)', async () => {
    const { claimId } = await outgoing('OWNERSHIP');
    const r = await s.client.cancelClaim({ requestId: randomUUID(), claimId, reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CANCELLED);
    assert.equal(r.claim?.cancelledBy, ClaimRole.CLAIMER);
    await capture(claimId, 'CLAIMER', 'claim-ownership-claimer-user-cancels');
  });

  test('the donor times out and confirms (DEFAULT_OPERATION); we complete after the closing period', async () => {
    const { key, claimId, claim } = await outgoing('OWNERSHIP');
    await sleepUntil(claim.resolutionPeriodEnd);
    await s.otherPsp.confirmClaim({ claimId, participant: OTHER_ISPB, reason: 'DEFAULT_OPERATION' });
    const c = await untilStatus('confirmed', ours(claimId), ClaimStatus.CONFIRMED);
    const early = await rpcError(() => s.client.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(5) }));
    assert.equal(early.bcbError, 'ClaimCompletionPeriodNotEnded');
    await sleepUntil(new Date(Number(c.completionPeriodEnd!.seconds) * 1000 + c.completionPeriodEnd!.nanos / 1e6).toISOString());
    const done = await s.client.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(10) });
    assert.equal(done.claim?.status, ClaimStatus.COMPLETED);
    assert.equal(await entryStatus(key), EntryStatus.ACTIVE);
  });

  test('closing period: the donor’s user proves possession — FRAUD cancel of the confirmed claim', async () => {
    const { claimId, claim } = await outgoing('OWNERSHIP');
    await sleepUntil(claim.resolutionPeriodEnd);
    await s.otherPsp.confirmClaim({ claimId, participant: OTHER_ISPB, reason: 'DEFAULT_OPERATION' });
    await untilStatus('confirmed', ours(claimId), ClaimStatus.CONFIRMED);
    await s.otherPsp.cancelClaim({ claimId, participant: OTHER_ISPB, reason: 'FRAUD' });
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelReason, ClaimOperationReason.FRAUD);
  });

  test('our user never validates possession: on day 30 we cancel with DEFAULT_OPERATION, freeing the key', async () => {
    const { claimId } = await outgoing('OWNERSHIP');
    await s.otherPsp.confirmClaim({ claimId, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    await untilStatus('confirmed', ours(claimId), ClaimStatus.CONFIRMED);
    // The closing period is over at once (USER_REQUESTED): our user is asked, then day 30 is next.
    const asked = await waitFor('day 30 next', async () => {
      const c = await ours(claimId)();
      return c?.nextAction === 'CANCEL_DEFAULT_OPERATION' ? c : undefined;
    });
    assert.ok(asked.claimerDeadline, 'day 30 shown');
    assert.equal(asked.nextDeadline?.seconds, asked.claimerDeadline?.seconds);
    const events = await s.sql<{ event_type: string }[]>`select event_type from outbox where aggregate_id = ${asked.id} order by id`;
    assert.ok(events.some((e) => e.event_type === 'ClaimPossessionValidationRequested'), events.map((e) => e.event_type).join());
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED, 20_000);
    assert.equal(c.cancelReason, ClaimOperationReason.DEFAULT_OPERATION);
    assert.equal(c.cancelledBy, ClaimRole.CLAIMER);
    assert.equal((await dictView(claimId)).status, 'CANCELLED');
    await capture(claimId, 'CLAIMER', 'claim-ownership-claimer-day30-cancel');
  });
});

describe('portability, we are the claimer', { concurrency: true }, () => {
  test('the donor’s user confirms: we complete at once; the key is ours', async () => {
    const { key, claimId } = await outgoing('PORTABILITY');
    await s.otherPsp.confirmClaim({ claimId, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    await untilStatus('completed', ours(claimId), ClaimStatus.COMPLETED);
    const e = (await s.client.getKey({ by: { case: 'key', value: key } })).entry!;
    assert.equal(e.status, EntryStatus.ACTIVE);
    assert.equal(e.account?.participant, OUR_ISPB);
    assert.equal((await s.simStats()).writes.completeClaim !== undefined, true);
    await capture(claimId, 'CLAIMER', 'claim-portability-claimer-auto-complete');
  });

  test('the donor’s user keeps the key: the donor cancels', async () => {
    const { claimId } = await outgoing('PORTABILITY');
    await s.otherPsp.cancelClaim({ claimId, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelledBy, ClaimRole.DONOR);
  });

  test('our user gives up: we cancel', async () => {
    const { claimId } = await outgoing('PORTABILITY');
    const r = await s.client.cancelPortability({ requestId: randomUUID(), claimId, reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CANCELLED);
    assert.equal(r.claim?.cancelledBy, ClaimRole.CLAIMER);
  });

  test('the donor’s user is silent: the donor cancels with DEFAULT_OPERATION after ResolutionPeriodEnd', async () => {
    const { claimId, claim } = await outgoing('PORTABILITY');
    await sleepUntil(claim.resolutionPeriodEnd);
    await s.otherPsp.cancelClaim({ claimId, participant: OTHER_ISPB, reason: 'DEFAULT_OPERATION' });
    const c = await untilStatus('cancelled', ours(claimId), ClaimStatus.CANCELLED);
    assert.equal(c.cancelReason, ClaimOperationReason.DEFAULT_OPERATION);
  });

  test('fraud suspected on our side: we cancel with FRAUD', async () => {
    const { claimId } = await outgoing('PORTABILITY');
    const r = await s.client.cancelPortability({ requestId: randomUUID(), claimId, reason: ClaimOperationReason.FRAUD, waitTimeout: wait(10) });
    assert.equal(r.claim?.cancelReason, ClaimOperationReason.FRAUD);
  });
});

describe('claims RPCs', () => {
  test('decisions DICT would refuse are refused at once, with DICT’s name, and nothing reaches DICT', async () => {
    const { claimId } = await incoming('OWNERSHIP');
    const before = await s.simStats();
    const wrongType = await rpcError(() => s.client.confirmPortability({ requestId: randomUUID(), claimId, waitTimeout: wait(5) }));
    assert.equal(wrongType.bcbError, 'ClaimOperationInvalid');
    const badReason = await rpcError(() => s.client.respondToClaim({ requestId: randomUUID(), claimId, confirm: true, reason: ClaimOperationReason.ACCOUNT_CLOSURE, waitTimeout: wait(5) }));
    assert.equal(badReason.bcbError, 'InvalidReason');
    assert.equal(badReason.code, Code.InvalidArgument);
    const notClaimer = await rpcError(() => s.client.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(5) }));
    assert.equal(notClaimer.code, Code.NotFound, 'we hold no claimer side of this claim');
    const after = await s.simStats();
    assert.equal(after.requests.confirmClaim ?? 0, before.requests.confirmClaim ?? 0);
    // A decision is idempotent by request id: the replay answers the first outcome.
    const requestId = randomUUID();
    const first = await s.client.respondToClaim({ requestId, claimId, confirm: true, waitTimeout: wait(10) });
    const replay = await s.client.respondToClaim({ requestId, claimId, confirm: true, waitTimeout: wait(10) });
    assert.equal(replay.operation?.replayed, true);
    assert.equal(replay.claim?.status, first.claim?.status);
    const reused = await rpcError(() => s.client.respondToClaim({ requestId, claimId, confirm: false, waitTimeout: wait(10) }));
    assert.equal(reused.bcbError, 'RequestIdAlreadyUsed');
    assert.equal((await s.simStats()).writes.confirmClaim ?? 0, (before.writes.confirmClaim ?? 0) + 1);
  });
  test('StartClaim is visible at once (PENDING, by request id) even with no worker; it opens once one runs', async () => {
    const quiet = await startStack({ participant: '11223344', beside: s, worker: false, claimPeriods: SHORT_PERIODS });
    try {
      const key = newPhone();
      await s.registerInDict(s.otherPsp, { key, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: naturalPerson().taxIdNumber, name: 'Dono Atual' }, accountNumber: newAccountNumber() });
      const req = startClaimRequest(key, account('11223344'), naturalPerson());
      req.waitTimeout = wait(0);
      const started = await quiet.client.startClaim(req);
      assert.equal(started.claim?.status, ClaimStatus.PENDING);
      assert.equal(started.operation?.done, false);
      const byRequest = await quiet.client.getClaimStatus({ by: { case: 'requestId', value: req.requestId } });
      assert.equal(byRequest.claim?.status, ClaimStatus.PENDING);
      assert.equal(byRequest.claim?.id, started.claim?.id);
      const listed = await quiet.client.listOutgoingClaims({});
      assert.ok(listed.claims.some((c) => c.id === started.claim?.id));
      await quiet.startWorker();
      const open = await waitFor('opened', async () => {
        const c = (await quiet.client.getClaimStatus({ by: { case: 'requestId', value: req.requestId } })).claim;
        return c?.status === ClaimStatus.OPEN ? c : undefined;
      });
      assert.ok(open.claimId);
      await captureHistory(s.temporal, `claim-open/11223344/${req.requestId}`, 'claim-open-opened');
    } finally {
      await quiet.stop();
    }
  });

  test('bad input is InvalidArgument with one violation per field (ClaimInvalid)', async () => {
    const bad = await rpcError(() =>
      s.client.startClaim({ requestId: 'nope', key: '11144477735', keyType: KeyType.CPF, claimerAccount: account('99999999'), claimer: naturalPerson('123') }),
    );
    assert.equal(bad.code, Code.InvalidArgument);
    assert.equal(bad.bcbError, 'ClaimInvalid');
    assert.deepEqual(new Set(bad.fields), new Set(['request_id', 'key_type', 'claimer_account.participant', 'claimer.tax_id_number']));
    const evp = await rpcError(() => s.client.startPortability({ requestId: randomUUID(), key: randomUUID(), keyType: KeyType.EVP, claimerAccount: account(), claimer: naturalPerson() }));
    assert.deepEqual(evp.fields, ['key_type']);
  });

  test('DICT refuses an ownership claim of the claimer’s own key: ClaimTypeInconsistent, and the claim is FAILED here', async () => {
    const owner = naturalPerson();
    const key = newPhone();
    await s.registerInDict(s.otherPsp, { key, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name }, accountNumber: newAccountNumber() });
    const req = startClaimRequest(key, account(OUR_ISPB), owner);
    const err = await rpcError(() => s.client.startClaim(req));
    assert.equal(err.bcbError, 'ClaimTypeInconsistent');
    const rec = await s.client.getClaimStatus({ by: { case: 'requestId', value: req.requestId } });
    assert.equal(rec.claim?.status, ClaimStatus.FAILED);
    await captureHistory(s.temporal, rec.claim!.workflowId, 'claim-open-refused-by-dict');
    assert.equal(rec.claim?.errorName, 'ClaimTypeInconsistent');
    const replay = await rpcError(() => s.client.startClaim(req));
    assert.equal(replay.bcbError, 'ClaimTypeInconsistent');
  });

  test('lists are sorted by next deadline, filtered, and paged; days remaining count down to the deadline', async () => {
    // One open claim: its deadline (ResolutionPeriodEnd, seconds away with these periods) comes
    // first, with 0 whole days remaining.
    const { claimId } = await incoming('PORTABILITY');
    const all = await s.client.listIncomingClaims({ pageSize: 500 });
    assert.ok(all.claims.length >= 10, `incoming claims: ${all.claims.length}`);
    const deadlines = all.claims.map((c) => (c.nextDeadline ? Number(c.nextDeadline.seconds) * 1000 + c.nextDeadline.nanos / 1e6 : Infinity));
    assert.deepEqual(deadlines, [...deadlines].sort((x, y) => x - y));
    assert.ok(Number.isFinite(deadlines[0]!), 'the open claim, with a deadline, comes first');
    const open = all.claims.find((c) => c.claimId === claimId)!;
    assert.equal(open.nextAction, 'CANCEL_DEFAULT_OPERATION');
    assert.equal(open.daysRemaining, 0);
    // Paged one by one, every claim comes exactly once, in the same order.
    const seen: string[] = [];
    let token = '';
    do {
      const page = await s.client.listIncomingClaims({ pageSize: 7, pageToken: token });
      seen.push(...page.claims.map((c) => c.id));
      token = page.nextPageToken;
    } while (token);
    assert.deepEqual(seen, all.claims.map((c) => c.id));
    const page1 = await s.client.listIncomingClaims({ pageSize: 1 });
    assert.ok(page1.nextPageToken);
    const wrong = await rpcError(() => s.client.listIncomingClaims({ pageSize: 1, pageToken: page1.nextPageToken, status: ClaimStatus.OPEN }));
    assert.deepEqual(wrong.fields, ['page_token']);
    const cancelled = await s.client.listOutgoingClaims({ status: ClaimStatus.CANCELLED });
    assert.ok(cancelled.claims.length >= 3, `cancelled outgoing: ${cancelled.claims.length}`);
    assert.ok(cancelled.claims.every((c) => c.status === ClaimStatus.CANCELLED && c.role === ClaimRole.CLAIMER));
  });
});
