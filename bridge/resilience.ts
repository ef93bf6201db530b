// Resilience of the synchronous bridge path (LookupKey → DICT getEntry): a time budget for the
// whole lookup, a timeout per attempt, bounded retries with jittered exponential backoff (only
// for this idempotent read), DICT's Retry-After honoured (never retried sooner; when it points
// past the budget the lookup fails fast with DICT's answer and its delay), and a cockatiel
// circuit breaker that stops calling DICT while most recent calls failed. DICT's 429 is never
// retried and holds lookups until its Retry-After (1 s without one), so a rate-limited DICT sees
// no more such calls from us until it said to come back. DICT's 429 does not name the policy
// (2.6.1's RateLimited problem), so the hold starts with the payer whose lookup got it (one
// scanning payer's empty ENTRIES_READ_USER_ANTISCAN bucket must not stop everyone's payments);
// a 429 for a second payer while one is held means our participant's bucket is empty, and then
// every lookup of the process is held. Writes never come
// through here: workflows retry them through Temporal's activity retry policies.
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ExponentialBackoff,
  handleWhen,
  SamplingBreaker,
  type CircuitBreakerPolicy,
  type IBackoff,
} from 'cockatiel';
import { boundedCache } from '../config/bounded-cache.js';
import { DictProblemError, DictTransportError, type DictApi, type GetEntryInput, type GetEntryResult } from './types.js';

export interface LookupResilienceOptions {
  /** Whole lookup, every attempt and wait included (the payer waits this long at most). */
  budgetMs: number;
  /** One HTTP attempt; never more than what is left of the budget. */
  attemptTimeoutMs: number;
  /** Attempts in all (1 = no retry). */
  maxAttempts: number;
  /** Backoff between attempts: first delay and cap (decorrelated jitter in between). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  breaker: {
    /** Share of failed calls in the window that opens the circuit (0..1). */
    threshold: number;
    windowMs: number;
    /** Calls per second below which the circuit never opens. */
    minimumRps: number;
    /** Open → half-open after this long (one trial call). */
    halfOpenAfterMs: number;
  };
  onBreakerStateChange?: (state: 'open' | 'half-open' | 'closed') => void;
  /** Time source and waiting, replaceable by tests (no real waiting there). */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
}

/** DICT is not called at all: the circuit is open after too many failures. */
export class DictCircuitOpenError extends DictTransportError {
  constructor(readonly retryAfterSeconds: number) {
    super(`DICT circuit open: calls resume in about ${retryAfterSeconds}s`);
  }
}

/** DICT is not called at all: it answered 429 to a lookup of this process and asked us to wait. */
export class DictRateLimitHoldError extends DictTransportError {
  constructor(readonly retryAfterSeconds: number) {
    super(`DICT rate limit: lookups resume in about ${retryAfterSeconds}s`);
  }
}

/** How long a 429 without Retry-After holds lookups. */
export const RATE_LIMIT_HOLD_DEFAULT_MS = 1_000;

/** A failure that says nothing about DICT's health: business answers and rate limits. */
function breakerCounts(err: unknown): boolean {
  if (err instanceof DictProblemError) return err.status >= 500;
  return err instanceof DictTransportError;
}

/** Worth another attempt of the same read: DICT gave no answer, or a transient one. */
function retryable(err: unknown): boolean {
  if (err instanceof DictProblemError) return err.status !== 429 && err.retryable;
  return err instanceof DictTransportError && !(err instanceof DictCircuitOpenError) && !(err instanceof DictRateLimitHoldError);
}

const realClock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

export interface ResilientLookups {
  getEntry(input: GetEntryInput): Promise<GetEntryResult>;
  readonly breaker: CircuitBreakerPolicy;
}

/**
 * getEntry of `dict` with the budget, retries and breaker of `o`. `dict.getEntry` must honour
 * `input.signal` (bridge/client.ts aborts the HTTP request with it).
 */
