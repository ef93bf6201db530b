// The RPC chain's checks layer (api/interceptors.ts gateInterceptor) and what lets a call pass it
// without a promise: its order, refusals thrown at once or later, the admission slot taken around
// the handler and given back whatever the outcome, and the verifier's remembered tokens
// (api/auth.ts `cached`), which the auth step tries before verifying. Also the outer layer's
// `rpc stats` line (api/interceptors.ts observeInterceptor): what it counts per interval.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { pino } from 'pino';
import { Code, ConnectError, createContextValues } from '@connectrpc/connect';
import { slots } from '../../api/admission.js';
import { createVerifier } from '../../api/auth.js';
import { gateInterceptor, observeInterceptor } from '../../api/interceptors.js';
import type { CallRequest, Step } from '../../api/request-context.js';
import { DEV_AUDIENCE, DEV_ISSUER, mintToken } from '../../scripts/token.js';
import { rpcError } from '../support/errors.js';

type Next = Parameters<ReturnType<typeof gateInterceptor>>[0];

const request = (signal = new AbortController().signal) => ({ service: { typeName: 'dict.core.v1.CoreDictService' }, method: { name: 'LookupKey' }, contextValues: createContextValues(), header: new Headers(), signal }) as unknown as CallRequest;

test('checks run in order; a refusal, thrown at once or after a wait, ends the call before the later checks and the handler', async () => {
  const ran: string[] = [];
  const pass = (name: string): Step => () => void ran.push(name);
  const wait = (name: string): Step => async () => {
    await new Promise((r) => setTimeout(r, 5));
    ran.push(name);
  };
  const refuse = (name: string, code: Code): Step => () => {
    ran.push(name);
    throw new ConnectError(name, code);
  };
  const next = (async () => {
    ran.push('handler');
    return { message: 'ok' };
  }) as unknown as Next;

  const res = (await gateInterceptor([pass('a'), wait('b'), pass('c')])(next)(request())) as unknown as { message: string };
  assert.equal(res.message, 'ok');
  assert.deepEqual(ran, ['a', 'b', 'c', 'handler']);

  ran.length = 0;
  const call = gateInterceptor([pass('a'), refuse('b', Code.Unauthenticated), pass('c')])(next)(request());
  // A check that refuses at once still answers with a rejected promise, never a throw.
  assert.ok(call instanceof Promise);
  assert.equal((await rpcError(() => call)).code, Code.Unauthenticated);
  assert.deepEqual(ran, ['a', 'b']);

  ran.length = 0;
  const later: Step = async () => {
    await new Promise((r) => setTimeout(r, 5));
    throw new ConnectError('later', Code.ResourceExhausted);
  };
  assert.equal((await rpcError(() => gateInterceptor([pass('a'), later, pass('c')])(next)(request()))).code, Code.ResourceExhausted);
  assert.deepEqual(ran, ['a']);
});

test('admission: a slot is held while the handler runs and given back after it answers or fails; beyond the slots a call is shed, and a refused call takes none', async () => {
  const rpc = slots('rpc', 2);
  const release: (() => void)[] = [];
  const blocking = (() => new Promise((resolve) => release.push(() => resolve({ message: 'ok' })))) as unknown as Next;
  const chain = gateInterceptor([], rpc)(blocking);

  const a = chain(request());
  const b = chain(request());
  assert.deepEqual(rpc.stats(), { inFlight: 2, queued: 0, shed: 0 });
  const { err: shed } = await rpcError(() => chain(request()));
  assert.equal(shed.code, Code.ResourceExhausted);
  assert.match(shed.rawMessage, /server overloaded \(rpc\)/);
  assert.deepEqual(rpc.stats(), { inFlight: 2, queued: 0, shed: 1 });
  for (const r of release) r();
  await Promise.all([a, b]);
  assert.deepEqual(rpc.stats(), { inFlight: 0, queued: 0, shed: 1 });

  const failing = (async () => {
    throw new ConnectError('handler failed', Code.NotFound);
  }) as unknown as Next;
  assert.equal((await rpcError(() => gateInterceptor([], rpc)(failing)(request()))).code, Code.NotFound);
  assert.equal(rpc.stats().inFlight, 0);

  const refused: Step = () => {
    throw new ConnectError('no', Code.PermissionDenied);
  };
  assert.equal((await rpcError(() => gateInterceptor([refused], rpc)(failing)(request()))).code, Code.PermissionDenied);
  assert.deepEqual(rpc.stats(), { inFlight: 0, queued: 0, shed: 1 });
  // A call its client abandoned while a check waited takes no slot and runs nothing.
  const gone = new AbortController();
  const waitThenGo: Step = async () => {
    gone.abort();
  };
  assert.equal((await rpcError(() => gateInterceptor([waitThenGo], rpc)(failing)(request(gone.signal)))).code, Code.Canceled);
  assert.deepEqual(rpc.stats(), { inFlight: 0, queued: 0, shed: 1 });
  // slots().run, as any Gate's: the same slots.
  assert.equal(await rpc.run(async () => rpc.stats().inFlight), 1);
});

