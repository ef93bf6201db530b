// Anti-scanning token buckets (domain/antiscan.ts) kept in Redis, shared by every API process:
// each change is one Lua script, so admission (check and take from the user's and the
// participant's bucket together), settlement (the rest of a not-found's cost) and a payment
// order's credit are atomic however many processes run.
//
// Redis sits on the payment path, so it must never hold a lookup up: calls go through a
// cockatiel circuit breaker (as the lookup cache's, store/lookup-cache.ts) on a fail-fast client,
// and when Redis fails or the circuit is open the lookup is admitted by a conservative
// in-process limiter instead: the same policies scaled by `fallbackFraction` (e.g. 0.1), so
// DICT traffic stays bounded (per process) while Redis is away. The fallback never credits
// payment orders (it keeps no end-to-end ids): it only errs on the side of fewer lookups.
import { circuitBreaker, handleAll, SamplingBreaker, type CircuitBreakerPolicy } from 'cockatiel';
import type { Redis } from 'ioredis';
import {
  adjust,
  admit,
  PARTICIPANT_ANTISCAN_POLICY,
  PARTICIPANT_BUCKETS,
  participantBucketId,
  paymentOrderCredits,
  payerPersonType,
  retryAfterSeconds,
  scalePolicy,
  secondsToFull,
  settleDeltas,
  USER_BUCKETS,
  userBucketId,
  userPolicyFor,
  type AntiscanPolicy,
  type Bucket,
  type BucketPolicy,
  type LookupOutcome,
  type ParticipantCategory,
  type UserAntiscanPolicy,
} from '../domain/antiscan.js';
import type { KeyType, PersonType } from '../domain/types.js';
import type { CacheBreakerOptions } from './lookup-cache.js';

const prefix = 'antiscan:';
/** How long a found lookup's end-to-end id can still be credited by a payment order. */
export const PAYMENT_ORDER_WINDOW_SECONDS = 86_400;

export interface LookupRequest {
  participant: string;
  payerId: string;
  keyType: KeyType;
}

export interface Ticket {
  participant: string;
  payerId: string;
  payerType: PersonType;
  userPolicy: UserAntiscanPolicy;
  /** Which limiter admitted it (its settlement goes to the same one). */
  via: 'redis' | 'fallback';
}

export type Admission = { ok: true; ticket: Ticket } | { ok: false; policy: AntiscanPolicy; retryAfterSeconds: number; via: 'redis' | 'fallback' };

export interface PaymentOrderResult {
  /** Tokens were given back for this lookup (now or by an earlier report). */
  refunded: boolean;
  /** An earlier report already credited it. */
  replayed: boolean;
}

export interface AntiscanStats {
  admitted: number;
  refused: number;
  /** Decisions taken by the in-process fallback (Redis failed or its circuit was open). */
  fallback: number;
}

export interface AntiscanLimiter {
  admit(req: LookupRequest, now?: number): Promise<Admission>;
  /** After DICT answered (or not): charges the rest of the cost, or gives the reservation back; a found lookup with an end-to-end id is remembered for ReportPaymentOrder. */
  settle(ticket: Ticket, outcome: LookupOutcome, endToEndId?: string, now?: number): Promise<void>;
  /** A payment order was sent for the lookup with this end-to-end id: credit once (idempotent). Throws when Redis is unavailable. */
  paymentOrder(participant: string, endToEndId: string, now?: number): Promise<PaymentOrderResult>;
  /** DICT's view of our participant bucket (GET /policies): never believe we hold more than it says. */
  reconcile(participant: string, dict: { category?: ParticipantCategory; availableTokens?: number }, now?: number): Promise<void>;
  category(): ParticipantCategory;
  /** Remaining tokens of a bucket (tests, /policies-like views); undefined = never used (full). */
  peek(policy: AntiscanPolicy, participant: string, payerId?: string, now?: number): Promise<number | undefined>;
  stats(): AntiscanStats;
}

export interface AntiscanOptions {
  category: ParticipantCategory;
  /** The in-process fallback's share of BCB's rates and sizes (0 < f ≤ 1). */
  fallbackFraction: number;
  breaker?: CacheBreakerOptions;
  /** Default Date.now. */
  now?: () => number;
}

