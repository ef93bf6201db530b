// The typed workflow gateway every mutating RPC goes through. Three ways in — start a workflow,
// send an Update to a running one, update-with-start — all idempotent by the client's request
// id (operations table: same id + same body replays; other body → RequestIdAlreadyUsed; a
// replayed failure answers the stored failure), all typed by the workflow function and the
// Update definition (no name strings), all answering the workflow's own result.
//   start            entry writes (CreateKey, UpdateKey, DeleteKey); a claim's start
//   update           a decision sent to a running workflow (validator refusals come back
//                    synchronously as the BCB error they name, and are recorded for replays)
//   updateWithStart  "start the workflow if needed, then apply this" in one round trip
import { createHash, randomUUID } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type SearchAttributePair, type UpdateDefinition, type Workflow, type WorkflowResultType } from '@temporalio/common';
import type { FailureDetail } from '../domain/errors.js';
import type { Sql, Tx } from '../store/db.js';
import { BusinessRuleError } from '../store/errors.js';
import { acceptOperation, finishOperation, type AcceptResult, type OperationKind, type OperationRecord } from '../store/operations.js';
import { findBusinessFailure } from '../workflows/failures.js';
import { callContextOf, type CallContextGovernor } from './call-context.js';
import { fromFailure, notFound, unavailable } from './errors.js';
import { describePrincipal, type Principal } from './principal.js';

export interface GatewayDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  /** Upper bound on how long any RPC waits for a workflow or an Update. */
  maxWaitMs: number;
}

/** What identifies a write for idempotency, and what makes two requests "the same". */
export interface Operation<R = void> {
  principal: Principal;
  requestId: string;
  kind: OperationKind;
  body: unknown;
  workflowId: string;
  /** Fix our entry id and BCB's RequestId once, at first acceptance (operations row). */
  fixIds?: boolean;
  /**
   * Written in the transaction that records the request id, only at first acceptance: what
   * must be visible as soon as the write is accepted (e.g. the PENDING entry). A
   * BusinessRuleError here refuses the request synchronously and is stored as its failure.
   */
  record?: (tx: Tx, op: OperationRecord) => Promise<R>;
}

export interface Outcome<T, R = void> {
  operation: OperationRecord;
  replayed: boolean;
  /** The workflow (or Update) finished before we answered. */
  done: boolean;
  /** Its result, when done and still known to Temporal. */
  result?: T;
  /** What `record` wrote, at first acceptance. */
  recorded?: R;
}

interface StartOptions<W extends Workflow> {
  workflow: W;
  /** Arguments, from the operation as recorded (ids fixed at its first acceptance). */
  args: (op: OperationRecord) => [...Parameters<W>];
  searchAttributes: SearchAttributePair[];
  /** How long the caller is willing to wait for the final state (capped). 0: answer once started. */
  waitMs: number;
}

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

/** Milliseconds of a proto Duration. */
export const durationMs = (d: { seconds: bigint; nanos: number } | undefined): number => {
  const ms = d ? Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6) : 0;
  // A negative or absurd wait is no wait / the longest (callers cap it at their maximum).
  return Number.isFinite(ms) ? Math.max(0, ms) : 0;
};

/** Update ids derive from the request, so a retried RPC is the same Update to Temporal. */
const updateIdOf = (op: OperationRecord): string => `${op.operation}/${op.participant}/${op.requestId}`;

function storedFailure(op: OperationRecord): FailureDetail {
  return op.failure ?? { bcbError: 'InternalServerError', detail: 'failure not recorded', source: 'CORE' };
}

const coreFailure = (err: BusinessRuleError): FailureDetail => ({ bcbError: err.bcbError, detail: err.message, source: 'CORE' });

/** Temporal's gRPC codes that mean "not now" (Connect's Code numbers them as gRPC does). */
const TEMPORAL_TRANSIENT = new Set<number>([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted]);

/**
 * Temporal unreachable, overloaded or too slow (the gRPC error, or the client's error wrapping
 * it): UNAVAILABLE with a fixed text, so the client retries with the same request id (the
 * operation stays accepted and the retry starts or joins the same workflow). Anything else: undefined.
 */