export function resilientLookups(dict: Pick<DictApi, 'getEntry'>, o: LookupResilienceOptions): ResilientLookups {
  if (!(o.maxAttempts >= 1)) throw new TypeError('maxAttempts must be at least 1');
  const clock = o.clock ?? realClock;
  const breaker = circuitBreaker(handleWhen(breakerCounts), {
    halfOpenAfter: o.breaker.halfOpenAfterMs,
    breaker: new SamplingBreaker({ threshold: o.breaker.threshold, duration: o.breaker.windowMs, minimumRps: o.breaker.minimumRps }),
  });
  if (o.onBreakerStateChange) {
    const cb = o.onBreakerStateChange;
    breaker.onStateChange((s) => cb(s === CircuitState.Open || s === CircuitState.Isolated ? 'open' : s === CircuitState.HalfOpen ? 'half-open' : 'closed'));
  }
  const backoffFactory = new ExponentialBackoff({ initialDelay: o.initialDelayMs ?? 50, maxDelay: o.maxDelayMs ?? 1_000 });
  const halfOpenSeconds = Math.max(1, Math.ceil(o.breaker.halfOpenAfterMs / 1000));

  async function attempt(input: GetEntryInput, timeoutMs: number): Promise<GetEntryResult> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new DictTransportError(`lookup attempt timed out after ${timeoutMs} ms`)), timeoutMs);
    // The caller's own cancellation (the RPC's deadline) ends the attempt too.
    const outer = input.signal;
    const onOuter = (): void => ac.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    try {
      return await breaker.execute(() => dict.getEntry({ ...input, signal: ac.signal }));
    } catch (e) {
      if (e instanceof BrokenCircuitError) throw new DictCircuitOpenError(halfOpenSeconds);
      throw e;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  // Until when every lookup of this process is held after DICT's 429s for two payers.
  let holdUntil = 0;
  // Until when each payer's lookups are held after DICT's 429 to one of them.
  const payerHolds = boundedCache<string, number>(100_000);
  // The two distinct payers whose holds end last: enough to tell in O(1) whether any payer other
  // than a given one is held (the later of the two unless it is that payer, else the other).
  let last: { payer?: string; until: number } = { until: 0 };
  let runnerUp: { payer?: string; until: number } = { until: 0 };
  const anotherPayerHeld = (payer: string, now: number): boolean => (last.payer !== payer ? last.until : runnerUp.until) > now;
  const hold = (payer: string, until: number): void => {
    payerHolds.set(payer, Math.max(payerHolds.get(payer) ?? 0, until));
    if (payer === last.payer) last = { payer, until: Math.max(last.until, until) };
    else if (payer === runnerUp.payer) {
      runnerUp = { payer, until: Math.max(runnerUp.until, until) };
      if (runnerUp.until > last.until) [last, runnerUp] = [runnerUp, last];
    } else if (until > last.until) [last, runnerUp] = [{ payer, until }, last];
    else if (until > runnerUp.until) runnerUp = { payer, until };
  };

  return {
    breaker,
    async getEntry(input) {
      const deadline = clock.now() + o.budgetMs;
      let backoff: IBackoff<unknown> | undefined;
      for (let n = 1; ; n++) {
        const held = Math.max(holdUntil, payerHolds.get(input.payerId) ?? 0) - clock.now();
        if (held > 0) throw new DictRateLimitHoldError(Math.max(1, Math.ceil(held / 1000)));
        const left = deadline - clock.now();
        try {
          return await attempt(input, Math.max(1, Math.min(o.attemptTimeoutMs, left)));
        } catch (err) {
          if (err instanceof DictProblemError && err.status === 429) {
            const holdMs = err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : RATE_LIMIT_HOLD_DEFAULT_MS;
            const until = clock.now() + holdMs;
            // Another payer is held already: not one payer's bucket, ours (the participant's).
            if (anotherPayerHeld(input.payerId, clock.now())) holdUntil = Math.max(holdUntil, until);
            hold(input.payerId, until);
          }
          if (!retryable(err) || n >= o.maxAttempts || input.signal?.aborted) throw err;
          backoff = backoff ? backoff.next(undefined) : backoffFactory.next();
          // DICT's Retry-After is a floor, never shortened by our backoff.
          const floorMs = err instanceof DictProblemError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 0;
          const waitMs = Math.max(backoff.duration, floorMs);
          // Not enough budget for the wait and a useful attempt: answer now with DICT's own delay.
          if (clock.now() + waitMs >= deadline) throw err;
          await clock.sleep(waitMs);
        }
      }
    },
  };
}

/** Whether a lookup failed without an answer from DICT because the circuit is open. */
export function isCircuitOpen(err: unknown): err is DictCircuitOpenError {
  return err instanceof DictCircuitOpenError;
}
