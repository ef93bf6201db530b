// LookupKey (own keys locally, others through DICT, BCB's cache rule), health, and the three
// protocols the one handler serves.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@connectrpc/connect';
import { Code } from '@connectrpc/connect';
import { CoreDictService, HealthCheckResponse_Status } from '../../gen/dict/core/v1/service_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { EntryOperationReason, EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { cacheRequests, ownEntryReads } from '../../config/metrics.js';
import { rpcError } from '../support/errors.js';
import { until } from '../support/poll.js';
import { createKeyRequest, legalPerson, naturalPerson, newCnpj, newEmail, newEndToEndId, newPhone } from '../support/fixtures.js';
import { OTHER_ISPB, startStack, type Stack } from '../support/stack.js';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

const payer = () => naturalPerson().taxIdNumber;

const getEntryCalls = async () => (await s.simStats()).requests.getEntry ?? 0;

const otherPspKey = (owner: { type: 'NATURAL_PERSON' | 'LEGAL_PERSON'; taxIdNumber: string; name: string }, keyType: 'EMAIL' | 'PHONE' | 'CNPJ', key: string) =>
  s.registerInDict(s.otherPsp, { key, keyType, owner });

describe('LookupKey', () => {
  test('our own key is answered from our records, never sent to DICT', async () => {
    const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
    const before = await getEntryCalls();
    const res = await s.client.lookupKey({ key: created.entry!.key, payerId: payer(), endToEndId: newEndToEndId() });
    assert.equal(res.source, 'LOCAL');
    assert.equal(res.entry?.account?.accountNumber, created.entry!.account!.accountNumber);
    assert.equal(await getEntryCalls(), before);
  });

  test("another PSP's natural-person key goes to DICT every time (never cached)", async () => {
    const key = newPhone();
    await otherPspKey({ type: 'NATURAL_PERSON', taxIdNumber: payer(), name: 'Joao Souza' }, 'PHONE', key);
    const before = await getEntryCalls();
    const a = await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });
    const b = await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });
    assert.deepEqual([a.source, b.source], ['DICT', 'DICT']);
    assert.equal(a.entry?.account?.participant, OTHER_ISPB);
    assert.equal((await getEntryCalls()) - before, 2);
    assert.equal(await s.redis.exists(`dict:entry:${key}`), 0);
  });

  test("another PSP's legal-person key is cached for at most 180 s", async () => {
    const cnpj = newCnpj();
    await otherPspKey({ type: 'LEGAL_PERSON', taxIdNumber: cnpj, name: 'Mercado Bom Preco Ltda' }, 'CNPJ', cnpj);
    const before = await getEntryCalls();
    const a = await s.client.lookupKey({ key: cnpj, payerId: payer(), endToEndId: newEndToEndId() });
    const b = await s.client.lookupKey({ key: cnpj, payerId: payer(), endToEndId: newEndToEndId() });
    assert.deepEqual([a.source, b.source], ['DICT', 'CACHE']);
    assert.equal(b.entry?.owner?.taxIdNumber, cnpj);
    assert.equal((await getEntryCalls()) - before, 1);
    const ttl = await s.redis.ttl(`dict:entry:${cnpj}`);
    assert.ok(ttl > 0 && ttl <= 180, `ttl ${ttl}`);
  });

  test('our own write of a key invalidates its cached lookup', async () => {
    const owner = legalPerson();
    const key = newEmail();
    await otherPspKey({ type: 'LEGAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name }, 'EMAIL', key);
    await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });
    assert.equal(await s.redis.exists(`dict:entry:${key}`), 1);
    // The other PSP gives the key up; the owner registers it with us.
    await s.otherPsp.deleteEntry({ key, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key, owner }));
    assert.equal(created.entry?.status, EntryStatus.ACTIVE);
    assert.equal(await s.redis.exists(`dict:entry:${key}`), 0);
    const res = await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });
    assert.equal(res.source, 'LOCAL');
  });

  test('a key we stopped holding is looked up in the cache and DICT again (the own-key hint is only a hint)', async () => {
    const cacheReads = async () => (await cacheRequests.get()).values.reduce((n, v) => n + v.value, 0);
    const owner = legalPerson();
    const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner }));
    const key = created.entry!.key;
    assert.equal((await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() })).source, 'LOCAL');
    // Now known to be ours: the next lookup skips the cache read.
    const reads = await cacheReads();
    assert.equal((await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() })).source, 'LOCAL');
    assert.equal(await cacheReads(), reads, 'no Redis read for a key known to be ours');
    // We give the key up; the owner registers it at another PSP.
    await s.client.deleteKey({ requestId: randomUUID(), key, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: { seconds: 10n, nanos: 0 } });
    await otherPspKey({ type: 'LEGAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name }, 'EMAIL', key);
    const before = await getEntryCalls();
    const a = await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });
    const b = await s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });
    assert.deepEqual([a.source, b.source], ['DICT', 'CACHE']);
    assert.equal(a.entry?.account?.participant, OTHER_ISPB);
    assert.equal((await getEntryCalls()) - before, 1);
  });

  test('our own key still being registered is NotFound, without asking DICT', async () => {
    await s.simAdmin('faults', 'POST', { operation: 'createEntry', kind: 'latency', latencyMs: 1500 });
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), waitTimeout: undefined });
    const res = await s.client.createKey(req);
    // Wait until our row exists (PENDING) while DICT is still answering slowly.
    for (let i = 0; i < 50 && !(await s.sql`select 1 from entries where request_id = ${req.requestId}`).length; i++) await new Promise((r) => setTimeout(r, 20));
    const before = await getEntryCalls();
    const e = await rpcError(() => s.client.lookupKey({ key: req.key, payerId: payer(), endToEndId: newEndToEndId() }));
    assert.equal(e.code, Code.NotFound);
    assert.equal(await getEntryCalls(), before);
    await s.temporal.workflow.getHandle(res.operation!.workflowId).result();
    const active = await s.client.lookupKey({ key: req.key, payerId: payer(), endToEndId: newEndToEndId() });
    assert.equal(active.source, 'LOCAL');
  });

  test("our own key answered from memory shows a change made behind the API (an operator's SQL) once Postgres announces it (the stack's copies live a minute)", async () => {
    const memoryHits = async () => (await ownEntryReads.get()).values.find((v) => v.labels.result === 'hit')?.value ?? 0;
    const lookupOf = (key: string) => s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });
    await until('listening', () => s.ownEntries.listening());
    const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
    const key = created.entry!.key;
    // A lookup overlapped by the key's own last announcement is not kept: look up until one is answered from memory.
    await until('a lookup answered from memory', async () => {
      const hits = await memoryHits();
      assert.equal((await lookupOf(key)).source, 'LOCAL');
      return (await memoryHits()) > hits;
    });
    const seen = s.ownEntries.stats().announcements;
    await s.sql`update entries set owner_name = 'Renamed Behind The Api' where key = ${key}`;
    await until('the announcement', () => s.ownEntries.stats().announcements > seen);
    assert.equal((await lookupOf(key)).entry?.owner?.name, 'Renamed Behind The Api');
    // No longer live in Postgres (deleted behind the API): no LOCAL answer from memory either
    // (what DICT says of it then is another test's business).
    const seen2 = s.ownEntries.stats().announcements;
    await s.sql`update entries set status = 'DELETED' where key = ${key}`;
    await until('the announcement', () => s.ownEntries.stats().announcements > seen2);
    const source = await lookupOf(key).then(
      (r) => r.source,
      () => undefined,
    );
    assert.notEqual(source, 'LOCAL');
  });

  test('an unknown key is NotFound', async () => {
    const e = await rpcError(() => s.client.lookupKey({ key: newEmail(), payerId: payer(), endToEndId: newEndToEndId() }));
    assert.equal(e.code, Code.NotFound);
    assert.equal(e.bcbError, 'NotFound');
  });

  test('DICT down: Unavailable, not a hang', async () => {
    await s.simAdmin('faults', 'POST', { operation: 'getEntry', kind: '5xx', count: 1 });
    const e = await rpcError(() => s.client.lookupKey({ key: newEmail(), payerId: payer(), endToEndId: newEndToEndId() }));
    assert.equal(e.code, Code.Unavailable);
  });
});

