// BCB's DICT error types (API v2 "Tratamento de erros" table) used by the entries and claims parts, and a
// throwable carrying one. Handlers throw SimProblem; the server renders it as a signed
// application/problem+xml body.

export const BCB_ERRORS = {
  Forbidden: { status: 403, title: 'Forbidden' },
  BadRequest: { status: 400, title: 'Bad Request' },
  NotFound: { status: 404, title: 'Not found' },
  RateLimited: { status: 429, title: 'Rate limited' },
  InternalServerError: { status: 500, title: 'Internal Server Error' },
  ServiceUnavailable: { status: 503, title: 'Service Unavailable' },
  RequestSignatureInvalid: { status: 400, title: 'Request signature is invalid' },
  RequestIdAlreadyUsed: { status: 400, title: 'Request id already used' },
  InvalidReason: { status: 400, title: 'Invalid reason' },
  EntryInvalid: { status: 400, title: 'Entry is invalid' },
  EntryLimitExceeded: { status: 400, title: 'Entry limit exceeded' },
  EntryAlreadyExists: { status: 400, title: 'Entry already exists' },
  EntryCannotBeQueriedForBookTransfer: { status: 400, title: 'Entry cannot be queried for book transfer' },
  EntryKeyOwnedByDifferentPerson: { status: 400, title: 'Entry key owned by different person' },
  EntryKeyInCustodyOfDifferentParticipant: { status: 400, title: 'Entry key in custody of different participant' },
  EntryTaxIdNumberByDifferentOwner: { status: 400, title: 'Entry tax id number by different owner' },
  EntryLockedByClaim: { status: 400, title: 'Entry locked by claim' },
  ClaimInvalid: { status: 400, title: 'Claim is invalid' },
  ClaimTypeInconsistent: { status: 400, title: 'Claim type inconsistent' },
  ClaimKeyNotFound: { status: 404, title: 'Claim key not found' },
  ClaimAlreadyExistsForKey: { status: 400, title: 'Claim already exists for key' },
  ClaimResultingEntryAlreadyExists: { status: 400, title: 'Claim resulting entry already exists' },
  ClaimOperationInvalid: { status: 400, title: 'Claim operation invalid' },
  ClaimResolutionPeriodNotEnded: { status: 400, title: 'Claim resolution period not ended' },
  ClaimCompletionPeriodNotEnded: { status: 400, title: 'Claim completion period not ended' },
} as const;

export type BcbErrorName = keyof typeof BCB_ERRORS;

/** One RFC 7807 violation as BCB renders it (reason text, offending value, property path). */
export interface SimViolation {
  reason: string;
  value?: string;
  property?: string;
}

export class SimProblem extends Error {
  override readonly name = 'SimProblem';
  readonly status: number;
  readonly title: string;
  constructor(
    readonly bcbError: BcbErrorName,
    readonly detail?: string,
    readonly violations: SimViolation[] = [],
    /** Sent as Retry-After (seconds) for 429/503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${bcbError}: ${detail ?? BCB_ERRORS[bcbError].title}`);
    this.status = BCB_ERRORS[bcbError].status;
    this.title = BCB_ERRORS[bcbError].title;
  }
}

export const problemTypeUri = (name: string): string => `https://dict.pi.rsfn.net.br/api/v2/error/${name}`;
