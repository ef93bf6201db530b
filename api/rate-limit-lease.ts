// Local leases over the shared per-client rate limit (api/rate-limit.ts), so that a busy client
// does not cost a Redis round trip on every call. An API process takes `lease` points of a
// client's window from the shared limiter at once and hands them out in memory until they run out
// or the window ends; the shared count therefore never admits more than the configured points
// across all processes. What it gives up: points a process leased but did not use before the
// window ended are lost (at most `lease - 1` per process and client per window), so a client may
// be refused slightly before its exact budget. Near the end of a client's budget (fewer points
// left than a lease) the process gives the lease back and takes single points, so the limit stays
// exact where it matters. A lease of 1 is exactly the shared limiter.
import { boundedCache } from '../config/bounded-cache.js';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { ClientLimiter, SharedLimiter } from './rate-limit.js';

interface Lease {
  left: number;
  /** When the shared window the points came from ends (ms since the epoch). */
  until: number;
}

export interface LeaseOptions {
  /** Points taken from the shared limiter at a time (1 = no leasing). */
  lease: number;
  /** Clients whose leases are held at once (LRU beyond). */
  maxClients?: number;
  now?: () => number;
}

/** What the interceptor calls; the shared limiter's own stats() and state() tell where points were counted. */
export function leasedLimiter(shared: Pick<SharedLimiter, 'points' | 'consume' | 'reward'>, o: LeaseOptions): Pick<ClientLimiter, 'consume' | 'tryConsume'> {
  const lease = Math.max(1, Math.min(o.lease, shared.points));
  if (lease === 1) return { consume: (key) => shared.consume(key) };
  const now = o.now ?? Date.now;
  const leases = boundedCache<string, Lease>(o.maxClients ?? 100_000);
  // One lease request per client in flight; concurrent callers wait for it and then take from it.
  const pending = new Map<string, Promise<void>>();

  const take = (key: string): boolean => {
    const l = leases.get(key);
    if (!l || l.left <= 0 || now() >= l.until) return false;
    l.left--;
    return true;
  };

  const refill = async (key: string): Promise<void> => {
    try {
      const res = await shared.consume(key, lease);
      leases.set(key, { left: lease, until: now() + res.msBeforeNext });
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      // Refused as a lease: were there points left before this request took `lease`?
      const before = shared.points - (err.consumedPoints - lease);
      if (before <= 0) throw err;
      // Yes: give the lease back and take a single point (exact at the end of the budget).
      await shared.reward(key, lease);
      const one = await shared.consume(key, 1);
      leases.set(key, { left: 1, until: now() + one.msBeforeNext });
    }
  };

  return {
    tryConsume: take,
    async consume(key: string): Promise<void> {
      // Each round either takes a point of the lease or waits for the one lease request in flight,
      // which ends with `lease` new points (handed to the waiters in turn) or the client's refusal
      // (every waiter refused). Callers in this loop are bounded by the admitted in-flight RPCs.
      for (;;) {
        if (take(key)) return;
        let p = pending.get(key);
        if (!p) {
          p = refill(key).finally(() => pending.delete(key));
          pending.set(key, p);
        }
        await p;
      }
    },
  };
}
