// BCB's claim rules (DICT API v2.6.1 /claims/... descriptions; Manual Operacional §5 portability,
// §6 ownership), pure: which keys can be claimed, who may open a claim of which type, the status
// machine, DICT's periods, and who may acknowledge/confirm/cancel/complete a claim with which
// reason, in which status, after which deadline. Shared by the DICT simulator (which enforces
// them) and our claim workflows (which must never ask DICT for what it will refuse).
//
// Readings of the spec where it is silent (kept here, in one place):
//  - "a deadline has passed" means now >= deadline.
//  - The claim's opening instant is ResolutionPeriodEnd minus the resolution period (DICT sets
//    ResolutionPeriodEnd = creation + resolution period); callers who know it pass `openedAt`.
//  - A role that has no reason at all for an operation is Forbidden (e.g. the claimer confirming);
//    a role that may do it, but not with that reason, is InvalidReason.
//  - Ownership, claimer's cancel: v2 names no reason restriction ("Reivindicador é quem pode
//    cancelar"), so every reason is accepted; DEFAULT_OPERATION only after the claimer's
//    possession-validation deadline (30 days from opening), else ClaimOperationInvalid.
//  - Ownership, donor's FRAUD cancel of a CONFIRMED claim: only in the closing period (before
//    CompletionPeriodEnd, Manual §6.3 steps 14-19), else ClaimOperationInvalid.

import type { ClaimOperationReason, ClaimRole, ClaimStatus, ClaimType, ExtendedClaim, KeyType } from './types.js';

// ---------------------------------------------------------------------------------------------
// Which keys, which claim type

/** createClaim compatibility table (v2): ownership only for PHONE (API 1.8 also allowed EMAIL). */
export const CLAIMABLE_KEY_TYPES: Readonly<Record<ClaimType, readonly KeyType[]>> = {
  OWNERSHIP: ['PHONE'],
  PORTABILITY: ['CPF', 'CNPJ', 'PHONE', 'EMAIL'],
};

export function isClaimAllowed(claimType: ClaimType, keyType: KeyType): boolean {
  return CLAIMABLE_KEY_TYPES[claimType].includes(keyType);
}

/** BCB error names the claim rules can answer with. */
export type ClaimRuleError =
  | 'Forbidden'
  | 'InvalidReason'
  | 'ClaimInvalid'
  | 'ClaimTypeInconsistent'
  | 'ClaimResultingEntryAlreadyExists'
  | 'ClaimOperationInvalid'
  | 'ClaimResolutionPeriodNotEnded'
  | 'ClaimCompletionPeriodNotEnded';

/** A rule's answer: allowed (`replay`: an idempotent repeat, nothing changes) or BCB's error. */
export type ClaimCheck = { ok: true; replay?: true } | { ok: false; error: ClaimRuleError; detail: string };

const OK: ClaimCheck = { ok: true };
const REPLAY: ClaimCheck = { ok: true, replay: true };
const fail = (error: ClaimRuleError, detail: string): ClaimCheck => ({ ok: false, error, detail });

export interface ClaimCreationInput {
  type: ClaimType;
  keyType: KeyType;
  claimerTaxIdNumber: string;
  claimerParticipant: string;
  /** The key's current entry in DICT. */
  entry: { keyType: KeyType; ownerTaxIdNumber: string; participant: string };
}

/**
 * createClaim against the key's current entry: key type allowed for the claim type (ClaimInvalid),
 * owner relation vs type (ClaimTypeInconsistent: ownership needs a different person, portability
 * the same person), and a portability to the participant that already holds the key
 * (ClaimResultingEntryAlreadyExists: same key, participant and owner).
 */
export function checkClaimCreation(i: ClaimCreationInput): ClaimCheck {
  if (!isClaimAllowed(i.type, i.keyType)) return fail('ClaimInvalid', `A ${i.keyType} key cannot be claimed by ${i.type}`);
  if (i.keyType !== i.entry.keyType) return fail('ClaimInvalid', `KeyType ${i.keyType} differs from the entry's ${i.entry.keyType}`);
  const samePerson = i.claimerTaxIdNumber === i.entry.ownerTaxIdNumber;
  if (i.type === 'OWNERSHIP' && samePerson) return fail('ClaimTypeInconsistent', 'The claimer already owns the key: ask for portability');
  if (i.type === 'PORTABILITY' && !samePerson) return fail('ClaimTypeInconsistent', 'The key is owned by a different person: ask for ownership');
  if (i.type === 'PORTABILITY' && i.claimerParticipant === i.entry.participant) {
    return fail('ClaimResultingEntryAlreadyExists', 'The key is already linked to the claimer participant');
  }
  return OK;
}

