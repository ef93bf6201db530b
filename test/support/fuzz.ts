// RPC fuzzing engine shared by test/integration/fuzz.test.ts (a few hundred cases per RPC in CI)
// and bench/fuzz.ts (FUZZ_RUNS, 10,000 by default, against a running Core DICT). Every RPC of
// CoreDictService is driven with fast-check:
//  - well-shaped messages with wrong values: every field of the request schema filled (or not)
//    with hostile but well-typed values — near-valid BCB identifiers, huge and negative numbers,
//    unknown enum numbers, control characters, very long strings — sent on a random protocol
//    (Connect JSON, Connect binary, gRPC, gRPC-web);
//  - random bytes on each protocol: raw HTTP bodies (framed or not) under each content type.
// A finding is any answer that says the server itself failed: gRPC/Connect code Internal,
// Unknown or DataLoss, or an HTTP 5xx. Write waits (`wait_timeout`) are cleared so a case never
// blocks on a workflow.
import http from 'node:http';
import http2 from 'node:http2';
import { create, toBinary, toJsonString, type DescField, type DescMessage, type DescMethod, type DescOneof } from '@bufbuild/protobuf';
import { ScalarType } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import fc from 'fast-check';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { bearer } from './bearer.js';

export type Protocol = 'connect-json' | 'connect-proto' | 'grpc' | 'grpc-web';
export const PROTOCOLS: readonly Protocol[] = ['connect-json', 'connect-proto', 'grpc', 'grpc-web'];

export interface FuzzTarget {
  httpUrl: string;
  grpcUrl: string;
  /** Bearer token sent on every case (an operator's: the handlers are what is fuzzed, not auth). */
  token?: string;
}

export interface Finding {
  method: string;
  protocol: Protocol;
  kind: 'message' | 'bytes';
  /** gRPC/Connect code name or HTTP status. */
  outcome: string;
  message: string;
  input: string;
}

const BAD_CODES = new Set([Code.Internal, Code.Unknown, Code.DataLoss]);

/** Strings that are almost right for BCB's fields, or plainly hostile. */
const NASTY_STRINGS = [
  '',
  ' ',
  '12345678',
  '87654321',
  '1234567',
  '123456789',
  '11144477735',
  '11144477736',
  '11222333000181',
  '00000000000',
  '+5561988880000',
  '+55619888800001234',
  'a@b.com',
  'A@B.COM',
  `${'a'.repeat(80)}@b.com`,
  'a946d533-7f22-42a5-9a9b-e87cd55c0f4d',
  '00000000-0000-0000-0000-000000000000',
  'a946d533-7f22-42a5-9a9b-e87cd55c0f4',
  'E1234567820250101000000000000a',
  'E12345678202501010000abcdefghijk',
  '0001',
  '99999',
  '2020-01-10T03:00:00Z',
  '9999-12-31T23:59:59Z',
  'not a date',
  "' OR 1=1 --",
  '%00',
  '\u0000',
  '\uFFFF\uD800',
  '😀'.repeat(50),
  'x'.repeat(70_000),
  '{"s":"1","f":"x"}',
  Buffer.from('{"s":"1","f":"x"}').toString('base64url'),
  Buffer.from('{"s":"99999999999999999999999","f":"x"}').toString('base64url'),
  '../../etc/passwd',
  '<Entry/>',
];

const INT32S = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 500, 501, 100_000];

function scalar(t: ScalarType): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.STRING:
      return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) }, fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.uuid());
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
      return fc.double();
    case ScalarType.FLOAT:
      return fc.float();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.oneof(fc.constantFrom(...INT32S), fc.integer());
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.oneof(fc.constantFrom(0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 253402300800n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  }
}

function enumValue(e: { values: { number: number }[] }): fc.Arbitrary<number> {
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...e.values.map((v) => v.number)) }, fc.integer({ min: -3, max: 200 }));
}

function fieldValue(f: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (f.fieldKind) {
    case 'scalar':
      return scalar(f.scalar);
    case 'enum':
      return enumValue(f.enum);
    case 'message':
      return messageInit(f.message, depth + 1);
    case 'list': {
      const item = f.listKind === 'scalar' ? scalar(f.scalar) : f.listKind === 'enum' ? enumValue(f.enum) : messageInit(f.message, depth + 1);
      return fc.array(item, { maxLength: depth > 1 ? 1 : 4 });
    }
    case 'map': {
      const v = f.mapKind === 'scalar' ? scalar(f.scalar) : f.mapKind === 'enum' ? enumValue(f.enum) : messageInit(f.message, depth + 1);
      return fc.dictionary(fc.string({ maxLength: 8 }), v, { maxKeys: 3 });
    }
  }
}

