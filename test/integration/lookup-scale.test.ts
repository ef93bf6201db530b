// LookupKey under load and faults, against real servers: admission control sheds the excess
// with RESOURCE_EXHAUSTED and keeps working; a cached lookup of another PSP's key needs no
// Postgres; with Redis stopped lookups answer without waiting on it (circuit breaker) and the
// cache is used again once Redis is back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Code, type Client as RpcClient } from '@connectrpc/connect';
import { gate } from '../../api/admission.js';
import type { ApiServer, BuildOptions } from '../../api/server.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { createLookupCache, type LookupCache } from '../../store/lookup-cache.js';
import { rpcError } from '../support/errors.js';
import { until } from '../support/poll.js';
import { createKeyRequest, legalPerson, naturalPerson, newEmail, newEndToEndId } from '../support/fixtures.js';
import { extraApi as extraApiOf, startStack, type Stack } from '../support/stack.js';
import { PrivateRedis } from '../support/processes.js';

let s: Stack;
const extra: ApiServer[] = [];
before(async () => {
  s = await startStack();
});
after(async () => {
  for (const a of extra) await a.close();
  await s?.stop();
});

const payer = () => naturalPerson().taxIdNumber;
const lookup = (c: RpcClient<typeof CoreDictService>, key: string) => c.lookupKey({ key, payerId: payer(), endToEndId: newEndToEndId() });

/** Another API server on the stack's Postgres, Temporal and DICT, with its own options. */
async function extraApi(over: Partial<BuildOptions>): Promise<{ api: ApiServer; client: RpcClient<typeof CoreDictService> }> {
  const started = await extraApiOf(s, over);
  extra.push(started.api);
  return started;
}

/** Holds an exclusive lock on entries (every read of it waits) until the returned function is called. */
async function lockEntries(): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const tx = s.sql.begin(async (t) => {
    await t`lock table entries in access exclusive mode`;
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await tx;
  };
}

async function ownKey(): Promise<string> {
  const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  return created.entry!.key;
}

async function otherPspLegalKey(): Promise<string> {
  const owner = legalPerson();
  const key = newEmail();
  await s.registerInDict(s.otherPsp, { key, keyType: 'EMAIL', owner: { type: 'LEGAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name } });
  return key;
}

describe('admission control', () => {
  test("LookupKey's Postgres reads beyond the slots and the queue are shed with RESOURCE_EXHAUSTED; the rest answer", async () => {
    const key = await ownKey();
    const { api, client } = await extraApi({ lookupDbGate: gate('lookup-db', { maxInFlight: 2, maxQueue: 2 }) });
    const unlock = await lockEntries();
    const calls = Array.from({ length: 10 }, () => lookup(client, key).then((r) => ({ ok: r.source }), (err: unknown) => ({ err })));
    // 2 reads wait on the lock, 2 wait for a slot, the other 6 are refused at once.
    await until('the gate to fill', () => {
      const st = api.gates.lookupDb.stats();
      return st.inFlight === 2 && st.queued === 2 && st.shed === 6;
    });
    await unlock();
    const results = await Promise.all(calls);
    const ok = results.filter((r) => 'ok' in r);
    assert.equal(ok.length, 4);
    assert.ok(ok.every((r) => 'ok' in r && r.ok === 'LOCAL'));
    for (const r of results.filter((x) => 'err' in x)) {
      const e = await rpcError(() => Promise.reject((r as { err: unknown }).err));
      assert.equal(e.code, Code.ResourceExhausted);
      assert.equal(e.bcbError, 'RateLimited');
      assert.equal(e.err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds, 1n);
    }
    assert.deepEqual(api.gates.lookupDb.stats(), { inFlight: 0, queued: 0, shed: 6 });
    // Nothing broke: the server keeps answering.
    assert.equal((await lookup(client, key)).source, 'LOCAL');
  });

  test('RPCs beyond API_MAX_IN_FLIGHT_RPCS are shed before any work', async () => {
    const key = await ownKey();
    const { api, client } = await extraApi({ admission: { maxInFlightRpcs: 3, lookupDbMaxInFlight: 10, lookupDbMaxQueue: 10 } });
    const unlock = await lockEntries();
    const calls = Array.from({ length: 8 }, () => lookup(client, key).then(() => 'ok', (err: unknown) => err));
    await until('the rpc gate to fill', () => api.gates.rpc.stats().inFlight === 3 && api.gates.rpc.stats().shed === 5);
    assert.equal(api.gates.lookupDb.stats().shed, 0);
    await unlock();
    const results = await Promise.all(calls);
    assert.equal(results.filter((r) => r === 'ok').length, 3);
    for (const r of results.filter((x) => x !== 'ok')) assert.equal((await rpcError(() => Promise.reject(r))).code, Code.ResourceExhausted);
    assert.equal((await lookup(client, key)).source, 'LOCAL');
  });
});

describe('hot path', () => {
  test("a cached lookup of another PSP's key answers without Postgres", async () => {
    const key = await otherPspLegalKey();
    assert.equal((await lookup(s.client, key)).source, 'DICT');
    const unlock = await lockEntries();
    try {
      // Postgres cannot answer anything about entries now; the cached entry still answers.
      const res = await lookup(s.client, key);
      assert.equal(res.source, 'CACHE');
    } finally {
      await unlock();
    }
  });
});

describe('Redis down', () => {
  let r: PrivateRedis | undefined;
  after(() => r?.stop());

  test('lookups never wait on a stopped Redis (breaker opens), and use the cache again once it is back', async () => {
    r = await PrivateRedis.start(50);
    const states: string[] = [];
    const cache: LookupCache = createLookupCache(r.client, { breaker: { threshold: 0.5, windowMs: 1_000, minimumRps: 3, halfOpenAfterMs: 300, commandTimeoutMs: 50, onStateChange: (st) => states.push(st) } });
    const { client } = await extraApi({ cache });
    const own = await ownKey();
    const other = await otherPspLegalKey();
    assert.deepEqual([(await lookup(client, other)).source, (await lookup(client, other)).source], ['DICT', 'CACHE']);

    await r.kill();
    // Every cache call fails fast while Redis is down: none waits anywhere near 100 ms.
    const waits: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await cache.get(other).then(
        () => assert.fail('Redis is down'),
        () => undefined,
      );
      waits.push(performance.now() - t0);
    }
    assert.ok(Math.max(...waits) < 100, `slowest cache call with Redis down: ${Math.max(...waits).toFixed(1)} ms`);
    assert.equal(cache.state(), 'open');
    const during = cache.stats();
    // Lookups answer: own keys from Postgres, others from DICT.
    const t0 = performance.now();
    const [a, b] = [await lookup(client, own), await lookup(client, other)];
    assert.deepEqual([a.source, b.source], ['LOCAL', 'DICT']);
    assert.ok(performance.now() - t0 < 2_000);
    // The lookups' cache calls were answered by the open circuit, without waiting on Redis.
    const now = cache.stats();
    assert.equal(now.over100ms, 0);
    assert.ok(now.shortCircuited - during.shortCircuited >= 2, JSON.stringify({ during, now }));

    // Redis back on the same port: the client reconnects by itself, the breaker closes after a probe.
    await r.restart();
    await until('the cache to be used again', async () => (await lookup(client, other)).source === 'CACHE', 15_000);
    assert.equal(cache.state(), 'closed');
    assert.ok(states.includes('open') && states.at(-1) === 'closed', `breaker states: ${states.join(',')}`);
  });
});
