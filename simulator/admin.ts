// Test-only admin API (JSON, unsigned) under /admin/: fault injection, stats, reset, peeking at
// stored entries and claims, the clock (read, set, advance), BCB's listClaims buckets (configure,
// refill), and acting as another participant's user in a claim (open, acknowledge, confirm,
// cancel, complete) so a single-PSP test can play the other side. Not part of BCB's contract.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ACCOUNT_TYPES, CLAIM_OPERATION_REASONS, CLAIM_TYPES, KEY_TYPES, PERSON_TYPES, type Claim } from '../domain/types.js';
import { PARTICIPANT_CATEGORIES } from '../domain/antiscan.js';
import type { SimAntiscan } from './antiscan.js';
import type { ClaimsService } from './claims.js';
import type { SimClock } from './clock.js';
import { FAULT_KINDS, SIM_OPERATIONS, type FaultRegistry } from './faults.js';
import { SimProblem } from './problems.js';
import { RATE_LIMIT_POLICIES, type BucketConfig, type RateLimitPolicy, type RateLimiter } from './ratelimit.js';
import type { StatsCounter } from './stats.js';
import type { SimStore } from './store.js';

const FaultBody = z
  .object({
    operation: z.enum([...SIM_OPERATIONS, '*']).default('*'),
    kind: z.enum(FAULT_KINDS),
    count: z.number().int().min(1).default(1),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    dropConnection: z.boolean().optional(),
  })
  .strict()
  .refine((f) => f.kind !== 'latency' || f.latencyMs !== undefined, { message: 'latencyMs is required for kind latency', path: ['latencyMs'] });

