// RPC fuzzing engine shared by test/integration/fuzz.test.ts (a few hundred cases per RPC in CI)
// and bench/fuzz.ts (10,000 per RPC, against a running Core DICT). Every RPC of
// CoreDictService is driven with fast-check:
//  - well-shaped messages with wrong values: every field of the request schema filled (or not)
//    with hostile but well-typed values — field-aware ones from test/support/fuzz-values.ts
//    (near-valid CPF/CNPJ/phones/e-mails/ISPBs/end-to-end ids, keys of the wrong type, edge
//    timestamps, forged page tokens, other users' ids), huge and negative numbers, unknown enum
//    numbers, control characters, very long strings — on each protocol in turn (Connect JSON,
//    Connect binary, gRPC, gRPC-web), with the operator's or another user's token;
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
import { keyWithType, type Known, NO_KNOWN, personTypeAndTaxId, stringFor, timestampInit } from './fuzz-values.js';
import { bearer } from './bearer.js';

export type Protocol = 'connect-json' | 'connect-proto' | 'grpc' | 'grpc-web';
export const PROTOCOLS: readonly Protocol[] = ['connect-json', 'connect-proto', 'grpc', 'grpc-web'];

export interface FuzzTarget {
  httpUrl: string;
  grpcUrl: string;
  /** Bearer token sent on every random-bytes case (an operator's: the handlers are what is fuzzed, not auth). */
  token?: string;
  /** More tokens a generated message may be sent with (e.g. a customer's, to reach another user's things). */
  otherTokens?: string[];
  /** Things that exist in the target, for ids that belong to someone else. */
  known?: Known;
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

function fieldValue(f: DescField, depth: number, known: Known): fc.Arbitrary<unknown> {
  switch (f.fieldKind) {
    case 'scalar': {
      const domain = f.scalar === ScalarType.STRING ? stringFor(f.name, known) : undefined;
      return domain ? fc.oneof({ weight: 3, arbitrary: domain }, scalar(f.scalar)) : scalar(f.scalar);
    }
    case 'enum':
      return enumValue(f.enum);
    case 'message':
      return f.message.typeName === 'google.protobuf.Timestamp' ? fc.oneof(timestampInit, messageInit(f.message, depth + 1, known)) : messageInit(f.message, depth + 1, known);
    case 'list': {
      const item = f.listKind === 'scalar' ? scalar(f.scalar) : f.listKind === 'enum' ? enumValue(f.enum) : messageInit(f.message, depth + 1, known);
      return fc.array(item, { maxLength: depth > 1 ? 1 : 4 });
    }
    case 'map': {
      const v = f.mapKind === 'scalar' ? scalar(f.scalar) : f.mapKind === 'enum' ? enumValue(f.enum) : messageInit(f.message, depth + 1, known);
      return fc.dictionary(fc.string({ maxLength: 8 }), v, { maxKeys: 3 });
    }
  }
}

/**
 * An init object for `desc`: each field present or absent, oneofs with one case or none. Fields
 * BCB pairs (a key and its type; a person's type and tax id) are usually made to agree, so the
 * case reaches past the first check, and sometimes not.
 */
export function messageInit(desc: DescMessage, depth = 0, known: Known = NO_KNOWN): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 3) return fc.constant({});
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const m of desc.members) {
    if (m.kind === 'oneof') {
      const o = m as DescOneof;
      parts[o.localName] = fc.oneof(
        fc.constant(undefined),
        ...o.fields.map((f) => fieldValue(f, depth, known).map((value) => ({ case: f.localName, value }))),
      );
    } else {
      const f = m as DescField;
      // Never make a case wait for a workflow's final state.
      if (f.name === 'wait_timeout') continue;
      parts[f.localName] = fc.option(fieldValue(f, depth, known), { nil: undefined, freq: 3 });
    }
  }
  const names = new Set(desc.fields.map((f) => f.name));
  const pairKey = names.has('key') && names.has('key_type');
  const pairPerson = names.has('type') && names.has('tax_id_number');
  const pair = pairKey ? keyWithType(known) : pairPerson ? personTypeAndTaxId(known).map(({ type, taxIdNumber }) => ({ type, taxIdNumber })) : fc.constant(undefined);
  return fc.tuple(fc.record(parts), fc.boolean(), pair).map(([r, agree, p]) => {
    const out = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
    return agree && p ? { ...out, ...p } : out;
  });
}

