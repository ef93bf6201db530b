// Local leases over the shared per-client rate limit (api/rate-limit.ts), so that a busy client
// does not cost a Redis round trip on every call. An API process takes a lease of a client's
// window from the shared limiter at once and hands its points out in memory until they run out
// or the window ends; the shared count therefore never admits more than the configured points
// across all processes. A lease starts at `lease` points and follows the client's pace in this
// process: twice as large after one spent within FAST_LEASE_MS (up to `maxLease`), half as large
// after one that outlived its window unspent. At a fixed lease of 50 a client making 3,000
// lookups a second cost 60 Redis round trips a second and its waiting calls about a twentieth
// of a lookup's CPU (bench/RESULTS.md, "LookupKey, 2026-12-06 13:16"). What it gives up: points a
// process leased but did not use before the window ended are lost (at most `maxLease - 1` per
// process and client per window, and that only for a client busy enough here to have grown its
// lease), so a client may be refused slightly before its exact budget. Near the end of a
// client's budget (fewer points left than a lease) the process gives the lease back and takes
// single points, so the limit stays exact where it matters. A lease of 1 is exactly the shared
// limiter.
import { boundedCache } from '../config/bounded-cache.js';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { ClientLimiter, SharedLimiter } from './rate-limit.js';

interface Lease {
  left: number;
  /** When the shared window the points came from ends (ms since the epoch). */
  until: number;
  /** Points this lease was granted with, and when. */
  size: number;
  at: number;
}

export interface LeaseOptions {
  /** Points taken from the shared limiter at a time, at first (1 = no leasing). */
  lease: number;
  /**
   * The most points taken at a time (default 10 × lease but at most a tenth of the budget; never
   * less than `lease`): a client whose lease in this process ran out within FAST_LEASE_MS gets
   * one twice as large next time, up to this; one whose lease's window ended before the next
   * request (unspent, or spent and then idle) gets one half as large, down to `lease`.
   */
  maxLease?: number;
  /** Clients whose leases are held at once (LRU beyond). */
  maxClients?: number;
  now?: () => number;
}

/** A lease spent within this many ms: the client is busy enough here for a larger one. */
export const FAST_LEASE_MS = 100;

/** What the rate-limit step calls; the shared limiter's own stats() and state() tell where points were counted. */
export function leasedLimiter(shared: Pick<SharedLimiter, 'points' | 'consume' | 'reward'>, o: LeaseOptions): Pick<ClientLimiter, 'consume' | 'tryConsume'> {
  const lease = Math.max(1, Math.min(o.lease, shared.points));
  if (lease === 1) return { consume: (key) => shared.consume(key) };
  // By default up to 10 × the first, and never more than a tenth of the budget by growing.
  const maxLease = Math.max(lease, Math.min(o.maxLease ?? Math.min(lease * 10, Math.floor(shared.points / 10)), shared.points));
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

  /** The next lease's size for a client, from how its last one here went. */
  const nextSize = (last: Lease | undefined, t: number): number => {
    if (!last) return lease;
    if (last.left <= 0 && t - last.at < FAST_LEASE_MS) return Math.min(maxLease, last.size * 2);
    // Unspent when its window ended, or the client came back after its window had ended: smaller.
    if (t >= last.until) return Math.max(lease, Math.floor(last.size / 2));
    return last.size;
  };

  const refill = async (key: string): Promise<void> => {
    const size = nextSize(leases.get(key), now());
    try {
      const res = await shared.consume(key, size);
      const t = now();
      leases.set(key, { left: size, until: t + res.msBeforeNext, size, at: t });
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      // Refused as a lease: were there points left before this request took `size`?
      const before = shared.points - (err.consumedPoints - size);
      if (before <= 0) throw err;
      // Yes: give the lease back and take a single point (exact at the end of the budget).
      await shared.reward(key, size);
      const one = await shared.consume(key, 1);
      const t = now();
      leases.set(key, { left: 1, until: t + one.msBeforeNext, size: lease, at: t });
    }
  };

  return {
    tryConsume: take,
    async consume(key: string): Promise<void> {
      // Each round either takes a point of the lease or waits for the one lease request in flight,
      // which ends with new points (handed to the waiters in turn) or the client's refusal
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