export function temporalUnavailable(err: unknown): ConnectError | undefined {
  const grpc = [err, (err as { cause?: unknown } | undefined)?.cause].find(isGrpcServiceError);
  return grpc && TEMPORAL_TRANSIENT.has(grpc.code) ? unavailable('workflow service unavailable: retry later with the same request_id', 1) : undefined;
}

export class WorkflowGateway {
  /** Temporal's call context is on only while one of our calls needs it (api/call-context.ts). */
  private readonly calls: CallContextGovernor;

  constructor(private readonly d: GatewayDeps) {
    this.calls = callContextOf(d.temporal);
  }

  private cap(waitMs: number): number {
    return Math.min(Math.max(0, waitMs), this.d.maxWaitMs);
  }

  /**
   * Record the request id (and `record`'s rows) in one transaction. Throws RequestIdAlreadyUsed
   * for another body under the same id, and the stored failure for a request that failed.
   */
  private async accept<R>(o: Operation<R>): Promise<{ accepted: AcceptResult; recorded?: R }> {
    const result = await this.d.sql.begin(async (tx) => {
      const accepted = await acceptOperation(tx, {
        participant: o.principal.participant,
        requestId: o.requestId,
        operation: o.kind,
        requestHash: requestHash({ kind: o.kind, body: o.body }),
        workflowId: o.workflowId,
        requestedBy: describePrincipal(o.principal),
        ...(o.fixIds ? { entryId: randomUUID(), dictRequestId: randomUUID() } : {}),
      });
      if (accepted.kind !== 'accepted' || !o.record) return { accepted };
      try {
        return { accepted, recorded: await o.record(tx, accepted.operation) };
      } catch (err) {
        if (!(err instanceof BusinessRuleError)) throw err;
        const failure = coreFailure(err);
        await finishOperation(tx, accepted.operation.participant, accepted.operation.requestId, 'FAILED', failure);
        return { accepted: { kind: 'accepted' as const, operation: { ...accepted.operation, status: 'FAILED' as const, failure } } };
      }
    });
    const { accepted } = result;
    if (accepted.kind === 'conflict') {
      throw fromFailure({
        bcbError: 'RequestIdAlreadyUsed',
        detail: `request_id was already used for a different ${accepted.operation.operation} request`,
        source: 'CORE',
      });
    }
    if (accepted.operation.status === 'FAILED') throw fromFailure(storedFailure(accepted.operation));
    return result as { accepted: AcceptResult; recorded?: R };
  }

  /** Start (or find) the workflow of a write; optionally wait a bounded time for its result. */
  async start<W extends Workflow, R = void>(o: Operation<R> & StartOptions<W>): Promise<Outcome<WorkflowResultType<W>, R>> {
    const { accepted, recorded } = await this.accept(o);
    const op = accepted.operation;
    const replayed = accepted.kind === 'replayed';
    if (op.status === 'ACCEPTED') {
      // Also on a replay: an earlier attempt may have stopped between recording and starting.
      try {
        // Bounded: a stuck frontend must not hold the RPC (and its admission slot) for ever.
        await this.calls.run(() =>
          this.d.temporal.withDeadline(Date.now() + this.d.maxWaitMs, () => this.d.temporal.workflow.start(o.workflow, {
            taskQueue: this.d.taskQueue,
            workflowId: o.workflowId,
            args: o.args(op),
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
            typedSearchAttributes: o.searchAttributes,
          } as unknown as WorkflowStartOptions<W>)),
        );
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw temporalUnavailable(err) ?? err;
      }
    }
    const handle = this.d.temporal.workflow.getHandle<W>(o.workflowId);
    if (op.status === 'COMPLETED') {
      // Completed earlier: its result if Temporal still has it (retention), done either way.
      const r = await this.waitFor(() => handle.result(), 2_000).catch(() => undefined);
      return { operation: op, replayed, done: true, result: r?.kind === 'done' ? r.value : undefined, recorded };
    }
    const waitMs = this.cap(o.waitMs);
    if (waitMs === 0) return { operation: op, replayed, done: false, recorded };
    const r = await this.waitFor(() => handle.result(), waitMs);
    if (r.kind === 'done') return { operation: op, replayed, done: true, result: r.value, recorded };
    return { operation: op, replayed, done: false, recorded };
  }

