// Two instances of our service (PSP A 12345678, PSP B 87654321) on one DICT simulator, BCB's
// periods shrunk to seconds: the key follows the claim from A to B, end to end through both
// APIs, both pollers, both workers and DICT.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Code } from '@connectrpc/connect';
import { ClaimOperationReason, ClaimRole, ClaimStatus, EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { captureHistory, SHORT_PERIODS, startClaimRequest, startPortabilityRequest, untilStatus, wait, waitFor } from '../support/claims.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, naturalPerson, newEndToEndId, newPhone } from '../support/fixtures.js';
import { OTHER_ISPB, OUR_ISPB, startStack, type Stack } from '../support/stack.js';

let a: Stack;
let b: Stack;
before(async () => {
  const common = { claimPeriods: SHORT_PERIODS, claimPoller: { intervalMs: 1_500 } };
  a = await startStack({ participant: OUR_ISPB, ...common, simulator: { claimPeriods: SHORT_PERIODS } });
  b = await startStack({ participant: OTHER_ISPB, beside: a, ...common });
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

const lookup = (s: Stack, key: string) => s.client.lookupKey({ key, payerId: naturalPerson().taxIdNumber, endToEndId: newEndToEndId(s.participant) });

test('ownership: A holds Alice’s phone, B claims it for Bob; A picks it up, times out and confirms; B completes after the closing period', async () => {
  const phone = newPhone();
  const alice = naturalPerson(undefined, 'Alice Pereira');
  const bob = naturalPerson(undefined, 'Bob Santos');
  const created = await a.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: phone, owner: alice, account: account(OUR_ISPB) }));
  assert.equal(created.entry?.status, EntryStatus.ACTIVE);

  const started = await b.client.startClaim(startClaimRequest(phone, account(OTHER_ISPB), bob));
  const claimId = started.claim!.claimId;
  assert.equal(started.claim?.status, ClaimStatus.OPEN);
  assert.equal(started.claim?.role, ClaimRole.CLAIMER);
  assert.ok(claimId, 'DICT assigned a claim id');
  const openedAt = Date.now();

  // A's poller picks the claim up and acknowledges it, within 5 s.
  const incoming = await waitFor('A’s inbox', async () => {
    const l = await a.client.listIncomingClaims({});
    return l.claims.find((c) => c.claimId === claimId && c.status === ClaimStatus.WAITING_RESOLUTION);
  }, 10_000, 100);
  const pickedUpMs = Date.now() - openedAt;
  assert.ok(pickedUpMs < 5_000, `picked up in ${pickedUpMs} ms`);
  assert.equal(incoming.role, ClaimRole.DONOR);
  assert.equal(incoming.nextAction, 'CONFIRM_DEFAULT_OPERATION');
  assert.equal(incoming.nextDeadline?.seconds, incoming.resolutionPeriodEnd?.seconds);
  const events = await a.sql<{ event_type: string }[]>`select event_type from outbox where aggregate_type = 'claim' order by id`;
  assert.ok(events.some((e) => e.event_type === 'ClaimReceived'), 'the donor’s user is told (outbox ClaimReceived)');

  // While waiting for resolution, lookups still find Alice's account at A; A cannot delete it.
  const during = await lookup(b, phone);
  assert.equal(during.entry?.account?.participant, OUR_ISPB);
  const del = await rpcError(() => a.client.deleteKey({ requestId: randomUUID(), key: phone, reason: 1, waitTimeout: wait(10) }));
  assert.equal(del.bcbError, 'EntryLockedByClaim');

  // Alice says nothing: at ResolutionPeriodEnd A confirms with DEFAULT_OPERATION and removes its entry.
  const confirmed = await untilStatus('A’s view', async () => (await a.client.getClaimStatus({ by: { case: 'claimId', value: claimId } })).claim, ClaimStatus.CONFIRMED);
  assert.equal(confirmed.confirmReason, ClaimOperationReason.DEFAULT_OPERATION);
  assert.equal((await a.client.getKey({ by: { case: 'key', value: phone } })).entry?.status, EntryStatus.DELETED);
  const gone = await rpcError(() => lookup(b, phone));
  assert.equal(gone.code, Code.NotFound);

  // B sees CONFIRMED; completing before the closing period ends is refused at once.
  const bConfirmed = await untilStatus('B’s view', async () => (await b.client.getClaimStatus({ by: { case: 'claimId', value: claimId } })).claim, ClaimStatus.CONFIRMED);
  const early = await rpcError(() => b.client.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(10) }));
  assert.equal(early.code, Code.FailedPrecondition);
  assert.equal(early.bcbError, 'ClaimCompletionPeriodNotEnded');

  // When CompletionPeriodEnd comes, B asks Bob to validate possession (outbox event for its app).
  await waitFor('B asks Bob', async () => {
    const rows = await b.sql<{ event_type: string }[]>`select event_type from outbox where aggregate_id = ${bConfirmed.id} and event_type = 'ClaimPossessionValidationRequested'`;
    return rows[0];
  });
  // Bob's possession is validated: B completes; the key is Bob's at B.
  const done = await b.client.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(10) });
  assert.equal(done.claim?.status, ClaimStatus.COMPLETED);
  assert.equal(done.operation?.done, true);
  const bKey = await b.client.getKey({ by: { case: 'key', value: phone } });
  assert.equal(bKey.entry?.status, EntryStatus.ACTIVE);
  assert.equal(bKey.entry?.owner?.taxIdNumber, bob.taxIdNumber);
  const after = await lookup(a, phone);
  assert.equal(after.entry?.account?.participant, OTHER_ISPB);
  assert.equal(after.entry?.owner?.name, 'Bob Santos');
  await untilStatus('A’s final view', async () => (await a.client.getClaimStatus({ by: { case: 'claimId', value: claimId } })).claim, ClaimStatus.COMPLETED);
});

