// createEntryWorkflow: register a Pix key in DICT, keeping our record in step (PENDING →
// ACTIVE, or FAILED with BCB's error name). Workflow code: see entry-common.ts.
import { setHandler } from '@temporalio/workflow';
import type { Entry, EntryOperationReason } from '../domain/types.js';
import type { EntryRecord } from '../store/entries.js';
import { db, dict, endWithFailure, entryStateQuery, type EntryWorkflowState, type Requested } from './entry-common.js';

export { entryStateQuery };

export interface CreateEntryWorkflowInput extends Requested {
  entry: Entry;
  reason: EntryOperationReason;
  /** Our id for the entry, fixed when the request was first accepted. */
  entryId: string;
  /** BCB RequestId for createEntry, fixed when the request was first accepted. */
  dictRequestId: string;
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