// ---------------------------------------------------------------------------------------------
// Status machine

/** Final statuses: a new claim for the key may only be opened when the current one is final. */
export const FINAL_CLAIM_STATUSES: readonly ClaimStatus[] = ['COMPLETED', 'CANCELLED'];

export function isFinalClaimStatus(s: ClaimStatus): boolean {
  return FINAL_CLAIM_STATUSES.includes(s);
}

/** OPEN → WAITING_RESOLUTION → CONFIRMED → COMPLETED, or CANCELLED from any non-final status. */
export const CLAIM_TRANSITIONS: Readonly<Record<ClaimStatus, readonly ClaimStatus[]>> = {
  OPEN: ['WAITING_RESOLUTION', 'CANCELLED'],
  WAITING_RESOLUTION: ['CONFIRMED', 'CANCELLED'],
  CONFIRMED: ['COMPLETED', 'CANCELLED'],
  COMPLETED: [],
  CANCELLED: [],
};

export function canTransition(from: ClaimStatus, to: ClaimStatus): boolean {
  return CLAIM_TRANSITIONS[from].includes(to);
}

// ---------------------------------------------------------------------------------------------
// Periods

export interface ClaimPeriods {
  /** Resolution period (both types): 7 days. */
  resolutionMs: number;
  /** Ownership closing period, right after the resolution period: 7 days. */
  closingMs: number;
  /** Ownership: the claimer must complete (or else cancel) within this from opening: 30 days. */
  claimerDeadlineMs: number;
}

const DAY_MS = 86_400_000;

export const BCB_CLAIM_PERIODS: Readonly<ClaimPeriods> = {
  resolutionMs: 7 * DAY_MS,
  closingMs: 7 * DAY_MS,
  claimerDeadlineMs: 30 * DAY_MS,
};

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();

/** DICT's dates for a claim opened at `openedAt`: ResolutionPeriodEnd; CompletionPeriodEnd for ownership. */
export function claimDeadlines(
  type: ClaimType,
  openedAt: string,
  periods: ClaimPeriods = BCB_CLAIM_PERIODS,
): { resolutionPeriodEnd: string; completionPeriodEnd?: string } {
  const t = ms(openedAt);
  const resolutionPeriodEnd = iso(t + periods.resolutionMs);
  if (type !== 'OWNERSHIP') return { resolutionPeriodEnd };
  return { resolutionPeriodEnd, completionPeriodEnd: iso(t + periods.resolutionMs + periods.closingMs) };
}

/** When the claim was opened: `openedAt` if known, else ResolutionPeriodEnd minus the resolution period. */
export function claimOpenedAt(claim: Pick<ExtendedClaim, 'resolutionPeriodEnd'>, periods: ClaimPeriods = BCB_CLAIM_PERIODS, openedAt?: string): string {
  return openedAt ?? iso(ms(claim.resolutionPeriodEnd) - periods.resolutionMs);
}

/** Ownership: the instant after which the claimer may cancel with DEFAULT_OPERATION. */
export function claimerDeadline(claim: Pick<ExtendedClaim, 'resolutionPeriodEnd'>, periods: ClaimPeriods = BCB_CLAIM_PERIODS, openedAt?: string): string {
  return iso(ms(claimOpenedAt(claim, periods, openedAt)) + periods.claimerDeadlineMs);
}

// ---------------------------------------------------------------------------------------------
// Permission tables (v2 confirmClaim and cancelClaim descriptions)

type ReasonTable = Readonly<Record<ClaimType, Readonly<Record<ClaimRole, readonly ClaimOperationReason[]>>>>;

/** confirmClaim: who may confirm, per type and reason. The claimer never confirms. */
export const CONFIRM_REASONS: ReasonTable = {
  OWNERSHIP: { DONOR: ['USER_REQUESTED', 'DEFAULT_OPERATION'], CLAIMER: [] },
  PORTABILITY: { DONOR: ['USER_REQUESTED', 'ACCOUNT_CLOSURE'], CLAIMER: [] },
};

/** cancelClaim: who may cancel, per type and reason. */
export const CANCEL_REASONS: ReasonTable = {
  OWNERSHIP: {
    DONOR: ['FRAUD'],
    CLAIMER: ['USER_REQUESTED', 'ACCOUNT_CLOSURE', 'FRAUD', 'DEFAULT_OPERATION', 'RECONCILIATION', 'RFB_VALIDATION'],
  },
  PORTABILITY: {
    DONOR: ['USER_REQUESTED', 'DEFAULT_OPERATION', 'FRAUD'],
    CLAIMER: ['USER_REQUESTED', 'ACCOUNT_CLOSURE', 'FRAUD', 'RECONCILIATION', 'RFB_VALIDATION'],
  },
};

