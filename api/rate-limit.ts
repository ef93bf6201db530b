// Rate limits on API calls, two of them:
//
// Per client (rateLimiter + rateLimitStep, after auth): each client (the principal's
// participant and end user, or the participant and the peer address when no end user is named)
// may make API_RATE_LIMIT_POINTS calls per API_RATE_LIMIT_DURATION_SECONDS, counted in Redis by
// rate-limiter-flexible so every API process shares one budget. Redis sits behind a circuit
// breaker on a fail-fast client (no offline queue, a short command timeout, as the lookup cache's):
// while Redis is down or the circuit is open each process counts alone in memory (an in-process
// RateLimiterMemory) rather than refusing, letting everything through, or waiting for a
// reconnect; once Redis answers again (the breaker's half-open probe) it is Redis's count again.
//
// Per peer, before auth (authFailureLimit): calls whose authentication failed
// (Unauthenticated, or PermissionDenied from the token check) are counted per peer address in
// the process's memory; a peer beyond API_AUTH_FAILURE_LIMIT_POINTS failures per
// API_AUTH_FAILURE_LIMIT_DURATION_SECONDS has its calls refused before the JWT is verified, so a
// flood of bad tokens costs a hash and a map lookup each, not a signature check. A token this
// process has verified successfully (remembered by its SHA-256 for VERIFIED_TOKEN_TTL_MS) still
// passes to verification from a blocked peer; a token never seen before waits for RetryInfo.
//
// Beyond either budget a call answers RESOURCE_EXHAUSTED with ErrorInfo RateLimited (BCB's name)
// and RetryInfo saying when the window reopens.
import type { ConnectError, ContextValues } from '@connectrpc/connect';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import type { Redis } from 'ioredis';
import { boundedCache } from '../config/bounded-cache.js';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitName } from '../config/metrics.js';
import { Health } from '../gen/grpc/health/v1/health_pb.js';
import { breakerState, samplingCircuit, watched, type BreakerState, type SamplingBreakerOptions } from '../store/breaker.js';
import { unavailable } from './errors.js';
import { authorizationDigest, principalKey, type AuthHooks, type Principal } from './principal.js';
import { peerKey, requestIdKey, rpcName, type CallRequest, type Step } from './request-context.js';

export interface RateLimitOptions {
  /** Calls per client per window; 0 = no limit. */
  points: number;
  durationSeconds: number;
  /** Redis key prefix (one per deployment sharing a Redis). */
  keyPrefix?: string;
  /**
   * The circuit breaker in front of Redis (as the lookup cache's; main.ts passes the REDIS_BREAKER_*
   * settings). Absent: opens after 5 consecutive failures, probes again after 1 s.
   */
  breaker?: SamplingBreakerOptions;
  /** Every state change of that breaker. */
  onStateChange?: (state: BreakerState) => void;
}

/** What the rate-limit step needs of a limiter: consume one point of `key`, or reject with a RateLimiterRes. */
export interface ClientLimiter {
  consume(key: string): Promise<unknown>;
  /** A point taken without a promise when one is at hand (a lease's: api/rate-limit-lease.ts); false = call consume. */
  tryConsume?(key: string): boolean;
  /** Where calls were counted so far: Redis, or the in-process fallback. */
  stats(): { redis: number; fallback: number };
  /** The Redis circuit: 'closed' (Redis in use), 'open' (skipped), 'half-open' (probing). */
  state(): 'closed' | 'open' | 'half-open';
}

/** The shared budget itself, as api/rate-limit-lease.ts takes points from it: several at once, and back. */
export interface SharedLimiter extends ClientLimiter {
  readonly points: number;
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  reward(key: string, points: number): Promise<unknown>;
}

/** Services never limited: probes must see the server as it is. */
const EXEMPT = new Set([Health.typeName, 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);

/**
 * The per-client limiter: Redis (shared by every process) behind a breaker, memory while Redis
 * is away. `redis` should be a fail-fast client (store/lookup-cache.ts redisFailFastOptions).
 */
export function rateLimiter(redis: Redis | undefined, o: RateLimitOptions): SharedLimiter {
  const common = { points: o.points, duration: o.durationSeconds, keyPrefix: o.keyPrefix ?? 'core-dict:rl' };
  const memory = new RateLimiterMemory(common);
  const st = { redis: 0, fallback: 0 };
  if (!redis) {
    return {
      points: o.points,
      consume: (k, n = 1) => (st.fallback++, memory.consume(k, n)),
      reward: (k, n) => memory.reward(k, n),
      stats: () => ({ ...st }),
      state: () => 'open',
    };
  }
  // rejectIfRedisNotReady: while ioredis reconnects the call fails at once (a breaker failure).
  const store = new RateLimiterRedis({ ...common, storeClient: redis, rejectIfRedisNotReady: true });
  // A refusal (RateLimiterRes) is Redis working, not failing.
  const handled = handleWhen((err) => !(err instanceof RateLimiterRes));
  const policy: CircuitBreakerPolicy = o.breaker
    ? samplingCircuit(handled, o.breaker, o.onStateChange)
    : watched(circuitBreaker(handled, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(5) }), o.onStateChange);
  return {
    points: o.points,
    async consume(key, n = 1) {
      try {
        const res = await policy.execute(() => store.consume(key, n));
        st.redis++;
        return res;
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          st.redis++;
          throw err;
        }
        // Redis failed, or the circuit is open (BrokenCircuitError): count here.
        st.fallback++;
        return memory.consume(key, n);
      }
    },
    async reward(key, n) {
      // Back where it was most likely taken: Redis while its circuit is closed, else memory.
      try {
        return await policy.execute(() => store.reward(key, n));
      } catch {
        return memory.reward(key, n);
      }
    },
    stats: () => ({ ...st }),
    state: () => breakerState(policy.state),
  };
}

