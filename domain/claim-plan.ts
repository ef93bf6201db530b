// What our side of a claim must do next, and when (BCB Manual §5 portability, §6 ownership).
// Pure: the claim workflows ask it after every change; the deadlines are DICT's
// (ResolutionPeriodEnd, CompletionPeriodEnd) except the ownership claimer's 30th day, which DICT
// does not send and we count from the claim's opening.
import { claimerDeadline, isFinalClaimStatus, type ClaimPeriods } from './claims.js';
import type { ClaimRole, ExtendedClaim } from './types.js';

export type ClaimAction =
  /** Donor: tell DICT we received an OPEN claim (OPEN → WAITING_RESOLUTION). */
  | 'ACKNOWLEDGE'
  /** Ownership donor, user silent through the resolution period. */
  | 'CONFIRM_DEFAULT_OPERATION'
  /** Portability donor, user silent through the resolution period; ownership claimer, day 30 passed. */
  | 'CANCEL_DEFAULT_OPERATION'
  /** Portability claimer, claim CONFIRMED. */
  | 'COMPLETE'
  /** Ownership claimer, closing period over: ask our user to validate possession (no DICT call). */
  | 'ASK_POSSESSION_VALIDATION';

export interface ClaimPlan {
  /** Act now. */
  due?: ClaimAction;
  /** Otherwise, the next moment something is due (ISO), and what. */
  deadline?: string;
  onDeadline?: ClaimAction | 'CLOSING_PERIOD_END' | 'AWAIT_USER';
}

function at(deadline: string, now: number, action: ClaimPlan['onDeadline'] & ClaimAction): ClaimPlan {
  return Date.parse(deadline) <= now ? { due: action } : { deadline, onDeadline: action };
}

/** What our side has done already that DICT's view does not show. */
export interface ClaimProgress {
  /** Ownership claimer: our user was asked to validate possession. */
  possessionAsked?: boolean;
}

/** The next step of `role` for `claim` at `now` (ms since epoch). */
export function planClaim(role: ClaimRole, claim: ExtendedClaim, now: number, p: ClaimPeriods, done: ClaimProgress = {}): ClaimPlan {
  if (isFinalClaimStatus(claim.status)) return {};
  const ownership = claim.type === 'OWNERSHIP';
  if (role === 'DONOR') {
    switch (claim.status) {
      case 'OPEN':
        return { due: 'ACKNOWLEDGE' };
      case 'WAITING_RESOLUTION':
        return at(claim.resolutionPeriodEnd, now, ownership ? 'CONFIRM_DEFAULT_OPERATION' : 'CANCEL_DEFAULT_OPERATION');
      case 'CONFIRMED':
        // Ownership: the donor's user may still prove possession until the closing period ends.
        return ownership && claim.completionPeriodEnd && Date.parse(claim.completionPeriodEnd) > now
          ? { deadline: claim.completionPeriodEnd, onDeadline: 'CLOSING_PERIOD_END' }
          : {};
    }
  }
  // Claimer.
  if (!ownership) {
    if (claim.status === 'CONFIRMED') return { due: 'COMPLETE' };
    // The donor's user decides (or its PSP cancels) by the end of the resolution period.
    return Date.parse(claim.resolutionPeriodEnd) > now ? { deadline: claim.resolutionPeriodEnd, onDeadline: 'AWAIT_USER' } : {};
  }
  // Ownership: when the closing period is over we ask our user to validate possession
  // (CompleteClaim follows); by the 30th day without it we must cancel so the key is freed.
  if (claim.status === 'CONFIRMED' && !done.possessionAsked && claim.completionPeriodEnd) {
    const ask = at(claim.completionPeriodEnd, now, 'ASK_POSSESSION_VALIDATION');
    if (ask.deadline === undefined || Date.parse(ask.deadline) < Date.parse(claimerDeadline(claim, p))) return ask;
  }
  return at(claimerDeadline(claim, p), now, 'CANCEL_DEFAULT_OPERATION');
}
