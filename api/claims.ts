// Claim and portability RPCs. Opening a claim starts a short workflow that creates it in DICT;
// every later decision (confirm, cancel, complete) is a Temporal Update on the claim's long-lived
// workflow for our role, whose validator applies DICT's rules first: a wrong state, role or reason
// is refused at once with DICT's error name, and nothing reaches DICT. Reads come from our
// projection (table `claims`), which the workflows keep current.
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { UpdateDefinition } from '@temporalio/common';
import { BCB_CLAIM_PERIODS, type ClaimPeriods } from '../domain/claims.js';
import type { BrazilianAccount, Claim, ClaimOperationReason, ClaimRole, ClaimStatus, ClaimType, KeyType } from '../domain/types.js';
import { validateClaimDecision, validateStartClaim, type FieldViolation } from '../domain/validation.js';
import * as pb from '../gen/dict/core/v1/service_pb.js';
import * as types from '../gen/dict/core/v1/types_pb.js';
import * as claims from '../store/claims.js';
import { stableUuid } from '../store/ids.js';
import type { ClaimDecision, ClaimWorkflowState } from '../workflows/claim-messages.js';
import { claimerCancelUpdate, claimerCompleteUpdate } from '../workflows/claimer-claim.js';
import { donorCancelUpdate, donorConfirmUpdate } from '../workflows/donor-claim.js';
import { openClaimWorkflow, type OpenClaimWorkflowInput } from '../workflows/open-claim.js';
import { claimSearchAttributes } from '../workflows/search-attributes.js';
import { fromFailure, invalidArgument, notFound } from './errors.js';
import { accountFromProto, accountToProto, enumName, enumValue, personFromProto, personToProto } from './mapping.js';
import { customerTaxId, ownsClaim, requireOwnAccount, requireSecondFactor, requireSelf, type AccountRegistryMode } from './authorization.js';
import { permissionDenied } from './auth.js';
import { describePrincipal, principalOf } from './principal.js';
import { durationMs, WorkflowGateway, type GatewayDeps, type Outcome } from './gateway.js';