/** Portability: reasons with which the claimer may also cancel a CONFIRMED claim. */
export const PORTABILITY_CONFIRMED_CANCEL_REASONS: readonly ClaimOperationReason[] = ['FRAUD', 'RECONCILIATION', 'RFB_VALIDATION'];

function reasonCheck(table: ReasonTable, op: string, claim: ExtendedClaim, role: ClaimRole, reason: ClaimOperationReason): ClaimCheck {
  const allowed = table[claim.type][role];
  if (allowed.length === 0) return fail('Forbidden', `The ${role.toLowerCase()} cannot ${op} a ${claim.type} claim`);
  if (!allowed.includes(reason)) return fail('InvalidReason', `Reason ${reason} is not valid for the ${role.toLowerCase()} to ${op} a ${claim.type} claim`);
  return OK;
}

// ---------------------------------------------------------------------------------------------
// One check per operation

export interface ClaimActionContext {
  claim: ExtendedClaim;
  actorRole: ClaimRole;
  /** ISO date-time: DICT's clock. */
  now: string;
  periods?: ClaimPeriods;
  /** When the claim was opened, if known (see claimOpenedAt). */
  openedAt?: string;
}

/** acknowledgeClaim: donor, OPEN → WAITING_RESOLUTION; WAITING_RESOLUTION again is an idempotent repeat. */
export function checkAcknowledge(c: Pick<ClaimActionContext, 'claim' | 'actorRole'>): ClaimCheck {
  if (c.actorRole !== 'DONOR') return fail('Forbidden', 'Only the donor acknowledges a claim');
  if (c.claim.status === 'WAITING_RESOLUTION') return REPLAY;
  if (c.claim.status !== 'OPEN') return fail('ClaimOperationInvalid', `A ${c.claim.status} claim cannot be acknowledged`);
  return OK;
}

/**
 * confirmClaim: donor, WAITING_RESOLUTION → CONFIRMED, reasons per CONFIRM_REASONS; ownership
 * DEFAULT_OPERATION only once ResolutionPeriodEnd has passed. Confirmed already with the same
 * reason is an idempotent repeat.
 */
export function checkConfirm(c: ClaimActionContext & { reason: ClaimOperationReason }): ClaimCheck {
  const r = reasonCheck(CONFIRM_REASONS, 'confirm', c.claim, c.actorRole, c.reason);
  if (!r.ok) return r;
  if (c.claim.status === 'CONFIRMED' && c.claim.confirmReason === c.reason) return REPLAY;
  if (c.claim.status !== 'WAITING_RESOLUTION') return fail('ClaimOperationInvalid', `A ${c.claim.status} claim cannot be confirmed`);
  if (c.claim.type === 'OWNERSHIP' && c.reason === 'DEFAULT_OPERATION' && ms(c.now) < ms(c.claim.resolutionPeriodEnd)) {
    return fail('ClaimResolutionPeriodNotEnded', `The resolution period ends at ${c.claim.resolutionPeriodEnd}`);
  }
  return OK;
}

/**
 * cancelClaim. Portability: OPEN or WAITING_RESOLUTION (the claimer also CONFIRMED with FRAUD,
 * RECONCILIATION or RFB_VALIDATION; never WAITING_RESOLUTION with RECONCILIATION); DEFAULT_OPERATION
 * only after ResolutionPeriodEnd. Ownership: OPEN, WAITING_RESOLUTION or CONFIRMED; the claimer with
 * any reason (DEFAULT_OPERATION only after the 30-day deadline), the donor with FRAUD only (a
 * CONFIRMED claim only in the closing period). Cancelled already by the same role with the same
 * reason is an idempotent repeat.
 */