test("the verifier's `cached`: nothing before a token is verified, its principal after (the same one), nothing for another token or a malformed header, nothing once the cache's time is up", async () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let now = Date.now();
  const verify = createVerifier({
    participant: '12345678',
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    jwks: { keys: { keys: [{ ...key.publicKey.export({ format: 'jwk' }), kty: 'EC', alg: 'ES256' }] } },
    tokenCache: { max: 10, ttlSeconds: 60 },
    now: () => now,
  });
  const mint = async (sub: string) => `Bearer ${await mintToken({ keyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), sub, ispb: '12345678', role: 'operator' })}`;
  const ana = await mint('ana');
  const bia = await mint('bia');
  assert.ok(verify.cached, 'a verifier with a token cache answers from it without a promise');
  assert.equal(verify.cached(ana), undefined);
  const principal = await verify(ana);
  assert.equal(principal.subject, 'ana');
  assert.equal(verify.cached(ana), principal);
  assert.equal(verify.cached(ana, createContextValues()), principal);
  assert.equal(verify.cached(bia), undefined);
  assert.equal(verify.cached(ana.replace('Bearer ', 'Basic ')), undefined);
  now += 61_000;
  assert.equal(verify.cached(ana), undefined);
  // Without a cache there is nothing to answer from.
  const uncached = createVerifier({ participant: '12345678', issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: { keys: { keys: [{ ...key.publicKey.export({ format: 'jwk' }), kty: 'EC', alg: 'ES256' }] } } });
  assert.equal(uncached.cached, undefined);
});

test('the rpc stats line: calls, codes and latency percentiles per RPC over each interval, in milliseconds, then counted afresh', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const chain = observeInterceptor(log, { statsIntervalMs: 1_000 });
  const answer = (ms: number, code?: Code) =>
    chain((async () => {
      await new Promise((r) => setTimeout(r, ms));
      if (code !== undefined) throw new ConnectError('refused', code);
      return { stream: false, message: {}, header: new Headers(), trailer: new Headers() };
    }) as unknown as Next);
  const stats = () => lines.filter((l) => l.msg === 'rpc stats');

  // 19 quick answers, one NotFound, one that takes at least 60 ms.
  await Promise.all([...Array.from({ length: 19 }, () => answer(0)(request())), rpcError(() => answer(0, Code.NotFound)(request())), answer(60)(request())]);
  const deadline = Date.now() + 5_000;
  while (!stats().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const [line] = stats();
  assert.ok(line, 'an rpc stats line within 5 s');
  assert.equal(line.rpc, 'dict.core.v1.CoreDictService/LookupKey');
  assert.equal(line.calls, 21);
  assert.deepEqual(line.codes, { OK: 20, NotFound: 1 });
  const [p50, p99, max] = [line.p50Ms as number, line.p99Ms as number, line.maxMs as number];
  // The slow call is the maximum (milliseconds, not microseconds); most calls answered at once.
  assert.ok(max >= 59 && max < 1_000, `maxMs ${max}`);
  assert.ok(p99 >= 59 && p99 <= max, `p99Ms ${p99}`);
  assert.ok(p50 < 30 && p50 <= p99, `p50Ms ${p50}`);

  // The next interval starts from nothing: a single 30-ms call is all its line reports.
  await answer(30)(request());
  while (stats().length < 2 && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 20));
  const next = stats()[1];
  assert.ok(next, 'a second rpc stats line');
  assert.equal(next.calls, 1);
  assert.deepEqual(next.codes, { OK: 1 });
  assert.ok((next.maxMs as number) >= 29 && (next.maxMs as number) < 59, `second maxMs ${next.maxMs}`);
});
