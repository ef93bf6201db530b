// The API's two rate limits through a real API and a Redis of the test's own that it kills and
// restarts (or freezes): the per-client limit counts in memory while Redis is down (still
// RESOURCE_EXHAUSTED with RetryInfo, no call waiting on Redis's reconnect; a frozen Redis opens
// the limiter's circuit) and in Redis again once it is back; and
// the pre-auth limit per peer address refuses a flood of bad tokens without verifying them, while
// a token already verified from that peer keeps working and another peer is unaffected
// (X-Forwarded-For counted only behind configured proxies), and an identity provider outage
// (UNAVAILABLE) counts as no peer's failure.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Code, createClient, type Client as RpcClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { ApiServer } from '../../api/server.js';
import { unavailable } from '../../api/errors.js';
import { rateLimiter } from '../../api/rate-limit.js';
import { rateLimited, type RateLimitName } from '../../config/metrics.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { rpcError } from '../support/errors.js';
import { PrivateRedis } from '../support/processes.js';
import { extraApi, OUR_ISPB, startStack, testVerifier, type Stack } from '../support/stack.js';

let s: Stack;
const apis: ApiServer[] = [];
before(async () => {
  s = await startStack({ worker: false });
});
after(async () => {
  for (const a of apis) await a.close();
  await s?.stop();
});

/** An extra API with `over`, and a Connect client that sends only the headers each call names. */
async function api(over: Parameters<typeof extraApi>[1]): Promise<RpcClient<typeof CoreDictService>> {
  const x = await extraApi(s, over);
  apis.push(x.api);
  return createClient(CoreDictService, createConnectTransport({ baseUrl: x.urls.httpUrl, httpVersion: '1.1' }));
}

/** core_dict_rate_limited_total{limit} in this process's registry (extraApi's servers count there). */
const refusedBy = async (limit: RateLimitName): Promise<number> => (await rateLimited.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;

const retrySeconds = (e: Awaited<ReturnType<typeof rpcError>>): number => Number(e.err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds ?? 0n);

describe('per-client rate limit with Redis killed and restarted', () => {
  const POINTS = 5;
  let r: PrivateRedis | undefined;
  after(() => r?.stop());

  test('in memory while Redis is down (RESOURCE_EXHAUSTED with RetryInfo, no wait), in Redis again once it is back', async () => {
    // As api/main.ts builds it: fail fast (no offline queue, 100 ms command timeout).
    r = await PrivateRedis.start(100);
    const redis = r.client;
    const prefix = `test-rl-${randomUUID()}`;
    const limiter = rateLimiter(redis, { points: POINTS, durationSeconds: 60, keyPrefix: prefix, breaker: { threshold: 0.5, windowMs: 5_000, minimumRps: 2, halfOpenAfterMs: 300 } });
    const client = await api({ rateLimiter: limiter });
    const as = async (sub: string) => ({ headers: { authorization: `Bearer ${await s.token({ sub })}` } });
    const redisKey = (sub: string) => `${prefix}:user:${OUR_ISPB}/${sub}`;

    // Redis up: counted there.
    const a = await as('rl-a');
    for (let i = 0; i < POINTS; i++) await client.healthCheck({}, a);
    const refused0 = await refusedBy('client');
    assert.equal((await rpcError(() => client.healthCheck({}, a))).code, Code.ResourceExhausted);
    assert.equal(Number(await redis.get(redisKey('rl-a'))), POINTS + 1);
    assert.equal(await refusedBy('client'), refused0 + 1, 'counted under limit="client"');

    // Redis killed: each call is counted in this process's memory, at once.
    await r.kill();
    const before = limiter.stats();
    const b = await as('rl-b');
    let slowest = 0;
    const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        slowest = Math.max(slowest, performance.now() - t0);
      }
    };
    for (let i = 0; i < POINTS; i++) await timed(() => client.healthCheck({}, b));
    const e = await timed(() => rpcError(() => client.healthCheck({}, b)));
    assert.equal(e.code, Code.ResourceExhausted);
    assert.equal(e.bcbError, 'RateLimited');
    assert.ok(retrySeconds(e) > 0 && retrySeconds(e) <= 60, `retry delay ${retrySeconds(e)}`);
    assert.equal(limiter.stats().fallback - before.fallback, POINTS + 1);
    // A sanity bound, not a benchmark: no call waited for Redis's reconnect (seconds).
    assert.ok(slowest < 1_000, `slowest call with Redis down: ${slowest.toFixed(0)} ms`);

    // Redis back (empty: no persistence) on the same port: once the client reconnects and the
    // breaker probes, calls are counted in Redis again.
    await r.restart();
    let probed = '';
    for (let i = 0; i < 100 && !probed; i++) {
      const sub = `rl-c-${i}`;
      const redisBefore = limiter.stats().redis;
      await client.healthCheck({}, await as(sub));
      if (limiter.stats().redis > redisBefore) probed = sub;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(probed, `never counted in Redis again: ${JSON.stringify(limiter.stats())} circuit ${limiter.state()}`);
    assert.equal(Number(await redis.get(redisKey(probed))), 1);
    assert.equal(limiter.state(), 'closed');
    // rl-b spent its budget in memory only: Redis's count (empty) lets it through again.
    await client.healthCheck({}, b);
    assert.equal(Number(await redis.get(redisKey('rl-b'))), 1);
  });
});

