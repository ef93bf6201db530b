// The API's production surface through the real stack: request ids, the per-client rate limit
// (Redis), /metrics on its own listener with refused calls counted by code,
// the request size cap, gRPC server reflection (grpcurl when installed, else a Connect
// client of the reflection service), TLS with ALPN h2 + http/1.1, the API process's graceful
// shutdown under load (no acknowledged CreateKey lost), and a page on another origin calling
// CreateKey and LookupKey from headless Chromium over Connect and gRPC-web (CORS).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { once } from 'node:events';
import { RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { ServerReflection } from '../../gen/grpc/reflection/v1/reflection_pb.js';
import { ServerReflection as ServerReflectionAlpha } from '../../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { startApiMetricsServer, type ApiMetricsServer } from '../../api/metrics-server.js';
import { rpcError } from '../support/errors.js';
import { createKeyRequest, newEmail } from '../support/fixtures.js';
import { freePort, Programs } from '../support/processes.js';
import { bearer, customer, env, OTHER_ISPB, OUR_ISPB, programEnv, startStack, type Stack } from '../support/stack.js';
import { KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { join } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { CreateKeyRequestSchema } from '../../gen/dict/core/v1/service_pb.js';
import { naturalPerson, newEndToEndId } from '../support/fixtures.js';
import { accountOf } from '../support/accounts.js';
import type { PageCall, PageResult } from '../browser/page.js';

const RATE_POINTS = 20;
let s: Stack;
let tlsStack: Stack;
// Pages on two other origins: one the API allows (API_CORS_ORIGINS), one it does not.
let allowedPage: { origin: string; close(): Promise<void> };
let otherPage: { origin: string; close(): Promise<void> };
before(async () => {
  allowedPage = await pageServer();
  otherPage = await pageServer();
  s = await startStack({ api: { rateLimit: { points: RATE_POINTS, durationSeconds: 60 }, corsOrigins: [allowedPage.origin] } });
  tlsStack = await startStack({ participant: OTHER_ISPB, beside: s, worker: false, api: { tls: true } });
});
after(async () => {
  await tlsStack?.stop();
  await s?.stop();
  await allowedPage?.close();
  await otherPage?.close();
});

/** A page (index.html + the bundled test/browser/page.ts) on its own loopback origin. */
async function pageServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const built = await esbuild.build({ entryPoints: [join(__dirname, '..', 'browser', 'page.js')], bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  const script = built.outputFiles[0]!.text;
  const server = http.createServer((req, res) => {
    if (req.url === '/page.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Core DICT browser test</title><script src="/page.js"></script>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // "localhost" vs the API's 127.0.0.1: another origin (and another site) for certain.
  return { origin: `http://localhost:${(server.address() as { port: number }).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('request id', () => {
  test('a well-formed x-request-id is echoed in the response headers and trailers', async () => {
    const id = `req-${randomUUID()}`;
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    await s.client.healthCheck({}, { headers: { 'x-request-id': id }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
    assert.equal(header?.get('x-request-id'), id);
    assert.equal(trailer?.get('x-request-id'), id);
  });

  test('a malformed one is replaced by a new UUID; errors carry the id too', async () => {
    let header: Headers | undefined;
    await s.client.healthCheck({}, { headers: { 'x-request-id': 'has spaces\tand tabs' }, onHeader: (h) => (header = h) });
    assert.match(header?.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const id = randomUUID();
    const e = await rpcError(() => s.client.lookupKey({ key: 'not a key', payerId: '' }, { headers: { 'x-request-id': id } }));
    assert.equal(e.code, Code.InvalidArgument);
    assert.equal(e.err.metadata.get('x-request-id'), id);
  });

  test('over gRPC (HTTP/2) too', async () => {
    const id = randomUUID();
    let trailer: Headers | undefined;
    await createClient(CoreDictService, s.transports.grpc).healthCheck({}, { headers: { 'x-request-id': id }, onTrailer: (t) => (trailer = t) });
    assert.equal(trailer?.get('x-request-id'), id);
  });
});

describe('per-client rate limit', () => {
  test(`the ${RATE_POINTS + 1}th call of a client in the window is RESOURCE_EXHAUSTED with RetryInfo; other clients are not affected`, async () => {
    const user = `rl-${randomUUID()}`;
    const as = async (u: string) => ({ headers: { authorization: `Bearer ${await s.token({ sub: u })}` } });
    const asUser = await as(user);
    for (let i = 0; i < RATE_POINTS; i++) await s.client.healthCheck({}, asUser);
    const e = await rpcError(() => s.client.healthCheck({}, asUser));
    assert.equal(e.code, Code.ResourceExhausted);
    assert.equal(e.bcbError, 'RateLimited');
    const retry = e.err.findDetails(RetryInfoSchema)[0];
    assert.ok(retry?.retryDelay && retry.retryDelay.seconds > 0n && retry.retryDelay.seconds <= 60n, `retry delay ${retry?.retryDelay?.seconds}`);
    // Counted in Redis, under this deployment's prefix.
    assert.equal(Number(await s.redis.get(`core-dict:rl:${s.taskQueue}:user:${s.participant}/${user}`)), RATE_POINTS + 1);
    await s.client.healthCheck({}, await as(`rl-${randomUUID()}`));
  });

  test('the gRPC health service is never limited (probes see the server as it is)', async () => {
    const { Health } = await import('../../gen/grpc/health/v1/health_pb.js');
    const health = createClient(Health, s.transports.grpc);
    for (let i = 0; i < RATE_POINTS + 2; i++) await health.check({ service: '' }, { headers: { authorization: `Bearer ${await s.token({ sub: 'probe-user' })}` } });
  });
});

describe('metrics: an own listener; refused calls counted (logging and metrics sit outside the gates)', () => {
  let metrics: ApiMetricsServer;
  before(async () => {
    metrics = await startApiMetricsServer({ host: '127.0.0.1', port: 0 });
  });
  after(() => metrics?.close());
  /** core_dict_rpc_duration_seconds_count for one RPC and code, from the API's metrics listener. */
  const counted = async (rpc: string, code: string): Promise<number> => {
    const res = await fetch(`${metrics.url}/metrics`);
    assert.equal(res.status, 200);
    let n = 0;
    for (const line of (await res.text()).split('\n')) {
      const m = /^core_dict_rpc_duration_seconds_count\{([^}]*)\}\s+(\S+)/.exec(line);
      if (m && m[1]!.includes(`rpc="${rpc}"`) && m[1]!.includes(`code="${code}"`)) n += Number(m[2]);
    }
    return n;
  };

  test('/metrics is on its own listener, not on the public API port', async () => {
    assert.equal((await fetch(new URL('/metrics', s.urls.httpUrl))).status, 404);
    assert.match(await (await fetch(`${metrics.url}/metrics`)).text(), /^# HELP core_dict_rpc_duration_seconds /m);
  });

  test('no token (Unauthenticated), a bad token, and over the rate limit (ResourceExhausted) each show under their RPC and code', async () => {
    const rpc = 'dict.core.v1.CoreDictService/HealthCheck';
    const [unauth0, exhausted0, ok0] = await Promise.all([counted(rpc, 'Unauthenticated'), counted(rpc, 'ResourceExhausted'), counted(rpc, 'OK')]);
    const anonymous = createClient(CoreDictService, createConnectTransport({ baseUrl: s.urls.httpUrl, httpVersion: '1.1' }));
    assert.equal((await rpcError(() => anonymous.healthCheck({}))).code, Code.Unauthenticated);
    assert.equal((await rpcError(() => anonymous.healthCheck({}, { headers: { authorization: 'Bearer not-a-jwt' } }))).code, Code.Unauthenticated);
    const asUser = { headers: { authorization: `Bearer ${await s.token({ sub: `rl-${randomUUID()}` })}` } };
    for (let i = 0; i < RATE_POINTS; i++) await s.client.healthCheck({}, asUser);
    assert.equal((await rpcError(() => s.client.healthCheck({}, asUser))).code, Code.ResourceExhausted);
    assert.equal((await rpcError(() => s.client.healthCheck({}, asUser))).code, Code.ResourceExhausted);
    assert.equal((await counted(rpc, 'Unauthenticated')) - unauth0, 2);
    assert.equal((await counted(rpc, 'ResourceExhausted')) - exhausted0, 2);
    assert.ok((await counted(rpc, 'OK')) - ok0 >= RATE_POINTS);
  });
});

describe('request size cap (readMaxBytes)', () => {
  // Streams `total` bytes of a JSON body at the Connect endpoint; stops when the server answers.
  async function bigPost(path: string, total: number, withLength: boolean) {
    const url = new URL(path, s.urls.httpUrl);
    const chunk = Buffer.alloc(1 << 20, 0x20);
    let sent = 0;
    return new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(withLength ? { 'content-length': String(total) } : {}) } });
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
        res.on('error', reject);
      });
      req.on('error', (err) => (answered ? undefined : reject(err)));
      const pump = () => {
        while (!answered && sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      pump();
    });
  }

  for (const withLength of [true, false]) {
    test(`a 100 MB body ${withLength ? 'with' : 'without'} Content-Length is refused (resource_exhausted) long before it is read, and memory does not balloon`, async () => {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const r = await bigPost('/dict.core.v1.CoreDictService/LookupKey', 100 << 20, withLength);
      const rssAfter = process.memoryUsage().rss;
      assert.match(r.body, /resource_exhausted/, r.body);
      assert.ok(r.sent < 50 << 20, `sent ${r.sent} bytes before the answer`);
      assert.ok(rssAfter - rssBefore < 64 << 20, `RSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(1)} MiB`);
    });
  }

  test('over gRPC the envelope length is checked before the message is read', async () => {
    const big = 'x'.repeat(64 * 1024);
    const e = await rpcError(() => createClient(CoreDictService, s.transports.grpc).lookupKey({ key: big, payerId: '' }));
    assert.equal(e.code, Code.ResourceExhausted);
  });
});

describe('gRPC server reflection', () => {
  const grpcurl = [process.env.GRPCURL_BIN].find((p) => p && existsSync(p));
  const run = promisify(execFile);
  const target = () => new URL(s.urls.grpcUrl).host;

  test('grpcurl list and describe, with no .proto files', { skip: grpcurl ? false : 'grpcurl not installed (scripts/install.sh install_grpcurl)' }, async () => {
    const list = await run(grpcurl!, ['-plaintext', target(), 'list']);
    for (const svc of ['dict.core.v1.CoreDictService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection']) assert.match(list.stdout, new RegExp(`^${svc.replaceAll('.', '\\.')}$`, 'm'));
    const methods = await run(grpcurl!, ['-plaintext', target(), 'list', 'dict.core.v1.CoreDictService']);
    assert.match(methods.stdout, /dict\.core\.v1\.CoreDictService\.CreateKey/);
    const desc = await run(grpcurl!, ['-plaintext', target(), 'describe', 'dict.core.v1.CreateKeyRequest']);
    assert.match(desc.stdout, /message CreateKeyRequest/);
    assert.match(desc.stdout, /request_id/);
    const call = await run(grpcurl!, ['-plaintext', '-d', '{"service":""}', target(), 'grpc.health.v1.Health/Check']);
    assert.match(call.stdout, /SERVING/);
  });

  test('v1 and v1alpha over a Connect client: services, files with their imports, symbols, unknown symbols', async () => {
    for (const svc of [ServerReflection, ServerReflectionAlpha]) {
      const client = createClient(svc, s.transports.grpc);
      const reqs = async function* () {
        yield { messageRequest: { case: 'listServices' as const, value: '' } };
        yield { messageRequest: { case: 'fileContainingSymbol' as const, value: 'dict.core.v1.CoreDictService.CreateKey' } };
        yield { messageRequest: { case: 'fileByFilename' as const, value: 'google/rpc/error_details.proto' } };
        yield { messageRequest: { case: 'fileContainingSymbol' as const, value: 'no.such.Symbol' } };
      };
      const out = [];
      for await (const res of client.serverReflectionInfo(reqs())) out.push(res);
      assert.equal(out.length, 4);
      const [list, file, details, missing] = out;
      assert.equal(list!.messageResponse.case, 'listServicesResponse');
      const names = list!.messageResponse.case === 'listServicesResponse' ? list!.messageResponse.value.service.map((x) => x.name) : [];
      assert.ok(names.includes('dict.core.v1.CoreDictService'), names.join());
      assert.equal(file!.messageResponse.case, 'fileDescriptorResponse');
      if (file!.messageResponse.case === 'fileDescriptorResponse') {
        const files = file!.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
        assert.equal(files[0], 'dict/core/v1/service.proto');
        assert.ok(files.includes('dict/core/v1/types.proto'), files.join());
      }
      assert.equal(details!.messageResponse.case, 'fileDescriptorResponse');
      assert.equal(missing!.messageResponse.case, 'errorResponse');
      if (missing!.messageResponse.case === 'errorResponse') assert.equal(missing!.messageResponse.value.errorCode, Code.NotFound);
    }
  });
});

describe('TLS', () => {
  test('both listeners speak HTTPS; ALPN offers h2 and http/1.1; gRPC, gRPC-web and Connect all work', async () => {
    assert.match(tlsStack.urls.httpUrl, /^https:/);
    const res = await tlsStack.client.healthCheck({});
    assert.ok(res.version);
    await createClient(CoreDictService, tlsStack.transports.grpc).healthCheck({});
    await createClient(CoreDictService, tlsStack.transports.grpcWeb).healthCheck({});
    // h2 negotiated by ALPN on the "HTTP/1.1" port as well.
    const session = http2.connect(tlsStack.urls.httpUrl, { ca: tlsStack.pki.caCertPem });
    await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
    assert.equal(session.alpnProtocol, 'h2');
    session.close();
    // A plain-text gRPC client is refused (no cleartext fallback).
    const plain = createClient(CoreDictService, createGrpcTransport({ baseUrl: tlsStack.urls.grpcUrl.replace('https:', 'http:') }));
    await assert.rejects(plain.healthCheck({}), (err: unknown) => err instanceof ConnectError);
  });
});

describe('graceful shutdown of the API process', () => {
  const programs = new Programs();
  after(() => programs.killAll());

  test('SIGTERM under load: /readyz turns 503, the process exits 0, and every acknowledged CreateKey is in Postgres and reaches ACTIVE', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    // The API process shares the stack's Postgres schema and task queue, so the stack's worker
    // (in this process) runs what it accepts.
    const api = programs.start('api/main.js', {
      ...programEnv({ pki: s.pki, taskQueue: s.taskQueue, dictBaseUrl: s.simulator.url }),
      AUTH_JWKS_FILE: s.pki.auth.jwksFile,
      API_HOST: '127.0.0.1',
      API_PORT: String(httpPort),
      API_GRPC_PORT: String(grpcPort),
      API_WORKERS: '1',
      API_RATE_LIMIT_POINTS: '0',
      API_SHUTDOWN_DELAY_MS: '3000',
      API_SHUTDOWN_GRACE_MS: '20000',
    });
    const httpUrl = `http://127.0.0.1:${httpPort}`;
    const readyz = () => fetch(`${httpUrl}/readyz`).then((r) => r.status, () => 0);
    for (;;) {
      if ((await readyz()) === 200) break;
      assert.equal(api.exitCode, null, programs.all());
      await new Promise((r) => setTimeout(r, 200));
    }

    const operator = [bearer(await s.token())];
    const clients = [
      createClient(CoreDictService, createConnectTransport({ baseUrl: httpUrl, httpVersion: '1.1', interceptors: operator })),
      createClient(CoreDictService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}`, interceptors: operator })),
    ];
    const acknowledged: string[] = [];
    const failures: string[] = [];
    let terminated = false;
    let acknowledgedAfterSigterm = 0;
    const loop = async (i: number) => {
      const client = clients[i % clients.length]!;
      for (;;) {
        const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), waitTimeout: { seconds: 1n, nanos: 0 } });
        try {
          await client.createKey(req);
          acknowledged.push(req.requestId);
          if (terminated) acknowledgedAfterSigterm++;
        } catch (err) {
          if (!terminated) failures.push(String(err));
          return; // after SIGTERM: refused or cut, never acknowledged
        }
      }
    };
    const loops = Array.from({ length: 8 }, (_, i) => loop(i));
    while (acknowledged.length < 16) {
      assert.deepEqual(failures, []);
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = once(api, 'exit') as Promise<[number | null, string | null]>;
    terminated = true;
    api.kill('SIGTERM');
    // Draining: not ready while it still serves (the delay), then gone.
    let sawDraining = false;
    for (;;) {
      const status = await readyz();
      if (status === 503) sawDraining = true;
      if (status === 0) break;
    }
    assert.ok(sawDraining, '/readyz never answered 503 while draining');
    await Promise.all(loops);
    const [code] = await exited;
    assert.equal(code, 0, programs.all());
    assert.deepEqual(failures, []);
    const acked = acknowledged.length;
    assert.ok(acked >= 16);
    // SIGTERM does not cut calls: those in flight at the signal, and those sent while the API
    // drains (not ready, still serving for API_SHUTDOWN_DELAY_MS), are answered.
    assert.ok(acknowledgedAfterSigterm > 0, 'no call was answered after SIGTERM: draining cut them');

    // Every acknowledged request is recorded, and reaches ACTIVE (the stack's worker runs).
    for (;;) {
      const rows = await s.sql<{ request_id: string; status: string }[]>`select request_id, status from entries where participant = ${OUR_ISPB} and request_id in ${s.sql(acknowledged)}`;
      assert.equal(rows.length, acked, 'acknowledged requests missing from Postgres');
      const notActive = rows.filter((r) => r.status !== 'ACTIVE');
      assert.deepEqual(notActive.filter((r) => r.status !== 'PENDING'), [], 'acknowledged requests failed');
      if (notActive.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});

describe('browsers on another origin (CORS, connect-web)', () => {
  const chromiumBin = [process.env.CHROMIUM_BIN, '/usr/bin/chromium'].find((p) => p && existsSync(p));

  test('a page calls CreateKey and LookupKey over Connect and gRPC-web; a page on a disallowed origin cannot', { skip: chromiumBin ? false : 'no chromium (APT_TEST_PACKAGES)' }, async () => {
    const browser = await chromium.launch({ executablePath: chromiumBin, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.goto(allowedPage.origin);
      const call = async (origin: string, protocol: PageCall['protocol']): Promise<PageResult> => {
        if (page.url() !== `${origin}/`) await page.goto(origin);
        const owner = naturalPerson();
        const c: PageCall = {
          apiUrl: s.urls.httpUrl,
          protocol,
          token: await s.token(customer(owner.taxIdNumber)),
          createKey: toJson(CreateKeyRequestSchema, createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner, account: await accountOf(s, owner) })),
          payerId: owner.taxIdNumber,
          endToEndId: newEndToEndId(),
        };
        // (untyped across the page boundary: playwright's serializable-type check is too deep for these messages)
        const inPage = (arg: unknown): Promise<unknown> => (globalThis as unknown as { runDict(c: unknown): Promise<unknown> }).runDict(arg);
        return (await page.evaluate(inPage, c as unknown as string)) as PageResult;
      };
      for (const protocol of ['connect', 'grpc-web'] as const) {
        const r = await call(allowedPage.origin, protocol);
        assert.equal(r.ok, true, r.error);
        assert.equal(r.createdStatus, 'ACTIVE');
        assert.equal((r.lookup as { source?: string }).source, 'LOCAL');
        assert.ok((r.lookup as { entry?: { key?: string } }).entry?.key);
        // Exposed to the page by Access-Control-Expose-Headers.
        assert.equal(r.requestIdSeen, `browser-${protocol}`);
      }
      const refused = await call(otherPage.origin, 'connect');
      assert.equal(refused.ok, false);
      assert.match(refused.error ?? '', /fetch|network|cors/i);
    } finally {
      await browser.close();
    }
  });

  test('preflight: allowed origin gets the Connect methods and headers; others 403', async () => {
    const preflight = (origin: string) =>
      fetch(`${s.urls.httpUrl}/dict.core.v1.CoreDictService/CreateKey`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,connect-protocol-version,x-request-id' },
      });
    const ok = await preflight(allowedPage.origin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), allowedPage.origin);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /Connect-Protocol-Version/i);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /X-Grpc-Web/i);
    assert.equal((await preflight(otherPage.origin)).status, 403);
  });
});
