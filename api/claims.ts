// Claim and portability RPCs. Opening a claim starts a short workflow that creates it in DICT;
// every later decision (confirm, cancel, complete) is a Temporal Update on the claim's long-lived
// workflow for our role, whose validator applies DICT's rules first: a wrong state, role or reason
// is refused at once with DICT's error name, and nothing reaches DICT. Reads come from our
// projection (table `claims`), which the workflows keep current.
import { createHash, randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type UpdateDefinition } from '@temporalio/common';
import type { ClaimPeriods } from '../domain/claims.js';
import type { Claim, ClaimOperationReason, ClaimRole, ClaimStatus, ClaimType, KeyType } from '../domain/types.js';
import { validateClaimDecision, validateStartClaim, type FieldViolation } from '../domain/validation.js';
import * as pb from '../gen/dict/core/v1/service_pb.js';
import * as types from '../gen/dict/core/v1/types_pb.js';
import * as claims from '../store/claims.js';
import { acceptOperation, finishOperation, type OperationRecord } from '../store/operations.js';
import type { ClaimDecision, ClaimWorkflowState } from '../workflows/claim-common.js';
import { claimerCancelUpdate, claimerCompleteUpdate } from '../workflows/claimer-claim.js';
import { donorCancelUpdate, donorConfirmUpdate } from '../workflows/donor-claim.js';
import type { FailureDetail } from '../domain/errors.js';
import { findBusinessFailure } from '../workflows/failures.js';
import type { OpenClaimWorkflowInput } from '../workflows/open-claim.js';
import { fromFailure, invalidArgument, notFound, unavailable } from './errors.js';
import { accountFromProto, accountToProto, enumName, enumValue, personFromProto, personToProto } from './mapping.js';
import { describePrincipal, principalOf } from './principal.js';
import { durationMs, requestHash, type WriteDeps } from './writes.js';

export interface ClaimServiceDeps extends WriteDeps {
  claimPeriods: ClaimPeriods;
}

type ClaimRpcs = Pick<
  ServiceImpl<typeof pb.CoreDictService>,
  | 'startClaim'
  | 'startPortability'
  | 'getClaimStatus'
  | 'listIncomingClaims'
  | 'listOutgoingClaims'
  | 'respondToClaim'
  | 'cancelClaim'
  | 'confirmPortability'
  | 'cancelPortability'
  | 'completeClaim'
>;

const DAY_MS = 86_400_000;
const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

export const openClaimWorkflowId = (participant: string, requestId: string): string => `claim-open/${participant}/${requestId}`;

const ts = (iso: string | undefined) => (iso ? timestampFromDate(new Date(iso)) : undefined);

export function claimToProto(c: claims.ClaimRecord, now = Date.now()): types.Claim {
  const deadline = c.nextDeadline ? Date.parse(c.nextDeadline) : undefined;
  return create(types.ClaimSchema, {
    id: c.id,
    claimId: c.claimId ?? '',
    requestId: c.requestId ?? '',
    type: enumValue(types.ClaimType, c.type),
    key: c.key,
    keyType: enumValue(types.KeyType, c.keyType),
    claimerAccount: accountToProto(c.claimerAccount),
    claimer: personToProto(c.claimer),
    donorParticipant: c.donorParticipant ?? '',
    status: enumValue(types.ClaimStatus, c.status),
    role: enumValue(types.ClaimRole, c.role),
    resolutionPeriodEnd: ts(c.resolutionPeriodEnd),
    completionPeriodEnd: ts(c.completionPeriodEnd),
    claimerDeadline: ts(c.claimerDeadline),
    nextDeadline: ts(c.nextDeadline),
    nextAction: c.nextAction ?? '',
    daysRemaining: deadline === undefined ? 0 : Math.max(0, Math.floor((deadline - now) / DAY_MS)),
    lastModified: ts(c.lastModified),
    confirmReason: enumValue(types.ClaimOperationReason, c.confirmReason),
    cancelReason: enumValue(types.ClaimOperationReason, c.cancelReason),
    cancelledBy: enumValue(types.ClaimRole, c.cancelledBy),
    errorName: c.errorName ?? '',
    errorDetail: c.errorDetail ?? '',
    workflowId: c.workflowId,
  });
}

function check(violations: FieldViolation[], bcbError: 'ClaimInvalid' | 'EntryInvalid' = 'ClaimInvalid'): void {
  if (violations.length) throw invalidArgument(violations, 'request has invalid fields', bcbError);
}