// Bucket hash: t = tokens (may be negative), a = ms of last refill. Missing = full.
const LOAD = `
local function load(key, cap, rate, now)
  local v = redis.call('HMGET', key, 't', 'a')
  local t, a = tonumber(v[1]), tonumber(v[2])
  if not t or not a then return cap, now end
  local el = now - a
  if el < 0 then el = 0 end
  t = math.min(cap, t + el * rate / 60000)
  if a > now then return t, a end
  return t, now
end
local function save(key, t, a, ttl)
  redis.call('HSET', key, 't', tostring(t), 'a', tostring(a))
  redis.call('EXPIRE', key, ttl)
end
local function wait(t, rate)
  if t >= 1 then return 0 end
  if rate <= 0 then return 86400000 end
  return math.ceil((1 - t) * 60000 / rate)
end
`;

/** KEYS: user, participant. ARGV: now, ucap, urate, uttl, pcap, prate, pttl. → {1} | {0, userWaitMs, participantWaitMs} */
const ADMIT = `${LOAD}
local now = tonumber(ARGV[1])
local ucap, urate, uttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local pcap, prate, pttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ut, ua = load(KEYS[1], ucap, urate, now)
local pt, pa = load(KEYS[2], pcap, prate, now)
local uw, pw = wait(ut, urate), wait(pt, prate)
if uw > 0 or pw > 0 then return {0, uw, pw} end
save(KEYS[1], ut - 1, ua, uttl)
save(KEYS[2], pt - 1, pa, pttl)
return {1}
`;

/** KEYS: user, participant. ARGV: now, ucap, urate, uttl, pcap, prate, pttl, udelta, pdelta. */
const ADJUST = `${LOAD}
local now = tonumber(ARGV[1])
local ucap, urate, uttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local pcap, prate, pttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ud, pd = tonumber(ARGV[8]), tonumber(ARGV[9])
if ud ~= 0 then
  local ut, ua = load(KEYS[1], ucap, urate, now)
  save(KEYS[1], math.min(ucap, ut + ud), ua, uttl)
end
if pd ~= 0 then
  local pt, pa = load(KEYS[2], pcap, prate, now)
  save(KEYS[2], math.min(pcap, pt + pd), pa, pttl)
end
return 1
`;

/** KEYS: lookup record, user, participant. ARGV as ADJUST. → 0 unknown, 1 credited now, 2 credited before. */
const PAYMENT_ORDER = `${LOAD}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'credited', '1') == 0 then return 2 end
local now = tonumber(ARGV[1])
local ucap, urate, uttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local pcap, prate, pttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ut, ua = load(KEYS[2], ucap, urate, now)
save(KEYS[2], math.min(ucap, ut + tonumber(ARGV[8])), ua, uttl)
local pt, pa = load(KEYS[3], pcap, prate, now)
save(KEYS[3], math.min(pcap, pt + tonumber(ARGV[9])), pa, pttl)
return 1
`;

/** KEYS: participant. ARGV: now, cap, rate, ttl, available. Lowers the bucket to DICT's count. */
const RECONCILE = `${LOAD}
local now = tonumber(ARGV[1])
local cap, rate, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t, a = load(KEYS[1], cap, rate, now)
local avail = tonumber(ARGV[5])
if avail < t then t = avail end
save(KEYS[1], t, a, ttl)
return tostring(t)
`;

type Scripted = Redis & {
  antiscanAdmit(k1: string, k2: string, ...argv: (string | number)[]): Promise<number[]>;
  antiscanAdjust(k1: string, k2: string, ...argv: (string | number)[]): Promise<number>;
  antiscanPaymentOrder(k1: string, k2: string, k3: string, ...argv: (string | number)[]): Promise<number>;
  antiscanReconcile(k1: string, ...argv: (string | number)[]): Promise<string>;
};

