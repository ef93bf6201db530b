// The messages and ids the claimer and donor workflows share, apart from their loop: the signal
// by which the poller hands them DICT's latest view, the state query, the workflow id, their
// input and a decision's shape. No activity proxies here, so the API, the activities (the
// poller's hand-over) and benchmarks may import it. Pure definitions: workflow code imports it.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ClaimPlan, ClaimProgress } from '../domain/claim-plan.js';
import type { ClaimPeriods } from '../domain/claims.js';
import type { FailureDetail } from '../domain/errors.js';
import type { ClaimOperationReason, ClaimRole, ExtendedClaim } from '../domain/types.js';

/** Workflow id of our side of a DICT claim: one per participant, claim and role. */
export const claimWorkflowId = (participant: string, claimId: string, role: ClaimRole): string => `claim/${participant}/${claimId}/${role}`;

/** The poller (or the opening workflow) hands over DICT's latest view of the claim. */
export const dictClaimChangedSignal = defineSignal<[ExtendedClaim]>('dictClaimChanged');

export interface ClaimWorkflowState {
  role: ClaimRole;
  claim: ExtendedClaim;
  /** Our projection row id. */
  id: string;
  plan: ClaimPlan;
  /** Ownership claimer: the 30th day. */
  claimerDeadline?: string;
  lastFailure?: FailureDetail;
}

export const claimStateQuery = defineQuery<ClaimWorkflowState>('claimState');

export interface ClaimWorkflowInput {
  participant: string;
  role: ClaimRole;
  /** DICT's view when the workflow was started. */
  claim: ExtendedClaim;
  periods: ClaimPeriods;
  /** Our projection row (the accepted StartClaim's); a new one when absent. */
  id?: string;
  /** StartClaim/StartPortability request id, for the claimer's completed entry. */
  requestId?: string;
  /** Pause after an automatic action DICT refused, before looking again (default 1 min, doubling). */
  retryAfterRefusalMs?: number;
  /** Longest wait without news (and no action of ours due) before asking DICT for the claim itself (default 24 h). */
  refreshMs?: number;
  /** Carried across continue-as-new: what we did that DICT's view does not show. */
  progress?: ClaimProgress;
}

/** A user's decision, as the API sends it in an Update. */
export interface ClaimDecision {
  /** Client request id of the RPC (audit; idempotency is the API's). */
  requestId: string;
  reason?: ClaimOperationReason;
  requestedBy: string;
}
