// The interceptor chain without servers (Connect's in-memory router transport): order, request
// ids, recovery (no internals reach the client; one log line with the request id), the rate
// limit's in-process fallback while Redis is down, and reflection's answers.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { Redis } from 'ioredis';
import pino from 'pino';
import { generateKeyPairSync } from 'node:crypto';
import { createVerifier } from '../../api/auth.js';
import { interceptors } from '../../api/interceptors.js';
import { DEV_AUDIENCE, DEV_ISSUER, mintToken } from '../../scripts/token.js';
import { clientKey, rateLimiter } from '../../api/rate-limit.js';
import { RATE_LIMITS, register } from '../../config/metrics.js';
import { answer, reflectionIndex, servedServices } from '../../api/reflection.js';
import { acceptRequestId } from '../../api/request-context.js';
import { ErrorInfoSchema, file_google_rpc_error_details } from '../../gen/google/rpc/error_details_pb.js';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { ServerReflection, ServerReflectionRequestSchema } from '../../gen/grpc/reflection/v1/reflection_pb.js';
import { create } from '@bufbuild/protobuf';
import { createContextValues } from '@connectrpc/connect';
import { principalKey } from '../../api/principal.js';
import { nodeContextValues, peerAddress, peerKey } from '../../api/request-context.js';

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConnectError, String(e));
    return e;
  }
  return assert.fail('expected an error');
}


