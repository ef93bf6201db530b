// One vocabulary for errors: every error type DICT API 2.6.1 defines ("Tratamento de erros"
// table of openapi-dict-2.6.1.json; problem `type` https://dict.pi.rsfn.net.br/api/v2/error/<Name>),
// plus the few names only Core DICT produces (origin CORE). Used by the bridge, activities,
// workflows, the API (gRPC codes) and the simulator (problem+xml), so a misspelt BCB error name
// does not compile. Pure (no Node APIs): workflow code may import it.

/** Sections of BCB's table, plus our own. */
export type BcbErrorGroup = 'GENERAL' | 'ENTRY' | 'CLAIM' | 'INFRACTION_REPORT' | 'FRAUD_MARKER' | 'REFUND' | 'CORE';

export interface BcbErrorSpec {
  /** HTTP status DICT answers with (for CORE names: the status DICT would use for the like). */
  status: number;
  /** Transient (rate limit, outage): the same request may succeed later. Otherwise a business answer. */
  retryable: boolean;
  /** Problem title, as BCB's examples render it where they show one. */
  title: string;
  group: BcbErrorGroup;
  /** DICT: a name of BCB's table. CORE: ours only; DICT never answers it. */
  origin: 'DICT' | 'CORE';
}

const g = (status: number, title: string) => ({ status, title, retryable: false, group: 'GENERAL', origin: 'DICT' }) as const;
/** A general name that is transient (the same request may succeed later). */
const gt = (status: number, title: string) => ({ status, title, retryable: true, group: 'GENERAL', origin: 'DICT' }) as const;
const e = (title: string) => ({ status: 400, title, retryable: false, group: 'ENTRY', origin: 'DICT' }) as const;
const c = (title: string, status = 400) => ({ status, title, retryable: false, group: 'CLAIM', origin: 'DICT' }) as const;
const i = (title: string) => ({ status: 400, title, retryable: false, group: 'INFRACTION_REPORT', origin: 'DICT' }) as const;
const r = (title: string) => ({ status: 400, title, retryable: false, group: 'REFUND', origin: 'DICT' }) as const;

export const BCB_ERRORS = {
  // Geral
  Forbidden: g(403, 'Forbidden'),
  BadRequest: g(400, 'Bad Request'),
  NotFound: g(404, 'Not found'),
  Gone: g(410, 'Gone'),
  RateLimited: gt(429, 'Rate limited'),
  InternalServerError: gt(500, 'Internal Server Error'),
  ServiceUnavailable: gt(503, 'Service Unavailable'),
  RequestSignatureInvalid: g(400, 'Request signature is invalid'),
  /** DICT: same BCB RequestId, other parameters. Core also answers it for a client request_id reused with another body. */
  RequestIdAlreadyUsed: g(400, 'Request id already used'),
  InvalidReason: g(400, 'Invalid reason'),
  ParticipantInvalid: g(400, 'Participant invalid'),
  TaxIdNumberBlocked: g(400, 'Tax id number blocked'),
  // Vínculo
  EntryInvalid: e('Entry is invalid'),
  EntryLimitExceeded: e('Entry limit exceeded'),
  EntryAlreadyExists: e('Entry already exists'),
  EntryCannotBeQueriedForBookTransfer: e('Entry cannot be queried for book transfer'),
  EntryKeyOwnedByDifferentPerson: e('Entry key owned by different person'),
  EntryKeyInCustodyOfDifferentParticipant: e('Entry key in custody of different participant'),
  EntryLockedByClaim: e('Entry locked by claim'),
  EntryTaxIdNumberByDifferentOwner: e('Entry tax id number by different owner'),
  EntryBlocked: e('Entry blocked'),
  EntryWithFraudRelatedRestriction: e('Entry with fraud related restriction'),
  // Reivindicação
  ClaimInvalid: c('Claim is invalid'),
  ClaimTypeInconsistent: c('Claim type inconsistent'),
  ClaimKeyNotFound: c('Claim key not found', 404),
  ClaimAlreadyExistsForKey: c('Claim already exists for key'),
  ClaimResultingEntryAlreadyExists: c('Claim resulting entry already exists'),
  ClaimOperationInvalid: c('Claim operation invalid'),
  ClaimResolutionPeriodNotEnded: c('Claim resolution period not ended'),
  ClaimCompletionPeriodNotEnded: c('Claim completion period not ended'),
  // Notificação de infração
  InfractionReportInvalid: i('InfractionReport is invalid'),
  InfractionReportOperationInvalid: i('Infraction report operation invalid'),
  InfractionReportTransactionNotFound: i('Infraction report transaction not found'),
  InfractionReportTransactionNotSettled: i('Infraction report transaction not settled'),
  InfractionReportAlreadyBeingProcessedForTransaction: i('Infraction report already being processed for transaction'),
  InfractionReportAlreadyProcessedForTransaction: i('Infraction report already processed for transaction'),
  InfractionReportPeriodExpired: i('Infraction report period expired'),
  // Marcação de fraude
  FraudMarkerInvalid: { status: 400, title: 'Fraud marker invalid', retryable: false, group: 'FRAUD_MARKER', origin: 'DICT' },
  // Solicitação de devolução
  RefundInvalid: r('Refund invalid'),
  RefundOperationInvalid: r('Refund operation invalid'),
  RefundTransactionNotFound: r('Refund transaction not found'),
  RefundTransactionNotSettled: r('Refund transaction not settled'),
  RefundAlreadyProcessedForTransaction: r('Refund already processed for transaction'),
  RefundAlreadyBeingProcessedForTransaction: r('Refund already being processed for transaction'),
  RefundPeriodExpired: r('Refund period expired'),
  TransactionNotRefundable: r('Transaction not refundable'),
  RefundInfractionReportNotFound: r('Refund infraction report not found'),
  TransactionRefundable: r('Transaction refundable'),
  // Core DICT only (never in a DICT answer).
  /** DICT gave no trustworthy answer (timeout, reset, bad signature): nothing is known. */
  DictUnreachable: { status: 503, title: 'DICT unreachable', retryable: true, group: 'CORE', origin: 'CORE' },
} as const satisfies Record<string, BcbErrorSpec>;