export const FUZZED_METHODS: readonly DescMethod[] = CoreDictService.methods;

type Client = ReturnType<typeof createClient<typeof CoreDictService>>;
interface Transports {
  /** Per token (the target's first, then otherTokens), per protocol. */
  clients: Record<Protocol, Client>[];
}

export function fuzzClients(t: FuzzTarget): Transports {
  const make = (tr: Transport) => createClient(CoreDictService, tr);
  const forToken = (token: string | undefined): Record<Protocol, Client> => {
    const interceptors = [bearer(token)];
    return {
      'connect-json': make(createConnectTransport({ baseUrl: t.httpUrl, httpVersion: '1.1', interceptors })),
      'connect-proto': make(createConnectTransport({ baseUrl: t.httpUrl, httpVersion: '1.1', useBinaryFormat: true, interceptors })),
      grpc: make(createGrpcTransport({ baseUrl: t.grpcUrl, interceptors })),
      'grpc-web': make(createGrpcWebTransport({ baseUrl: t.httpUrl, httpVersion: '1.1', interceptors })),
    };
  };
  return { clients: [t.token, ...(t.otherTokens ?? [])].map(forToken) };
}

function show(v: unknown): string {
  const s = JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `bytes(${x.length})` : typeof x === 'string' && x.length > 80 ? `${x.slice(0, 40)}…(${x.length})` : x));
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
}

/** What one case got: the answer's code name (OK, InvalidArgument, HTTP 413...) and a finding when the server failed. */
interface Outcome {
  answer: string;
  finding?: Finding;
}

/** One well-shaped message on one protocol; a finding when the server failed. */
async function callOnce(tr: Transports, method: DescMethod, protocol: Protocol, init: Record<string, unknown>, tokenIndex: number): Promise<Outcome> {
  const msg = create(method.input, init as never);
  // A message the client itself cannot encode for this protocol (e.g. a Timestamp outside JSON's
  // range) never reaches the server: not a server finding.
  try {
    if (protocol === 'connect-json') toJsonString(method.input, msg);
    else toBinary(method.input, msg);
  } catch {
    return { answer: UNSENDABLE };
  }
  const clients = tr.clients[tokenIndex % tr.clients.length]!;
  const call = (clients[protocol] as unknown as Record<string, (m: unknown, o: unknown) => Promise<unknown>>)[method.localName]!;
  try {
    await call(msg, { timeoutMs: 30_000 });
    return { answer: 'OK' };
  } catch (e) {
    const err = ConnectError.from(e);
    const answer = Code[err.code];
    if (BAD_CODES.has(err.code)) return { answer, finding: { method: method.name, protocol, kind: 'message', outcome: answer, message: err.rawMessage, input: show(init) } };
    return { answer };
  }
}

/** A generated message the client cannot encode for its protocol (e.g. a Timestamp beyond JSON's range): never sent. */
export const UNSENDABLE = 'unsendable';

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

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

