// BCB's getEntry anti-scanning buckets (DICT API 2.6.1 "Limitação de requisições", Manual §13)
// end to end: LookupKey is refused (RESOURCE_EXHAUSTED, RateLimited, RetryInfo) before DICT when
// the payer's or our bucket is empty; ReportPaymentOrder gives tokens back once; with Redis
// killed an in-process limiter keeps DICT traffic under its fraction of BCB's rates; the
// simulator enforces the same rules (429) and serves /policies, which our buckets reconcile
// with, one API process of a deployment asking DICT per round (BCB's POLICIES_LIST, which the
// simulator spends like POLICIES_READ); and the Redis limiter (Lua) never admits more than the
// reference model.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { Code, ConnectError, type Client as RpcClient } from '@connectrpc/connect';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { startAntiscanReconciler } from '../../api/antiscan.js';
import type { ApiServer, BuildOptions } from '../../api/server.js';
import { DictProblemError } from '../../bridge/types.js';
import type { ParticipantCategory } from '../../domain/antiscan.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { ErrorInfoSchema, RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { createAntiscanLimiter, createPoliciesRound, type AntiscanLimiter } from '../../store/antiscan.js';
import { runStream, streamArb } from '../support/antiscan-model.js';
import { rpcError } from '../support/errors.js';
import { legalPerson, naturalPerson, newCpf, newEmail, newEndToEndId, newPhone } from '../support/fixtures.js';
import { PrivateRedis } from '../support/processes.js';
import { customer, extraApi, OUR_ISPB, startStack, type Stack } from '../support/stack.js';

let s: Stack;
const extra: ApiServer[] = [];
before(async () => {
  s = await startStack();
});
after(async () => {
  for (const a of extra) await a.close();
  await s?.stop();
});
afterEach(async () => {
  // Every test starts with full buckets, ours and the simulator's.
  const keys = await s.redis.keys('antiscan:*');
  if (keys.length) await s.redis.del(...keys);
  await s.simAdmin('antiscan/reset', 'POST');
});

const getEntryCalls = async () => (await s.simStats()).requests.getEntry ?? 0;

/** Another API server on the stack, with its own anti-scanning limiter. */
async function apiWith(over: Partial<BuildOptions>): Promise<RpcClient<typeof CoreDictService>> {
  const { api, client } = await extraApi(s, over);
  extra.push(api);
  return client;
}

const limiterOn = (redis: Redis, category: ParticipantCategory = 'A', fallbackFraction = 0.1): AntiscanLimiter =>
  createAntiscanLimiter(redis, { category, fallbackFraction, breaker: { threshold: 0.5, windowMs: 1_000, minimumRps: 3, halfOpenAfterMs: 300, commandTimeoutMs: 50 } });

/** Another PSP's key owned by a natural person: never cached, every lookup goes to DICT. */
async function otherPspPhone(): Promise<string> {
  const key = newPhone();
  await s.registerInDict(s.otherPsp, { key, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: newCpf(), name: 'Joao Souza' } });
  return key;
}

type Try = { ok: true; source: string } | { ok: false; code: Code; bcbError?: string; policy?: string; retry?: bigint };
async function tryLookup(c: RpcClient<typeof CoreDictService>, key: string, payerId: string, endToEndId = newEndToEndId()): Promise<Try> {
  try {
    const r = await c.lookupKey({ key, payerId, endToEndId });
    return { ok: true, source: r.source };
  } catch (err) {
    assert.ok(err instanceof ConnectError, String(err));
    const info = err.findDetails(ErrorInfoSchema)[0];
    return { ok: false, code: err.code, bcbError: info?.reason, policy: info?.metadata['policy'], retry: err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds };
  }
}

/** DICT's listPolicies, counting the calls and when each was made. */
const countingDict = () => {
  const at: number[] = [];
  return { at, listPolicies: () => (at.push(Date.now()), s.dict.listPolicies()), getPolicy: (p: string) => s.dict.getPolicy(p) };
};