describe('LookupKey errors say nothing of our internals', () => {
  test('DICT dropping the connection: Unavailable DictUnreachable, without socket or address text', async () => {
    // A key DICT has (the simulator drops the connection only after answering a found key).
    const key = newPhone();
    await otherPspKey({ type: 'NATURAL_PERSON', taxIdNumber: payer(), name: 'Joao Souza' }, 'PHONE', key);
    await s.simAdmin('faults', 'POST', { operation: 'getEntry', kind: 'lost-response', dropConnection: true, count: 20 });
    try {
      const e = await rpcError(() => s.client.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() }));
      assert.equal(e.code, Code.Unavailable);
      assert.equal(e.bcbError, 'DictUnreachable');
      assert.equal(e.err.rawMessage, 'DICT unreachable: retry later');
    } finally {
      await s.simAdmin('faults', 'DELETE');
    }
  });
});

describe('health', () => {
  test('HealthCheck reports each component', async () => {
    const res = await s.client.healthCheck({});
    assert.equal(res.status, HealthCheckResponse_Status.SERVING);
    assert.deepEqual(res.components.map((c) => c.name).sort(), ['bridge', 'postgres', 'redis', 'temporal']);
    assert.ok(res.components.every((c) => c.status === HealthCheckResponse_Status.SERVING));
  });

  test('grpc.health.v1 Check over gRPC', async () => {
    const health = createClient(Health, s.transports.grpc);
    assert.equal((await health.check({ service: '' })).status, HealthCheckResponse_ServingStatus.SERVING);
    assert.equal((await health.check({ service: 'dict.core.v1.CoreDictService' })).status, HealthCheckResponse_ServingStatus.SERVING);
    const unknown = await rpcError(() => health.check({ service: 'no.such.Service' }));
    assert.equal(unknown.code, Code.NotFound);
  });

  test('a flood of anonymous /readyz probes reaches the dependencies at most once per interval, and shows no details', async () => {
    const before = s.health.rounds();
    const answers = await Promise.all(Array.from({ length: 200 }, () => fetch(`${s.urls.httpUrl}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as { components: Record<string, unknown>[] } }))));
    assert.ok(answers.every((a) => a.status === 200));
    // 200 probes within one interval (2 s): at most one round, plus one more if the interval rolled over mid-flood.
    assert.ok(s.health.rounds() - before <= 2, `${s.health.rounds() - before} rounds of probes`);
    for (const c of answers[0]!.body.components) assert.deepEqual(Object.keys(c).sort(), ['name', 'ok']);
  });

  test('/healthz and /readyz', async () => {
    const live = await fetch(`${s.urls.httpUrl}/healthz`);
    assert.equal(live.status, 200);
    const ready = await fetch(`${s.urls.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { components: { name: string; ok: boolean }[] };
    assert.ok(body.components.every((c) => c.ok));
  });
});

describe('one handler, three protocols', () => {
  for (const name of ['connect', 'grpc', 'grpcWeb'] as const) {
    test(name, async () => {
      const client = createClient(CoreDictService, s.transports[name]);
      const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() });
      const created = await client.createKey(req);
      assert.equal(created.entry?.status, EntryStatus.ACTIVE);
      const got = await client.getKey({ by: { case: 'requestId', value: req.requestId } });
      assert.equal(got.entry?.key, req.key);
      const bad = await rpcError(() => client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: 'NOT-AN-EMAIL' })));
      assert.equal(bad.code, Code.InvalidArgument);
      assert.deepEqual(bad.fields, ['key']);
    });
  }

  test('Connect JSON over plain HTTP/1.1 POST', async () => {
    const res = await fetch(`${s.urls.httpUrl}/dict.core.v1.CoreDictService/GetKey`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await s.token()}` },
      body: JSON.stringify({ key: newEmail() }),
    });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { code: string };
    assert.equal(body.code, 'not_found');
  });
});