test('portability: A holds Carol’s CPF key, B brings it over; Carol confirms at A; B completes at once', async () => {
  const carol = naturalPerson(undefined, 'Carol Souza');
  await a.client.createKey(createKeyRequest({ keyType: KeyType.CPF, key: carol.taxIdNumber, owner: carol, account: account(OUR_ISPB) }));

  const started = await b.client.startPortability(startPortabilityRequest(carol.taxIdNumber, KeyType.CPF, account(OTHER_ISPB), carol));
  const claimId = started.claim!.claimId;
  assert.equal(started.claim?.status, ClaimStatus.OPEN);

  const incoming = await waitFor('A’s inbox', async () => {
    const l = await a.client.listIncomingClaims({ status: ClaimStatus.WAITING_RESOLUTION });
    return l.claims.find((c) => c.claimId === claimId);
  }, 10_000, 100);
  assert.equal(incoming.nextAction, 'CANCEL_DEFAULT_OPERATION');
  const during = await lookup(b, carol.taxIdNumber);
  assert.equal(during.entry?.account?.participant, OUR_ISPB);

  // Carol confirms at A (her PSP): A confirms in DICT and removes its entry.
  const confirmed = await a.client.confirmPortability({ requestId: randomUUID(), claimId, waitTimeout: wait(10) });
  assert.equal(confirmed.claim?.status, ClaimStatus.CONFIRMED);
  assert.equal(confirmed.operation?.done, true);
  assert.equal((await a.client.getKey({ by: { case: 'key', value: carol.taxIdNumber } })).entry?.status, EntryStatus.DELETED);

  // B's claimer workflow completes as soon as it learns of the confirmation.
  await untilStatus('B’s view', async () => (await b.client.getClaimStatus({ by: { case: 'claimId', value: claimId } })).claim, ClaimStatus.COMPLETED);
  const bKey = await b.client.getKey({ by: { case: 'key', value: carol.taxIdNumber } });
  assert.equal(bKey.entry?.status, EntryStatus.ACTIVE);
  assert.equal(bKey.entry?.account?.participant, OTHER_ISPB);
  const after = await lookup(a, carol.taxIdNumber);
  assert.equal(after.entry?.account?.participant, OTHER_ISPB);
  await captureHistory(a.temporal, `claim-poller/${OUR_ISPB}`, 'claim-poller-rounds');
});
