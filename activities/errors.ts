// Activity failures as Temporal should see them (business answers fail for good, DICT outages retry),
// and the activity's cancellation signal that DICT requests are aborted with.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { DictProblemError } from '../bridge/types.js';
import { BusinessRuleError } from '../store/errors.js';
import { isNonRetryableBcbError, toBcbErrorName, type FailureDetail } from '../domain/errors.js';

const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * Translate what an activity caught into what Temporal should do with it: BCB business errors
 * (ours or DICT's 4xx) fail for good; DICT's 429/5xx retry after Retry-After when it gave one;
 * anything else is rethrown and retried by the activity's policy.
 */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof BusinessRuleError) {
    const detail: FailureDetail = { bcbError: err.bcbError, detail: err.message, source: 'CORE' };
    return ApplicationFailure.create({ type: err.bcbError, message: err.message, nonRetryable: true, details: [detail] });
  }
  if (err instanceof DictProblemError) {
    const detail = err.failure;
    if (!err.retryable) {
      return ApplicationFailure.create({ type: err.bcbError, message: err.message, nonRetryable: true, details: [detail] });
    }
    return ApplicationFailure.create({
      // A business name answered with a transient status (5xx) must still be retried: the
      // policy's nonRetryableErrorTypes lists business names, so it travels as the status's name.
      type: isNonRetryableBcbError(err.bcbError) ? toBcbErrorName('', err.status) : err.bcbError,
      message: err.message,
      details: [detail],
      // Honour Retry-After, within reason (it may come unsigned from a gateway).
      nextRetryDelay: err.retryAfterSeconds ? `${Math.min(err.retryAfterSeconds, MAX_RETRY_AFTER_SECONDS)}s` : undefined,
    });
  }
  return err;
}

/** Run an activity body, translating failures. */
export async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asActivityFailure(err);
  }
}

/**
 * The running activity's cancellation (Temporal's, e.g. WORKER_SHUTDOWN once the worker's grace
 * time is over): the DICT request is aborted, the activity fails retryably and another worker
 * retries it, as idempotently as any retry (the same BCB RequestId for entry writes and
 * completeClaim; claim decisions read DICT's state first). Undefined outside an activity.
 */
export function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}
