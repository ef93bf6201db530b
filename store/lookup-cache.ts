// Cache of other participants' entries answered by DICT's getEntry. BCB allows caching only
// entries owned by legal persons, for at most 180 seconds; natural persons' never are.
//
// The cache sits on every payment's lookup, so it must never hold a payer up: with `breaker`
// (the API), reads and writes go through a cockatiel circuit breaker — after `failures`
// consecutive errors (Redis down, refused, or slower than the client's command timeout) the
// circuit opens and every call fails at once (a miss) for `halfOpenAfterMs`; then one call
// probes Redis and a success closes it again. The Redis client itself must fail fast too
// (`redisFailFastOptions`): no offline queue, a short command timeout, reconnection in the
// background. Without `breaker` (the worker's invalidations) calls go straight to Redis.
import { circuitBreaker, ConsecutiveBreaker, handleAll, CircuitState, type CircuitBreakerPolicy } from 'cockatiel';
import type { Redis, RedisOptions } from 'ioredis';
import type { ExtendedEntry } from '../domain/types.js';

export const MAX_LOOKUP_CACHE_SECONDS = 180;
const prefix = 'dict:entry:';

export interface LookupCache {
  get(key: string): Promise<ExtendedEntry | undefined>;
  /** Stores only when BCB allows it; returns the TTL used (0 = not cached). */
  put(entry: ExtendedEntry, opts: { ttlSeconds: number; dictMaxAgeSeconds?: number }): Promise<number>;
  invalidate(key: string): Promise<void>;
  /** 'closed' (Redis in use), 'open' (skipped), 'half-open' (probing); always 'closed' without a breaker. */
  state(): 'closed' | 'open' | 'half-open';
}

export interface CacheBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** How long the circuit stays open before one call probes Redis again. */
  halfOpenAfterMs: number;
  onStateChange?: (state: 'closed' | 'open' | 'half-open') => void;
}

/** ioredis options for a client on a request path: never queue while disconnected, time out fast, reconnect in the background. */
export function redisFailFastOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  };
}

export function cacheTtl(entry: ExtendedEntry, ttlSeconds: number, dictMaxAgeSeconds?: number): number {
  if (entry.owner.type !== 'LEGAL_PERSON') return 0;
  const bounds = [ttlSeconds, MAX_LOOKUP_CACHE_SECONDS];
  if (dictMaxAgeSeconds !== undefined) bounds.push(dictMaxAgeSeconds);
  return Math.max(0, Math.floor(Math.min(...bounds)));
}

const stateName = (s: CircuitState): 'closed' | 'open' | 'half-open' =>
  s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half-open' : 'open';

export function createLookupCache(redis: Redis, o: { breaker?: CacheBreakerOptions } = {}): LookupCache {
  let policy: CircuitBreakerPolicy | undefined;
  if (o.breaker) {
    policy = circuitBreaker(handleAll, { halfOpenAfter: o.breaker.halfOpenAfterMs, breaker: new ConsecutiveBreaker(o.breaker.failures) });
    const notify = o.breaker.onStateChange;
    if (notify) policy.onStateChange((s) => notify(stateName(s)));
  }
  const call = <T>(fn: () => Promise<T>): Promise<T> => (policy ? policy.execute(fn) : fn());
  return {
    async get(key) {
      const raw = await call(() => redis.get(prefix + key));
      return raw ? (JSON.parse(raw) as ExtendedEntry) : undefined;
    },
    async put(entry, { ttlSeconds, dictMaxAgeSeconds }) {
      const ttl = cacheTtl(entry, ttlSeconds, dictMaxAgeSeconds);
      if (ttl > 0) await call(() => redis.set(prefix + entry.key, JSON.stringify(entry), 'EX', ttl));
      return ttl;
    },
    async invalidate(key) {
      await call(() => redis.del(prefix + key));
    },
    state: () => (policy ? stateName(policy.state) : 'closed'),
  };
}
