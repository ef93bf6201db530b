// The loop the claimer and donor workflows share: it serialises DICT calls (automatic ones at
// DICT's deadlines, and users' decisions arriving as Temporal Updates) and keeps our projection
// and search attributes current. Their shared messages and ids are in claim-messages.ts.
// Workflow code: deterministic, imports only @temporalio/workflow, pure modules and types.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { planClaim, type ClaimAction, type ClaimProgress } from '../domain/claim-plan.js';
import { checkClaimOperation, claimerDeadline, claimOpenedAt, isFinalClaimStatus, type ClaimCheck, type ClaimOperation } from '../domain/claims.js';
import type { FailureDetail } from '../domain/errors.js';
import type { ClaimOperationReason, ExtendedClaim } from '../domain/types.js';
import type { ClaimRecord } from '../store/claims.js';
import { dictCalls, postgresSteps } from './activities.js';
import { claimStateQuery, dictClaimChangedSignal, type ClaimWorkflowInput, type ClaimWorkflowState } from './claim-messages.js';
import { findBusinessFailure } from './failures.js';
import { ClaimRoleAttr, ClaimStatusAttr, ClaimTypeAttr, DictKeyType, NextDeadline } from './search-attributes.js';

export type QueuedAction =
  | { kind: 'CONFIRM'; reason: ClaimOperationReason }
  | { kind: 'CANCEL'; reason: ClaimOperationReason }
  | { kind: 'COMPLETE' }
  | { kind: 'ACKNOWLEDGE' }
  /** Ours only: tell our user (outbox event) to validate possession. */
  | { kind: 'ASK_POSSESSION_VALIDATION' };

const db = postgresSteps();
const dict = dictCalls();

export function businessFailure(err: unknown): FailureDetail | undefined {
  return err instanceof ActivityFailure ? findBusinessFailure(err) : undefined;
}

/** An Update validator's refusal: DICT's error name, before DICT is asked. */
export function refuseUnless(check: ClaimCheck): void {
  if (check.ok) return;
  const f: FailureDetail = { bcbError: check.error, detail: check.detail, source: 'CORE' };
  throw ApplicationFailure.create({ type: check.error, message: check.detail, nonRetryable: true, details: [f] });
}

function actionOf(a: ClaimAction): QueuedAction {
  switch (a) {
    case 'ACKNOWLEDGE':
      return { kind: 'ACKNOWLEDGE' };
    case 'CONFIRM_DEFAULT_OPERATION':
      return { kind: 'CONFIRM', reason: 'DEFAULT_OPERATION' };
    case 'CANCEL_DEFAULT_OPERATION':
      return { kind: 'CANCEL', reason: 'DEFAULT_OPERATION' };
    case 'COMPLETE':
      return { kind: 'COMPLETE' };
    case 'ASK_POSSESSION_VALIDATION':
      return { kind: 'ASK_POSSESSION_VALIDATION' };
  }
}

/**
 * One claim, one role. Serialises every DICT call: automatic ones come from planClaim at DICT's
 * deadlines; users' decisions are queued by Update handlers, which wait for their outcome.
 */
export class ClaimRunner {
  readonly state: ClaimWorkflowState;
  private readonly queue: { action: QueuedAction; done?: { claim?: ExtendedClaim; failure?: FailureDetail } }[] = [];
  private changed = false;
  private completedEntry?: { entryId: string; dictRequestId: string; creationDate: string; keyOwnershipDate: string };
  /** What we did that DICT's view does not show (kept across continue-as-new). */
  private readonly progress: ClaimProgress;

  constructor(private readonly input: ClaimWorkflowInput) {
    this.state = {
      role: input.role,
      claim: input.claim,
      id: input.id ?? uuid4(),
      plan: {},
      ...(input.role === 'CLAIMER' && input.claim.type === 'OWNERSHIP' ? { claimerDeadline: claimerDeadline(input.claim, input.periods) } : {}),
    };
    this.progress = { ...input.progress };
    setHandler(dictClaimChangedSignal, (c) => this.observe(c));
    setHandler(claimStateQuery, () => this.state);
  }

