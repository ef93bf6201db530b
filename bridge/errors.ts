// BCB's DICT error types (v2 API "Tratamento de erros" table). The problem `type` is
// https://dict.pi.rsfn.net.br/api/v2/error/<Name>. `retryable` marks transient conditions
// (rate limit, DICT outage/failure): the same request may succeed later. Every other error is a
// business answer: retrying the same request yields the same answer.

export interface BcbErrorInfo {
  status: number;
  retryable: boolean;
}

/** Errors any operation may return. */
export const GENERAL_ERRORS = {
  Forbidden: { status: 403, retryable: false },
  BadRequest: { status: 400, retryable: false },
  NotFound: { status: 404, retryable: false },
  Gone: { status: 410, retryable: false },
  RateLimited: { status: 429, retryable: true },
  InternalServerError: { status: 500, retryable: true },
  ServiceUnavailable: { status: 503, retryable: true },
  RequestSignatureInvalid: { status: 400, retryable: false },
  RequestIdAlreadyUsed: { status: 400, retryable: false },
  InvalidReason: { status: 400, retryable: false },
  ParticipantInvalid: { status: 400, retryable: false },
  TaxIdNumberBlocked: { status: 400, retryable: false },
} as const satisfies Record<string, BcbErrorInfo>;

/** Entry-specific errors ("Vínculo"). */
export const ENTRY_SPECIFIC_ERRORS = {
  EntryInvalid: { status: 400, retryable: false },
  EntryLimitExceeded: { status: 400, retryable: false },
  EntryAlreadyExists: { status: 400, retryable: false },
  EntryCannotBeQueriedForBookTransfer: { status: 400, retryable: false },
  EntryKeyOwnedByDifferentPerson: { status: 400, retryable: false },
  EntryKeyInCustodyOfDifferentParticipant: { status: 400, retryable: false },
  EntryLockedByClaim: { status: 400, retryable: false },
  EntryTaxIdNumberByDifferentOwner: { status: 400, retryable: false },
  EntryBlocked: { status: 400, retryable: false },
  EntryWithFraudRelatedRestriction: { status: 400, retryable: false },
} as const satisfies Record<string, BcbErrorInfo>;

/** Every error an entry operation (create/get/update/delete/checkKeys) can produce. */
export const ENTRY_ERRORS = { ...GENERAL_ERRORS, ...ENTRY_SPECIFIC_ERRORS } as const;
export type EntryErrorName = keyof typeof ENTRY_ERRORS;

/** Claim errors ("Reivindicação"), for the claim/portability flows. */
export const CLAIM_ERRORS = {
  ClaimInvalid: { status: 400, retryable: false },
  ClaimTypeInconsistent: { status: 400, retryable: false },
  ClaimKeyNotFound: { status: 404, retryable: false },
  ClaimAlreadyExistsForKey: { status: 400, retryable: false },
  ClaimResultingEntryAlreadyExists: { status: 400, retryable: false },
  ClaimOperationInvalid: { status: 400, retryable: false },
  ClaimResolutionPeriodNotEnded: { status: 400, retryable: false },
  ClaimCompletionPeriodNotEnded: { status: 400, retryable: false },
} as const satisfies Record<string, BcbErrorInfo>;

export const ENTRY_ERROR_NAMES = Object.keys(ENTRY_ERRORS) as EntryErrorName[];
export const RETRYABLE_ERROR_NAMES = (Object.keys(ENTRY_ERRORS) as EntryErrorName[]).filter((n) => ENTRY_ERRORS[n].retryable);

const KNOWN: Record<string, BcbErrorInfo> = { ...ENTRY_ERRORS, ...CLAIM_ERRORS };

export function bcbErrorInfo(name: string): BcbErrorInfo | undefined {
  return KNOWN[name];
}

/**
 * Whether a DICT problem may succeed on retry. Known names use BCB's classification; unknown
 * names (DICT may add types) fall back to the HTTP status: 429 and 5xx are transient.
 */
export function isRetryableBcbError(name: string, status?: number): boolean {
  const info = KNOWN[name];
  if (info) return info.retryable;
  return status !== undefined && (status === 429 || status >= 500);
}
