// Key (entry) workflows: register, update and remove a Pix key in DICT, keeping our records
// in step. Workflow code: deterministic, imports only @temporalio/workflow, pure modules and
// types of activities.
import { ActivityFailure, ApplicationFailure, defineQuery, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { EntryActivities } from '../activities/entries.js';
import type { BrazilianAccount, Entry, EntryOperationReason, Person } from '../domain/types.js';
import type { EntryRecord } from '../store/entries.js';
import type { FailureDetail } from '../domain/errors.js';
import { findBusinessFailure } from './failures.js';

// Postgres steps: short and idempotent, so local activities — run by the worker inside the
// workflow task, saving a task round trip each (they show in history as markers).
const db = proxyLocalActivities<EntryActivities>({
  startToCloseTimeout: '10 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

// DICT steps: retried until DICT answers (business errors fail fast, as non-retryable
// failures). Every retry of createEntry carries the same BCB RequestId, so a write whose
// answer was lost is found again, never duplicated.
const dict = proxyActivities<EntryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export type EntryStage = 'ACCEPTED' | 'RESERVED' | 'REGISTERING' | 'UPDATING' | 'DELETING' | 'DONE' | 'FAILED';

export interface EntryWorkflowState {
  stage: EntryStage;
  entryId?: string;
  failure?: FailureDetail;
}

export const entryStateQuery = defineQuery<EntryWorkflowState>('entryState');

interface Requested {
  /** The calling participant's ISPB. */
  participant: string;
  /** Client request id (idempotency key). */
  requestId: string;
  /** Principal that asked, for audit. */
  requestedBy: string;
}

export interface CreateEntryWorkflowInput extends Requested {
  entry: Entry;
  reason: EntryOperationReason;
  /** Our id for the entry, fixed when the request was first accepted. */
  entryId: string;
  /** BCB RequestId for createEntry, fixed when the request was first accepted. */
  dictRequestId: string;
}

export interface UpdateEntryWorkflowInput extends Requested {
  key: string;
  account: BrazilianAccount;
  owner: Person;
  reason: EntryOperationReason;
}

export interface DeleteEntryWorkflowInput extends Requested {
  key: string;
  reason: EntryOperationReason;
}

/** Re-raise a business failure as this workflow's own failure, keeping BCB's error name. */
function failWith(detail: FailureDetail): never {
  throw ApplicationFailure.create({ type: detail.bcbError, message: detail.detail ?? detail.bcbError, nonRetryable: true, details: [detail] });
}

function business(err: unknown): FailureDetail | undefined {
  return err instanceof ActivityFailure ? findBusinessFailure(err) : undefined;
}

/**
 * A business failure ends the workflow: undo what must be undone, record the operation as
 * failed, then fail with BCB's error name. Anything else is rethrown (Temporal retries the task).
 */
async function endWithFailure(
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

export async function createEntryWorkflow(input: CreateEntryWorkflowInput): Promise<EntryRecord> {
  const state: EntryWorkflowState = { stage: 'ACCEPTED' };
  setHandler(entryStateQuery, () => state);
  const op = { participant: input.participant, requestId: input.requestId };

  // Fixed by the API when the request id was first recorded (operations table), so every
  // attempt — retried activity or even a new run for the same request — sends one RequestId.
  const { entryId, dictRequestId } = input;

  await db.reserveEntry({ entryId, dictRequestId, requestId: input.requestId, entry: input.entry }).catch((err) => endWithFailure(err, state, op));
  state.entryId = entryId;
  state.stage = 'REGISTERING';

  const dictEntry = await dict
    .registerEntryInDict({ dictRequestId, entry: input.entry, reason: input.reason })
    .catch((err) => endWithFailure(err, state, op, (f) => db.failEntry({ entryId, errorName: f.bcbError, errorDetail: f.detail ?? '' })));

  const rec = await db.activateEntry({ entryId, dictEntry });
  state.stage = 'DONE';
  return rec;
}

export async function updateEntryWorkflow(input: UpdateEntryWorkflowInput): Promise<EntryRecord> {
  const state: EntryWorkflowState = { stage: 'ACCEPTED' };
  setHandler(entryStateQuery, () => state);
  const op = { participant: input.participant, requestId: input.requestId };
  try {
    const current = await db.loadActiveEntry({ participant: input.participant, key: input.key, owner: input.owner, moveTo: input.account });
    state.entryId = current.entryId;
    state.stage = 'UPDATING';
    const updated = await dict.updateEntryInDict({ key: input.key, account: input.account, owner: input.owner, reason: input.reason });
    const rec = await db.applyEntryUpdate({ ...op, entryId: current.entryId, dictEntry: updated.entry, dictResponseTime: updated.responseTime });
    state.stage = 'DONE';
    return rec;
  } catch (err) {
    return endWithFailure(err, state, op);
  }
}

export async function deleteEntryWorkflow(input: DeleteEntryWorkflowInput): Promise<EntryRecord> {
  const state: EntryWorkflowState = { stage: 'ACCEPTED' };
  setHandler(entryStateQuery, () => state);
  const op = { participant: input.participant, requestId: input.requestId };
  let entryId: string | undefined;
  try {
    const current = await db.loadActiveEntry({ participant: input.participant, key: input.key });
    entryId = current.entryId;
    state.entryId = entryId;
    await db.beginDelete({ entryId });
    state.stage = 'DELETING';
    await dict.deleteEntryInDict({ key: input.key, participant: input.participant, reason: input.reason });
    const rec = await db.markDeleted({ ...op, entryId, reason: input.reason });
    state.stage = 'DONE';
    return rec;
  } catch (err) {
    return endWithFailure(err, state, op, async () => {
      if (entryId) await db.revertDelete({ entryId });
    });
  }
}