  get claim(): ExtendedClaim {
    return this.state.claim;
  }

  /** DICT's rules for a decision of ours on the claim as we last saw it (a reason is required where the op takes one). */
  check(o: { op: 'confirm' | 'cancel'; reason?: ClaimOperationReason } | { op: 'complete' }): ClaimCheck {
    if (o.op !== 'complete' && !o.reason) return { ok: false, error: 'InvalidReason', detail: 'a reason is required' };
    const op: ClaimOperation = o.op === 'complete' ? { op: 'complete' } : { op: o.op, reason: o.reason! };
    return checkClaimOperation({ ...op, claim: this.claim, actorRole: this.input.role, now: new Date(Date.now()).toISOString(), periods: this.input.periods });
  }

  /** DICT's newer view replaces ours (DICT's LastModified orders them). */
  observe(c: ExtendedClaim): void {
    if (c.id !== this.claim.id) return;
    if (Date.parse(c.lastModified) < Date.parse(this.claim.lastModified)) return;
    if (c.status === this.claim.status && c.lastModified === this.claim.lastModified) return;
    this.state.claim = c;
    this.changed = true;
  }

  /** Called by an Update handler (after its validator): queue the decision and wait for DICT's answer. */
  async decide(action: QueuedAction): Promise<ClaimWorkflowState> {
    const item: (typeof this.queue)[number] = { action };
    this.queue.push(item);
    await condition(() => item.done !== undefined);
    if (item.done?.failure) {
      const f = item.done.failure;
      throw ApplicationFailure.create({ type: f.bcbError, message: f.detail ?? f.bcbError, nonRetryable: true, details: [f] });
    }
    return this.state;
  }

  async run(): Promise<ClaimWorkflowState> {
    await this.record();
    let refusals = 0;
    while (!isFinalClaimStatus(this.claim.status)) {
      // A long-lived claim keeps its history short: the same claim, our row, in a new run.
      if (workflowInfo().continueAsNewSuggested && !this.pending()) {
        await condition(allHandlersFinished);
        await continueAsNew<(i: ClaimWorkflowInput) => Promise<ClaimWorkflowState>>({ ...this.input, claim: this.claim, id: this.state.id, progress: this.progress });
      }
      const next = this.queue.find((q) => q.done === undefined);
      if (next) {
        next.done = await this.perform(next.action);
        await this.record();
        continue;
      }
      const plan = planClaim(this.input.role, this.claim, Date.now(), this.input.periods, this.progress);
      this.state.plan = plan;
      if (plan.due) {
        const outcome = await this.perform(actionOf(plan.due));
        await this.record();
        if (outcome.failure) {
          // DICT refused an automatic step (e.g. clocks apart at a deadline): look again later,
          // backing off (1 min, 2, 4 … up to the refresh interval).
          const backoff = Math.min((this.input.retryAfterRefusalMs ?? 60_000) * 2 ** refusals++, this.refreshMs);
          await condition(() => this.changed || this.pending(), backoff);
          this.changed = false;
        } else refusals = 0;
        continue;
      }
      // Wait for DICT's next view (the poller), a decision, or the next deadline. With no action of
      // ours due at that deadline, never longer than the refresh interval: a view the poller
      // missed (a poller outage) is then fetched from DICT (backstop).
      const untilDeadline = plan.deadline ? Math.max(1, Date.parse(plan.deadline) - Date.now()) : Infinity;
      const ours = plan.onDeadline !== undefined && plan.onDeadline !== 'AWAIT_USER' && plan.onDeadline !== 'CLOSING_PERIOD_END';
      const waitMs = ours ? untilDeadline : Math.min(untilDeadline, this.refreshMs);
      const woke = await condition(() => this.changed || this.pending(), waitMs);
      if (!woke && waitMs < untilDeadline) this.observe(await dict.getClaimFromDict({ claimId: this.claim.id }));
      this.changed = false;
      // The plan (and its deadline, shown in lists and search attributes) moved on either way.
      await this.record();
    }
    // Decisions that lost the race with the end are answered before the workflow completes.
    for (const q of this.queue) q.done ??= { failure: { bcbError: 'ClaimOperationInvalid', detail: `claim is ${this.claim.status}`, source: 'CORE' } };
    await condition(allHandlersFinished);
    return this.state;
  }

