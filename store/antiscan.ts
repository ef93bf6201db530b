// Anti-scanning token buckets (domain/antiscan.ts) kept in Redis, shared by every API process:
// each change is one Lua script, so admission (check and take from the user's and the
// participant's bucket together), settlement (the rest of a not-found's cost) and a payment
// order's credit are atomic however many processes run.
//
// Redis sits on the payment path, so it must never hold a lookup up: calls go through a
// cockatiel circuit breaker (as the lookup cache's, store/lookup-cache.ts) on a fail-fast client,
// and when Redis fails or the circuit is open the lookup is admitted by a conservative
// in-process limiter instead: the same policies scaled by `fallbackFraction` (e.g. 0.1), so
// DICT traffic stays bounded (per process) while Redis is away. Lookups it admitted are settled
// and credited there; nothing moves between the two when Redis comes back (the fallback only
// errs on the side of fewer lookups).
//
// Also here: the Redis side of the reconcile with DICT's GET /policies/ (createPoliciesRound), so
// that one API process of the deployment asks DICT per round and the others read its answer.
import { hostname } from 'node:os';
import { handleAll } from 'cockatiel';
import type { Redis } from 'ioredis';
import {
  adjust,
  admit,
  isParticipantCategory,
  PARTICIPANT_ANTISCAN_POLICY,
  PARTICIPANT_BUCKETS,
  participantBucketId,
  paymentOrderCredits,
  payerPersonType,
  refill,
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
import { samplingCircuit } from './breaker.js';
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

/** Buckets in this process's memory, by id, bounded (the oldest forgotten first: full again). */
class BucketMap {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly maxBuckets: number) {}
  get(id: string): Bucket | undefined {
    return this.buckets.get(id);
  }
  set(id: string, b: Bucket): void {
    if (!this.buckets.has(id) && this.buckets.size >= this.maxBuckets) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    this.buckets.delete(id);
    this.buckets.set(id, b);
  }
}

/**
 * The same limiter in this process's memory: BCB's policies scaled by `fraction` (1 = BCB's).
 * It is the Redis limiter's fallback, and the limiter of a single process without Redis.
 */
export function createInProcessAntiscanLimiter(o: { category: ParticipantCategory; fraction: number; maxBuckets?: number; now?: () => number }): AntiscanLimiter {
  const clock = o.now ?? Date.now;
  let category = o.category;
  const buckets = new BucketMap(o.maxBuckets ?? 100_000);
  const lookups = new Map<string, { ticket: Ticket; credited: boolean }>();
  const st: AntiscanStats = { admitted: 0, refused: 0, fallback: 0 };
  const policiesOf = (t: PersonType): [BucketPolicy, BucketPolicy] => [scalePolicy(USER_BUCKETS[t], o.fraction), scalePolicy(PARTICIPANT_BUCKETS[category], o.fraction)];
  const idsOf = (t: Pick<Ticket, 'participant' | 'payerId' | 'userPolicy'>): [string, string] => [userBucketId(t.userPolicy, t.participant, t.payerId), participantBucketId(t.participant)];
  const change = (t: Ticket, ud: number, pd: number, now: number) => {
    const [ids, ps] = [idsOf(t), policiesOf(t.payerType)];
    if (ud) buckets.set(ids[0], adjust(buckets.get(ids[0]), ps[0], ud, now));
    if (pd) buckets.set(ids[1], adjust(buckets.get(ids[1]), ps[1], pd, now));
  };
  return {
    async admit(req, now = clock()) {
      const payerType = payerPersonType(req.payerId);
      const ticket: Ticket = { participant: req.participant, payerId: req.payerId, payerType, userPolicy: userPolicyFor(req.keyType), via: 'fallback' };
      const ids = idsOf(ticket);
      const ps = policiesOf(payerType);
      const r = admit(ids.map((id) => buckets.get(id)), ps, now);
      if (!r.ok) {
        st.refused++;
        const userShort = r.buckets[0]!.tokens < 1;
        return { ok: false, policy: userShort ? ticket.userPolicy : PARTICIPANT_ANTISCAN_POLICY, retryAfterSeconds: retryAfterSeconds(r.retryAfterMs), via: 'fallback' };
      }
      ids.forEach((id, i) => buckets.set(id, r.buckets[i]!));
      st.admitted++;
      return { ok: true, ticket };
    },
    async settle(ticket, outcome, endToEndId, now = clock()) {
      const [ud, pd] = settleDeltas(outcome);
      change(ticket, ud, pd, now);
      if (outcome === 'found' && endToEndId) {
        if (lookups.size >= (o.maxBuckets ?? 100_000)) lookups.delete(lookups.keys().next().value!);
        lookups.set(`${ticket.participant}:${endToEndId}`, { ticket, credited: false });
      }
    },
    async paymentOrder(participant, endToEndId, now = clock()) {
      const l = lookups.get(`${participant}:${endToEndId}`);
      if (!l) return { refunded: false, replayed: false };
      if (l.credited) return { refunded: true, replayed: true };
      l.credited = true;
      const [uc, pc] = paymentOrderCredits(l.ticket.payerType);
      change(l.ticket, uc, pc, now);
      return { refunded: true, replayed: false };
    },
    async reconcile(participant, dict, now = clock()) {
      if (dict.category) category = dict.category;
      if (dict.availableTokens === undefined) return;
      const id = participantBucketId(participant);
      const p = scalePolicy(PARTICIPANT_BUCKETS[category], o.fraction);
      const cur = refill(buckets.get(id), p, now);
      if (cur.tokens > dict.availableTokens) buckets.set(id, { tokens: dict.availableTokens, at: cur.at });
    },
    category: () => category,
    async peek(p, participant, payerId, now = clock()) {
      const id = p === PARTICIPANT_ANTISCAN_POLICY ? participantBucketId(participant) : userBucketId(p, participant, payerId ?? '');
      const b = buckets.get(id);
      if (!b) return undefined;
      const bp = p === PARTICIPANT_ANTISCAN_POLICY ? PARTICIPANT_BUCKETS[category] : USER_BUCKETS[payerPersonType(payerId ?? '')];
      return refill(b, scalePolicy(bp, o.fraction), now).tokens;
    },
    stats: () => ({ ...st }),
  };
}

