// Cache of other participants' entries answered by DICT's getEntry. BCB allows caching only
// entries owned by legal persons, for at most 180 seconds; natural persons' never are.
//
// The cache sits on every payment's lookup, so it must never hold a payer up: with `breaker`
// (the API), reads and writes go through a cockatiel circuit breaker — when most calls of the
// last few seconds failed (Redis down, refused, or slower than the client's command timeout) the
// circuit opens and every call fails at once (a miss) for `halfOpenAfterMs`; then one call
// probes Redis and a success closes it again. The Redis client itself must fail fast too
// (`redisFailFastOptions`): no offline queue, a short command timeout, reconnection in the
// background. Without `breaker` (the worker's invalidations) calls go straight to Redis.
import { BrokenCircuitError, handleWhen } from 'cockatiel';
import type { Redis, RedisOptions } from 'ioredis';
import type { ExtendedEntry } from '../domain/types.js';
import { cacheRequests } from '../config/metrics.js';
import { breakerState, samplingCircuit, type BreakerState, type SamplingBreakerOptions } from './breaker.js';

export const MAX_LOOKUP_CACHE_SECONDS = 180;
const prefix = 'dict:entry:';

export interface LookupCache {
  get(key: string): Promise<ExtendedEntry | undefined>;
  /** Stores only when BCB allows it; returns the TTL used (0 = not cached). */
  put(entry: ExtendedEntry, opts: { ttlSeconds: number; dictMaxAgeSeconds?: number }): Promise<number>;
  invalidate(key: string): Promise<void>;
  /** 'closed' (Redis in use), 'open' (skipped), 'half-open' (probing); always 'closed' without a breaker. */
  state(): 'closed' | 'open' | 'half-open';
  /** Counters since creation: how often, and how long, callers waited on Redis. */
  stats(): CacheStats;
}

export interface CacheStats {
  calls: number;
  /** Calls that failed (Redis error or timeout), short-circuited ones included. */
  failures: number;
  /** Calls answered at once by the open circuit, without touching Redis. */
  shortCircuited: number;
  /** Calls that took more than 100 ms, and the longest one. */
  over100ms: number;
  maxMs: number;
}

/** The breaker in front of Redis (store/breaker.ts): skipping the cache on a few slow commands would only add DICT calls. */
export interface CacheBreakerOptions extends SamplingBreakerOptions {
  /**
   * The Redis client's command timeout. A timeout whose timer fired much later than this (the
   * event loop was busy, e.g. under CPU saturation) says nothing about Redis: it is a miss for
   * that call but does not count towards opening the circuit.
   */
  commandTimeoutMs?: number;
  /** Every state change; when it opens, with the error that opened it. */
  onStateChange?: (state: BreakerState, cause?: unknown) => void;
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

/** A command timeout observed while our own event loop lagged: not Redis's fault. */
export class LateTimeoutError extends Error {
  override readonly name = 'LateTimeoutError';
}

const isTimeout = (err: unknown) => err instanceof Error && err.message === 'Command timed out';

export function cacheTtl(entry: ExtendedEntry, ttlSeconds: number, dictMaxAgeSeconds?: number): number {
  if (entry.owner.type !== 'LEGAL_PERSON') return 0;
  const bounds = [ttlSeconds, MAX_LOOKUP_CACHE_SECONDS];
  if (dictMaxAgeSeconds !== undefined) bounds.push(dictMaxAgeSeconds);
  return Math.max(0, Math.floor(Math.min(...bounds)));
}

export function createLookupCache(redis: Redis, o: { breaker?: CacheBreakerOptions } = {}): LookupCache {
  const policy = o.breaker && samplingCircuit(handleWhen((err) => !(err instanceof LateTimeoutError)), o.breaker, o.breaker.onStateChange);
  const st: CacheStats = { calls: 0, failures: 0, shortCircuited: 0, over100ms: 0, maxMs: 0 };
  const lateAfterMs = o.breaker?.commandTimeoutMs ? o.breaker.commandTimeoutMs * 1.5 : Infinity;
  const classify = <T>(fn: () => Promise<T>) => async (): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } catch (err) {
      if (isTimeout(err) && performance.now() - t0 > lateAfterMs) throw new LateTimeoutError('Redis command timed out while the event loop lagged', { cause: err });
      throw err;
    }
  };
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    st.calls++;
    try {
      return await (policy ? policy.execute(classify(fn)) : fn());
    } catch (err) {
      st.failures++;
      if (err instanceof BrokenCircuitError) st.shortCircuited++;
      throw err;
    } finally {
      const ms = performance.now() - t0;
      if (ms > 100) st.over100ms++;
      if (ms > st.maxMs) st.maxMs = ms;
    }
  };
  return {
    async get(key) {
      let raw: string | null;
      try {
        raw = await call(() => redis.get(prefix + key));
      } catch (e) {
        cacheRequests.inc({ result: 'error' });
        throw e;
      }
      cacheRequests.inc({ result: raw ? 'hit' : 'miss' });
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
    state: () => (policy ? breakerState(policy.state) : 'closed'),
    stats: () => ({ ...st }),
  };
}
