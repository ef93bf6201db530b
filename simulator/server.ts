// DICT simulator: BCB's DICT API v2 entries contract (HTTP/XML, XMLDSig both ways) over its own
// Postgres state, plus a JSON admin API for tests. Routing, identity, faults and rendering live
// here; the rules are in entries.ts.
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type Logger } from 'pino';
import {
  encodeCheckKeysResponse,
  encodeCreateEntryResponse,
  encodeDeleteEntryResponse,
  encodeGetEntryResponse,
  encodeProblem,
  encodeUpdateEntryResponse,
  decodeCheckKeysRequest,
  decodeCreateEntryRequest,
  decodeDeleteEntryRequest,
  decodeUpdateEntryRequest,
  parseXmlDocument,
  XmlCodecError,
} from '../bridge/xml.js';
import { signXml, XmlSignatureError, DSIG_NS } from '../bridge/xmldsig.js';
import { handleAdmin } from './admin.js';
import { EntriesService } from './entries.js';
import { FaultRegistry, type FaultSpec, type SimOperation } from './faults.js';
import { ParticipantRegistry, queryCaller, tlsIdentity, writeCaller } from './identity.js';
import { SimProblem, type BcbErrorName } from './problems.js';
import { StatsCounter, type WriteOperation } from './stats.js';
import { SimStore } from './store.js';

/**
 * Cache-Control on getEntry. BCB's spec asks PSPs to honour Cache-Control; Manual Operacional
 * section 12 caps cached lookups at 180 seconds, which is what we announce.
 */
export const GET_ENTRY_MAX_AGE_SECONDS = 180;
/** Retry-After sent with injected 429/503 faults. */
const FAULT_RETRY_AFTER_SECONDS = 1;
const MAX_BODY_BYTES = 1 << 20;

/** Anti-scanning / rate-limit hook (BCB's token buckets are not simulated yet). */
export type RateLimitHook = (ctx: {
  operation: SimOperation;
  participant: string;
  payerId?: string;
}) => { retryAfterSeconds?: number } | undefined | Promise<{ retryAfterSeconds?: number } | undefined>;

export interface SimulatorOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  databaseUrl: string;
  /** DICT's key and certificate: every response body is signed with them. */
  signing: { keyPem: string; certPem: string };
  /** ISPB -> certificate PEM (request signatures and mTLS identities). */
  participants: Record<string, string>;
  tls?: { keyPem: string; certPem: string; caPem: string; requestCert: boolean };
  logger?: Logger;
  now?: () => Date;
  /** Check CPF/CNPJ check digits like the real DICT (default true). */
  checkTaxIdDigits?: boolean;
  rateLimit?: RateLimitHook;
}

export interface RunningSimulator {
  /** Base URL of the API, e.g. http://127.0.0.1:PORT/api/v2 */
  url: string;
  origin: string;
  close(): Promise<void>;
}

interface Outcome {
  status: number;
  xml: string;
  headers?: Record<string, string>;
  write?: WriteOperation;
}

interface Route {
  op: SimOperation;
  key?: string;
}

