// Events end to end: real API and workflow flows write the outbox, the relay (in this process,
// or dist/relay/main.js as shipped) publishes to NATS JetStream, and a consumer decodes what
// arrives. Every event kind the code writes arrives typed; a relay killed between claiming and
// publishing, or between publishing and marking, loses nothing and a consumer sees nothing twice;
// with NATS down the outbox keeps the rows and the relay catches up when it is back.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ClaimOperationReason, ClaimStatus, EntryOperationReason, EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { EventSchema, type Event } from '../../gen/dict/events/v1/events_pb.js';
import { consumeEvents } from '../../relay/consumer.js';
import { OUTBOX_EVENT_TYPES } from '../../relay/events.js';
import { ensureStream, OutboxRelay } from '../../relay/relay.js';
import { dictClaim, newAccountNumber, SHORT_PERIODS, startClaimRequest, untilStatus, wait, waitFor } from '../support/claims.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, naturalPerson, newEmail, newPhone } from '../support/fixtures.js';
import { freePort, Programs } from '../support/processes.js';
import { env, OTHER_ISPB, OUR_ISPB, startStack, testLogger, type Stack } from '../support/stack.js';

let s: Stack;
let nc: NatsConnection;
let js: JetStreamClient;
const programs = new Programs();
before(async () => {
  s = await startStack({ claimPeriods: SHORT_PERIODS, claimPoller: { intervalMs: 1_500 }, simulator: { claimPeriods: SHORT_PERIODS } });
  nc = await connect({ servers: env.natsUrl });
  js = jetstream(nc);
});
after(async () => {
  programs.killAll();
  await nc?.close();
  await s?.stop();
});

/** A fresh stream and subject prefix per test: what one test publishes, no other sees. */
async function freshStream(n: NatsConnection = nc) {
  const tag = randomUUID().slice(0, 8);
  const stream = { name: `EVTEST_${tag}`, subjectPrefix: `evtest.${tag}`, duplicateWindowMs: 600_000, maxAgeMs: 3_600_000 };
  await ensureStream(await jetstreamManager(n), stream);
  return stream;
}

/** Every message of a stream as stored (no dedupe here: repeats would show). */
async function rawEvents(j: JetStreamClient, stream: string, atLeast: number): Promise<Event[]> {
  const c = await j.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const out: Event[] = [];
  if (atLeast === 0) return out;
  const msgs = await c.consume();
  for await (const m of msgs) {
    out.push(fromBinary(EventSchema, m.data));
    if (m.info.pending === 0 && out.length >= atLeast) break;
  }
  await msgs.close();
  return out;
}

const outboxRows = (ids: string[]) =>
  s.sql<{ event_id: string; event_type: string; published: boolean }[]>`
    select event_id::text as event_id, event_type, published_at is not null as published
      from outbox where aggregate_id = any(${ids}) order by id`;

const relayOptions = (subjectPrefix: string) => ({
  participant: OUR_ISPB,
  subjectPrefix,
  batchSize: 500,
  pollIntervalMs: 50,
  backoffMinMs: 50,
  backoffMaxMs: 1_000,
  publishTimeoutMs: 2_000,
  log: testLogger(),
});

async function activeKey(): Promise<{ entryId: string; key: string }> {
  const res = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  assert.equal(res.entry?.status, EntryStatus.ACTIVE);
  return { entryId: res.entry!.entryId, key: res.entry!.key };
}