function operationProto(op: OperationRecord, replayed: boolean, done: boolean): types.Operation {
  return create(types.OperationSchema, { requestId: op.requestId, workflowId: op.workflowId, replayed, done });
}

/** Opaque page token bound to its filters, so it cannot be replayed with other filters. */
function pageToken(cursor: claims.ClaimCursor, filterKey: string): string {
  return Buffer.from(JSON.stringify({ c: cursor, f: filterKey })).toString('base64url');
}

function readPageToken(token: string, filterKey: string): claims.ClaimCursor | undefined {
  if (!token) return undefined;
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { c?: { deadline?: unknown; id?: unknown }; f?: unknown };
    const { deadline, id } = t.c ?? {};
    if (t.f === filterKey && typeof deadline === 'string' && typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id) && (deadline === 'infinity' || !Number.isNaN(Date.parse(deadline)))) {
      return { deadline, id };
    }
  } catch {
    // fall through
  }
  throw invalidArgument([{ field: 'page_token', reason: 'INVALID_PAGE_TOKEN', description: 'not a page token of this query' }]);
}

const failureOf = (op: OperationRecord): FailureDetail => op.failure ?? { bcbError: 'InternalServerError', detail: 'failure not recorded', source: 'CORE' };

export function claimService(d: ClaimServiceDeps): ClaimRpcs {
  const waitFor = (req: { waitTimeout?: { seconds: bigint; nanos: number } }) => Math.min(Math.max(0, durationMs(req.waitTimeout)), d.maxWaitMs);

  /** StartClaim / StartPortability: accept (request id), make the claim visible as PENDING, open it in DICT through a workflow. */
  async function start(ctx: HandlerContext, type: ClaimType, req: pb.StartClaimRequest | pb.StartPortabilityRequest) {
    const principal = principalOf(ctx);
    const keyType = enumName<KeyType>(types.KeyType, req.keyType);
    const claimerAccount = accountFromProto(req.claimerAccount);
    const claimer = personFromProto(req.claimer);
    check(validateStartClaim({ requestId: req.requestId, type, keyType, key: req.key, claimerAccount, claimer }, { ourIspb: principal.participant }));
    const claim = { type, key: req.key, keyType: keyType!, claimerAccount, claimer } as Claim;
    const workflowId = openClaimWorkflowId(principal.participant, req.requestId);
    const accepted = await acceptOperation(d.sql, {
      participant: principal.participant,
      requestId: req.requestId,
      operation: type === 'OWNERSHIP' ? 'START_CLAIM' : 'START_PORTABILITY',
      requestHash: requestHash({ kind: type, body: claim }),
      workflowId,
      requestedBy: describePrincipal(principal),
    });
    if (accepted.kind === 'conflict') {
      throw fromFailure({ bcbError: 'RequestIdAlreadyUsed', detail: `request_id was already used for a different ${accepted.operation.operation} request`, source: 'CORE' });
    }
    const op = accepted.operation;
    // Visible at once: the PENDING row exists before the workflow does (a replay re-creates it if we stopped in between).
    const row =
      (await claims.getClaimByRequestId(d.sql, principal.participant, req.requestId)) ??
      (await claims.acceptClaimRequest(d.sql, { id: randomUUID(), participant: principal.participant, requestId: req.requestId, claim, workflowId }));
    if (op.status === 'FAILED') throw fromFailure(failureOf(op));
    let done = op.status === 'COMPLETED';
    if (op.status === 'ACCEPTED') {
      const input: OpenClaimWorkflowInput = {
        participant: principal.participant,
        requestId: req.requestId,
        requestedBy: describePrincipal(principal),
        id: row.id,
        claim,
        periods: d.claimPeriods,
      };
      try {
        await d.temporal.workflow.start('openClaimWorkflow', {
          taskQueue: d.taskQueue,
          workflowId,
          args: [input],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      done = await waitForWorkflow(d.temporal, workflowId, waitFor(req));
    }
    const rec = (await claims.getClaimByRequestId(d.sql, principal.participant, req.requestId)) ?? row;
    return { claim: claimToProto(rec), operation: operationProto(op, accepted.kind === 'replayed', done) };
  }

  /**
   * A decision on a claim of ours: recorded by request id, sent as an Update (updateId = request
   * id, so a retried RPC never makes a second decision), refused at once by its validator when
   * DICT's rules forbid it, and awaited up to wait_timeout.
   */
  async function decide(
    ctx: HandlerContext,
    req: { requestId: string; claimId: string; waitTimeout?: { seconds: bigint; nanos: number } },
    o: {
      kind: string;
      role?: ClaimRole;
      type?: ClaimType;
      reason?: ClaimOperationReason;
      reasonRequired: boolean;
      update: (role: ClaimRole) => UpdateDefinition<ClaimWorkflowState, [ClaimDecision]>;
    },
  ) {
    const principal = principalOf(ctx);
    check(validateClaimDecision({ requestId: req.requestId, claimId: req.claimId, reason: o.reason, reasonRequired: o.reasonRequired }));
    const rec = await claims.getClaimByDictId(d.sql, principal.participant, req.claimId, o.role);
    if (!rec) throw notFound('claim');
    if (o.type && rec.type !== o.type) {
      throw fromFailure({ bcbError: 'ClaimOperationInvalid', detail: `claim ${req.claimId} is ${rec.type}, not ${o.type}`, source: 'CORE' });
    }
    const accepted = await acceptOperation(d.sql, {
      participant: principal.participant,
      requestId: req.requestId,
      operation: 'CLAIM_DECISION',
      requestHash: requestHash({ kind: o.kind, claimId: req.claimId, role: rec.role, reason: o.reason }),
      workflowId: rec.workflowId,
      requestedBy: describePrincipal(principal),
    });
    if (accepted.kind === 'conflict') {
      throw fromFailure({ bcbError: 'RequestIdAlreadyUsed', detail: `request_id was already used for a different ${accepted.operation.operation} request`, source: 'CORE' });
    }
    const op = accepted.operation;
    const replayed = accepted.kind === 'replayed';
    if (op.status === 'FAILED') throw fromFailure(failureOf(op));
    const answer = async (done: boolean) => ({
      claim: claimToProto((await claims.getClaimById(d.sql, rec.id)) ?? rec),
      operation: operationProto(op, replayed, done),
    });
    if (op.status === 'COMPLETED') return answer(true);

    const fail = async (f: FailureDetail): Promise<never> => {
      await finishOperation(d.sql, principal.participant, req.requestId, 'FAILED', f);
      throw fromFailure(f);
    };
    const decision: ClaimDecision = { requestId: req.requestId, ...(o.reason ? { reason: o.reason } : {}), requestedBy: describePrincipal(principal) };
    const handle = d.temporal.workflow.getHandle(rec.workflowId);
    let update;
    const admitted = AbortSignal.timeout(Math.max(waitFor(req), 5_000));
    try {
      update = await d.temporal.withAbortSignal(admitted, () =>
        handle.startUpdate(o.update(rec.role), { args: [decision], updateId: req.requestId, waitForStage: WorkflowUpdateStage.ACCEPTED }),
      );
    } catch (err) {
      if (admitted.aborted) throw unavailable('the claim workflow did not take the decision in time; retry with the same request_id');
      if (err instanceof WorkflowUpdateFailedError) return fail(findBusinessFailure(err) ?? { bcbError: 'ClaimOperationInvalid', detail: err.message, source: 'CORE' });
      if (err instanceof WorkflowNotFoundError) return fail({ bcbError: 'ClaimOperationInvalid', detail: 'the claim is no longer open here', source: 'CORE' });
      throw err;
    }
    const waitMs = waitFor(req);
    if (waitMs === 0) return answer(false);
    const signal = AbortSignal.timeout(waitMs);
    try {
      await d.temporal.withAbortSignal(signal, () => update.result());
    } catch (err) {
      if (signal.aborted) return answer(false);
      const f = findBusinessFailure(err);
      if (f) return fail(f);
      throw new ConnectError(`decision failed: ${(err as Error).message}`, Code.Internal);
    }
    await finishOperation(d.sql, principal.participant, req.requestId, 'COMPLETED');
    return answer(true);
  }

  const reasonOf = (r: number): ClaimOperationReason | undefined => enumName<ClaimOperationReason>(types.ClaimOperationReason, r);
  const roleOf = (r: number): ClaimRole | undefined => enumName<ClaimRole>(types.ClaimRole, r);

  async function list(ctx: HandlerContext, role: ClaimRole, req: pb.ListIncomingClaimsRequest | pb.ListOutgoingClaimsRequest) {
    const { participant } = principalOf(ctx);
    if (req.pageSize < 0 || req.pageSize > MAX_PAGE_SIZE) {
      throw invalidArgument([{ field: 'page_size', reason: 'OUT_OF_RANGE', description: `must be between 0 and ${MAX_PAGE_SIZE}` }]);
    }
    const filter: claims.ClaimListFilter = {
      participant,
      role,
      status: enumName<ClaimStatus | 'PENDING' | 'FAILED'>(types.ClaimStatus, req.status),
      type: enumName<ClaimType>(types.ClaimType, req.type),
    };
    const filterKey = createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 12);
    const page = await claims.listClaims(d.sql, filter, req.pageSize || DEFAULT_PAGE_SIZE, readPageToken(req.pageToken, filterKey));
    const now = Date.now();
    return { claims: page.claims.map((c) => claimToProto(c, now)), nextPageToken: page.next ? pageToken(page.next, filterKey) : '' };
  }

  return {
    startClaim: async (req, ctx) => create(pb.StartClaimResponseSchema, await start(ctx, 'OWNERSHIP', req)),
    startPortability: async (req, ctx) => create(pb.StartPortabilityResponseSchema, await start(ctx, 'PORTABILITY', req)),

    async getClaimStatus(req, ctx) {
      const { participant } = principalOf(ctx);
      let rec: claims.ClaimRecord | undefined;
      switch (req.by.case) {
        case 'claimId':
          if (!/^[0-9a-f-]{36}$/i.test(req.by.value)) throw invalidArgument([{ field: 'claim_id', reason: 'PATTERN', description: 'claim_id must be a UUID' }]);
          rec = await claims.getClaimByDictId(d.sql, participant, req.by.value, roleOf(req.role));
          break;
        case 'requestId':
          rec = await claims.getClaimByRequestId(d.sql, participant, req.by.value);
          break;
        default:
          throw invalidArgument([{ field: 'by', reason: 'REQUIRED', description: 'one of claim_id or request_id is required' }]);
      }
      if (!rec) throw notFound('claim');
      return create(pb.GetClaimStatusResponseSchema, { claim: claimToProto(rec) });
    },

    listIncomingClaims: async (req, ctx) => create(pb.ListIncomingClaimsResponseSchema, await list(ctx, 'DONOR', req)),
    listOutgoingClaims: async (req, ctx) => create(pb.ListOutgoingClaimsResponseSchema, await list(ctx, 'CLAIMER', req)),

    /** Ownership, donor: our user gives the key up (confirm) or proves possession (cancel, FRAUD). */
    async respondToClaim(req, ctx) {
      const reason = reasonOf(req.reason) ?? (req.confirm ? 'USER_REQUESTED' : 'FRAUD');
      const r = await decide(ctx, req, {
        kind: req.confirm ? 'DONOR_CONFIRM' : 'DONOR_CANCEL',
        role: 'DONOR',
        type: 'OWNERSHIP',
        reason,
        reasonRequired: false,
        update: () => (req.confirm ? donorConfirmUpdate : donorCancelUpdate),
      });
      return create(pb.RespondToClaimResponseSchema, r);
    },

    /** Either side cancels (ours is the claimer's unless `role` says donor). */
    async cancelClaim(req, ctx) {
      const r = await decide(ctx, req, {
        kind: 'CANCEL',
        role: roleOf(req.role),
        reason: reasonOf(req.reason),
        reasonRequired: true,
        update: (role) => (role === 'DONOR' ? donorCancelUpdate : claimerCancelUpdate),
      });
      return create(pb.CancelClaimResponseSchema, r);
    },

    async confirmPortability(req, ctx) {
      const r = await decide(ctx, req, {
        kind: 'DONOR_CONFIRM',
        role: 'DONOR',
        type: 'PORTABILITY',
        reason: reasonOf(req.reason) ?? 'USER_REQUESTED',
        reasonRequired: false,
        update: () => donorConfirmUpdate,
      });
      return create(pb.ConfirmPortabilityResponseSchema, r);
    },

    async cancelPortability(req, ctx) {
      const r = await decide(ctx, req, {
        kind: 'CANCEL',
        type: 'PORTABILITY',
        reason: reasonOf(req.reason),
        reasonRequired: true,
        update: (role) => (role === 'DONOR' ? donorCancelUpdate : claimerCancelUpdate),
      });
      return create(pb.CancelPortabilityResponseSchema, r);
    },

    /** Claimer: our user validated possession (ownership), or completing a confirmed portability by hand. */
    async completeClaim(req, ctx) {
      const r = await decide(ctx, req, { kind: 'COMPLETE', role: 'CLAIMER', reasonRequired: false, update: () => claimerCompleteUpdate });
      return create(pb.CompleteClaimResponseSchema, r);
    },
  };
}

/** True when the workflow completed within waitMs; a business failure is thrown as a ConnectError. */
async function waitForWorkflow(temporal: Client, workflowId: string, waitMs: number): Promise<boolean> {
  if (waitMs === 0) return false;
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
