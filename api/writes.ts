// The write path shared by every mutating RPC: record the request id (idempotency), start or
// find its workflow, and optionally wait a bounded time for the outcome.
import { createHash, randomUUID } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import type { Sql } from '../store/db.js';
import { acceptOperation, type OperationKind, type OperationRecord } from '../store/operations.js';
import type { FailureDetail } from '../domain/errors.js';
import { findBusinessFailure } from '../workflows/failures.js';
import { fromFailure } from './errors.js';
import { describePrincipal, type Principal } from './principal.js';

/** Stable hash of a request body: same body, same hash, whatever the key order. */
export function requestHash(body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, x]) => [k, canonical(x)]),
          )
        : v;
  return createHash('sha256').update(JSON.stringify(canonical(body))).digest('hex');
}

export interface WriteDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  maxWaitMs: number;
}

export interface WriteRequest {
  principal: Principal;
  requestId: string;
  kind: OperationKind;
  workflowType: string;
  workflowId: string;
  /** Workflow arguments, from the operation as recorded (ids fixed at its first acceptance). */
  args: (op: OperationRecord) => unknown[];
  /** CREATE_ENTRY: fix our entry id and BCB's RequestId once, at first acceptance. */
  fixIds?: boolean;
  /** What makes two requests "the same" for idempotency. */
  body: unknown;
  searchAttributes: SearchAttributePair[];
  /** How long the caller is willing to wait for the final state, in ms (capped). */
  waitMs: number;
}

export interface WriteOutcome {
  operation: OperationRecord;
  replayed: boolean;
  /** The workflow finished (successfully) before we answered. */
  done: boolean;
}

export async function submitWrite(d: WriteDeps, w: WriteRequest): Promise<WriteOutcome> {
  const accepted = await acceptOperation(d.sql, {
    participant: w.principal.participant,
    requestId: w.requestId,
    operation: w.kind,
    requestHash: requestHash({ kind: w.kind, body: w.body }),
    workflowId: w.workflowId,
    requestedBy: describePrincipal(w.principal),
    ...(w.fixIds ? { entryId: randomUUID(), dictRequestId: randomUUID() } : {}),
  });
  if (accepted.kind === 'conflict') {
    throw fromFailure({
      bcbError: 'RequestIdAlreadyUsed',
      detail: `request_id was already used for a different ${accepted.operation.operation} request`,
      source: 'CORE',
    });
  }
  const op = accepted.operation;
  if (op.status === 'FAILED') throw fromFailure(storedFailure(op));
  if (op.status === 'ACCEPTED') {
    // Also on a replay: an earlier attempt may have stopped between recording and starting.
    try {
      await d.temporal.workflow.start(w.workflowType, {
        taskQueue: d.taskQueue,
        workflowId: w.workflowId,
        args: w.args(op),
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: w.searchAttributes,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  const replayed = accepted.kind === 'replayed';
  if (op.status === 'COMPLETED') return { operation: op, replayed, done: true };
  const waitMs = Math.min(Math.max(0, w.waitMs), d.maxWaitMs);
  if (waitMs === 0) return { operation: op, replayed, done: false };
  const done = await waitForResult(d.temporal, w.workflowId, waitMs);
  return { operation: op, replayed, done };
}

/** True when the workflow completed in time; throws its business failure as a ConnectError. */
async function waitForResult(temporal: Client, workflowId: string, waitMs: number): Promise<boolean> {
  const signal = AbortSignal.timeout(waitMs);
  try {
    await temporal.withAbortSignal(signal, () => temporal.workflow.getHandle(workflowId).result());
    return true;
  } catch (err) {
    if (signal.aborted) return false;
    const f = findBusinessFailure(err);
    if (f) throw fromFailure(f);
    throw new ConnectError(`operation failed: ${(err as Error).message}`, Code.Internal);
  }
}

function storedFailure(op: OperationRecord): FailureDetail {
  return op.failure ?? { bcbError: 'InternalServerError', detail: 'failure not recorded', source: 'CORE' };
}

/** Milliseconds of a proto Duration. */
export const durationMs = (d: { seconds: bigint; nanos: number } | undefined): number =>
  d ? Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6) : 0;