// Every RPC carries a token: a real verifier over a key made for this file.
const authKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const verifyBearer = createVerifier({ participant: '12345678', issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: { keys: { keys: [{ ...authKey.publicKey.export({ format: 'jwk' }), kty: 'EC', alg: 'ES256' }] } } });
const tokenFor = async (sub: string) => ({
  authorization: `Bearer ${await mintToken({ keyPem: authKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), sub, ispb: '12345678', role: 'operator' })}`,
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

test('request ids: well-formed ones are kept, anything else is replaced by a UUID', () => {
  assert.equal(acceptRequestId('abc-123_x.y:z'), 'abc-123_x.y:z');
  for (const bad of [undefined, null, '', 'a b', 'x'.repeat(129), 'ação', 'a\nb']) assert.match(acceptRequestId(bad), /^[0-9a-f-]{36}$/);
});

test('recovery: a non-ConnectError is Internal with a safe message naming the request id, logged once with its text', async () => {
  const { log, lines } = capture();
  const transport = createRouterTransport(
    (router) => {
      router.service(CoreDictService, {
        healthCheck() {
          throw new Error('password=hunter2 at /srv/secret.ts:42');
        },
      });
    },
    { router: { interceptors: interceptors({ verifyBearer, log }) } },
  );
  const client = createClient(CoreDictService, transport);
  const err = await client.healthCheck({}, { headers: { 'x-request-id': 'req-1', ...(await tokenFor('u0')) } }).then(
    () => assert.fail('expected an error'),
    (e: unknown) => e as ConnectError,
  );
  assert.ok(err instanceof ConnectError);
  assert.equal(err.code, Code.Internal);
  assert.equal(err.rawMessage, 'internal error; request id req-1');
  assert.doesNotMatch(JSON.stringify({ m: err.message, md: Object.fromEntries((err.metadata as unknown as { entries(): Iterable<[string, string]> }).entries()) }), /hunter2|secret\.ts/);
  assert.equal(err.metadata.get('x-request-id'), 'req-1');
  await new Promise((r) => setImmediate(r));
  const errors = lines.filter((l) => (l.level as number) >= 50);
  assert.equal(errors.length, 1, JSON.stringify(lines));
  assert.equal(errors[0]!.requestId, 'req-1');
  assert.match(JSON.stringify(errors[0]!.err), /hunter2/);
});

test('recovery covers streaming answers too: a failure mid-stream is Internal without its text', async () => {
  const { log, lines } = capture();
  const transport = createRouterTransport(
    (router) => {
      router.service(ServerReflection, {
        async *serverReflectionInfo(reqs) {
          for await (const _ of reqs) {
            yield { validHost: 'x' };
            throw new Error('token=abc123 leaked');
          }
        },
      });
    },
    { router: { interceptors: interceptors({ verifyBearer, log }) } },
  );
  const client = createClient(ServerReflection, transport);
  const got: string[] = [];
  const err = await failure(
    (async () => {
      for await (const r of client.serverReflectionInfo((async function* () {
        yield { messageRequest: { case: 'listServices' as const, value: '' } };
      })())) got.push(r.validHost);
    })(),
  );
  assert.deepEqual(got, ['x']);
  assert.equal(err.code, Code.Internal);
  assert.doesNotMatch(err.message, /abc123/);
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.filter((l) => (l.level as number) >= 50).length, 1);
});

test('ConnectErrors pass recovery unchanged (code, message, details)', async () => {
  const { log } = capture();
  const transport = createRouterTransport(
    (router) => {
      router.service(Health, {
        check() {
          throw new ConnectError('EntryInvalid: nope', Code.InvalidArgument, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: 'EntryInvalid' }) }]);
        },
      });
    },
    { router: { interceptors: interceptors({ verifyBearer, log }) } },
  );
  const err = await failure(createClient(Health, transport).check({}));
  assert.equal(err.code, Code.InvalidArgument);
  assert.equal(err.rawMessage, 'EntryInvalid: nope');
  assert.equal(err.findDetails(ErrorInfoSchema)[0]?.reason, 'EntryInvalid');
  assert.match(err.metadata.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

test('rate limit: while Redis is down each process counts in memory (fallback), still RESOURCE_EXHAUSTED beyond the budget', async () => {
  // Nothing listens on port 1: ioredis never becomes ready.
  const redis = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  const { log } = capture();
  const limiter = rateLimiter(redis, { points: 3, durationSeconds: 60 });
  const limited: string[] = [];
  const transport = createRouterTransport(
    (router) => {
      router.service(CoreDictService, { healthCheck: () => ({}) });
    },
    { router: { interceptors: interceptors({ verifyBearer, log, rateLimiter: limiter, onRateLimited: (limit) => limited.push(limit) }) } },
  );
  const client = createClient(CoreDictService, transport);
  const as = { headers: await tokenFor('u1') };
  for (let i = 0; i < 3; i++) await client.healthCheck({}, as);
  const err = await failure(client.healthCheck({}, as));
  assert.equal(err.code, Code.ResourceExhausted);
  assert.equal(err.findDetails(ErrorInfoSchema)[0]?.reason, 'RateLimited');
  assert.deepEqual(limited, ['client'], 'reported once, as the per-client limit');
  await client.healthCheck({}, { headers: await tokenFor('u2') });
  redis.disconnect();
});

test('core_dict_rate_limited_total: one series per limit, exposed before the first refusal', async () => {
  const text = await register.metrics();
  for (const limit of RATE_LIMITS) assert.match(text, new RegExp(`^core_dict_rate_limited_total\\{limit="${limit}"\\} \\d+$`, 'm'), limit);
  assert.doesNotMatch(text, /^core_dict_rate_limited_total \d/m, 'no unlabelled series');
});

test('peer address: the socket, or the X-Forwarded-For entry our outermost proxy appended', () => {
  const req = (xff?: string | string[]) => ({ socket: { remoteAddress: '10.0.0.1' }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as Parameters<typeof peerAddress>[0];
  assert.equal(peerAddress(req('1.2.3.4')), '10.0.0.1', 'no proxy configured: the header is ignored');
  assert.equal(peerAddress(req('6.6.6.6, 1.2.3.4'), 1), '1.2.3.4', 'the client wrote 6.6.6.6 itself');
  assert.equal(peerAddress(req('6.6.6.6, 1.2.3.4, 10.0.0.9'), 2), '1.2.3.4');
  assert.equal(peerAddress(req(['6.6.6.6', '1.2.3.4']), 1), '1.2.3.4');
  assert.equal(peerAddress(req(), 1), '10.0.0.1', 'fewer entries than hops: the socket');

  // X-Forwarded-For with no proxy configured is reported once (a proxy in front left unconfigured).
  const reported: string[] = [];
  const values = nodeContextValues({ onIgnoredForwardedFor: (p) => reported.push(p) });
  values(req());
  assert.equal(reported.length, 0, 'no header, nothing to report');
  assert.equal(values(req('1.2.3.4')).get(peerKey), '10.0.0.1');
  values(req('5.6.7.8'));
  assert.deepEqual(reported, ['10.0.0.1'], 'once per process');
  const behindProxy = nodeContextValues({ trustProxyHops: 1, onIgnoredForwardedFor: (p) => reported.push(p) });
  assert.equal(behindProxy(req('1.2.3.4')).get(peerKey), '1.2.3.4');
  assert.equal(reported.length, 1, 'with a proxy configured the header is expected');
});

test('rate limit keys: participant and end user, else participant and peer', () => {
  const v = createContextValues();
  v.set(peerKey, '10.0.0.7');
  assert.equal(clientKey(v), 'peer:10.0.0.7');
  v.set(principalKey, { participant: '12345678', role: 'operator', amr: [], secondFactor: false, via: 'jwt' });
  assert.equal(clientKey(v), 'peer:12345678@10.0.0.7');
  v.set(principalKey, { participant: '12345678', subject: 'user-1', role: 'customer', taxIdNumber: '11144477735', amr: [], secondFactor: false, via: 'jwt' });
  assert.equal(clientKey(v), 'user:12345678/user-1');
});

test('reflection: symbols (services, methods, nested messages, enums) resolve to their file with its imports', () => {
  const index = reflectionIndex(servedServices(), [file_google_rpc_error_details]);
  const files = (symbol: string) => {
    const r = answer(index, create(ServerReflectionRequestSchema, { messageRequest: { case: 'fileContainingSymbol', value: symbol } }));
    assert.equal(r.case, 'fileDescriptorResponse', symbol);
    return r.case === 'fileDescriptorResponse' ? (r.value.fileDescriptorProto ?? []).map((b) => fromBinary(FileDescriptorProtoSchema, b).name) : [];
  };
  assert.equal(files('dict.core.v1.CoreDictService')[0], 'dict/core/v1/service.proto');
  assert.equal(files('dict.core.v1.CoreDictService.LookupKey')[0], 'dict/core/v1/service.proto');
  assert.equal(files('dict.core.v1.KeyType')[0], 'dict/core/v1/types.proto');
  assert.equal(files('google.rpc.RetryInfo')[0], 'google/rpc/error_details.proto');
  assert.ok(files('google.rpc.RetryInfo').includes('google/protobuf/duration.proto'));
  const list = answer(index, create(ServerReflectionRequestSchema, { messageRequest: { case: 'listServices', value: '*' } }));
  assert.equal(list.case, 'listServicesResponse');
});