  /**
   * Send an Update to a running workflow and wait (bounded) for its result. A refusal by the
   * Update's validator or handler (a non-retryable ApplicationFailure named after a BCB error)
   * answers that error at once and is stored, so a replay answers the same.
   */
  async update<Ret, Args extends unknown[], R = void>(
    o: Operation<R> & { update: UpdateDefinition<Ret, Args>; args: Args; waitMs?: number },
  ): Promise<Outcome<Ret, R>> {
    const { accepted, recorded } = await this.accept(o);
    const op = accepted.operation;
    const handle: WorkflowHandle = this.d.temporal.workflow.getHandle(o.workflowId);
    return this.settleUpdate(op, accepted.kind === 'replayed', recorded, o.waitMs, () =>
      handle.executeUpdate(o.update as unknown as UpdateDefinition<Ret, [unknown]>, { args: o.args as unknown as [unknown], updateId: updateIdOf(op) }),
    );
  }

  /** Start the workflow unless it runs already, and send it an Update, in one round trip. */
  async updateWithStart<W extends Workflow, Ret, Args extends unknown[], R = void>(
    o: Operation<R> & Omit<StartOptions<W>, 'waitMs'> & { update: UpdateDefinition<Ret, Args>; updateArgs: Args; waitMs?: number },
  ): Promise<Outcome<Ret, R>> {
    const { accepted, recorded } = await this.accept(o);
    const op = accepted.operation;
    const startWorkflowOperation = new WithStartWorkflowOperation(o.workflow, {
      taskQueue: this.d.taskQueue,
      workflowId: o.workflowId,
      args: o.args(op),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: o.searchAttributes,
    } as unknown as WorkflowStartOptions<W> & { workflowIdConflictPolicy: WorkflowIdConflictPolicy });
    return this.settleUpdate(op, accepted.kind === 'replayed', recorded, o.waitMs, () =>
      this.d.temporal.workflow.executeUpdateWithStart(o.update as unknown as UpdateDefinition<Ret, [unknown]>, {
        args: o.updateArgs as unknown as [unknown],
        updateId: updateIdOf(op),
        startWorkflowOperation,
      }),
    );
  }

  private async settleUpdate<Ret, R>(op: OperationRecord, replayed: boolean, recorded: R | undefined, waitMs: number | undefined, send: () => Promise<Ret>): Promise<Outcome<Ret, R>> {
    if (op.status === 'COMPLETED') {
      // Applied earlier: the same Update id answers its result while the workflow runs; once it
      // has closed, the operation is still done.
      const r = await this.waitFor(send, 2_000).catch(() => undefined);
      return { operation: op, replayed, done: true, result: r?.kind === 'done' ? r.value : undefined, recorded };
    }
    const r = await this.waitFor(send, this.cap(waitMs ?? this.d.maxWaitMs), async (f) => {
      await finishOperation(this.d.sql, op.participant, op.requestId, 'FAILED', f);
    });
    if (r.kind === 'timeout') return { operation: op, replayed, done: false, recorded };
    await finishOperation(this.d.sql, op.participant, op.requestId, 'COMPLETED');
    return { operation: { ...op, status: 'COMPLETED' }, replayed, done: true, result: r.value, recorded };
  }

  /**
   * Run `fn` with a deadline. A business failure (workflow, Update validator or handler) becomes
   * its BCB error, after `onFailure` (e.g. storing it); anything else is Internal.
   */
  private async waitFor<T>(fn: () => Promise<T>, waitMs: number, onFailure?: (f: FailureDetail) => Promise<void>): Promise<{ kind: 'done'; value: T } | { kind: 'timeout' }> {
    const signal = AbortSignal.timeout(Math.max(1, waitMs));
    try {
      return { kind: 'done', value: await this.calls.run(() => this.d.temporal.withAbortSignal(signal, fn)) };
    } catch (err) {
      if (signal.aborted) return { kind: 'timeout' };
      if (err instanceof WorkflowNotFoundError) throw notFound('workflow');
      const f = findBusinessFailure(err instanceof WorkflowUpdateFailedError ? err.cause : err);
      if (f) {
        await onFailure?.(f);
        throw fromFailure(f);
      }
      // Not a business failure: Temporal unavailable is UNAVAILABLE (retry); the rest the
      // recovery interceptor logs and answers Internal with the request id only.
      throw temporalUnavailable(err) ?? err;
    }
  }
}
