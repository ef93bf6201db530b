// Admission control: the API never takes on more work than it can finish. Two gates:
// - every RPC passes the `rpc` gate (API_MAX_IN_FLIGHT_RPCS, no queue): beyond it a call is shed
//   before any work, and a call already cancelled does none. With no queue a gate is a count of
//   calls in flight (slots(): the one async frame of its run around the handler, with no
//   bulkhead's promises besides);
// - LookupKey's Postgres read passes `lookupDbGate` (LOOKUP_DB_MAX_IN_FLIGHT ≤ the pool size,
//   LOOKUP_DB_MAX_QUEUE waiting), a cockatiel bulkhead (bounded slots + bounded queue, the rest
//   rejected at once): never more queries in flight than the pool has connections, so
//   postgres.js never pipelines onto busy connections and its internal queues (which only compact
//   when drained) cannot grow under sustained load — see bench/pg-queue-repro.ts.
// A shed call answers RESOURCE_EXHAUSTED with ErrorInfo reason RateLimited (BCB's name for
// "too many requests") and RetryInfo, so clients back off exactly as they do for DICT's 429.
import { bulkhead, BulkheadRejectedError, type BulkheadPolicy } from 'cockatiel';
import { Code, ConnectError } from '@connectrpc/connect';
import { unavailable } from './errors.js';

export interface Gate {
  readonly name: string;
  /** Runs fn in a slot, waiting in the bounded queue if needed; throws RESOURCE_EXHAUSTED when both are full. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  stats(): { inFlight: number; queued: number; shed: number };
}

export const overloaded = (what: string): ConnectError => unavailable(`server overloaded (${what}): retry later`, 1, 'RateLimited');

export function gate(name: string, o: { maxInFlight: number; maxQueue: number }): Gate {
  const policy: BulkheadPolicy = bulkhead(o.maxInFlight, o.maxQueue);
  let shed = 0;
  return {
    name,
    async run(fn, signal) {
      try {
        return await policy.execute(fn, signal);
      } catch (err) {
        if (err instanceof BulkheadRejectedError) {
          shed++;
          throw overloaded(name);
        }
        throw err;
      }
    },
    stats: () => ({ inFlight: o.maxInFlight - policy.executionSlots, queued: o.maxQueue - policy.queueSlots, shed }),
  };
}

/**
 * `maxInFlight` slots and no queue: a count of calls in flight, a call beyond them shed
 * (RESOURCE_EXHAUSTED), a call already cancelled refused (Canceled, as a bulkhead does) — with
 * none of a bulkhead's promises besides run's own.
 */
export function slots(name: string, maxInFlight: number): Gate {
  let inFlight = 0;
  let shed = 0;
  return {
    name,
    async run(fn, signal) {
      if (signal?.aborted) throw new ConnectError('the call was cancelled', Code.Canceled);
      if (inFlight >= maxInFlight) {
        shed++;
        throw overloaded(name);
      }
      inFlight++;
      try {
        return await fn();
      } finally {
        inFlight--;
      }
    },
    stats: () => ({ inFlight, queued: 0, shed }),
  };
}

export interface AdmissionOptions {
  /** Concurrent RPCs of any kind (writes wait on workflows, so this is generous). */
  maxInFlightRpcs: number;
  /** Concurrent LookupKey Postgres reads: at most the pool size. */
  lookupDbMaxInFlight: number;
  /** LookupKey reads waiting for a slot before the excess is shed. */
  lookupDbMaxQueue: number;
}

export const DEFAULT_ADMISSION: AdmissionOptions = { maxInFlightRpcs: 1000, lookupDbMaxInFlight: 10, lookupDbMaxQueue: 256 };