  /** Longest wait without news and without an action of ours due, before asking DICT (default 24 h). */
  private get refreshMs(): number {
    return this.input.refreshMs ?? 24 * 3_600_000;
  }

  private pending(): boolean {
    return this.queue.some((q) => q.done === undefined);
  }

  /** One DICT call; DICT's answer becomes our view. A business refusal is returned, not thrown. */
  private async perform(action: QueuedAction): Promise<{ claim?: ExtendedClaim; failure?: FailureDetail }> {
    const ref = { claimId: this.claim.id, participant: this.input.participant };
    if (action.kind === 'ASK_POSSESSION_VALIDATION') {
      await db.recordClaimEvent({ id: this.state.id, eventType: 'ClaimPossessionValidationRequested' });
      this.progress.possessionAsked = true;
      return {};
    }
    try {
      let claim: ExtendedClaim;
      switch (action.kind) {
        case 'ACKNOWLEDGE':
          claim = await dict.acknowledgeClaimInDict(ref);
          break;
        case 'CONFIRM':
          claim = await dict.confirmClaimInDict({ ...ref, reason: action.reason });
          break;
        case 'CANCEL':
          claim = await dict.cancelClaimInDict({ ...ref, reason: action.reason, role: this.input.role });
          break;
        case 'COMPLETE': {
          const done = await dict.completeClaimInDict(ref);
          claim = done.claim;
          this.completedEntry = { entryId: done.entryId, dictRequestId: done.dictRequestId, creationDate: done.entryCreationDate, keyOwnershipDate: done.keyOwnershipDate };
          break;
        }
      }
      this.state.lastFailure = undefined;
      this.observe(claim);
      this.changed = false;
      return { claim };
    } catch (err) {
      const f = businessFailure(err);
      if (!f) throw err;
      this.state.lastFailure = f;
      // Our view may be stale (that is usually why DICT refused): take DICT's.
      this.observe(await dict.getClaimFromDict(ref));
      this.changed = false;
      return { failure: f };
    }
  }

  /** Projection row + entry effects + outbox event (one transaction), then search attributes. */
  private async record(): Promise<void> {
    const plan = isFinalClaimStatus(this.claim.status) ? {} : planClaim(this.input.role, this.claim, Date.now(), this.input.periods, this.progress);
    this.state.plan = plan;
    const nextDeadline = plan.due ? new Date(Date.now()).toISOString() : plan.deadline;
    const rec: ClaimRecord = await db.recordClaim({
      id: this.state.id,
      participant: this.input.participant,
      role: this.input.role,
      claim: this.claim,
      workflowId: workflowInfo().workflowId,
      ...(this.input.requestId ? { requestId: this.input.requestId } : {}),
      ...(this.state.claimerDeadline ? { claimerDeadline: this.state.claimerDeadline } : {}),
      ...(nextDeadline ? { nextDeadline } : {}),
      ...(plan.due ? { nextAction: plan.due } : plan.onDeadline ? { nextAction: plan.onDeadline } : {}),
      ...(this.completedEntry ? { completedEntry: this.completedEntry } : {}),
      openedAt: claimOpenedAt(this.claim, this.input.periods),
    });
    this.state.id = rec.id;
    upsertSearchAttributes([
      { key: ClaimStatusAttr, value: this.claim.status },
      { key: ClaimTypeAttr, value: this.claim.type },
      { key: ClaimRoleAttr, value: this.input.role },
      { key: DictKeyType, value: this.claim.keyType },
      { key: NextDeadline, value: nextDeadline ? new Date(nextDeadline) : null },
    ]);
  }
}