export function createAntiscanLimiter(redis: Redis, o: AntiscanOptions): AntiscanLimiter {
  const r = defineScripts(redis);
  const clock = o.now ?? Date.now;
  let category = o.category;
  const policy = o.breaker && samplingCircuit(handleAll, o.breaker);
  const call = <T>(fn: () => Promise<T>): Promise<T> => (policy ? policy.execute(fn) : fn());
  // Shares the category with us: reconcile() updates both.
  const fallback = createInProcessAntiscanLimiter({ category, fraction: o.fallbackFraction, now: clock });
  const st: AntiscanStats = { admitted: 0, refused: 0, fallback: 0 };

  const userPolicy = (t: PersonType) => USER_BUCKETS[t];
  const pspPolicy = () => PARTICIPANT_BUCKETS[category];
  const keysOf = (t: Pick<Ticket, 'participant' | 'payerId' | 'userPolicy'>): [string, string] => [
    prefix + userBucketId(t.userPolicy, t.participant, t.payerId),
    prefix + participantBucketId(t.participant),
  ];
  const argsOf = (t: PersonType) => [...policyArgs(userPolicy(t)), ...policyArgs(pspPolicy())];
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
        const d = await fallback.admit(req, now);
        if (d.ok) st.admitted++;
        else st.refused++;
        return d;
      }
    },

    async settle(ticket, outcome, endToEndId, now = clock()) {
      const [ud, pd] = settleDeltas(outcome);
      const keys = keysOf(ticket);
      if (ticket.via === 'fallback') return fallback.settle(ticket, outcome, endToEndId, now);
      try {
        if (ud !== 0 || pd !== 0) await call(() => r.antiscanAdjust(keys[0], keys[1], now, ...argsOf(ticket.payerType), ud, pd));
        if (outcome === 'found' && endToEndId) {
          const rec = recordKey(ticket.participant, endToEndId);
          // One transaction: a record without its expiry would never leave Redis.
          await call(() => r.multi().hset(rec, 'payerId', ticket.payerId, 'userPolicy', ticket.userPolicy).expire(rec, PAYMENT_ORDER_WINDOW_SECONDS).exec());
        }
      } catch {
        // Redis went away between admission and answer: charge a not-found where we can.
        if (outcome === 'notFound') await fallback.settle({ ...ticket, via: 'fallback' }, outcome, undefined, now);
      }
    },

    async paymentOrder(participant, endToEndId, now = clock()) {
      // A lookup admitted while Redis was away is known to the fallback only.
      const local = await fallback.paymentOrder(participant, endToEndId, now);
      if (local.refunded) return local;
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
      // The fallback follows the category and never holds more than DICT either.
      await fallback.reconcile(participant, dict, now);
      if (dict.availableTokens === undefined) return;
      const key = prefix + participantBucketId(participant);
      await call(() => r.antiscanReconcile(key, now, ...policyArgs(pspPolicy()), dict.availableTokens!));
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

/**
 * What DICT's GET /policies/ told the API process that asked it last, for every other process of
 * the deployment: BCB allows listBucketStates (POLICIES_LIST) 6 times a minute per participant
 * (bucket 20), so the API's processes and pods share one call per round instead of each asking.
 */
export interface PoliciesView {
  category?: ParticipantCategory;
  /** Our ENTRIES_READ_PARTICIPANT_ANTISCAN tokens at DICT when it answered. */
  availableTokens?: number;
  /** When DICT answered (ms since the epoch). */
  at: number;
}

/** One round of the reconcile for the whole deployment, kept in Redis (api/antiscan.ts uses it). */
export interface PoliciesRound {
  /** True when this process won the round: it asks DICT and no other process does for `ttlMs`. */
  claim(ttlMs: number): Promise<boolean>;
  /** The winner's view of DICT, for the others (kept `ttlMs`). */
  publish(view: PoliciesView, ttlMs: number): Promise<void>;
  /** The latest view a winner published, if any is still kept. */
  latest(): Promise<PoliciesView | undefined>;
}

export function createPoliciesRound(redis: Redis, participant: string): PoliciesRound {
  const lease = `${prefix}policies:${participant}:lease`;
  const viewKey = `${prefix}policies:${participant}:view`;
  // Who holds the lease, for an operator reading Redis (pids repeat across pods).
  const holder = `${hostname()}:${process.pid}`;
  return {
    async claim(ttlMs) {
      return (await redis.set(lease, holder, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
    },
    async publish(view, ttlMs) {
      await redis.set(viewKey, JSON.stringify(view), 'PX', Math.max(1, Math.round(ttlMs)));
    },
    async latest() {
      const raw = await redis.get(viewKey);
      if (!raw) return undefined;
      const v = JSON.parse(raw) as Partial<PoliciesView>;
      if (typeof v.at !== 'number') return undefined;
      return {
        at: v.at,
        ...(typeof v.category === 'string' && isParticipantCategory(v.category) ? { category: v.category } : {}),
        ...(typeof v.availableTokens === 'number' && v.availableTokens >= 0 ? { availableTokens: v.availableTokens } : {}),
      };
    },
  };
}