/** An init object for `desc`: each field present or absent, oneofs with one case or none. */
export function messageInit(desc: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 3) return fc.constant({});
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const m of desc.members) {
    if (m.kind === 'oneof') {
      const o = m as DescOneof;
      parts[o.localName] = fc.oneof(
        fc.constant(undefined),
        ...o.fields.map((f) => fieldValue(f, depth).map((value) => ({ case: f.localName, value }))),
      );
    } else {
      const f = m as DescField;
      // Never make a case wait for a workflow's final state.
      if (f.name === 'wait_timeout') continue;
      parts[f.localName] = fc.option(fieldValue(f, depth), { nil: undefined, freq: 3 });
    }
  }
  return fc.record(parts).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
}

export const FUZZED_METHODS: readonly DescMethod[] = CoreDictService.methods;

interface Transports {
  clients: Record<Protocol, ReturnType<typeof createClient<typeof CoreDictService>>>;
}

export function fuzzClients(t: FuzzTarget): Transports {
  const make = (tr: Transport) => createClient(CoreDictService, tr);
  const interceptors = [bearer(t.token)];
  return {
    clients: {
      'connect-json': make(createConnectTransport({ baseUrl: t.httpUrl, httpVersion: '1.1', interceptors })),
      'connect-proto': make(createConnectTransport({ baseUrl: t.httpUrl, httpVersion: '1.1', useBinaryFormat: true, interceptors })),
      grpc: make(createGrpcTransport({ baseUrl: t.grpcUrl, interceptors })),
      'grpc-web': make(createGrpcWebTransport({ baseUrl: t.httpUrl, httpVersion: '1.1', interceptors })),
    },
  };
}

function show(v: unknown): string {
  const s = JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `bytes(${x.length})` : typeof x === 'string' && x.length > 80 ? `${x.slice(0, 40)}…(${x.length})` : x));
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
}

/** One well-shaped message on one protocol; a finding when the server failed. */
async function callOnce(tr: Transports, method: DescMethod, protocol: Protocol, init: Record<string, unknown>): Promise<Finding | undefined> {
  const msg = create(method.input, init as never);
  // A message the client itself cannot encode for this protocol (e.g. a Timestamp outside JSON's
  // range) never reaches the server: not a server finding.
  try {
    if (protocol === 'connect-json') toJsonString(method.input, msg);
    else toBinary(method.input, msg);
  } catch {
    return undefined;
  }
  const call = (tr.clients[protocol] as unknown as Record<string, (m: unknown, o: unknown) => Promise<unknown>>)[method.localName]!;
  try {
    await call(msg, { timeoutMs: 30_000 });
    return undefined;
  } catch (e) {
    const err = ConnectError.from(e);
    if (BAD_CODES.has(err.code)) return { method: method.name, protocol, kind: 'message', outcome: Code[err.code], message: err.rawMessage, input: show(init) };
    return undefined;
  }
}

function frame(payload: Uint8Array, flags = 0): Buffer {
  const b = Buffer.alloc(5 + payload.length);
  b[0] = flags;
  b.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(b, 5);
  return b;
}

const CONTENT_TYPES: Record<Exclude<Protocol, 'grpc'>, string> = {
  'connect-json': 'application/json',
  'connect-proto': 'application/proto',
  'grpc-web': 'application/grpc-web+proto',
};

function h1(url: string, path: string, contentType: string, body: Buffer, token?: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': contentType, 'content-length': String(body.length), 'connect-protocol-version': '1' };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(new URL(path, url), { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

function h2(session: http2.ClientHttp2Session, path: string, body: Buffer, token?: string): Promise<{ status: number; grpcStatus?: string; message?: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc+proto', te: 'trailers', ...(token ? { authorization: `Bearer ${token}` } : {}) });
    let status = 0;
    let grpcStatus: string | undefined;
    let message: string | undefined;
    s.on('response', (h) => {
      status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = String(h['grpc-message']);
    });
    s.on('trailers', (t) => {
      if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']);
      if (t['grpc-message'] !== undefined) message = String(t['grpc-message']);
    });
    s.on('data', () => undefined);
    s.on('end', () => resolve({ status, grpcStatus, message }));
    s.on('error', reject);
    s.setTimeout(30_000, () => s.close(http2.constants.NGHTTP2_CANCEL));
    s.end(body);
  });
}

