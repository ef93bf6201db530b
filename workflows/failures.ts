// How business failures travel: an activity throws a non-retryable ApplicationFailure whose
// `type` is BCB's error name and whose first detail is a FailureDetail (domain/errors.ts).
// Workflows and the API read them back with this helper. Pure (no Node APIs) so workflow code
// may import it.
import { toBcbErrorName, type FailureDetail } from '../domain/errors.js';

interface FailureLike {
  type?: string | null;
  nonRetryable?: boolean;
  details?: unknown[] | null;
  message?: string;
  cause?: unknown;
}

/** Walk an error's cause chain for the first non-retryable application failure. */
export function findBusinessFailure(err: unknown): FailureDetail | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    const f = cur as FailureLike & { name?: string };
    if (f.name === 'ApplicationFailure' && f.nonRetryable && f.type) {
      const d = f.details?.[0] as Partial<FailureDetail> | undefined;
      if (d && typeof d === 'object' && typeof d.bcbError === 'string') {
        // Narrowed again: a payload is data from another process, not a type guarantee.
        return { ...(d as FailureDetail), bcbError: toBcbErrorName(d.bcbError, d.status) };
      }
      return { bcbError: toBcbErrorName(f.type), detail: f.message, source: 'CORE' };
    }
    cur = f.cause;
  }
  return undefined;
}