describe('per-client rate limit with Redis frozen', () => {
  let r: PrivateRedis | undefined;
  after(() => r?.stop());

  test('a Redis that accepts but never answers: each call waits at most the command timeout until the circuit opens, then none waits; it closes once Redis answers', async () => {
    r = await PrivateRedis.start(100);
    const limiter = rateLimiter(r.client, { points: 1_000, durationSeconds: 60, keyPrefix: `test-rl-${randomUUID()}`, breaker: { threshold: 0.5, windowMs: 2_000, minimumRps: 2, halfOpenAfterMs: 300 } });
    const client = await api({ rateLimiter: limiter });
    const as = { headers: { authorization: `Bearer ${await s.token({ sub: 'rl-frozen' })}` } };
    await client.healthCheck({}, as);

    // SIGSTOP: the connection stays up (ioredis still 'ready'), commands time out.
    r.proc.kill('SIGSTOP');
    let n = 0;
    for (; n < 100 && limiter.state() !== 'open'; n++) await client.healthCheck({}, as);
    assert.equal(limiter.state(), 'open', `circuit still ${limiter.state()} after ${n} calls`);
    const skipped = limiter.stats().fallback;
    for (let i = 0; i < 10; i++) await client.healthCheck({}, as);
    assert.equal(limiter.stats().fallback - skipped, 10);

    r.proc.kill('SIGCONT');
    for (let i = 0; i < 100 && limiter.state() !== 'closed'; i++) {
      await client.healthCheck({}, as);
      if (limiter.state() !== 'closed') await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(limiter.state(), 'closed');
  });
});

describe('failed authentications per peer, before auth', () => {
  const POINTS = 5;
  const xff = (ip: string, token: string) => ({ headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': `203.0.113.250, ${ip}` } });
  /** A well-formed token whose signature is wrong: costs a verification each. */
  const badToken = async () => {
    const t = await s.token({ sub: `bad-${randomUUID()}` });
    const [h, p, sig] = t.split('.');
    return `${h}.${p}.${sig!.slice(0, -4)}${sig!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  };

  test('behind one proxy: bad tokens from one address are refused unverified beyond the limit; its known good token and other addresses still pass', async () => {
    let verifications = 0;
    const verify = testVerifier(s.pki, OUR_ISPB);
    const client = await api({
      verifyBearer: (h) => (verifications++, verify(h)),
      authFailureLimit: { points: POINTS, durationSeconds: 60 },
      trustProxyHops: 1,
    });
    const good = await s.token({ sub: 'good-operator' });
    await client.healthCheck({}, xff('198.51.100.7', good));
    for (let i = 0; i < POINTS; i++) assert.equal((await rpcError(async () => client.healthCheck({}, xff('198.51.100.7', await badToken())))).code, Code.Unauthenticated);

    const v0 = verifications;
    const [auth0, client0] = [await refusedBy('auth_failures'), await refusedBy('client')];
    for (let i = 0; i < 20; i++) {
      const e = await rpcError(async () => client.healthCheck({}, xff('198.51.100.7', await badToken())));
      assert.equal(e.code, Code.ResourceExhausted);
      assert.equal(e.bcbError, 'RateLimited');
      assert.ok(retrySeconds(e) > 0 && retrySeconds(e) <= 60, `retry delay ${retrySeconds(e)}`);
    }
    assert.equal(verifications, v0, 'refused calls were not verified');
    assert.equal(await refusedBy('auth_failures'), auth0 + 20, 'each refusal counted under limit="auth_failures"');
    assert.equal(await refusedBy('client'), client0, 'and none under the per-client limit');

    // The token this process verified from that address before still works (and is verified).
    await client.healthCheck({}, xff('198.51.100.7', good));
    assert.equal(verifications, v0 + 1);
    // A token never seen from a blocked address waits for the window (the documented choice).
    const fresh = await rpcError(async () => client.healthCheck({}, xff('198.51.100.7', await s.token({ sub: 'new-operator' }))));
    assert.equal(fresh.code, Code.ResourceExhausted);
    // Another address behind the same proxy is not affected.
    await client.healthCheck({}, xff('198.51.100.8', await s.token({ sub: 'new-operator' })));
    assert.equal((await rpcError(async () => client.healthCheck({}, xff('198.51.100.8', await badToken())))).code, Code.Unauthenticated);
  });

  test('the identity provider down is UNAVAILABLE and no authentication failure: nobody is locked out by the outage', async () => {
    let idpDown = true;
    const verify = testVerifier(s.pki, OUR_ISPB);
    const client = await api({
      verifyBearer: (h) => (idpDown ? Promise.reject(unavailable('identity provider keys unavailable; retry later')) : verify(h)),
      authFailureLimit: { points: POINTS, durationSeconds: 60 },
    });
    for (let i = 0; i < POINTS * 3; i++) assert.equal((await rpcError(async () => client.healthCheck({}, xff('198.51.100.20', await badToken())))).code, Code.Unavailable);
    idpDown = false;
    // Back up: a new token verifies, and a bad one is judged (UNAUTHENTICATED, not refused unverified).
    await client.healthCheck({}, xff('198.51.100.20', await s.token({ sub: 'after-outage' })));
    assert.equal((await rpcError(async () => client.healthCheck({}, xff('198.51.100.20', await badToken())))).code, Code.Unauthenticated);
  });

  test('without a configured proxy, X-Forwarded-For is ignored: a client cannot escape by writing it', async () => {
    const client = await api({ authFailureLimit: { points: POINTS, durationSeconds: 60 } });
    for (let i = 0; i < POINTS; i++) assert.equal((await rpcError(async () => client.healthCheck({}, xff(`198.51.100.${i}`, await badToken())))).code, Code.Unauthenticated);
    const e = await rpcError(async () => client.healthCheck({}, xff('198.51.100.99', await badToken())));
    assert.equal(e.code, Code.ResourceExhausted);
  });
});