function h1(url: string, path: string, contentType: string, body: Buffer, token?: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': contentType, 'content-length': String(body.length), 'connect-protocol-version': '1' };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(new URL(path, url), { method: 'POST', headers, agent: keepAlive }, (res) => {
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

const codeName = (n: string | undefined): string | undefined => (n === '0' ? 'OK' : n !== undefined && /^\d+$/.test(n) ? (Code[Number(n)] ?? `code ${n}`) : undefined);
const snakeToCode = (c: string) => c.replace(/(^|_)([a-z])/g, (_m, _u: string, ch: string) => ch.toUpperCase());
const SERVER_FAILED = new Set(['Internal', 'Unknown', 'DataLoss']);

/** Random bytes under one protocol's content type; a finding when the server failed. */
async function bytesOnce(target: FuzzTarget, session: http2.ClientHttp2Session, method: DescMethod, protocol: Protocol, payload: Uint8Array, framed: boolean, flags: number): Promise<Outcome> {
  const path = `/${CoreDictService.typeName}/${method.name}`;
  const body = framed ? frame(payload, flags) : Buffer.from(payload);
  const input = `${framed ? `frame(flags=${flags}) ` : ''}${Buffer.from(payload).subarray(0, 48).toString('hex')}${payload.length > 48 ? `…(${payload.length})` : ''}`;
  let status: number;
  let answer: string;
  let message: string;
  if (protocol === 'grpc') {
    const r = await h2(session, path, body, target.token);
    status = r.status;
    answer = codeName(r.grpcStatus) ?? `HTTP ${r.status}`;
    message = decodeURIComponent(r.message ?? '');
  } else {
    const r = await h1(target.httpUrl, path, CONTENT_TYPES[protocol], body, target.token);
    status = r.status;
    if (protocol === 'grpc-web') {
      const m = /grpc-status:\s*(\d+)/i.exec(r.body)?.[1] ?? (r.headers['grpc-status'] !== undefined ? String(r.headers['grpc-status']) : undefined);
      answer = codeName(m) ?? `HTTP ${r.status}`;
    } else {
      const c = /"code"\s*:\s*"([a-z_]+)"/.exec(r.body)?.[1];
      answer = c ? snakeToCode(c) : r.status === 200 ? 'OK' : `HTTP ${r.status}`;
    }
    message = r.body.slice(0, 300);
  }
  const bad = status >= 500 || SERVER_FAILED.has(answer);
  return bad ? { answer, finding: { method: method.name, protocol, kind: 'bytes', outcome: `HTTP ${status} ${answer}`, message, input } } : { answer };
}

export type CaseKind = 'message' | 'bytes';

export interface FuzzRun {
  findings: Finding[];
  /** Cases run (sent or found unsendable by the client). */
  cases: number;
  /** Cases that reached the server, per kind and protocol. */
  sent: Record<CaseKind, Record<Protocol, number>>;
  /** Answers by code name (OK, InvalidArgument, HTTP 415, unsendable...). */
  answers: Record<string, number>;
  /** The time bound stopped the run before `runs` cases of each kind. */
  interrupted: boolean;
}

export interface FuzzOptions {
  /** Cases of each kind (generated messages, random bytes); each kind goes round the protocols in turn. */
  runs: number;
  seed?: number;
  /** Stop starting cases after this long (the run then reports `interrupted`). */
  timeLimitMs?: number;
  /** Cases in flight at once (default 8). */
  concurrency?: number;
}

/**
 * Drives `method` with `runs` generated messages and `runs` random-byte bodies, the protocol of
 * case i being PROTOCOLS[i % 4] (so every protocol gets its share, whatever the generator does).
 * Inputs are drawn from fast-check in batches (deterministic for a seed) and sent `concurrency`
 * at a time; findings are collected, not shrunk (every case is a network call).
 */
export async function fuzzMethod(target: FuzzTarget, tr: Transports, method: DescMethod, o: FuzzOptions): Promise<FuzzRun> {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const concurrency = o.concurrency ?? 8;
  const deadline = o.timeLimitMs ? performance.now() + o.timeLimitMs : Infinity;
  const zero = () => Object.fromEntries(PROTOCOLS.map((p) => [p, 0])) as Record<Protocol, number>;
  const run: FuzzRun = { findings: [], cases: 0, sent: { message: zero(), bytes: zero() }, answers: {}, interrupted: false };
  const record = (kind: CaseKind, protocol: Protocol, out: Outcome) => {
    run.cases++;
    run.answers[out.answer] = (run.answers[out.answer] ?? 0) + 1;
    if (out.answer !== UNSENDABLE) run.sent[kind][protocol]++;
    if (out.finding) run.findings.push(out.finding);
  };
  const tokens = 1 + (target.otherTokens?.length ?? 0);
  const messages = fc.tuple(messageInit(method.input, 0, target.known), fc.nat({ max: tokens - 1 }));
  const bytes = fc.tuple(
    fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.json({ maxDepth: 3 }).map((j) => new Uint8Array(Buffer.from(j)))),
    fc.boolean(),
    fc.constantFrom(0, 0, 0, 1, 2, 0x80),
  );
  const session = http2.connect(target.grpcUrl);
  session.on('error', () => undefined);
  try {
    const batch = concurrency * 4;
    for (const kind of ['message', 'bytes'] as const) {
      for (let start = 0, b = 0; start < o.runs; start += batch, b++) {
        if (performance.now() > deadline) {
          run.interrupted = true;
          break;
        }
        const n = Math.min(batch, o.runs - start);
        const batchSeed = (seed + b * 7919 + (kind === 'bytes' ? 104_729 : 0)) | 0;
        const jobs: (() => Promise<void>)[] =
          kind === 'message'
            ? fc.sample(messages, { numRuns: n, seed: batchSeed }).map(([init, tokenIndex], i) => async () => {
                const protocol = PROTOCOLS[(start + i) % PROTOCOLS.length]!;
                record('message', protocol, await callOnce(tr, method, protocol, init, tokenIndex));
              })
            : fc.sample(bytes, { numRuns: n, seed: batchSeed }).map(([payload, framed, flags], i) => async () => {
                const protocol = PROTOCOLS[(start + i) % PROTOCOLS.length]!;
                record('bytes', protocol, await bytesOnce(target, session, method, protocol, payload, framed || protocol === 'grpc', flags).catch((e: unknown) => ({ answer: 'transport error', finding: { method: method.name, protocol, kind: 'bytes' as const, outcome: 'transport error', message: String(e), input: '' } })));
              });
        await pool(jobs, concurrency);
      }
    }
  } finally {
    session.close();
  }
  return run;
}