/** Body of POST /admin/entries/:key/open-claim (absent or empty body: claim opened now). */
const OpenClaimBody = z
  .object({
    claimCreationDate: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

const Isp = z.string().regex(/^[0-9]{8}$/);

/** PUT /admin/clock: where the clock is to stand. */
const ClockSet = z.object({ now: z.iso.datetime({ offset: true }) }).strict();
/** POST /admin/clock/advance: how far to move it (summed). */
const ClockAdvance = z
  .object({
    ms: z.number().int().optional(),
    seconds: z.number().optional(),
    minutes: z.number().optional(),
    hours: z.number().optional(),
    days: z.number().optional(),
  })
  .strict();

const Bucket = z.object({ refillPerMinute: z.number().min(0).max(1_000_000), bucketSize: z.number().int().min(0).max(1_000_000) }).strict();

const ClaimJson = z
  .object({
    type: z.enum(CLAIM_TYPES),
    key: z.string().min(1).max(77),
    keyType: z.enum(KEY_TYPES),
    claimerAccount: z
      .object({
        participant: Isp,
        branch: z.string().max(4).optional(),
        accountNumber: z.string().min(1).max(20),
        accountType: z.enum(ACCOUNT_TYPES),
        openingDate: z.string().min(1).max(40),
      })
      .strict(),
    claimer: z
      .object({ type: z.enum(PERSON_TYPES), taxIdNumber: z.string().min(1).max(14), name: z.string().min(1).max(120), tradeName: z.string().max(120).optional() })
      .strict(),
  })
  .strict();

/** POST /admin/claims: open a claim as `participant` (default: the claimer account's participant). */
const AdminCreateClaim = z.object({ participant: Isp.optional(), claim: ClaimJson }).strict();
/** POST /admin/claims/{id}/{acknowledge|confirm|cancel|complete}: act as `participant`. */
const AdminClaimAction = z
  .object({ participant: Isp, reason: z.enum(CLAIM_OPERATION_REASONS).optional(), requestId: z.string().max(64).optional() })
  .strict();

const AntiscanPaymentOrder = z.object({ participant: Isp, endToEndId: z.string().min(1).max(64) }).strict();
const AntiscanCategory = z.object({ participant: Isp, category: z.enum(PARTICIPANT_CATEGORIES) }).strict();

export interface AdminDeps {
  store: SimStore;
  faults: FaultRegistry;
  stats: StatsCounter;
  /** The simulator's clock (rules, default open-claim creation date). */
  clock: SimClock;
  claims: ClaimsService;
  limiter: RateLimiter;
  /** getEntry's anti-scanning buckets. */
  antiscan: SimAntiscan;
  /** The configured listClaims buckets, restored by reset. */
  initialRateLimits: Partial<Record<RateLimitPolicy, BucketConfig>>;
}

/** Parses a JSON body with `schema`; answers 400 itself and returns undefined when it does not fit. */
async function parseBody<T>(res: ServerResponse, body: () => Promise<string>, schema: z.ZodType<T>, emptyAs?: unknown): Promise<T | undefined> {
  const text = (await body()).trim();
  let parsed: unknown = emptyAs;
  if (text !== '' || emptyAs === undefined) {
    try {
      parsed = JSON.parse(text);
    } catch {
      json(res, 400, { error: 'body must be JSON' });
      return undefined;
    }
  }
  const r = schema.safeParse(parsed);
  if (!r.success) {
    json(res, 400, { error: 'invalid body', issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
    return undefined;
  }
  return r.data;
}

/** A claim operation acted through admin: its result, or BCB's problem as JSON with its status. */
async function claimAnswer(res: ServerResponse, status: number, f: () => Promise<unknown>): Promise<void> {
  try {
    json(res, status, await f());
  } catch (e) {
    if (!(e instanceof SimProblem)) throw e;
    json(res, e.status, { bcbError: e.bcbError, title: e.title, detail: e.detail, violations: e.violations });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Handles /admin/* and /healthz; returns false when the path is not an admin route. */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, segments: string[], body: () => Promise<string>, deps: AdminDeps): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (segments.length === 1 && segments[0] === 'healthz' && method === 'GET') {
    try {
      await deps.store.ping();
      json(res, 200, { status: 'ok' });
    } catch (e) {
      json(res, 503, { status: 'unavailable', error: (e as Error).message });
    }
    return true;
  }
  if (segments[0] !== 'admin') return false;
  const route = `${method} ${segments.slice(1, 2).join('/')}`;
  switch (route) {
    case 'POST faults': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(await body());
      } catch {
        json(res, 400, { error: 'body must be JSON' });
        return true;
      }
      const r = FaultBody.safeParse(parsed);
      if (!r.success) {
        json(res, 400, { error: 'invalid fault', issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
        return true;
      }
      deps.faults.add(r.data);
      json(res, 201, { faults: deps.faults.list() });
      return true;
    }
    case 'GET faults':
      json(res, 200, { faults: deps.faults.list() });
      return true;
    case 'DELETE faults':
      deps.faults.clear();
      res.writeHead(204).end();
      return true;
    case 'GET stats':
      json(res, 200, deps.stats.snapshot());
      return true;
    case 'POST reset':
      await deps.store.reset();
      deps.stats.reset();
      deps.faults.clear();
      deps.clock.reset();
      deps.limiter.reset(deps.initialRateLimits);
      deps.antiscan.reset();
      res.writeHead(204).end();
      return true;
    case 'GET clock':
      if (segments.length !== 2) break;
      json(res, 200, deps.clock.snapshot());
      return true;
    case 'PUT clock': {
      if (segments.length !== 2) break;
      const b = await parseBody(res, body, ClockSet);
      if (!b) return true;
      deps.clock.set(new Date(b.now));
      json(res, 200, deps.clock.snapshot());
      return true;
    }
    case 'DELETE clock':
      if (segments.length !== 2) break;
      deps.clock.reset();
      json(res, 200, deps.clock.snapshot());
      return true;
    case 'POST clock': {
      if (segments.length !== 3 || segments[2] !== 'advance') break;
      const b = await parseBody(res, body, ClockAdvance);
      if (!b) return true;
      deps.clock.advance(Math.round((b.ms ?? 0) + (b.seconds ?? 0) * 1e3 + (b.minutes ?? 0) * 6e4 + (b.hours ?? 0) * 3.6e6 + (b.days ?? 0) * 8.64e7));
      json(res, 200, deps.clock.snapshot());
      return true;
    }
    case 'GET rate-limits':
      if (segments.length !== 2) break;
      json(res, 200, deps.limiter.snapshot());
      return true;
    case 'PUT rate-limits': {
      const policy = segments[2] as RateLimitPolicy | undefined;
      if (segments.length !== 3 || !RATE_LIMIT_POLICIES.includes(policy!)) break;
      const b = await parseBody(res, body, Bucket);
      if (!b) return true;
      deps.limiter.configure(policy!, b);
      json(res, 200, deps.limiter.snapshot());
      return true;
    }
    case 'POST rate-limits':
      // Every bucket full again, configuration back to the simulator's start values.
      if (segments.length !== 3 || segments[2] !== 'reset') break;
      deps.limiter.reset(deps.initialRateLimits);
      json(res, 200, deps.limiter.snapshot());
      return true;
    case 'GET antiscan':
      if (segments.length !== 2) break;
      json(res, 200, deps.antiscan.snapshot());
      return true;
    case 'POST antiscan': {
      // /admin/antiscan/payment-orders {participant, endToEndId}: SPI received the payment order.
      // /admin/antiscan/categories {participant, category}: BCB re-categorised a participant.
      // /admin/antiscan/enabled {enabled}; /admin/antiscan/reset: every bucket full again.
      if (segments.length !== 3) break;
      if (segments[2] === 'payment-orders') {
        const b = await parseBody(res, body, AntiscanPaymentOrder);
        if (!b) return true;
        json(res, 200, deps.antiscan.paymentOrder(b.participant, b.endToEndId));
        return true;
      }
      if (segments[2] === 'categories') {
        const b = await parseBody(res, body, AntiscanCategory);
        if (!b) return true;
        deps.antiscan.setCategory(b.participant, b.category);
        json(res, 200, deps.antiscan.snapshot());
        return true;
      }
      if (segments[2] === 'enabled') {
        const b = await parseBody(res, body, z.object({ enabled: z.boolean() }).strict());
        if (!b) return true;
        deps.antiscan.setEnabled(b.enabled);
        json(res, 200, deps.antiscan.snapshot());
        return true;
      }
      if (segments[2] === 'reset') {
        deps.antiscan.reset();
        json(res, 200, deps.antiscan.snapshot());
        return true;
      }
      break;
    }
    case 'POST claims': {
      if (segments.length === 2) {
        const b = await parseBody(res, body, AdminCreateClaim);
        if (!b) return true;
        const claim = b.claim as Claim;
        await claimAnswer(res, 201, async () => ({ claim: await deps.claims.createClaim(b.participant ?? claim.claimerAccount.participant, claim) }));
        return true;
      }
      const id = segments[2]!;
      const action = segments[3];
      if (segments.length !== 4 || !['acknowledge', 'confirm', 'cancel', 'complete'].includes(action!)) break;
      const b = await parseBody(res, body, AdminClaimAction);
      if (!b) return true;
      const who = { claimId: id, participant: b.participant };
      if ((action === 'confirm' || action === 'cancel') && b.reason === undefined) {
        json(res, 400, { error: 'invalid body', issues: [{ path: 'reason', message: 'is required' }] });
        return true;
      }
      await claimAnswer(res, 200, async () => {
        switch (action) {
          case 'acknowledge':
            return deps.claims.acknowledgeClaim(b.participant, id, who);
          case 'confirm':
            return deps.claims.confirmClaim(b.participant, id, { ...who, reason: b.reason! });
          case 'cancel':
            return deps.claims.cancelClaim(b.participant, id, { ...who, reason: b.reason! });
          default:
            return deps.claims.completeClaim(b.participant, id, { ...who, requestId: b.requestId ?? randomUUID() });
        }
      });
      return true;
    }
    case 'GET claims': {
      if (segments.length !== 3) break;
      const rec = /^[0-9a-f-]{36}$/i.test(segments[2]!) ? await deps.store.read.claims.find(segments[2]!) : undefined;
      if (rec) json(res, 200, rec);
      else json(res, 404, { error: 'not found' });
      return true;
    }
    case 'POST entries':
    case 'DELETE entries': {
      // Entry side of an open claim (claims are not simulated yet): marks or clears it.
      const key = segments[2];
      if (key === undefined || segments.length !== 4 || segments[3] !== 'open-claim') break;
      let date: Date | null = null;
      if (method === 'POST') {
        const text = (await body()).trim();
        let parsed: unknown = {};
        if (text !== '') {
          try {
            parsed = JSON.parse(text);
          } catch {
            json(res, 400, { error: 'body must be JSON' });
            return true;
          }
        }
        const r = OpenClaimBody.safeParse(parsed);
        if (!r.success) {
          json(res, 400, { error: 'invalid open claim', issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
          return true;
        }
        date = r.data.claimCreationDate !== undefined ? new Date(r.data.claimCreationDate) : deps.clock.now();
      }
      const entry = await deps.store.write([`key:${key}`], (repo) => repo.setOpenClaim(key, date));
      if (entry) json(res, 200, entry);
      else json(res, 404, { error: 'not found' });
      return true;
    }
    case 'GET entries': {
      const key = segments[2];
      if (key === undefined || segments.length !== 3) break;
      const entry = await deps.store.read.findByKey(key);
      if (entry) json(res, 200, entry);
      else json(res, 404, { error: 'not found' });
      return true;
    }
  }
  json(res, 404, { error: `no admin route ${method} /${segments.join('/')}` });
  return true;
}
