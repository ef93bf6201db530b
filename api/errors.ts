// Errors as clients see them: a gRPC code chosen from BCB's error name, plus typed details —
// google.rpc.ErrorInfo (reason = BCB name, domain dict.bcb.gov.br, metadata) and, for bad
// input, google.rpc.BadRequest with one violation per field.
import { create } from '@bufbuild/protobuf';
import { DurationSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import type { FieldViolation } from '../domain/validation.js';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import type { FailureDetail } from '../workflows/failures.js';

export const ERROR_DOMAIN = 'dict.bcb.gov.br';

const CODES: Record<string, Code> = {
  EntryInvalid: Code.InvalidArgument,
  ClaimInvalid: Code.InvalidArgument,
  BadRequest: Code.InvalidArgument,
  InvalidReason: Code.InvalidArgument,
  ClaimTypeInconsistent: Code.InvalidArgument,
  RequestSignatureInvalid: Code.Internal,
  EntryAlreadyExists: Code.AlreadyExists,
  ClaimAlreadyExistsForKey: Code.AlreadyExists,
  RequestIdAlreadyUsed: Code.AlreadyExists,
  EntryKeyOwnedByDifferentPerson: Code.AlreadyExists,
  EntryKeyInCustodyOfDifferentParticipant: Code.AlreadyExists,
  EntryLockedByClaim: Code.FailedPrecondition,
  EntryLimitExceeded: Code.FailedPrecondition,
  EntryTaxIdNumberByDifferentOwner: Code.FailedPrecondition,
  ClaimOperationInvalid: Code.FailedPrecondition,
  ClaimResolutionPeriodNotEnded: Code.FailedPrecondition,
  ClaimCompletionPeriodNotEnded: Code.FailedPrecondition,
  NotFound: Code.NotFound,
  ClaimKeyNotFound: Code.NotFound,
  Forbidden: Code.PermissionDenied,
  RateLimited: Code.ResourceExhausted,
  ServiceUnavailable: Code.Unavailable,
  InternalServerError: Code.Internal,
};

/** What the caller can do next, for errors that name one. */
const SUGGESTIONS: Record<string, Record<string, string>> = {
  EntryKeyOwnedByDifferentPerson: { suggested_action: 'START_OWNERSHIP_CLAIM', claim_type: 'OWNERSHIP' },
  EntryKeyInCustodyOfDifferentParticipant: { suggested_action: 'START_PORTABILITY', claim_type: 'PORTABILITY' },
};

export function codeForBcbError(name: string): Code {
  return CODES[name] ?? Code.FailedPrecondition;
}

function errorInfo(reason: string, metadata: Record<string, string> = {}) {
  return { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }) };
}

export function invalidArgument(violations: FieldViolation[], message = 'request has invalid fields', bcbError: 'EntryInvalid' | 'ClaimInvalid' = 'EntryInvalid'): ConnectError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  return new ConnectError(`${message}: ${summary}`, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) },
    // DICT's own name for a CPF/CNPJ key that is not its owner's tax id; EntryInvalid otherwise.
    errorInfo(violations.some((v) => v.reason === 'KEY_MISMATCH_TAX_ID') ? 'EntryTaxIdNumberByDifferentOwner' : bcbError),
  ]);
}

/** A business failure from a workflow or our store, as a ConnectError. */
export function fromFailure(f: FailureDetail): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    errorInfo(f.bcbError, { source: f.source, ...(f.status ? { dict_status: String(f.status) } : {}), ...SUGGESTIONS[f.bcbError] }),
  ];
  if (f.violations?.length) {
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, {
        fieldViolations: f.violations.map((v) => ({ field: v.property ?? '', description: v.reason, reason: v.reason })),
      }),
    });
  }
  return new ConnectError(`${f.bcbError}: ${f.detail ?? ''}`.trim(), codeForBcbError(f.bcbError), undefined, details);
}

export function notFound(what: string): ConnectError {
  return new ConnectError(`${what} not found`, Code.NotFound, undefined, [errorInfo('NotFound')]);
}

export function unavailable(message: string, retryAfterSeconds?: number, reason = 'ServiceUnavailable'): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [errorInfo(reason)];
  if (retryAfterSeconds !== undefined) {
    details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: create(DurationSchema, { seconds: BigInt(retryAfterSeconds) }) }) });
  }
  return new ConnectError(message, reason === 'RateLimited' ? Code.ResourceExhausted : Code.Unavailable, undefined, details);
}
