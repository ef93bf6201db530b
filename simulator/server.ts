// DICT simulator: BCB's DICT API v2 entries and claims contract (HTTP/XML, XMLDSig both ways) over
// its own Postgres state, plus a JSON admin API for tests. Transport, identity, faults, clock and
// rendering live here; one route table per resource (routes/entries.ts, routes/claims.ts); the
// rules are in entries.ts and claims.ts (over domain/claims.ts).
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type Logger } from 'pino';
import { encodeProblem, parseXmlDocument, XmlCodecError } from '../bridge/xml.js';
import { signXml, XmlSignatureError } from '../bridge/xmldsig.js';
import { BCB_CLAIM_PERIODS, type ClaimPeriods } from '../domain/claims.js';
import { handleAdmin } from './admin.js';
import { SimAntiscan, type SimAntiscanOptions } from './antiscan.js';
import { ClaimsService } from './claims.js';
import { SimClock } from './clock.js';
import { EntriesService } from './entries.js';
import { FaultRegistry, type FaultSpec, type SimOperation } from './faults.js';
import { ParticipantRegistry, tlsIdentity } from './identity.js';
import { SimProblem, type BcbErrorName } from './problems.js';
import { RateLimiter, type BucketConfig, type RateLimitPolicy } from './ratelimit.js';
import { CLAIM_ROUTES } from './routes/claims.js';
import { matchRoute, type ApiContext, type ApiRoute, type Outcome } from './routes/context.js';
import { ENTRY_ROUTES } from './routes/entries.js';
import { POLICY_ROUTES } from './routes/policies.js';
import { StatsCounter } from './stats.js';
import { SimStore } from './store.js';

export { GET_ENTRY_MAX_AGE_SECONDS } from './routes/entries.js';

/** Retry-After sent with injected 429/503 faults. */
const FAULT_RETRY_AFTER_SECONDS = 1;
const MAX_BODY_BYTES = 1 << 20;

/** Every API route, one table per resource. */
const ROUTES: readonly ApiRoute[] = [...ENTRY_ROUTES, ...CLAIM_ROUTES, ...POLICY_ROUTES];

/** Anti-scanning / rate-limit hook for tests (BCB's listClaims buckets are built in: RateLimiter). */
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
  /** Base clock (default real time); /admin/clock sets or advances an offset on top of it. */
  now?: () => Date;
  /** Check CPF/CNPJ check digits like the real DICT (default true). */
  checkTaxIdDigits?: boolean;
  rateLimit?: RateLimitHook;
  /** Claim periods (default BCB's: 7 days resolution, 7 days closing, 30 days claimer deadline). */
  claimPeriods?: Partial<ClaimPeriods>;
  /** BCB's listClaims buckets (default CLAIMS_LIST_WITH_ROLE 40/min, 200; WITHOUT_ROLE 10/min, 50). */
  rateLimits?: Partial<Record<RateLimitPolicy, BucketConfig>>;
  /** getEntry's anti-scanning buckets (default: enforced, every participant in category A). */
  antiscan?: SimAntiscanOptions;
}

export interface RunningSimulator {
  /** Base URL of the API, e.g. http://127.0.0.1:PORT/api/v2 */
  url: string;
  origin: string;
  close(): Promise<void>;
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

const ENTRY_FIELDS = ['Key', 'KeyType', 'Account', 'Participant', 'Branch', 'AccountNumber', 'AccountType', 'OpeningDate', 'Owner', 'Type', 'TaxIdNumber', 'Name', 'TradeName'];
const CLAIM_FIELDS = [...ENTRY_FIELDS, 'ClaimerAccount', 'Claimer'];

/**
 * XML codec failures: a bad Reason is InvalidReason, a missing or bad field inside the entry is
 * EntryInvalid (inside the claim, ClaimInvalid), anything structural (not XML, wrong root, no
 * Entry/Claim) is BadRequest.
 */
function codecProblem(e: XmlCodecError, op: SimOperation): SimProblem {
  if (e.element === 'Reason') return new SimProblem('InvalidReason', e.message);
  const entryOp = op === 'createEntry' || op === 'updateEntry';
  if (entryOp && e.element !== undefined && ENTRY_FIELDS.includes(e.element)) {
    return new SimProblem('EntryInvalid', 'Entry has invalid fields', [{ reason: e.message, property: e.element }]);
  }
  if (op === 'createClaim' && e.element !== undefined && CLAIM_FIELDS.includes(e.element)) {
    return new SimProblem('ClaimInvalid', 'Claim has invalid fields', [{ reason: e.message, property: e.element }]);
  }
  return new SimProblem('BadRequest', `Could not parse request body: ${e.message}`);
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const log = opts.logger ?? pino({ level: 'silent' });
  const clock = new SimClock(opts.now);
  const now = (): Date => clock.now();
  const store = await SimStore.open(opts.databaseUrl);
  const registry = new ParticipantRegistry(opts.participants, opts.tls?.requestCert ?? false);
  const faults = new FaultRegistry();
  const stats = new StatsCounter();
  const checkTaxIdDigits = opts.checkTaxIdDigits ?? true;
  const entries = new EntriesService({ store, now, checkTaxIdDigits });
  const claims = new ClaimsService({ store, now, checkTaxIdDigits, periods: { ...BCB_CLAIM_PERIODS, ...opts.claimPeriods } });
  const limiter = new RateLimiter(now, opts.rateLimits);
  const antiscan = new SimAntiscan(() => now().getTime(), opts.antiscan);

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

  function context(req: IncomingMessage, params: Record<string, string>, query: URLSearchParams): ApiContext {
    return {
      req,
      params,
      query,
      readXml: async () => {
        const body = await readBody(req);
        parseXmlDocument(body); // not XML at all is BadRequest, before any signature talk
        return body;
      },
      meta,
      gate,
      registry,
      entries,
      claims,
      limiter,
      antiscan,
    };
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
    if (await handleAdmin(req, res, segments, () => readBody(req), { store, faults, stats, clock, claims, limiter, antiscan, initialRateLimits: opts.rateLimits ?? {} })) return;

    const [base, version, ...rest] = segments;
    const m = (base === 'api' || base === 'api-np') && version === 'v2' ? matchRoute(ROUTES, method, base, rest) : undefined;
    if (!m) {
      sendProblem(res, new SimProblem('NotFound', `No resource ${method} ${url.pathname}`));
      return;
    }
    const r = m.route;
    stats.request(r.op);
    const started = Date.now();
    let outcome: Outcome;
    let pending: FaultSpec | undefined;
    try {
      tlsIdentity(req, registry); // with mTLS, refuse uncertified callers before anything else
      pending = await preFault(faults.take(r.op));
      outcome = await r.handle(context(req, m.params, url.searchParams));
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