function defineScripts(redis: Redis): Scripted {
  const r = redis as Scripted;
  if (typeof r.antiscanAdmit !== 'function') {
    redis.defineCommand('antiscanAdmit', { numberOfKeys: 2, lua: ADMIT });
    redis.defineCommand('antiscanAdjust', { numberOfKeys: 2, lua: ADJUST });
    redis.defineCommand('antiscanPaymentOrder', { numberOfKeys: 3, lua: PAYMENT_ORDER });
    redis.defineCommand('antiscanReconcile', { numberOfKeys: 1, lua: RECONCILE });
  }
  return r;
}

const policyArgs = (p: BucketPolicy): [number, number, number] => [p.capacity, p.refillPerMinute, secondsToFull(p)];

/** The same buckets in this process's memory (the fallback, and a reference for tests). */
export class InProcessBuckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly maxBuckets = 100_000) {}

  get(id: string): Bucket | undefined {
    return this.buckets.get(id);
  }

  admit(ids: [string, string], policies: [BucketPolicy, BucketPolicy], now: number): { ok: true } | { ok: false; waits: number[] } {
    const r = admit(ids.map((id) => this.buckets.get(id)), policies, now);
    if (!r.ok) {
      const waits = r.buckets.map((b, i) => (b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 60_000) / Math.max(policies[i]!.refillPerMinute, 1e-9))));
      return { ok: false, waits };
    }
    ids.forEach((id, i) => this.set(id, r.buckets[i]!));
    return { ok: true };
  }

  adjust(id: string, policy: BucketPolicy, delta: number, now: number): void {
    if (delta !== 0) this.set(id, adjust(this.buckets.get(id), policy, delta, now));
  }

  private set(id: string, b: Bucket): void {
    // Bounded memory: forget the oldest buckets (a forgotten user bucket is full again, but the
    // participant's, used on every lookup, is never the oldest).
    if (!this.buckets.has(id) && this.buckets.size >= this.maxBuckets) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    this.buckets.delete(id);
    this.buckets.set(id, b);
  }
}