export type BcbErrorName = keyof typeof BCB_ERRORS;

export const BCB_ERROR_NAMES = Object.keys(BCB_ERRORS) as BcbErrorName[];

/** Names DICT itself may answer (excludes our CORE names). */
export type DictErrorName = { [N in BcbErrorName]: (typeof BCB_ERRORS)[N]['origin'] extends 'DICT' ? N : never }[BcbErrorName];

/** Names whose answer a retry never changes (business answers): `retryable: false` in the catalogue. */
export type NonRetryableBcbErrorName = { [N in BcbErrorName]: (typeof BCB_ERRORS)[N]['retryable'] extends false ? N : never }[BcbErrorName];

/**
 * Every non-retryable name, for Temporal's RetryPolicy.nonRetryableErrorTypes: an activity
 * failure of one of these types is never retried, whatever flag the failure itself carries.
 */
export const NON_RETRYABLE_BCB_ERRORS: readonly NonRetryableBcbErrorName[] = BCB_ERROR_NAMES.filter(
  (n): n is NonRetryableBcbErrorName => !BCB_ERRORS[n].retryable,
);

export function isNonRetryableBcbError(name: BcbErrorName): name is NonRetryableBcbErrorName {
  return !BCB_ERRORS[name].retryable;
}

export function isBcbErrorName(name: unknown): name is BcbErrorName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(BCB_ERRORS, name);
}

/**
 * A name as it came from outside (a DICT problem type, a stored row), narrowed to our
 * vocabulary. DICT may add types after 2.6.1: an unknown one maps by HTTP status onto the
 * general name with the same meaning (429 RateLimited, 503 ServiceUnavailable, other 5xx
 * InternalServerError, 404 NotFound, 403 Forbidden, 410 Gone, anything else BadRequest), so
 * its retry class and gRPC code stay right.
 */
export function toBcbErrorName(name: string, status?: number): BcbErrorName {
  if (isBcbErrorName(name)) return name;
  if (status === 429) return 'RateLimited';
  if (status === 503) return 'ServiceUnavailable';
  if (status !== undefined && status >= 500) return 'InternalServerError';
  if (status === 404) return 'NotFound';
  if (status === 403) return 'Forbidden';
  if (status === 410) return 'Gone';
  return 'BadRequest';
}

/** How a business failure travels (activity → workflow → operations row → API). */
export interface FailureDetail {
  bcbError: BcbErrorName;
  detail?: string;
  /** HTTP status DICT answered with, when it was DICT. */
  status?: number;
  violations?: { reason: string; value?: string; property?: string }[];
  /** Where the rule was caught: our own records ("CORE") or DICT. */
  source: 'CORE' | 'DICT';
  /** DICT's own problem type name when it was not one we know (then bcbError is the general fallback). */
  dictType?: string;
}