/** A principal's budget name, made once per principal (a remembered token's is shared by its calls). */
const userKeys = new WeakMap<Principal, string>();

/** The budget a call is counted against. */
export function clientKey(values: ContextValues): string {
  const p = values.get(principalKey);
  if (p?.subject) {
    let key = userKeys.get(p);
    if (key === undefined) userKeys.set(p, (key = `user:${p.participant}/${p.subject}`));
    return key;
  }
  const peer = values.get(peerKey) || 'unknown';
  return p ? `peer:${p.participant}@${peer}` : `peer:${peer}`;
}

const refusal = (err: RateLimiterRes, what: string): ConnectError =>
  unavailable(`${what}: retry later`, Math.max(1, Math.ceil(err.msBeforeNext / 1000)), 'RateLimited');

/** After auth (the key needs the principal), before admission and any work. */
export function rateLimitStep(limiter: Pick<ClientLimiter, 'consume' | 'tryConsume'>, o: { log?: Logger; onLimited?: (limit: RateLimitName) => void } = {}): Step {
  const slow = async (req: CallRequest, client: string) => {
    try {
      await limiter.consume(client);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        o.onLimited?.('client');
        o.log?.debug({ requestId: req.contextValues.get(requestIdKey), rpc: rpcName(req), client, retryAfterMs: err.msBeforeNext }, 'rate limited');
        throw refusal(err, 'rate limit exceeded for this client');
      }
      throw err;
    }
  };
  return (req) => {
    if (EXEMPT.has(req.service.typeName)) return;
    const client = clientKey(req.contextValues);
    if (limiter.tryConsume?.(client)) return;
    return slow(req, client);
  };
}

export interface AuthFailureLimitOptions {
  /** Failed authentications per peer per window before the peer's calls are refused unverified; 0 = no limit. */
  points: number;
  durationSeconds: number;
  /** How long a successfully verified token is remembered (default VERIFIED_TOKEN_TTL_MS). */
  verifiedTtlMs?: number;
  /** At most this many remembered tokens (default 10,000; the oldest are forgotten first). */
  verifiedMax?: number;
  log?: Logger;
  onLimited?: (limit: RateLimitName) => void;
}

export const VERIFIED_TOKEN_TTL_MS = 3_600_000;
/** Failing peers the failed-authentication limit remembers for its fast path. */
const FAILING_MAX = 100_000;

/**
 * Before auth (`check`): refuses, without verifying its token, a call from a peer that failed
 * authentication `points` times in the window — unless the call's token is one this process
 * verified successfully before. The auth step reports to `hooks` (api/principal.ts authStep):
 * each refused token counts against the call's peer, each verified one is remembered.
 */
export function authFailureLimit(o: AuthFailureLimitOptions): { check: Step; hooks: AuthHooks } {
  const failures = new RateLimiterMemory({ points: o.points, duration: o.durationSeconds, keyPrefix: 'auth-failures' });
  // Tokens verified here, by hash: each kept `verifiedTtlMs` from its last success, the least recent dropped beyond `verifiedMax`.
  const verified = boundedCache<string, true>(o.verifiedMax ?? 10_000, { ttl: o.verifiedTtlMs ?? VERIFIED_TOKEN_TTL_MS });
  // Peers with a failure in the window (kept a window from their latest): only these are looked
  // up in `failures`, so a peer that never failed costs a set lookup, not a limiter one (and no
  // lookup at all while no peer is failing). Once FAILING_MAX peers are failing, every call is
  // looked up (none escapes by being evicted here).
  const failing = boundedCache<string, true>(FAILING_MAX, { ttl: o.durationSeconds * 1000 });
  const peerOf = (req: CallRequest) => `peer:${req.contextValues.get(peerKey) || 'unknown'}`;
  const refuseIfBlocked = async (req: CallRequest, peer: string) => {
    const blocked = await failures.get(peer);
    if (!blocked || blocked.remainingPoints > 0) return;
    if (verified.has(authorizationDigest(req.contextValues, req.header.get('authorization') ?? ''))) return;
    o.onLimited?.('auth_failures');
    o.log?.debug({ requestId: req.contextValues.get(requestIdKey), rpc: rpcName(req), client: peer, retryAfterMs: blocked.msBeforeNext }, 'rate limited: failed authentications');
    throw refusal(blocked, 'too many failed authentications from this address');
  };
  return {
    check(req) {
      if (failing.size === 0 || EXEMPT.has(req.service.typeName)) return;
      const peer = peerOf(req);
      if (failing.has(peer) || failing.size >= FAILING_MAX) return refuseIfBlocked(req, peer);
    },
    hooks: {
      async failed(req) {
        const peer = peerOf(req);
        failing.set(peer, true);
        await failures.penalty(peer, 1);
      },
      verified(req, authorization) {
        verified.set(authorizationDigest(req.contextValues, authorization), true);
      },
    },
  };
}