/** Random bytes under one protocol's content type; a finding when the server failed. */
async function bytesOnce(target: FuzzTarget, session: http2.ClientHttp2Session, method: DescMethod, protocol: Protocol, payload: Uint8Array, framed: boolean, flags: number): Promise<Finding | undefined> {
  const path = `/${CoreDictService.typeName}/${method.name}`;
  const body = framed ? frame(payload, flags) : Buffer.from(payload);
  const input = `${framed ? `frame(flags=${flags}) ` : ''}${Buffer.from(payload).subarray(0, 48).toString('hex')}${payload.length > 48 ? `…(${payload.length})` : ''}`;
  if (protocol === 'grpc') {
    const r = await h2(session, path, body, target.token);
    const bad = r.status >= 500 || (r.grpcStatus !== undefined && [String(Code.Internal), String(Code.Unknown), String(Code.DataLoss)].includes(r.grpcStatus));
    return bad ? { method: method.name, protocol, kind: 'bytes', outcome: `HTTP ${r.status} grpc-status ${r.grpcStatus}`, message: decodeURIComponent(r.message ?? ''), input } : undefined;
  }
  const r = await h1(target.httpUrl, path, CONTENT_TYPES[protocol], body, target.token);
  let code = '';
  if (protocol === 'grpc-web') {
    const m = /grpc-status:\s*(\d+)/i.exec(r.body) ?? (r.headers['grpc-status'] ? [undefined, String(r.headers['grpc-status'])] : null);
    code = m?.[1] ?? '';
  } else {
    code = /"code"\s*:\s*"([a-z_]+)"/.exec(r.body)?.[1] ?? '';
  }
  const bad = r.status >= 500 || ['internal', 'unknown', 'data_loss', String(Code.Internal), String(Code.Unknown), String(Code.DataLoss)].includes(code);
  return bad ? { method: method.name, protocol, kind: 'bytes', outcome: `HTTP ${r.status} ${code}`, message: r.body.slice(0, 300), input } : undefined;
}

export interface FuzzRun {
  findings: Finding[];
  cases: number;
}

/**
 * Drives `method` with `runs` well-shaped messages and `runs` random-byte bodies, protocols
 * chosen by fast-check. Findings are collected (no shrinking: every case is a network call).
 */
export async function fuzzMethod(target: FuzzTarget, tr: Transports, method: DescMethod, o: { runs: number; seed?: number; interruptAfterMs?: number }): Promise<FuzzRun> {
  const findings: Finding[] = [];
  let cases = 0;
  const params = { numRuns: o.runs, seed: o.seed, endOnFailure: true, ...(o.interruptAfterMs ? { interruptAfterTimeLimit: o.interruptAfterMs, markInterruptAsFailure: false } : {}) };
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PROTOCOLS), messageInit(method.input), async (protocol, init) => {
      cases++;
      const f = await callOnce(tr, method, protocol, init);
      if (f) findings.push(f);
    }),
    params,
  );
  const session = http2.connect(target.grpcUrl);
  session.on('error', () => undefined);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PROTOCOLS),
        fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.json({ maxDepth: 3 }).map((j) => new Uint8Array(Buffer.from(j)))),
        fc.boolean(),
        fc.constantFrom(0, 0, 0, 1, 2, 0x80),
        async (protocol, payload, framed, flags) => {
          cases++;
          const f = await bytesOnce(target, session, method, protocol, payload, framed || protocol === 'grpc', flags);
          if (f) findings.push(f);
        },
      ),
      params,
    );
  } finally {
    session.close();
  }
  return { findings, cases };
}

/** /readyz answers 200 (the server and its dependencies are fine). */
export async function ready(httpUrl: string): Promise<boolean> {
  const r = await fetch(new URL('/readyz', httpUrl)).catch(() => undefined);
  return r?.status === 200;
}

/** Rows written without a matching accepted request (entries without their operation). */
export const HALF_WRITTEN_SQL = `
  select 'entry without operation' as what, e.entry_id::text as id from entries e
   where e.created_at >= $1 and not exists (select 1 from operations o where o.participant = e.participant and o.request_id = e.request_id and o.operation = 'CREATE_ENTRY')
  union all
  select 'create operation without its entry', o.request_id from operations o
   where o.created_at >= $1 and o.operation = 'CREATE_ENTRY' and o.entry_id is not null and not exists (select 1 from entries e where e.entry_id = o.entry_id)`;

/** Findings grouped by RPC, protocol, kind, outcome and message (numbers blurred), with a count and one input. */
export function summarize(findings: Finding[]): { key: string; count: number; example: string }[] {
  const groups = new Map<string, { key: string; count: number; example: string }>();
  for (const f of findings) {
    const key = `${f.method} ${f.protocol} ${f.kind} ${f.outcome}: ${f.message.replace(/\d+/g, 'N').slice(0, 160)}`;
    const g = groups.get(key) ?? { key, count: 0, example: f.input };
    g.count++;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