async function pool(jobs: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
}

/** /readyz answers 200 (the server and its dependencies are fine). */
export async function ready(httpUrl: string): Promise<boolean> {
  const r = await fetch(new URL('/readyz', httpUrl)).catch(() => undefined);
  return r?.status === 200;
}

/**
 * Half-written state since $1, one row per problem (none expected). An accepted request
 * (operations) and what it creates are written in one transaction, so each must have the other:
 * an entry row its CREATE_ENTRY request and that request its entry; a claim we opened
 * (CLAIMER, with a request id) its START_CLAIM/START_PORTABILITY request and that request its
 * claim row, under the same workflow id; a FAILED request the BCB error it failed with.
 * (test/integration/fuzz.test.ts also checks every accepted request's workflow exists in Temporal.)
 */
export const HALF_WRITTEN_SQL = `
  select 'entry without operation' as what, e.entry_id::text as id from entries e
   where e.created_at >= $1 and not exists (select 1 from operations o where o.participant = e.participant and o.request_id = e.request_id and o.operation = 'CREATE_ENTRY')
  union all
  select 'create operation without its entry', o.request_id from operations o
   where o.created_at >= $1 and o.operation = 'CREATE_ENTRY' and o.entry_id is not null and not exists (select 1 from entries e where e.entry_id = o.entry_id)
  union all
  select 'claim without its start request', c.id::text from claims c
   where c.created_at >= $1 and c.role = 'CLAIMER' and c.request_id is not null
     and not exists (select 1 from operations o where o.participant = c.participant and o.request_id = c.request_id and o.operation in ('START_CLAIM', 'START_PORTABILITY'))
  union all
  select 'start request without its claim', o.request_id from operations o
   where o.created_at >= $1 and o.operation in ('START_CLAIM', 'START_PORTABILITY')
     and not exists (select 1 from claims c where c.participant = o.participant and c.workflow_id = o.workflow_id)
  union all
  select 'failed request without its error', o.request_id from operations o
   where o.created_at >= $1 and o.status = 'FAILED' and o.error_name is null`;

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
