// deleteEntryWorkflow: remove a live key from DICT, then mark our record DELETED (back to ACTIVE
// when DICT refuses). Workflow code: see entry-common.ts.
import { setHandler } from '@temporalio/workflow';
import type { EntryOperationReason } from '../domain/types.js';
import type { EntryRecord } from '../store/entries.js';
import { db, dict, endWithFailure, entryStateQuery, type EntryWorkflowState, type Requested } from './entry-common.js';

export { entryStateQuery };

export interface DeleteEntryWorkflowInput extends Requested {
  key: string;
  reason: EntryOperationReason;
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