export interface ClaimServiceDeps extends GatewayDeps {
  /** BCB's periods, as our workflows assume them (default: BCB's 7/7/30 days). */
  claimPeriods?: ClaimPeriods;
  /** Whether a customer's claimer account is checked against the account registry (ACCOUNT_REGISTRY; default enforce). */
  accountRegistry?: AccountRegistryMode;
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

function operationProto(o: Outcome<unknown, unknown>): types.Operation {
  return create(types.OperationSchema, { requestId: o.operation.requestId, workflowId: o.operation.workflowId, replayed: o.replayed, done: o.done });
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

export function claimService(d: ClaimServiceDeps): ClaimRpcs {
  const gateway = new WorkflowGateway(d);

  /** StartClaim / StartPortability: accept (request id) with the claim visible as PENDING in the same transaction; open it in DICT through a workflow. */
  async function start(ctx: HandlerContext, type: ClaimType, req: pb.StartClaimRequest | pb.StartPortabilityRequest) {
    const principal = principalOf(ctx);
    const keyType = enumName<KeyType>(types.KeyType, req.keyType);
    const claimerAccount = accountFromProto(req.claimerAccount);
    const claimer = personFromProto(req.claimer);
    check(validateStartClaim({ requestId: req.requestId, type, keyType, key: req.key, claimerAccount, claimer }, { ourIspb: principal.participant }));
    requireSelf(principal, claimer?.taxIdNumber, 'the claimer');
    if (d.accountRegistry !== 'off') await requireOwnAccount(d.sql, principal, claimerAccount as BrazilianAccount, 'the claimer account', req.requestId, 'claimer_account');
    const claim = { type, key: req.key, keyType: keyType!, claimerAccount, claimer } as Claim;
    const workflowId = openClaimWorkflowId(principal.participant, req.requestId);
    // Our id of the claim, the same for every attempt of this request.
    const id = stableUuid('claim', principal.participant, req.requestId);
    const input: OpenClaimWorkflowInput = { participant: principal.participant, requestId: req.requestId, requestedBy: describePrincipal(principal), id, claim, periods: d.claimPeriods ?? BCB_CLAIM_PERIODS };
    const outcome = await gateway.start({
      principal,
      requestId: req.requestId,
      kind: type === 'OWNERSHIP' ? 'START_CLAIM' : 'START_PORTABILITY',
      workflow: openClaimWorkflow,
      workflowId,
      record: (tx) => claims.acceptClaimRequest(tx, { id, participant: principal.participant, requestId: req.requestId, claim, workflowId }),
      args: () => [input],
      body: claim,
      searchAttributes: claimSearchAttributes({ claimType: type, role: 'CLAIMER', status: 'OPEN', keyType: claim.keyType }),
      waitMs: durationMs(req.waitTimeout),
    });
    const rec = (await claims.getClaimById(d.sql, id)) ?? outcome.recorded;
    if (!rec) throw notFound('claim');
    return { claim: claimToProto(rec), operation: operationProto(outcome) };
  }

  /**
   * A decision on a claim of ours: recorded by request id, sent as an Update (its id derived from
   * the request, so a retried RPC never makes a second decision), refused at once by its
   * validator when DICT's rules forbid it, and awaited up to wait_timeout.
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
    requireSecondFactor(principal, o.kind);
    const rec = await claims.getClaimByDictId(d.sql, principal.participant, req.claimId, o.role);
    if (!rec) throw notFound('claim');
    if (!ownsClaim(principal, rec)) throw permissionDenied('a customer can only decide on their own claims');
    if (o.type && rec.type !== o.type) {
      throw fromFailure({ bcbError: 'ClaimOperationInvalid', detail: `claim ${req.claimId} is ${rec.type}, not ${o.type}`, source: 'CORE' });
    }
    const decision: ClaimDecision = { requestId: req.requestId, ...(o.reason ? { reason: o.reason } : {}), requestedBy: describePrincipal(principal) };
    const outcome = await gateway
      .update({
        principal,
        requestId: req.requestId,
        kind: 'CLAIM_DECISION',
        body: { kind: o.kind, claimId: req.claimId, role: rec.role, reason: o.reason },
        workflowId: rec.workflowId,
        update: o.update(rec.role),
        args: [decision],
        waitMs: durationMs(req.waitTimeout),
      })
      .catch((err: unknown) => {
        // The claim's workflow has ended: the claim is final, nothing more can be decided.
        if (err instanceof ConnectError && err.code === Code.NotFound) {
          throw fromFailure({ bcbError: 'ClaimOperationInvalid', detail: `the claim is ${rec.status}: no decision can change it`, source: 'CORE' });
        }
        throw err;
      });
    return { claim: claimToProto((await claims.getClaimById(d.sql, rec.id)) ?? rec), operation: operationProto(outcome) };
  }

  const reasonOf = (r: number): ClaimOperationReason | undefined => enumName<ClaimOperationReason>(types.ClaimOperationReason, r);
  const roleOf = (r: number): ClaimRole | undefined => enumName<ClaimRole>(types.ClaimRole, r);

  async function list(ctx: HandlerContext, role: ClaimRole, req: pb.ListIncomingClaimsRequest | pb.ListOutgoingClaimsRequest) {
    const principal = principalOf(ctx);
    const { participant } = principal;
    if (req.pageSize < 0 || req.pageSize > MAX_PAGE_SIZE) {
      throw invalidArgument([{ field: 'page_size', reason: 'OUT_OF_RANGE', description: `must be between 0 and ${MAX_PAGE_SIZE}` }]);
    }
    const filter: claims.ClaimListFilter = {
      participant,
      role,
      status: enumName<ClaimStatus | 'PENDING' | 'FAILED'>(types.ClaimStatus, req.status),
      type: enumName<ClaimType>(types.ClaimType, req.type),
      // A customer sees only the claims they are party to.
      partyTaxId: customerTaxId(principal),
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
      const principal = principalOf(ctx);
      const { participant } = principal;
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
      if (!rec || !ownsClaim(principal, rec)) throw notFound('claim');
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