/** BCB path (after /api/v2) -> operation. checkKeys also lives under BCB's /api-np/v2 base. */
function route(method: string, base: string, rest: string[]): Route | undefined {
  const [a, b, c] = rest;
  if (base === 'api-np') return method === 'POST' && a === 'keys' && b === 'check' && rest.length === 2 ? { op: 'checkKeys' } : undefined;
  if (a === 'keys' && b === 'check' && rest.length === 2 && method === 'POST') return { op: 'checkKeys' };
  if (a !== 'entries') return undefined;
  if ((rest.length === 1 || (rest.length === 2 && b === '')) && method === 'POST') return { op: 'createEntry' };
  if (rest.length === 2 && b) {
    if (method === 'GET') return { op: 'getEntry', key: b };
    if (method === 'PUT') return { op: 'updateEntry', key: b };
  }
  if (rest.length === 3 && b && c === 'delete' && method === 'POST') return { op: 'deleteEntry', key: b };
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimProblem('BadRequest', 'Request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Body has an XMLDSig Signature element (checkKeys may come signed or not). */
function looksSigned(xml: string): boolean {
  return xml.includes(DSIG_NS);
}

/**
 * XML codec failures: a bad Reason is InvalidReason, a missing or bad field inside the entry is
 * EntryInvalid, anything structural (not XML, wrong root, no Entry) is BadRequest.
 */
function codecProblem(e: XmlCodecError, op: SimOperation): SimProblem {
  if (e.element === 'Reason') return new SimProblem('InvalidReason', e.message);
  const entryOp = op === 'createEntry' || op === 'updateEntry';
  const entryFields = ['Key', 'KeyType', 'Account', 'Participant', 'Branch', 'AccountNumber', 'AccountType', 'OpeningDate', 'Owner', 'Type', 'TaxIdNumber', 'Name', 'TradeName'];
  if (entryOp && e.element !== undefined && entryFields.includes(e.element)) {
    return new SimProblem('EntryInvalid', 'Entry has invalid fields', [{ reason: e.message, property: e.element }]);
  }
  return new SimProblem('BadRequest', `Could not parse request body: ${e.message}`);
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const log = opts.logger ?? pino({ level: 'silent' });
  const now = opts.now ?? (() => new Date());
  const store = await SimStore.open(opts.databaseUrl);
  const registry = new ParticipantRegistry(opts.participants, opts.tls?.requestCert ?? false);
  const faults = new FaultRegistry();
  const stats = new StatsCounter();
  const entries = new EntriesService({ store, now, checkTaxIdDigits: opts.checkTaxIdDigits ?? true });

  const meta = () => ({ correlationId: randomBytes(16).toString('hex'), responseTime: now().toISOString() });

  function send(res: ServerResponse, status: number, xml: string, contentType: string, headers: Record<string, string> = {}): void {
    const signed = signXml(xml, opts.signing);
    res.writeHead(status, { 'content-type': `${contentType}; charset=utf-8`, 'content-length': Buffer.byteLength(signed), ...headers });
    res.end(signed);
  }

  function sendProblem(res: ServerResponse, p: SimProblem): void {
    const { correlationId } = meta();
    const xml = encodeProblem({
      bcbError: p.bcbError,
      title: p.title,
      status: p.status,
      ...(p.detail !== undefined ? { detail: p.detail } : {}),
      correlationId,
      ...(p.violations.length > 0 ? { violations: p.violations } : {}),
    });
    const headers: Record<string, string> = p.retryAfterSeconds !== undefined ? { 'retry-after': String(p.retryAfterSeconds) } : {};
    send(res, p.status, xml, 'application/problem+xml', headers);
  }

  async function gate(op: SimOperation, participant: string, payerId?: string): Promise<void> {
    if (!opts.rateLimit) return;
    const limited = await opts.rateLimit({ operation: op, participant, ...(payerId !== undefined ? { payerId } : {}) });
    if (limited) throw new SimProblem('RateLimited', 'Rate limit exceeded', [], limited.retryAfterSeconds);
  }

  async function handleApi(req: IncomingMessage, r: Route): Promise<Outcome> {
    const readXml = async (): Promise<string> => {
      const body = await readBody(req);
      parseXmlDocument(body); // not XML at all is BadRequest, before any signature talk
      return body;
    };
    switch (r.op) {
      case 'createEntry': {
        const body = await readXml();
        const caller = writeCaller(req, body, registry);
        await gate(r.op, caller);
        const cmd = decodeCreateEntryRequest(body);
        const { entry, replayed } = await entries.createEntry(caller, cmd);
        // Idempotent replay answers exactly like the first request (201, same entry).
        return { status: 201, xml: encodeCreateEntryResponse({ entry, ...meta() }), ...(replayed ? {} : { write: 'createEntry' as const }) };
      }
      case 'getEntry': {
        const caller = queryCaller(req, registry);
        const payerId = header(req, 'pi-payerid');
        const endToEndId = header(req, 'pi-endtoendid');
        await gate(r.op, caller, payerId);
        const entry = await entries.getEntry(caller, { key: r.key!, payerId, endToEndId });
        return {
          status: 200,
          xml: encodeGetEntryResponse({ entry, ...meta() }),
          headers: { 'cache-control': `max-age=${GET_ENTRY_MAX_AGE_SECONDS}` },
        };
      }
      case 'updateEntry': {
        const body = await readXml();
        const caller = writeCaller(req, body, registry);
        await gate(r.op, caller);
        const cmd = decodeUpdateEntryRequest(body);
        const { entry, changed } = await entries.updateEntry(caller, r.key!, cmd);
        return { status: 200, xml: encodeUpdateEntryResponse({ entry, ...meta() }), ...(changed ? { write: 'updateEntry' as const } : {}) };
      }
      case 'deleteEntry': {
        const body = await readXml();
        const caller = writeCaller(req, body, registry);
        await gate(r.op, caller);
        const cmd = decodeDeleteEntryRequest(body);
        const { key } = await entries.deleteEntry(caller, r.key!, cmd);
        return { status: 200, xml: encodeDeleteEntryResponse({ key, ...meta() }), write: 'deleteEntry' };
      }
      case 'checkKeys': {
        const body = await readXml();
        // A query: BCB's CheckKeysRequest has no Signature, but one that is present must verify.
        const caller = looksSigned(body) ? writeCaller(req, body, registry) : queryCaller(req, registry);
        await gate(r.op, caller);
        const { keys } = decodeCheckKeysRequest(body);
        const result = await entries.checkKeys(keys);
        return { status: 200, xml: encodeCheckKeysResponse({ keys: result, ...meta() }) };
      }
    }
  }

  /** Applies a pre-processing fault; returns the fault still to apply after processing, if any. */
  async function preFault(fault: FaultSpec | undefined): Promise<FaultSpec | undefined> {
    if (!fault) return undefined;
    switch (fault.kind) {
      case 'latency':
        await sleep(fault.latencyMs ?? 0);
        return undefined;
      case '5xx':
        throw new SimProblem('ServiceUnavailable', 'Service is temporarily unavailable (injected fault)', [], FAULT_RETRY_AFTER_SECONDS);
      case '429':
        throw new SimProblem('RateLimited', 'Rate limit exceeded (injected fault)', [], FAULT_RETRY_AFTER_SECONDS);
      case 'lost-response':
        return fault;
    }
  }

  function toProblem(e: unknown, op: SimOperation): SimProblem {
    if (e instanceof SimProblem) return e;
    if (e instanceof XmlSignatureError) return new SimProblem('RequestSignatureInvalid', e.message);
    if (e instanceof XmlCodecError) return codecProblem(e, op);
    log.error({ err: e, op }, 'simulator: unexpected error');
    return new SimProblem('InternalServerError', 'Unexpected condition while processing the request');
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const method = req.method ?? 'GET';
    let segments: string[];
    try {
      segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      sendProblem(res, new SimProblem('BadRequest', 'Malformed URL path'));
      return;
    }
    if (await handleAdmin(req, res, segments, () => readBody(req), { store, faults, stats, now })) return;

    const [base, version, ...rest] = segments;
    const r = (base === 'api' || base === 'api-np') && version === 'v2' ? route(method, base, rest) : undefined;
    if (!r) {
      sendProblem(res, new SimProblem('NotFound', `No resource ${method} ${url.pathname}`));
      return;
    }
    stats.request(r.op);
    const started = Date.now();
    let outcome: Outcome;
    let pending: FaultSpec | undefined;
    try {
      tlsIdentity(req, registry); // with mTLS, refuse uncertified callers before anything else
      pending = await preFault(faults.take(r.op));
      outcome = await handleApi(req, r);
    } catch (e) {
      const p = toProblem(e, r.op);
      log.info({ op: r.op, status: p.status, bcbError: p.bcbError, detail: p.detail, ms: Date.now() - started }, 'simulator: problem');
      sendProblem(res, p);
      return;
    }
    if (outcome.write) stats.write(outcome.write);
    if (pending) {
      // lost-response: the write is applied, the caller never learns the result.
      log.info({ op: r.op, status: outcome.status }, 'simulator: injected lost response');
      if (pending.dropConnection) req.socket.destroy();
      else sendProblem(res, new SimProblem('ServiceUnavailable', 'Service is temporarily unavailable (injected fault)', [], FAULT_RETRY_AFTER_SECONDS));
      return;
    }
    log.info({ op: r.op, status: outcome.status, ms: Date.now() - started }, 'simulator: ok');
    send(res, outcome.status, outcome.xml, 'application/xml', outcome.headers);
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    onRequest(req, res).catch((e: unknown) => {
      log.error({ err: e }, 'simulator: request failed');
      if (!res.headersSent) {
        try {
          sendProblem(res, new SimProblem('InternalServerError', 'Unexpected condition while processing the request'));
        } catch {
          res.destroy();
        }
      } else res.destroy();
    });
  };

  const server = opts.tls
    ? https.createServer(
        {
          key: opts.tls.keyPem,
          cert: opts.tls.certPem,
          ca: opts.tls.caPem,
          requestCert: opts.tls.requestCert,
          // Checked per request (tlsIdentity) so /admin and /healthz stay reachable without a cert.
          rejectUnauthorized: false,
        },
        handler,
      )
    : http.createServer(handler);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 8090, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const origin = `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
  log.info({ origin, participants: Object.keys(opts.participants) }, 'DICT simulator listening');

  let closed: Promise<void> | undefined;
  return {
    url: `${origin}/api/v2`,
    origin,
    close(): Promise<void> {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await store.close();
      })();
      return closed;
    },
  };
}

export type { BcbErrorName };