test('every event kind the flows write arrives on JetStream, decoded, once per outbox row', async () => {
  const stream = await freshStream();
  const seen = new Map<string, Event>();
  const sub = await consumeEvents(js, { stream: stream.name }, (e) => seen.set(e.eventId, e));
  const relay = new OutboxRelay(s.sql, js, relayOptions(stream.subjectPrefix));
  relay.start();
  const ids: string[] = [];
  try {
    // Entries: created, updated, deleted; and a registration DICT refuses.
    const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
    const { entryId, key } = created.entry!;
    ids.push(entryId);
    const moved = await s.client.updateKey({ requestId: randomUUID(), key, account: account(), owner: created.entry!.owner, reason: EntryOperationReason.BRANCH_TRANSFER, waitTimeout: wait(10) });
    assert.equal(moved.operation?.done, true);
    const del = await s.client.deleteKey({ requestId: randomUUID(), key, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(del.entry?.status, EntryStatus.DELETED);
    const owner = naturalPerson();
    const taken = newEmail();
    await s.registerInDict(s.dict, { key: taken, keyType: 'EMAIL', owner: { type: 'NATURAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name }, accountNumber: '55555' });
    const refusedReq = createKeyRequest({ keyType: KeyType.EMAIL, key: taken, owner });
    assert.equal((await rpcError(() => s.client.createKey(refusedReq))).bcbError, 'EntryAlreadyExists');
    ids.push((await s.client.getKey({ by: { case: 'requestId', value: refusedReq.requestId } })).entry!.entryId);

    // A claim DICT refuses (ownership of the claimer's own key).
    const self = naturalPerson();
    const ownKey = newPhone();
    await s.registerInDict(s.otherPsp, { key: ownKey, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: self.taxIdNumber, name: self.name }, accountNumber: newAccountNumber() });
    const failedReq = startClaimRequest(ownKey, account(OUR_ISPB), self);
    await rpcError(() => s.client.startClaim(failedReq));
    ids.push((await s.client.getClaimStatus({ by: { case: 'requestId', value: failedReq.requestId } })).claim!.id);

    // We claim ownership: opened, acknowledged, confirmed, possession validation asked, completed
    // (and the key's entry activated here).
    const phone = newPhone();
    const holder = naturalPerson();
    await s.registerInDict(s.otherPsp, { key: phone, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: holder.taxIdNumber, name: holder.name }, accountNumber: newAccountNumber() });
    const started = await s.client.startClaim(startClaimRequest(phone, account(OUR_ISPB), naturalPerson()));
    const claimId = started.claim!.claimId;
    ids.push(started.claim!.id);
    const ours = async () => (await s.client.getClaimStatus({ by: { case: 'claimId', value: claimId } })).claim;
    await s.otherPsp.acknowledgeClaim({ claimId, participant: OTHER_ISPB });
    await untilStatus('waiting', ours, ClaimStatus.WAITING_RESOLUTION);
    await s.otherPsp.confirmClaim({ claimId, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    await untilStatus('confirmed', ours, ClaimStatus.CONFIRMED);
    // The closing period is over at once (USER_REQUESTED): our user is asked to validate possession.
    await waitFor('possession validation asked', async () =>
      (await s.sql`select 1 from outbox where aggregate_id = ${started.claim!.id} and event_type = 'ClaimPossessionValidationRequested'`).length ? true : undefined);
    const done = await s.client.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(10) });
    assert.equal(done.claim?.status, ClaimStatus.COMPLETED);
    ids.push((await s.client.getKey({ by: { case: 'key', value: phone } })).entry!.entryId);

    // Another PSP claims a key of ours (portability): received; our user keeps it (cancelled).
    const cpfOwner = naturalPerson();
    const mine = await s.client.createKey(createKeyRequest({ keyType: KeyType.CPF, key: cpfOwner.taxIdNumber, owner: cpfOwner, account: account(OUR_ISPB) }));
    ids.push(mine.entry!.entryId);
    const incoming = await s.otherPsp.createClaim({ claim: dictClaim('PORTABILITY', cpfOwner.taxIdNumber, 'CPF', account(OTHER_ISPB), cpfOwner) });
    const theirs = async () => (await s.client.getClaimStatus({ by: { case: 'claimId', value: incoming.claim.id } })).claim;
    const donorView = await untilStatus('our donor view', theirs, ClaimStatus.WAITING_RESOLUTION);
    ids.push(donorView.id);
    const kept = await s.client.cancelPortability({ requestId: randomUUID(), claimId: incoming.claim.id, reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(kept.claim?.status, ClaimStatus.CANCELLED);

    // Everything the outbox holds for these aggregates arrives, once, typed.
    const rows = await waitFor('every row published and consumed', async () => {
      const r = await outboxRows(ids);
      return r.every((x) => x.published && seen.has(x.event_id)) ? r : undefined;
    });
    const kinds = new Set(rows.map((r) => r.event_type));
    assert.deepEqual([...kinds].sort(), [...OUTBOX_EVENT_TYPES].sort(), 'every event kind produced by a real flow');
    for (const r of rows) {
      const e = seen.get(r.event_id)!;
      const name = r.event_type[0]!.toLowerCase() + r.event_type.slice(1);
      assert.equal(e.event.case, name, `${r.event_id} is a ${r.event_type}`);
      assert.equal(e.participant, OUR_ISPB);
    }
    const activated = [...seen.values()].find((e) => e.aggregateId === ids[0] && e.event.case === 'entryActivated');
    assert.ok(activated?.event.case === 'entryActivated' && activated.event.value.entry?.key === key, 'the entry travels typed');
  } finally {
    await relay.stop();
    await sub.stop();
  }
});

function startRelay(subjectPrefix: string, streamName: string, extra: Record<string, string> = {}, natsUrl = env.natsUrl): ChildProcess {
  return programs.start('relay/main.js', {
    DATABASE_URL: env.databaseUrl,
    NATS_URL: natsUrl,
    NATS_STREAM: streamName,
    NATS_SUBJECT_PREFIX: subjectPrefix,
    PSP_ISPB: OUR_ISPB,
    OUTBOX_BATCH_SIZE: '1000',
    OUTBOX_POLL_INTERVAL_MS: '50',
    OUTBOX_BACKOFF_MIN_MS: '50',
    OUTBOX_BACKOFF_MAX_MS: '500',
    OUTBOX_PUBLISH_TIMEOUT_MS: '1000',
    ...extra,
  });
}

const exitCode = async (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? child.exitCode : ((await once(child, 'exit')) as [number | null])[0];

test('relay killed after claiming (before publishing) and after publishing (before marking): nothing lost, nothing seen twice', async () => {
  const stream = await freshStream();
  const jsm = await jetstreamManager(nc);
  // Committed while no relay runs.
  const keys = [await activeKey(), await activeKey(), await activeKey()];
  const ids = keys.map((k) => k.entryId);
  const mine = await outboxRows(ids);
  assert.equal(mine.length, 6);

  // Dies holding the batch, before publishing: its transaction rolls back, nothing was sent.
  const first = startRelay(stream.subjectPrefix, stream.name, { RELAY_FAULT: 'exit-before-publish' });
  assert.equal(await exitCode(first), 86, programs.log(first));
  assert.equal((await jsm.streams.info(stream.name)).state.messages, 0);
  assert.ok((await outboxRows(ids)).every((r) => !r.published));

  // Dies after JetStream acked the batch, before marking it: on the stream, still unpublished here.
  const second = startRelay(stream.subjectPrefix, stream.name, { RELAY_FAULT: 'exit-after-publish' });
  assert.equal(await exitCode(second), 86, programs.log(second));
  const afterCrash = (await jsm.streams.info(stream.name)).state.messages;
  assert.ok(afterCrash >= 6);
  assert.ok((await outboxRows(ids)).every((r) => !r.published), 'not marked');

  // A healthy relay publishes the batch again and marks it; the stream drops the repeats.
  const third = startRelay(stream.subjectPrefix, stream.name);
  await waitFor('rows marked published', async () => ((await outboxRows(ids)).every((r) => r.published) ? true : undefined));
  third.kill('SIGTERM');
  assert.equal(await exitCode(third), 0, programs.log(third));
  const stored = await rawEvents(js, stream.name, afterCrash);
  const counts = new Map<string, number>();
  for (const e of stored) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
  for (const r of mine) assert.equal(counts.get(r.event_id), 1, `${r.event_type} ${r.event_id} stored exactly once`);
  assert.equal(stored.length, counts.size, 'no event id twice on the stream (Nats-Msg-Id dedupe)');
});

test('NATS down: the outbox keeps the rows, the relay backs off and catches up when NATS is back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'core-dict-nats-'));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const startNats = async () => {
    const p = spawn('nats-server', ['--addr', '127.0.0.1', '--port', String(port), '--jetstream', '--store_dir', dir], { stdio: 'ignore' });
    await waitFor('nats up', async () => {
      const c = await connect({ servers: url, reconnect: false });
      await c.close();
      return true;
    });
    return p;
  };
  let nats = await startNats();
  let own: NatsConnection | undefined;
  let consumer: NatsConnection | undefined;
  try {
    own = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const stream = await freshStream(own);
    const relay = startRelay(stream.subjectPrefix, stream.name, { LOG_LEVEL: 'info' }, url);
    await waitFor('relay connected', async () => (programs.log(relay).includes('relay running') ? true : undefined));
    await waitFor('relay drained the backlog', async () => ((await s.sql`select 1 from outbox where published_at is null limit 1`).length === 0 ? true : undefined));

    nats.kill('SIGKILL');
    await once(nats, 'exit');
    const { entryId } = await activeKey();
    await waitFor('relay reports NATS unreachable', async () => (programs.log(relay).includes('rows stay in the outbox') ? true : undefined)).catch((err: Error) => {
      throw new Error(`${err.message}; relay log: ${programs.log(relay)}`);
    });
    const kept = await outboxRows([entryId]);
    assert.equal(kept.length, 2);
    assert.ok(kept.every((r) => !r.published), 'the outbox keeps the rows while NATS is down');
    assert.equal(relay.exitCode, null, 'the relay keeps running');

    nats = await startNats();
    await waitFor('caught up', async () => ((await outboxRows([entryId])).every((r) => r.published) ? true : undefined), 30_000);
    const seen = new Map<string, Event>();
    // A new connection: the first one may still be between reconnect attempts to the restarted server.
    consumer = await connect({ servers: url });
    const sub = await consumeEvents(jetstream(consumer), { stream: stream.name }, (e) => seen.set(e.eventId, e));
    await waitFor('events consumed', async () => (kept.every((r) => seen.has(r.event_id)) ? true : undefined));
    await sub.stop();
    assert.deepEqual(kept.map((r) => seen.get(r.event_id)?.event.case), ['entryRequested', 'entryActivated']);
    relay.kill('SIGTERM');
    assert.equal(await exitCode(relay), 0, programs.log(relay));
  } finally {
    await consumer?.close();
    await own?.close().catch(() => undefined);
    nats.kill('SIGTERM');
    if (nats.exitCode === null && nats.signalCode === null) await once(nats, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
});
