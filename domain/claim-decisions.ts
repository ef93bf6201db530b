// May this side take this decision on this claim now? DICT API 2.6.1's tables for
// confirmClaim, cancelClaim and completeClaim, asked before DICT is: the claim workflows' Update
// validators use it so a wrong state, role or reason is refused at once with DICT's error name.
// Pure.
import type { BcbErrorName } from './errors.js';
import type { ClaimOperationReason, ClaimRole, ExtendedClaim } from './types.js';

export type ClaimDecisionOp = 'CONFIRM' | 'CANCEL' | 'COMPLETE';

export interface DecisionQuestion {
  op: ClaimDecisionOp;
  role: ClaimRole;
  claim: ExtendedClaim;
  reason?: ClaimOperationReason;
  /** ms since epoch. */
  now: number;
  /** Ownership: the claimer's 30th day (needed for a claimer's DEFAULT_OPERATION cancel). */
  claimerDeadline?: string;
}

export interface Refusal {
  bcbError: BcbErrorName;
  detail: string;
}

type Table = Partial<Record<ClaimOperationReason, readonly ClaimRole[]>>;

/** confirmClaim: who may confirm, by type and reason. */
const CONFIRM: Record<ExtendedClaim['type'], Table> = {
  OWNERSHIP: { USER_REQUESTED: ['DONOR'], DEFAULT_OPERATION: ['DONOR'] },
  PORTABILITY: { USER_REQUESTED: ['DONOR'], ACCOUNT_CLOSURE: ['DONOR'] },
};

/** cancelClaim, portability: who may cancel, by reason. */
const CANCEL_PORTABILITY: Table = {
  USER_REQUESTED: ['DONOR', 'CLAIMER'],
  ACCOUNT_CLOSURE: ['CLAIMER'],
  DEFAULT_OPERATION: ['DONOR'],
  FRAUD: ['DONOR', 'CLAIMER'],
  RECONCILIATION: ['CLAIMER'],
  RFB_VALIDATION: ['CLAIMER'],
};

const passed = (iso: string | undefined, now: number): boolean => iso !== undefined && Date.parse(iso) <= now;

function byTable(table: Table, q: DecisionQuestion, what: string): Refusal | undefined {
  if (!q.reason) return { bcbError: 'InvalidReason', detail: `a reason is required to ${what}` };
  const who = table[q.reason];
  if (!who) return { bcbError: 'InvalidReason', detail: `${q.reason} is not a reason to ${what} a ${q.claim.type} claim` };
  if (!who.includes(q.role)) return { bcbError: 'ClaimOperationInvalid', detail: `the ${q.role} may not ${what} a ${q.claim.type} claim with ${q.reason}` };
  return undefined;
}

const wrongStatus = (q: DecisionQuestion, what: string): Refusal => ({
  bcbError: 'ClaimOperationInvalid',
  detail: `cannot ${what} a ${q.claim.type} claim in status ${q.claim.status}`,
});

/** Undefined when allowed; otherwise DICT's error name and why. */
export function decisionRefusal(q: DecisionQuestion): Refusal | undefined {
  const { claim, now } = q;
  switch (q.op) {
    case 'CONFIRM': {
      const t = byTable(CONFIRM[claim.type], q, 'confirm');
      if (t) return t;
      if (claim.status !== 'WAITING_RESOLUTION') return wrongStatus(q, 'confirm');
      if (q.reason === 'DEFAULT_OPERATION' && !passed(claim.resolutionPeriodEnd, now)) {
        return { bcbError: 'ClaimResolutionPeriodNotEnded', detail: `the resolution period ends at ${claim.resolutionPeriodEnd}` };
      }
      return undefined;
    }
    case 'CANCEL': {
      if (claim.type === 'PORTABILITY') {
        const t = byTable(CANCEL_PORTABILITY, q, 'cancel');
        if (t) return t;
        const confirmedByClaimer = claim.status === 'CONFIRMED' && q.role === 'CLAIMER' && ['FRAUD', 'RECONCILIATION', 'RFB_VALIDATION'].includes(q.reason!);
        if (claim.status !== 'OPEN' && claim.status !== 'WAITING_RESOLUTION' && !confirmedByClaimer) return wrongStatus(q, 'cancel');
        if (claim.status === 'WAITING_RESOLUTION' && q.reason === 'RECONCILIATION') {
          return { bcbError: 'ClaimOperationInvalid', detail: 'RECONCILIATION cannot cancel a claim waiting for resolution' };
        }
        if (q.reason === 'DEFAULT_OPERATION' && !passed(claim.resolutionPeriodEnd, now)) {
          return { bcbError: 'ClaimResolutionPeriodNotEnded', detail: `the resolution period ends at ${claim.resolutionPeriodEnd}` };
        }
        return undefined;
      }
      // Ownership: the claimer cancels; the donor only for FRAUD (its user proved possession).
      if (!q.reason) return { bcbError: 'InvalidReason', detail: 'a reason is required to cancel' };
      if (q.role === 'DONOR' && q.reason !== 'FRAUD') {
        return { bcbError: 'ClaimOperationInvalid', detail: 'the donor may cancel an ownership claim only with FRAUD' };
      }
      if (claim.status !== 'OPEN' && claim.status !== 'WAITING_RESOLUTION' && claim.status !== 'CONFIRMED') return wrongStatus(q, 'cancel');
      if (q.reason === 'DEFAULT_OPERATION' && !passed(q.claimerDeadline, now)) {
        return { bcbError: 'ClaimCompletionPeriodNotEnded', detail: `the claimer's possession validation deadline is ${q.claimerDeadline ?? 'unknown'}` };
      }
      return undefined;
    }
    case 'COMPLETE': {
      if (q.role !== 'CLAIMER') return { bcbError: 'ClaimOperationInvalid', detail: 'only the claimer completes a claim' };
      if (claim.status !== 'CONFIRMED') return wrongStatus(q, 'complete');
      if (claim.type === 'OWNERSHIP' && !passed(claim.completionPeriodEnd, now)) {
        return { bcbError: 'ClaimCompletionPeriodNotEnded', detail: `the closing period ends at ${claim.completionPeriodEnd ?? 'unknown'}` };
      }
      return undefined;
    }
  }
}
