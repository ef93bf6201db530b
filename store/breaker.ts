// The circuit breaker in front of Redis on the request path (the lookup cache, BCB's
// anti-scanning buckets, the per-client rate limit): cockatiel's SamplingBreaker, which opens on a
// failure rate over a window once calls arrive fast enough, and probes again after a pause. A
// rate rather than a run of failures, because under CPU saturation a few commands time out while
// Redis is fine. (The rate limit built without breaker options, as some tests do, keeps
// cockatiel's ConsecutiveBreaker: it is watched the same way.) One construction and one
// vocabulary of states ('closed' | 'open' | 'half-open'), as metrics and logs name them.
import { circuitBreaker, CircuitState, SamplingBreaker, type CircuitBreakerPolicy, type Policy } from 'cockatiel';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface SamplingBreakerOptions {
  /** The circuit opens when more than this share (0–1) of the calls in the last `windowMs` failed… */
  threshold: number;
  windowMs: number;
  /** …once at least this many calls per second were seen. */
  minimumRps: number;
  /** How long the circuit stays open before one call probes Redis again. */
  halfOpenAfterMs: number;
}

export const breakerState = (s: CircuitState): BreakerState => (s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half-open' : 'open');

/**
 * A circuit over the failures `handled` selects. `onStateChange` hears every change, and when the
 * circuit opens, the error that opened it.
 */
export function samplingCircuit(handled: Policy, o: SamplingBreakerOptions, onStateChange?: (state: BreakerState, cause?: unknown) => void): CircuitBreakerPolicy {
  const policy = circuitBreaker(handled, {
    halfOpenAfter: o.halfOpenAfterMs,
    breaker: new SamplingBreaker({ threshold: o.threshold, duration: o.windowMs, minimumRps: o.minimumRps }),
  });
  return watched(policy, onStateChange);
}

/** `policy` with `onStateChange` told every change in our state names (and, on opening, the error). */
export function watched(policy: CircuitBreakerPolicy, onStateChange?: (state: BreakerState, cause?: unknown) => void): CircuitBreakerPolicy {
  if (onStateChange) {
    let cause: unknown;
    policy.onBreak((reason) => (cause = 'error' in reason ? reason.error : reason));
    policy.onStateChange((s) => onStateChange(breakerState(s), s === CircuitState.Open ? cause : undefined));
  }
  return policy;
}