export function checkCancel(c: ClaimActionContext & { reason: ClaimOperationReason }): ClaimCheck {
  const { claim, actorRole: role, reason } = c;
  const periods = c.periods ?? BCB_CLAIM_PERIODS;
  const r = reasonCheck(CANCEL_REASONS, 'cancel', claim, role, reason);
  if (!r.ok) return r;
  if (claim.status === 'CANCELLED' && claim.cancelReason === reason && claim.cancelledBy === role) return REPLAY;
  const now = ms(c.now);
  if (claim.type === 'PORTABILITY') {
    const confirmedByClaimer = claim.status === 'CONFIRMED' && role === 'CLAIMER' && PORTABILITY_CONFIRMED_CANCEL_REASONS.includes(reason);
    if (claim.status !== 'OPEN' && claim.status !== 'WAITING_RESOLUTION' && !confirmedByClaimer) {
      return fail('ClaimOperationInvalid', `The ${role.toLowerCase()} cannot cancel a ${claim.status} portability with ${reason}`);
    }
    if (claim.status === 'WAITING_RESOLUTION' && reason === 'RECONCILIATION') {
      return fail('ClaimOperationInvalid', 'A WAITING_RESOLUTION portability cannot be cancelled with RECONCILIATION');
    }
    if (reason === 'DEFAULT_OPERATION' && now < ms(claim.resolutionPeriodEnd)) {
      return fail('ClaimResolutionPeriodNotEnded', `The resolution period ends at ${claim.resolutionPeriodEnd}`);
    }
    return OK;
  }
  if (claim.status !== 'OPEN' && claim.status !== 'WAITING_RESOLUTION' && claim.status !== 'CONFIRMED') {
    return fail('ClaimOperationInvalid', `A ${claim.status} claim cannot be cancelled`);
  }
  if (role === 'CLAIMER' && reason === 'DEFAULT_OPERATION') {
    const deadline = claimerDeadline(claim, periods, c.openedAt);
    if (now < ms(deadline)) return fail('ClaimOperationInvalid', `The claimer's possession-validation deadline ends at ${deadline}`);
  }
  if (role === 'DONOR' && claim.status === 'CONFIRMED' && claim.completionPeriodEnd !== undefined && now >= ms(claim.completionPeriodEnd)) {
    return fail('ClaimOperationInvalid', `The closing period ended at ${claim.completionPeriodEnd}`);
  }
  return OK;
}

/**
 * completeClaim: claimer, CONFIRMED → COMPLETED; ownership only once CompletionPeriodEnd has
 * passed. A COMPLETED claim is ClaimOperationInvalid here: whether a repeat is the same request
 * is decided by its RequestId, which only the caller knows.
 */
export function checkComplete(c: Pick<ClaimActionContext, 'claim' | 'actorRole' | 'now'>): ClaimCheck {
  if (c.actorRole !== 'CLAIMER') return fail('Forbidden', 'Only the claimer completes a claim');
  if (c.claim.status !== 'CONFIRMED') return fail('ClaimOperationInvalid', `A ${c.claim.status} claim cannot be completed`);
  if (c.claim.type === 'OWNERSHIP' && c.claim.completionPeriodEnd !== undefined && ms(c.now) < ms(c.claim.completionPeriodEnd)) {
    return fail('ClaimCompletionPeriodNotEnded', `The closing period ends at ${c.claim.completionPeriodEnd}`);
  }
  return OK;
}

export type ClaimOperation =
  | { op: 'acknowledge' }
  | { op: 'confirm'; reason: ClaimOperationReason }
  | { op: 'cancel'; reason: ClaimOperationReason }
  | { op: 'complete' };

export type ClaimOperationName = ClaimOperation['op'];

/** One entry point over the four checks. */
export function checkClaimOperation(c: ClaimActionContext & ClaimOperation): ClaimCheck {
  switch (c.op) {
    case 'acknowledge':
      return checkAcknowledge(c);
    case 'confirm':
      return checkConfirm(c);
    case 'cancel':
      return checkCancel(c);
    case 'complete':
      return checkComplete(c);
  }
}

/**
 * The claim after an allowed (non-replayed) operation: new status, reason, who cancelled, and
 * LastModified. Confirming an ownership claim with USER_REQUESTED brings CompletionPeriodEnd
 * forward to now, so the claimer may complete at once.
 */
export function applyClaimOperation(claim: ExtendedClaim, o: ClaimOperation & { actorRole: ClaimRole; now: string }): ExtendedClaim {
  const next: ExtendedClaim = { ...claim, lastModified: o.now };
  switch (o.op) {
    case 'acknowledge':
      next.status = 'WAITING_RESOLUTION';
      break;
    case 'confirm':
      next.status = 'CONFIRMED';
      next.confirmReason = o.reason;
      if (claim.type === 'OWNERSHIP' && o.reason === 'USER_REQUESTED' && (claim.completionPeriodEnd === undefined || ms(o.now) < ms(claim.completionPeriodEnd))) {
        next.completionPeriodEnd = o.now;
      }
      break;
    case 'cancel':
      next.status = 'CANCELLED';
      next.cancelReason = o.reason;
      next.cancelledBy = o.actorRole;
      break;
    case 'complete':
      next.status = 'COMPLETED';
      break;
  }
  return next;
}
