// What the key (entry) workflows share: their state query, input base, activity proxies and the
// one failure path. Workflow code: deterministic, imports only @temporalio/workflow, pure
// modules and types of activities.
import { ActivityFailure, ApplicationFailure, defineQuery } from '@temporalio/workflow';
import type { FailureDetail } from '../domain/errors.js';
import { dictCalls, postgresSteps } from './activities.js';
import { findBusinessFailure } from './failures.js';

export const db = postgresSteps();
export const dict = dictCalls();

export type EntryStage = 'ACCEPTED' | 'RESERVED' | 'REGISTERING' | 'UPDATING' | 'DELETING' | 'DONE' | 'FAILED';

export interface EntryWorkflowState {
  stage: EntryStage;
  entryId?: string;
  failure?: FailureDetail;
}

/** Where an entry workflow is (stage, entry id, failure): every entry workflow answers it. */
export const entryStateQuery = defineQuery<EntryWorkflowState>('entryState');

export interface Requested {
  /** The calling participant's ISPB. */
  participant: string;
  /** Client request id (idempotency key). */
  requestId: string;
  /** Principal that asked, for audit. */
  requestedBy: string;
}

/** Re-raise a business failure as this workflow's own failure, keeping BCB's error name. */
export function failWith(detail: FailureDetail): never {
  throw ApplicationFailure.create({ type: detail.bcbError, message: detail.detail ?? detail.bcbError, nonRetryable: true, details: [detail] });
}

function business(err: unknown): FailureDetail | undefined {
  return err instanceof ActivityFailure ? findBusinessFailure(err) : undefined;
}

/**
 * A business failure ends the workflow: undo what must be undone, record the operation as
 * failed, then fail with BCB's error name. Anything else is rethrown (Temporal retries the task).
 */
export async function endWithFailure(
  err: unknown,
  state: EntryWorkflowState,
  op: { participant: string; requestId: string },
  undo?: (f: FailureDetail) => Promise<unknown>,
): Promise<never> {
  const f = business(err);
  if (!f) throw err;
  state.stage = 'FAILED';
  state.failure = f;
  await undo?.(f);
  await db.failOperation({ ...op, failure: f });
  failWith(f);
}
