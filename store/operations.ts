// Idempotency of writes by the client's request id (scoped to the calling participant).
import { toBcbErrorName, type FailureDetail } from '../domain/errors.js';
import type { Db } from './db.js';
import { iso } from './db.js';

export type OperationKind = 'CREATE_ENTRY' | 'UPDATE_ENTRY' | 'DELETE_ENTRY' | 'START_CLAIM' | 'START_PORTABILITY' | 'CLAIM_DECISION';
export type OperationStatus = 'ACCEPTED' | 'COMPLETED' | 'FAILED';

export interface OperationRecord {
  participant: string;
  requestId: string;
  operation: OperationKind;
  requestHash: string;
  workflowId: string;
  requestedBy: string;
  entryId?: string;
  /** CREATE_ENTRY: the BCB RequestId every attempt sends. */
  dictRequestId?: string;
  status: OperationStatus;
  failure?: FailureDetail;
  createdAt: string;
}

interface OperationRow {
  participant: string;
  request_id: string;
  operation: OperationKind;
  request_hash: string;
  workflow_id: string;
  requested_by: string;
  entry_id: string | null;
  dict_request_id: string | null;
  status: OperationStatus;
  failure: FailureDetail | null;
  created_at: Date;
}

const toRecord = (r: OperationRow): OperationRecord => ({
  participant: r.participant,
  requestId: r.request_id,
  operation: r.operation,
  requestHash: r.request_hash,
  workflowId: r.workflow_id,
  requestedBy: r.requested_by,
  entryId: r.entry_id ?? undefined,
  dictRequestId: r.dict_request_id ?? undefined,
  status: r.status,
  // Stored JSON is data, not a type guarantee: its name is narrowed like DICT's.
  failure: r.failure ? { ...r.failure, bcbError: toBcbErrorName(r.failure.bcbError, r.failure.status) } : undefined,
  createdAt: iso(r.created_at)!,
});

export type AcceptResult =
  | { kind: 'accepted'; operation: OperationRecord }
  | { kind: 'replayed'; operation: OperationRecord }
  | { kind: 'conflict'; operation: OperationRecord };

/**
 * Record a write request. The first caller wins; a later one with the same request id gets the
 * stored operation back (replay) or, if its body differs, a conflict. Safe under concurrency:
 * the primary key decides.
 */
export async function acceptOperation(
  db: Db,
  o: Pick<OperationRecord, 'participant' | 'requestId' | 'operation' | 'requestHash' | 'workflowId' | 'requestedBy' | 'entryId' | 'dictRequestId'>,
): Promise<AcceptResult> {
  const inserted = await db<OperationRow[]>`
    insert into operations (participant, request_id, operation, request_hash, workflow_id, requested_by, entry_id, dict_request_id)
    values (${o.participant}, ${o.requestId}, ${o.operation}, ${o.requestHash}, ${o.workflowId}, ${o.requestedBy},
            ${o.entryId ?? null}, ${o.dictRequestId ?? null})
    on conflict (participant, request_id) do nothing
    returning *`;
  if (inserted[0]) return { kind: 'accepted', operation: toRecord(inserted[0]) };
  const existing = await getOperation(db, o.participant, o.requestId);
  if (!existing) throw new Error('operation vanished after conflict');
  const same = existing.requestHash === o.requestHash && existing.operation === o.operation;
  return { kind: same ? 'replayed' : 'conflict', operation: existing };
}

export async function getOperation(db: Db, participant: string, requestId: string): Promise<OperationRecord | undefined> {
  const rows = await db<OperationRow[]>`
    select * from operations where participant = ${participant} and request_id = ${requestId}`;
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export async function finishOperation(
  db: Db,
  participant: string,
  requestId: string,
  status: Exclude<OperationStatus, 'ACCEPTED'>,
  failure?: FailureDetail,
  entryId?: string,
): Promise<void> {
  await db`
    update operations
       set status = ${status}, error_name = ${failure?.bcbError ?? null}, error_detail = ${failure?.detail ?? null},
           failure = ${failure ? db.json(failure as never) : null},
           entry_id = coalesce(${entryId ?? null}::uuid, entry_id), updated_at = now()
     where participant = ${participant} and request_id = ${requestId}`;
}
