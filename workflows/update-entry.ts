// updateEntryWorkflow: change a live key's account or owner data in DICT, then in our record
// (applied in DICT's order). Workflow code: see entry-common.ts.
import { setHandler } from '@temporalio/workflow';
import type { BrazilianAccount, EntryOperationReason, Person } from '../domain/types.js';
import type { EntryRecord } from '../store/entries.js';
import { db, dict, endWithFailure, entryStateQuery, type EntryWorkflowState, type Requested } from './entry-common.js';

export { entryStateQuery };

export interface UpdateEntryWorkflowInput extends Requested {
  key: string;
  account: BrazilianAccount;
  owner: Person;
  reason: EntryOperationReason;
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
