// BCB's DICT vocabulary as plain TypeScript, shared by api, workflows, activities, bridge and
// simulator. Dates are ISO-8601 strings (what DICT sends), so values cross Temporal's JSON
// payloads and the XML codec unchanged.

export const KEY_TYPES = ['CPF', 'CNPJ', 'PHONE', 'EMAIL', 'EVP'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const ACCOUNT_TYPES = ['CACC', 'SVGS', 'SLRY', 'TRAN'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

export const PERSON_TYPES = ['NATURAL_PERSON', 'LEGAL_PERSON'] as const;
export type PersonType = (typeof PERSON_TYPES)[number];

export const ENTRY_OPERATION_REASONS = [
  'USER_REQUESTED',
  'ACCOUNT_CLOSURE',
  'BRANCH_TRANSFER',
  'RECONCILIATION',
  'FRAUD',
  'RFB_VALIDATION',
] as const;
export type EntryOperationReason = (typeof ENTRY_OPERATION_REASONS)[number];

export const CLAIM_TYPES = ['OWNERSHIP', 'PORTABILITY'] as const;
export type ClaimType = (typeof CLAIM_TYPES)[number];

export const CLAIM_STATUSES = ['OPEN', 'WAITING_RESOLUTION', 'CONFIRMED', 'CANCELLED', 'COMPLETED'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

export const CLAIM_OPERATION_REASONS = [
  'USER_REQUESTED',
  'ACCOUNT_CLOSURE',
  'FRAUD',
  'DEFAULT_OPERATION',
  'RECONCILIATION',
  'RFB_VALIDATION',
] as const;
export type ClaimOperationReason = (typeof CLAIM_OPERATION_REASONS)[number];

/** A participant's side of a claim (BCB's CancelledBy values). */
export const CLAIM_ROLES = ['CLAIMER', 'DONOR'] as const;
export type ClaimRole = (typeof CLAIM_ROLES)[number];

/** BCB's BrazilianAccount. */
export interface BrazilianAccount {
  /** ISPB, 8 digits. */
  participant: string;
  /** Up to 4 digits, no check digit; absent for accounts without a branch. */
  branch?: string;
  /** Up to 20 digits including the check digit. */
  accountNumber: string;
  accountType: AccountType;
  /** ISO-8601 date-time. */
  openingDate: string;
}

/** BCB's Person. */
export interface Person {
  type: PersonType;
  /** CPF (11 digits) for natural persons, CNPJ (14 digits) for legal persons. */
  taxIdNumber: string;
  name: string;
  /** Legal persons only. */
  tradeName?: string;
}

/** BCB's Entry: key (absent for EVP on creation), its account and owner. */
export interface Entry {
  key?: string;
  keyType: KeyType;
  account: BrazilianAccount;
  owner: Person;
}

/** BCB's ExtendedEntry, as DICT returns it. */
export interface ExtendedEntry extends Entry {
  key: string;
  creationDate: string;
  keyOwnershipDate: string;
  openClaimCreationDate?: string;
}

/** BCB's Claim: what the claimer asks for (createClaim). */
export interface Claim {
  type: ClaimType;
  key: string;
  keyType: KeyType;
  /** The account the key is to be linked to, at the claimer participant. */
  claimerAccount: BrazilianAccount;
  claimer: Person;
}

/** BCB's ExtendedClaim, as DICT returns it. Dates are ISO-8601 date-times set by DICT. */
export interface ExtendedClaim extends Claim {
  /** DICT's claim id (UUID). */
  id: string;
  /** ISPB of the participant the key is linked to when the claim opens. */
  donorParticipant: string;
  status: ClaimStatus;
  resolutionPeriodEnd: string;
  /** Ownership claims only: end of the closing period. */
  completionPeriodEnd?: string;
  lastModified: string;
  confirmReason?: ClaimOperationReason;
  cancelReason?: ClaimOperationReason;
  cancelledBy?: ClaimRole;
}
