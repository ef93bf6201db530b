// How business failures travel: an activity throws a non-retryable ApplicationFailure whose
// `type` is BCB's error name and whose first detail is a FailureDetail. Workflows and the API
// read them back with these helpers. Pure (no Node APIs) so workflow code may import it.

export interface FailureDetail {
  /** BCB's error name, e.g. EntryAlreadyExists. */
  bcbError: string;
  detail?: string;
  /** HTTP status DICT answered with, when it was DICT. */
  status?: number;
  violations?: { reason: string; value?: string; property?: string }[];
  /** Where the rule was caught: our own records ("CORE") or DICT. */
  source: 'CORE' | 'DICT';
}

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
      const d = f.details?.[0] as FailureDetail | undefined;
      return d && typeof d === 'object' && 'bcbError' in d ? d : { bcbError: f.type, detail: f.message, source: 'CORE' };
    }
    cur = f.cause;
  }
  return undefined;
}
