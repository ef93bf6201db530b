// The DICT contract as our code sees it. The HTTP/XML client (bridge/client.ts) and any
// test double implement DictApi; the simulator implements the same contract over HTTP.
import type {
  BrazilianAccount,
  Claim,
  ClaimOperationReason,
  ClaimStatus,
  ClaimType,
  Entry,
  EntryOperationReason,
  ExtendedClaim,
  ExtendedEntry,
  Person,
} from '../domain/types.js';
import { BCB_ERRORS, toBcbErrorName, type BcbErrorName, type FailureDetail } from '../domain/errors.js';

export interface ResponseMeta {
  /** DICT's CorrelationId, for support tickets. */
  correlationId?: string;
  responseTime?: string;
}

/** Any DICT call may be aborted: a DictTransportError follows. */
export interface Abortable {
  /** The worker's activity cancellation (e.g. at shutdown), or a lookup's timeout or caller. */
  signal?: AbortSignal;
}

export interface CreateEntryInput extends Abortable {
  entry: Entry;
  /** USER_REQUESTED or RECONCILIATION. */
  reason: EntryOperationReason;
  /** BCB RequestId (UUID): fixed once per logical creation and reused on every retry. */
  requestId: string;
}

export interface UpdateEntryInput extends Abortable {
  key: string;
  account: BrazilianAccount;
  owner: Person;
  reason: EntryOperationReason;
}

export interface DeleteEntryInput extends Abortable {
  key: string;
  /** ISPB of the participant the key belongs to. */
  participant: string;
  reason: EntryOperationReason;
}

export interface GetEntryInput extends Abortable {
  key: string;
  /** CPF/CNPJ of the payer (PI-PayerId). */
  payerId: string;
  /** Payment's end-to-end id (PI-EndToEndId). */
  endToEndId?: string;
}

export interface GetEntryResult extends ResponseMeta {
  entry: ExtendedEntry;
  /** max-age from DICT's Cache-Control, when it sent one. */
  cacheMaxAgeSeconds?: number;
}

export interface CheckKeysResult extends ResponseMeta {
  keys: { key: string; hasEntry: boolean }[];
}

/** Claim operations that name a claim and the acting participant (acknowledge, confirm, cancel). */
export interface ClaimActionInput extends Abortable {
  claimId: string;
  /** ISPB of the participant acting (donor for acknowledge/confirm; donor or claimer for cancel). */
  participant: string;
}

export interface ClaimDecisionInput extends ClaimActionInput {
  reason: ClaimOperationReason;
}

export interface CompleteClaimInput extends ClaimActionInput {
  /** BCB RequestId (UUID) of the entry the completion creates: fixed once, reused on retries. */
  requestId: string;
}

/** listClaims filters. ModifiedAfter/ModifiedBefore are inclusive; results ascend by LastModified. */
export interface ListClaimsInput {
  participant: string;
  isDonor?: boolean;
  isClaimer?: boolean;
  status?: ClaimStatus[];
  type?: ClaimType;
  modifiedAfter?: string;
  modifiedBefore?: string;
  /** At most 200 (DICT's default 20). */
  limit?: number;
}

export interface ClaimResult extends ResponseMeta {
  claim: ExtendedClaim;
}

export interface CompleteClaimResult extends ClaimResult {
  entryCreationDate: string;
  keyOwnershipDate: string;
}

export interface ListClaimsResult extends ResponseMeta {
  claims: ExtendedClaim[];
  hasMoreElements: boolean;
}

export interface DictApi {
  createEntry(input: CreateEntryInput): Promise<{ entry: ExtendedEntry } & ResponseMeta>;
  getEntry(input: GetEntryInput): Promise<GetEntryResult>;
  updateEntry(input: UpdateEntryInput): Promise<{ entry: ExtendedEntry } & ResponseMeta>;
  deleteEntry(input: DeleteEntryInput): Promise<{ key: string } & ResponseMeta>;
  checkKeys(keys: string[]): Promise<CheckKeysResult>;
}

/** DICT's rate-limit policies (listBucketStates, getBucketState): our buckets as DICT counts them. */
export interface DictPoliciesApi {
  listPolicies(): Promise<PoliciesResponse>;
  getPolicy(policy: string): Promise<PolicyResponse>;
}

/** DICT's claim operations (createClaim … completeClaim, listClaims). */
export interface DictClaimsApi {
  createClaim(input: { claim: Claim } & Abortable): Promise<ClaimResult>;
  getClaim(claimId: string): Promise<ClaimResult>;
  listClaims(input: ListClaimsInput): Promise<ListClaimsResult>;
  acknowledgeClaim(input: ClaimActionInput): Promise<ClaimResult>;
  confirmClaim(input: ClaimDecisionInput): Promise<ClaimResult>;
  cancelClaim(input: ClaimDecisionInput): Promise<ClaimResult>;
  completeClaim(input: CompleteClaimInput): Promise<CompleteClaimResult>;
}

/** One RFC 7807 violation. */
export interface Violation {
  reason: string;
  value?: string;
  property?: string;
}

/**
 * DICT answered with a problem (RFC 7807, problem+xml). `dictType` is the last segment of the
 * problem `type` URI as DICT sent it; `bcbError` is that name narrowed to our catalogue
 * (domain/errors.ts) — a type DICT added after 2.6.1 maps onto the general name for its status.
 */
export class DictProblemError extends Error {
  override readonly name = 'DictProblemError';
  readonly bcbError: BcbErrorName;
  constructor(
    readonly dictType: string,
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly correlationId?: string,
    readonly violations: Violation[] = [],
    /** Seconds from Retry-After, for 429/503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${dictType} (${status}): ${detail ?? title}`);
    this.bcbError = toBcbErrorName(dictType, status);
  }

  /** 429, 5xx (and BCB's transient names): the same request may succeed later. Business errors never do. */
  /** This answer as our business failure (what workflows record and the API shows). */
  get failure(): FailureDetail {
    return {
      bcbError: this.bcbError,
      detail: this.detail ?? this.title,
      status: this.status,
      violations: this.violations,
      source: 'DICT',
      ...(this.dictType !== this.bcbError ? { dictType: this.dictType } : {}),
    };
  }

  get retryable(): boolean {
    return this.status === 429 || this.status >= 500 || BCB_ERRORS[this.bcbError].retryable;
  }
}

/** DICT could not be reached or its answer could not be trusted (timeout, reset, bad signature). */
export class DictTransportError extends Error {
  override readonly name = 'DictTransportError';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/** One of DICT's rate-limit buckets as DICT counts it (Policies resource). */
export interface PolicyState {
  name: string;
  availableTokens: number;
  capacity: number;
  refillTokens: number;
  refillPeriodSec: number;
}

export interface PoliciesResponse extends ResponseMeta {
  category?: string;
  policies: PolicyState[];
}

export interface PolicyResponse extends ResponseMeta {
  category?: string;
  policy: PolicyState;
}
