// The only place workflow code makes activity proxies, one factory per kind, so a DICT call
// cannot become a local activity by accident: postgresSteps() types only the Postgres steps,
// dictCalls() only the DICT calls (activities/index.ts keeps the two groups apart).
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { DictActivities, PostgresActivities } from '../activities/index.js';
import { NON_RETRYABLE_BCB_ERRORS } from '../domain/errors.js';

/**
 * Postgres steps: short and idempotent, so local activities — run by the worker inside the
 * workflow task, saving a task round trip each (they show in history as markers).
 */
export const postgresSteps = () =>
  proxyLocalActivities<PostgresActivities>({
    startToCloseTimeout: '10 seconds',
    localRetryThreshold: '10 seconds',
    retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
  });

/**
 * DICT calls: retried until DICT answers, backoff capped at 30 s (DICT's Retry-After, when it
 * gave one, sets the next delay: activities/errors.ts). Business errors fail fast: their
 * failures are flagged non-retryable and, as a second guard, every BCB name that no retry can
 * change is listed in nonRetryableErrorTypes (typed from domain/errors.ts). Every retry of a
 * write carries the same BCB RequestId, so a write whose answer was lost is found again,
 * never duplicated.
 */
export const dictCalls = () =>
  proxyActivities<DictActivities>({
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: '500 milliseconds',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: [...NON_RETRYABLE_BCB_ERRORS],
    },
  });