describe('LookupKey anti-scanning', () => {
  test('101 lookups by one natural-person payer in a minute: 100 reach DICT, the 101st is RateLimited', async () => {
    const client = await apiWith({ antiscan: limiterOn(s.redis) });
    const key = await otherPspPhone();
    const payer = naturalPerson().taxIdNumber;
    const before = await getEntryCalls();
    const results: Try[] = [];
    for (let i = 0; i < 101; i++) results.push(await tryLookup(client, key, payer));
    const admitted = results.filter((r) => r.ok).length;
    // 100 tokens and 2 a minute: the 101st finds the bucket empty unless the loop took 30 s.
    assert.ok(admitted >= 100 && admitted <= 101, `admitted ${admitted}`);
    assert.equal((await getEntryCalls()) - before, admitted);
    const refused = results.find((r) => !r.ok);
    if (admitted === 100) {
      assert.deepEqual(refused, { ok: false, code: Code.ResourceExhausted, bcbError: 'RateLimited', policy: 'ENTRIES_READ_USER_ANTISCAN', retry: refused && !refused.ok ? refused.retry : undefined });
      assert.ok(refused && !refused.ok && refused.retry! >= 1n && refused.retry! <= 30n);
    }
  });

  test('8 not-founds in a row: 5 reach DICT (20 tokens each); the CPF/CNPJ/EVP bucket is a separate one', async () => {
    const client = await apiWith({ antiscan: limiterOn(s.redis) });
    const payer = naturalPerson().taxIdNumber;
    const before = await getEntryCalls();
    const results: Try[] = [];
    for (let i = 0; i < 8; i++) results.push(await tryLookup(client, newEmail(), payer));
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.code === Code.NotFound ? 'NotFound' : r.bcbError)),
      ['NotFound', 'NotFound', 'NotFound', 'NotFound', 'NotFound', 'RateLimited', 'RateLimited', 'RateLimited'],
    );
    assert.equal((await getEntryCalls()) - before, 5);
    const last = results[7]!;
    // 0 tokens after 5 misses: a token again within 30 s at 2 a minute.
    assert.ok(!last.ok && last.retry! >= 1n && last.retry! <= 30n, JSON.stringify(last, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    // ENTRIES_READ_USER_ANTISCAN_V2 (CPF, CNPJ, EVP) still has its 100 tokens.
    const cpfKey = naturalPerson().taxIdNumber;
    await s.registerInDict(s.otherPsp, { key: cpfKey, keyType: 'CPF', owner: { type: 'NATURAL_PERSON', taxIdNumber: cpfKey, name: 'Ana Lima' } });
    assert.deepEqual(await tryLookup(client, cpfKey, payer), { ok: true, source: 'DICT' });
  });

  test('a legal-person payer has 1,000 tokens: 50 not-founds reach DICT, the 51st is refused', async () => {
    const client = await apiWith({ antiscan: limiterOn(s.redis) });
    const payer = legalPerson().taxIdNumber;
    const before = await getEntryCalls();
    let notFound = 0;
    let refused: Try | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const r = await tryLookup(client, newEmail(), payer);
      if (!r.ok && r.code === Code.NotFound) notFound++;
      else refused = r;
    }
    // 1,000 / 20 = 50; at 20 tokens a minute a slow run (over 3 s) may earn the whole token
    // that admits one more (which then takes the bucket to −19).
    assert.ok(notFound === 50 || notFound === 51, `not-founds admitted: ${notFound}`);
    assert.ok(refused && !refused.ok && refused.bcbError === 'RateLimited' && refused.policy === 'ENTRIES_READ_USER_ANTISCAN');
    assert.equal((await getEntryCalls()) - before, notFound);
  });

  test("our participant's bucket (category H: 50 tokens, a miss costs 3) bounds every payer together", async () => {
    const client = await apiWith({ antiscan: limiterOn(s.redis, 'H') });
    const before = await getEntryCalls();
    const results: Try[] = [];
    // A different payer each time: no user bucket runs out.
    for (let i = 0; i < 20; i++) results.push(await tryLookup(client, newEmail(), naturalPerson().taxIdNumber));
    // 50 → 2 after 16 misses; the 17th still finds a token; then −1.
    assert.equal(results.filter((r) => !r.ok && r.code === Code.NotFound).length, 17);
    assert.ok(results.slice(17).every((r) => !r.ok && r.bcbError === 'RateLimited' && r.policy === 'ENTRIES_READ_PARTICIPANT_ANTISCAN'));
    assert.equal((await getEntryCalls()) - before, 17);
  });

  test('ReportPaymentOrder gives the tokens back once per end-to-end id', async () => {
    const limiter = limiterOn(s.redis);
    const client = await apiWith({ antiscan: limiter });
    const key = await otherPspPhone();
    const payer = naturalPerson().taxIdNumber;
    const e2e = [newEndToEndId(), newEndToEndId()];
    for (const id of e2e) assert.deepEqual(await tryLookup(client, key, payer, id), { ok: true, source: 'DICT' });
    const tokens = async () => Math.floor((await limiter.peek('ENTRIES_READ_USER_ANTISCAN', OUR_ISPB, payer))!);
    assert.equal(await tokens(), 98);
    // Each lookup's record expires with the payment-order window (written with its expiry, atomically).
    for (const id of e2e) {
      const ttl = await s.redis.ttl(`antiscan:e2e:${OUR_ISPB}:${id}`);
      assert.ok(ttl > 0, `record of ${id}: ttl ${ttl}`);
    }
    const first = await client.reportPaymentOrder({ endToEndId: e2e[0]! });
    assert.deepEqual([first.refunded, first.replayed], [true, false]);
    assert.equal(await tokens(), 99);
    const again = await client.reportPaymentOrder({ endToEndId: e2e[0]! });
    assert.deepEqual([again.refunded, again.replayed], [true, true]);
    assert.equal(await tokens(), 99);
    // A legal-person payer gets 2 back; our participant bucket 1 each time.
    const pj = legalPerson().taxIdNumber;
    const e2ePj = newEndToEndId();
    assert.equal((await tryLookup(client, key, pj, e2ePj)).ok, true);
    const pspBefore = (await limiter.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', OUR_ISPB))!;
    assert.equal((await client.reportPaymentOrder({ endToEndId: e2ePj })).refunded, true);
    assert.equal(Math.floor((await limiter.peek('ENTRIES_READ_USER_ANTISCAN', OUR_ISPB, pj))!), 1_000);
    // (category A refills 25,000 a minute: the credit is capped by the bucket's size)
    assert.ok((await limiter.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', OUR_ISPB))! >= Math.min(50_000, pspBefore + 1) - 1e-9);
    // Nothing charged for this id (never looked up): nothing to give back.
    const none = await client.reportPaymentOrder({ endToEndId: newEndToEndId() });
    assert.deepEqual([none.refunded, none.replayed], [false, false]);
    const bad = await rpcError(() => client.reportPaymentOrder({ endToEndId: 'nope' }));
    assert.equal(bad.code, Code.InvalidArgument);
    // The payer cannot give their own tokens back: only operators (the payments system) report.
    const asPayer = s.clientAs(await s.token(customer(payer)));
    assert.equal((await rpcError(() => asPayer.reportPaymentOrder({ endToEndId: e2e[1]! }))).code, Code.PermissionDenied);
  });

  test("DICT's own 429 (the simulator's buckets) answers RESOURCE_EXHAUSTED RateLimited with RetryInfo", async () => {
    const client = await apiWith({}); // no limiter of ours: DICT's buckets decide
    assert.equal((await s.simAdmin('antiscan/categories', 'POST', { participant: OUR_ISPB, category: 'H' })).status, 200);
    const results: Try[] = [];
    for (let i = 0; i < 19; i++) results.push(await tryLookup(client, newEmail(), naturalPerson().taxIdNumber));
    assert.equal(results.filter((r) => !r.ok && r.code === Code.NotFound).length, 17);
    const limited = results[18]!;
    assert.ok(!limited.ok && limited.code === Code.ResourceExhausted && limited.bcbError === 'RateLimited' && limited.retry! >= 1n);
    // The bridge sees BCB's problem: 429 RateLimited with Retry-After.
    const err = await s.dict.getEntry({ key: newEmail(), payerId: naturalPerson().taxIdNumber, endToEndId: newEndToEndId() }).then(
      () => assert.fail('expected 429'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DictProblemError);
    assert.equal(err.status, 429);
    assert.equal(err.bcbError, 'RateLimited');
    assert.ok((err.retryAfterSeconds ?? 0) >= 1);
  });

  test('GET /policies/ and /policies/{policy}; our buckets take DICT category and never hold more than DICT', async () => {
    await s.simAdmin('antiscan/categories', 'POST', { participant: OUR_ISPB, category: 'G' });
    // 4 misses spend 12 of DICT's 250 tokens.
    const plain = await apiWith({});
    for (let i = 0; i < 4; i++) assert.equal((await tryLookup(plain, newEmail(), naturalPerson().taxIdNumber)).ok, false);
    const list = await s.dict.listPolicies();
    assert.equal(list.category, 'G');
    const mine = list.policies.find((p) => p.name === 'ENTRIES_READ_PARTICIPANT_ANTISCAN');
    assert.deepEqual(mine && { ...mine, availableTokens: undefined }, { name: 'ENTRIES_READ_PARTICIPANT_ANTISCAN', availableTokens: undefined, capacity: 250, refillTokens: 25, refillPeriodSec: 60 });
    assert.ok(mine!.availableTokens >= 238 && mine!.availableTokens <= 240, String(mine!.availableTokens));
    assert.ok(list.policies.some((p) => p.name === 'CLAIMS_LIST_WITH_ROLE' && p.capacity === 200));
    const one = await s.dict.getPolicy('ENTRIES_READ_PARTICIPANT_ANTISCAN');
    assert.equal(one.category, 'G');
    assert.equal(one.policy.capacity, 250);
    await assert.rejects(s.dict.getPolicy('NO_SUCH_POLICY'), (e: unknown) => e instanceof DictProblemError && e.status === 404);

    const limiter = limiterOn(s.redis, 'H');
    const r = startAntiscanReconciler({ limiter, dict: s.dict, participant: OUR_ISPB, intervalMs: 0, log: pino({ level: 'silent' }) });
    await r.reconcileNow();
    r.stop();
    assert.equal(limiter.category(), 'G');
    const ours = (await limiter.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', OUR_ISPB))!;
    assert.ok(ours <= 241 && ours >= 238, String(ours));
  });

  test("the simulator spends BCB's POLICIES_LIST (6/min, 20) and POLICIES_READ (60/min, 200) buckets: 429 RateLimited once empty", async () => {
    await s.simAdmin('rate-limits/reset', 'POST');
    try {
      const before = (await s.dict.listPolicies()).policies;
      assert.deepEqual(
        before.filter((p) => p.name.startsWith('POLICIES_')).map((p) => [p.name, p.refillTokens, p.capacity]),
        [['POLICIES_LIST', 6, 20], ['POLICIES_READ', 60, 200]],
      );
      // The call that answers has already spent its own token: 20 − 1.
      assert.equal(before.find((p) => p.name === 'POLICIES_LIST')!.availableTokens, 19);
      for (let i = 0; i < 19; i++) await s.dict.listPolicies();
      const refused = await s.dict.listPolicies().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(refused instanceof DictProblemError && refused.status === 429 && refused.bcbError === 'RateLimited', String(refused));
      // 6 a minute: the next token in 10 s.
      assert.ok((refused.retryAfterSeconds ?? 0) >= 1 && (refused.retryAfterSeconds ?? 0) <= 10, String(refused.retryAfterSeconds));
      // getBucketState: an unknown policy's 404 costs a token too (every answer but a 500).
      assert.equal((await s.simAdmin('rate-limits/POLICIES_READ', 'PUT', { refillPerMinute: 60, bucketSize: 3 })).status, 200);
      assert.equal((await s.dict.getPolicy('ENTRIES_READ_PARTICIPANT_ANTISCAN')).policy.name, 'ENTRIES_READ_PARTICIPANT_ANTISCAN');
      await assert.rejects(s.dict.getPolicy('NO_SUCH_POLICY'), (e: unknown) => e instanceof DictProblemError && e.status === 404);
      assert.equal((await s.dict.getPolicy('POLICIES_READ')).policy.availableTokens, 0);
      await assert.rejects(s.dict.getPolicy('POLICIES_READ'), (e: unknown) => e instanceof DictProblemError && e.status === 429);
    } finally {
      await s.simAdmin('rate-limits/reset', 'POST');
    }
  });

  test('one reconcile per round for the whole deployment: three processes, one DICT call per lease, all take DICT category and tokens', async () => {
    await s.simAdmin('antiscan/categories', 'POST', { participant: OUR_ISPB, category: 'G' });
    try {
      // 4 misses spend 12 of DICT's 250 tokens (category G).
      const plain = await apiWith({});
      for (let i = 0; i < 4; i++) assert.equal((await tryLookup(plain, newEmail(), naturalPerson().taxIdNumber)).ok, false);
      const dict = countingDict();
      const limiters = [limiterOn(s.redis, 'H'), limiterOn(s.redis, 'H'), limiterOn(s.redis, 'H')];
      const started = Date.now();
      const rs = limiters.map((limiter) =>
        startAntiscanReconciler({ limiter, dict, participant: OUR_ISPB, intervalMs: 500, round: createPoliciesRound(s.redis, OUR_ISPB), log: pino({ level: 'silent' }) }),
      );
      await new Promise((r) => setTimeout(r, 2_600));
      for (const r of rs) r.stop();
      // Three processes ask at each of their 6 rounds without the round (18 calls); with it one
      // lease (0.9 of the interval: 450 ms) admits one call.
      const windows = Math.ceil((Date.now() - started) / 450);
      assert.ok(dict.at.length >= 2 && dict.at.length <= windows, `DICT calls ${dict.at.length}, lease windows ${windows}`);
      const gaps = dict.at.slice(1).map((t, i) => t - dict.at[i]!);
      assert.ok(gaps.every((g) => g >= 400), `gaps between DICT calls: ${gaps.join(', ')} ms`);
      assert.deepEqual(
        limiters.map((l) => l.category()),
        ['G', 'G', 'G'],
      );
      // Our shared bucket was lowered to DICT's 238 (plus the refill since: 25 a minute).
      for (const l of limiters) {
        const ours = (await l.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', OUR_ISPB))!;
        assert.ok(ours >= 236 && ours <= 241, String(ours));
      }
    } finally {
      await s.simAdmin('rate-limits/reset', 'POST');
    }
  });

  test('at startup (interval 0), processes that lose the round wait for the winner: all learn DICT category from one DICT call', async () => {
    await s.simAdmin('antiscan/categories', 'POST', { participant: OUR_ISPB, category: 'G' });
    const dict = countingDict();
    const limiters = [limiterOn(s.redis, 'H'), limiterOn(s.redis, 'H'), limiterOn(s.redis, 'H')];
    const rs = limiters.map((limiter) =>
      startAntiscanReconciler({ limiter, dict, participant: OUR_ISPB, intervalMs: 0, round: createPoliciesRound(s.redis, OUR_ISPB), log: pino({ level: 'silent' }) }),
    );
    try {
      for (let i = 0; i < 50 && limiters.some((l) => l.category() !== 'G'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        limiters.map((l) => l.category()),
        ['G', 'G', 'G'],
      );
      assert.equal(dict.at.length, 1);
    } finally {
      for (const r of rs) r.stop();
    }
  });

  test('a process that lost the round lowers its buckets to an upper bound of DICT tokens now', async () => {
    // DICT said 10 tokens (category H: 2 a minute, bucket 50) 60 s ago: at most 12 now.
    const round = createPoliciesRound(s.redis, OUR_ISPB);
    assert.equal(await round.claim(60_000), true);
    assert.equal(await round.claim(60_000), false);
    await round.publish({ category: 'H', availableTokens: 10, at: Date.now() - 60_000 }, 60_000);
    const dict = countingDict();
    const loser = limiterOn(s.redis, 'A');
    const r = startAntiscanReconciler({ limiter: loser, dict, participant: OUR_ISPB, intervalMs: 0, round, log: pino({ level: 'silent' }) });
    await r.reconcileNow();
    r.stop();
    assert.equal(dict.at.length, 0);
    assert.equal(loser.category(), 'H');
    const tokens = (await loser.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', OUR_ISPB))!;
    assert.ok(tokens >= 12 && tokens < 12.5, String(tokens));
  });

  test('property: the Redis limiter (Lua) never admits more than the reference model', async () => {
    const limiter = createAntiscanLimiter(s.redis, { category: 'H', fallbackFraction: 0.1 });
    await fc.assert(
      fc.asyncProperty(streamArb, async (events) => {
        const participant = String(randomInt(10_000_000, 99_999_999));
        const diff = await runStream(limiter, 'H', participant, events, 1_700_000_000_000);
        assert.equal(diff, undefined, `diverged: ${JSON.stringify(diff)}`);
      }),
      { numRuns: 25 },
    );
    assert.equal(limiter.stats().fallback, 0);
  });
});

describe('Redis killed', () => {
  let r: PrivateRedis | undefined;
  after(() => r?.stop());

  test('the reconcile: no DICT call while Redis is down, and one within a second or two once it is back', async () => {
    await s.simAdmin('antiscan/categories', 'POST', { participant: OUR_ISPB, category: 'G' });
    const own = await PrivateRedis.start(50);
    const dict = countingDict();
    const limiter = createAntiscanLimiter(own.client, { category: 'H', fallbackFraction: 0.1 });
    await own.kill();
    const rec = startAntiscanReconciler({ limiter, dict, participant: OUR_ISPB, intervalMs: 0, round: createPoliciesRound(own.client, OUR_ISPB), log: pino({ level: 'silent' }) });
    try {
      // Tried again every second while Redis is away: Redis calls only.
      await new Promise((res) => setTimeout(res, 2_500));
      assert.equal(dict.at.length, 0);
      assert.equal(limiter.category(), 'H');
      await own.restart();
      for (let i = 0; i < 40 && limiter.category() !== 'G'; i++) await new Promise((res) => setTimeout(res, 100));
      assert.equal(limiter.category(), 'G');
      assert.equal(dict.at.length, 1);
    } finally {
      rec.stop();
      await own.stop();
      await s.simAdmin('antiscan/reset', 'POST');
    }
  });

  test('lookups answer at once and DICT calls stay within the in-process fallback (0.1 of category H: 5)', async () => {
    r = await PrivateRedis.start(50);
    const limiter = limiterOn(r.client, 'H', 0.1);
    const client = await apiWith({ antiscan: limiter });
    const key = await otherPspPhone();
    assert.deepEqual(await tryLookup(client, key, naturalPerson().taxIdNumber), { ok: true, source: 'DICT' });

    await r.kill();
    const before = await getEntryCalls();
    const results: Try[] = [];
    let slowest = 0;
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      results.push(await tryLookup(client, key, naturalPerson().taxIdNumber));
      slowest = Math.max(slowest, performance.now() - t0);
    }
    const calls = (await getEntryCalls()) - before;
    // The fallback's participant bucket: 5 tokens, 0.2 a minute.
    assert.ok(calls <= 5, `DICT calls with Redis down: ${calls}`);
    assert.equal(results.filter((r) => r.ok).length, calls);
    assert.ok(results.slice(calls).every((r) => !r.ok && r.bcbError === 'RateLimited' && r.policy === 'ENTRIES_READ_PARTICIPANT_ANTISCAN'));
    assert.ok(limiter.stats().fallback >= 40);
    // No lookup waited on Redis's reconnect (seconds before this change).
    assert.ok(slowest < 2_000, `slowest lookup with Redis down: ${slowest.toFixed(0)} ms`);
  });
});