export function createAntiscanLimiter(redis: Redis, o: AntiscanOptions): AntiscanLimiter {
  const r = defineScripts(redis);
  const clock = o.now ?? Date.now;
  let category = o.category;
  let policy: CircuitBreakerPolicy | undefined;
  if (o.breaker) {
    policy = circuitBreaker(handleAll, {
      halfOpenAfter: o.breaker.halfOpenAfterMs,
      breaker: new SamplingBreaker({ threshold: o.breaker.threshold, duration: o.breaker.windowMs, minimumRps: o.breaker.minimumRps }),
    });
  }
  const call = <T>(fn: () => Promise<T>): Promise<T> => (policy ? policy.execute(fn) : fn());
  const fallback = new InProcessBuckets();
  const st: AntiscanStats = { admitted: 0, refused: 0, fallback: 0 };

  const userPolicy = (t: PersonType) => USER_BUCKETS[t];
  const pspPolicy = () => PARTICIPANT_BUCKETS[category];
  const keysOf = (t: Pick<Ticket, 'participant' | 'payerId' | 'userPolicy'>): [string, string] => [
    prefix + userBucketId(t.userPolicy, t.participant, t.payerId),
    prefix + participantBucketId(t.participant),
  ];
  const argsOf = (t: PersonType) => [...policyArgs(userPolicy(t)), ...policyArgs(pspPolicy())];
  const fallbackPolicies = (t: PersonType): [BucketPolicy, BucketPolicy] => [scalePolicy(userPolicy(t), o.fallbackFraction), scalePolicy(pspPolicy(), o.fallbackFraction)];
  const recordKey = (participant: string, e2e: string) => `${prefix}e2e:${participant}:${e2e}`;

  const refusal = (waits: number[], via: 'redis' | 'fallback', ticket: Ticket): Admission => {
    st.refused++;
    const userShort = (waits[0] ?? 0) > 0;
    return { ok: false, policy: userShort ? ticket.userPolicy : PARTICIPANT_ANTISCAN_POLICY, retryAfterSeconds: retryAfterSeconds(Math.max(...waits)), via };
  };

  return {
    async admit(req, now = clock()) {
      const payerType = payerPersonType(req.payerId);
      const base = { participant: req.participant, payerId: req.payerId, payerType, userPolicy: userPolicyFor(req.keyType) };
      const keys = keysOf(base);
      try {
        const res = await call(() => r.antiscanAdmit(keys[0], keys[1], now, ...argsOf(payerType)));
        if (Number(res[0]) === 1) {
          st.admitted++;
          return { ok: true, ticket: { ...base, via: 'redis' } };
        }
        return refusal([Number(res[1]), Number(res[2])], 'redis', { ...base, via: 'redis' });
      } catch {
        st.fallback++;
        const d = fallback.admit(keys, fallbackPolicies(payerType), now);
        if (d.ok) {
          st.admitted++;
          return { ok: true, ticket: { ...base, via: 'fallback' } };
        }
        return refusal(d.waits, 'fallback', { ...base, via: 'fallback' });
      }
    },

    async settle(ticket, outcome, endToEndId, now = clock()) {
      const [ud, pd] = settleDeltas(outcome);
      const keys = keysOf(ticket);
      const inFallback = () => {
        const [up, pp] = fallbackPolicies(ticket.payerType);
        fallback.adjust(keys[0], up, ud, now);
        fallback.adjust(keys[1], pp, pd, now);
      };
      if (ticket.via === 'fallback') return inFallback();
      try {
        if (ud !== 0 || pd !== 0) await call(() => r.antiscanAdjust(keys[0], keys[1], now, ...argsOf(ticket.payerType), ud, pd));
        if (outcome === 'found' && endToEndId) {
          const rec = recordKey(ticket.participant, endToEndId);
          await call(() => r.hset(rec, 'payerId', ticket.payerId, 'userPolicy', ticket.userPolicy).then(() => r.expire(rec, PAYMENT_ORDER_WINDOW_SECONDS)));
        }
      } catch {
        // Redis went away between admission and answer: charge what we can where we can.
        if (ud < 0 || pd < 0) inFallback();
      }
    },

    async paymentOrder(participant, endToEndId, now = clock()) {
      const rec = recordKey(participant, endToEndId);
      const fields = await call(() => r.hmget(rec, 'payerId', 'userPolicy'));
      const [payerId, userPolicy] = fields;
      if (!payerId || !userPolicy) return { refunded: false, replayed: false };
      const payerType = payerPersonType(payerId);
      const keys = keysOf({ participant, payerId, userPolicy: userPolicy as UserAntiscanPolicy });
      const [uc, pc] = paymentOrderCredits(payerType);
      const res = Number(await call(() => r.antiscanPaymentOrder(rec, keys[0], keys[1], now, ...argsOf(payerType), uc, pc)));
      return res === 0 ? { refunded: false, replayed: false } : { refunded: true, replayed: res === 2 };
    },

    async reconcile(participant, dict, now = clock()) {
      if (dict.category) category = dict.category;
      if (dict.availableTokens === undefined) return;
      const key = prefix + participantBucketId(participant);
      await call(() => r.antiscanReconcile(key, now, ...policyArgs(pspPolicy()), dict.availableTokens!));
      // The fallback never holds more than DICT either.
      const fp = scalePolicy(pspPolicy(), o.fallbackFraction);
      const cur = fallback.get(key);
      const tokens = cur ? Math.min(cur.tokens, dict.availableTokens) : Math.min(fp.capacity, dict.availableTokens);
      fallback.adjust(key, fp, tokens - (cur ? adjust(cur, fp, 0, now).tokens : fp.capacity), now);
    },

    category: () => category,

    async peek(p, participant, payerId, now = clock()) {
      const key = prefix + (p === PARTICIPANT_ANTISCAN_POLICY ? participantBucketId(participant) : userBucketId(p, participant, payerId ?? ''));
      const [t, a] = await r.hmget(key, 't', 'a');
      if (t == null || a == null) return undefined;
      const bp = p === PARTICIPANT_ANTISCAN_POLICY ? pspPolicy() : userPolicy(payerPersonType(payerId ?? ''));
      return adjust({ tokens: Number(t), at: Number(a) }, bp, 0, now).tokens;
    },

    stats: () => ({ ...st }),
  };
}
