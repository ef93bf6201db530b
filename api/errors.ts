// Errors as clients see them: a gRPC code chosen from BCB's error name, plus typed details —
// google.rpc.ErrorInfo (reason = BCB name, domain dict.bcb.gov.br, metadata) and, for bad
// input, google.rpc.BadRequest with one violation per field.
import { create } from '@bufbuild/protobuf';
import { DurationSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import type { FieldViolation } from '../domain/validation.js';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import type { BcbErrorName, FailureDetail } from '../domain/errors.js';

export const ERROR_DOMAIN = 'dict.bcb.gov.br';

/**
 * The gRPC code of every name in the catalogue: typed over BcbErrorName, so a name added to
 * domain/errors.ts does not compile until it has a code here.
 */
const CODES: Record<BcbErrorName, Code> = {
  // Geral
  Forbidden: Code.PermissionDenied,
  BadRequest: Code.InvalidArgument,
  NotFound: Code.NotFound,
  Gone: Code.NotFound,
  RateLimited: Code.ResourceExhausted,
  InternalServerError: Code.Internal,
  ServiceUnavailable: Code.Unavailable,
  RequestSignatureInvalid: Code.Internal,
  RequestIdAlreadyUsed: Code.AlreadyExists,
  InvalidReason: Code.InvalidArgument,
  ParticipantInvalid: Code.FailedPrecondition,
  TaxIdNumberBlocked: Code.FailedPrecondition,
  // Vínculo
  EntryInvalid: Code.InvalidArgument,
  EntryLimitExceeded: Code.FailedPrecondition,
  EntryAlreadyExists: Code.AlreadyExists,
  EntryCannotBeQueriedForBookTransfer: Code.FailedPrecondition,
  EntryKeyOwnedByDifferentPerson: Code.AlreadyExists,
  EntryKeyInCustodyOfDifferentParticipant: Code.AlreadyExists,
  EntryLockedByClaim: Code.FailedPrecondition,
  EntryTaxIdNumberByDifferentOwner: Code.FailedPrecondition,
  EntryBlocked: Code.FailedPrecondition,
  EntryWithFraudRelatedRestriction: Code.FailedPrecondition,
  // Reivindicação
  ClaimInvalid: Code.InvalidArgument,
  ClaimTypeInconsistent: Code.InvalidArgument,
  ClaimKeyNotFound: Code.NotFound,
  ClaimAlreadyExistsForKey: Code.AlreadyExists,
  ClaimResultingEntryAlreadyExists: Code.AlreadyExists,
  ClaimOperationInvalid: Code.FailedPrecondition,
  ClaimResolutionPeriodNotEnded: Code.FailedPrecondition,
  ClaimCompletionPeriodNotEnded: Code.FailedPrecondition,
  // Notificação de infração
  InfractionReportInvalid: Code.InvalidArgument,
  InfractionReportOperationInvalid: Code.FailedPrecondition,
  InfractionReportTransactionNotFound: Code.NotFound,
  InfractionReportTransactionNotSettled: Code.FailedPrecondition,
  InfractionReportAlreadyBeingProcessedForTransaction: Code.AlreadyExists,
  InfractionReportAlreadyProcessedForTransaction: Code.AlreadyExists,
  InfractionReportPeriodExpired: Code.FailedPrecondition,
  // Marcação de fraude
  FraudMarkerInvalid: Code.InvalidArgument,
  // Solicitação de devolução
  RefundInvalid: Code.InvalidArgument,
  RefundOperationInvalid: Code.FailedPrecondition,
  RefundTransactionNotFound: Code.NotFound,
  RefundTransactionNotSettled: Code.FailedPrecondition,
  RefundAlreadyProcessedForTransaction: Code.AlreadyExists,
  RefundAlreadyBeingProcessedForTransaction: Code.AlreadyExists,
  RefundPeriodExpired: Code.FailedPrecondition,
  TransactionNotRefundable: Code.FailedPrecondition,
  RefundInfractionReportNotFound: Code.NotFound,
  TransactionRefundable: Code.FailedPrecondition,
  // Core DICT only
  DictUnreachable: Code.Unavailable,
};

/** What the caller can do next, for errors that name one. */
const SUGGESTIONS: Partial<Record<BcbErrorName, Record<string, string>>> = {
  EntryKeyOwnedByDifferentPerson: { suggested_action: 'START_OWNERSHIP_CLAIM', claim_type: 'OWNERSHIP' },
  EntryKeyInCustodyOfDifferentParticipant: { suggested_action: 'START_PORTABILITY', claim_type: 'PORTABILITY' },
};

export function codeForBcbError(name: BcbErrorName): Code {
  return CODES[name];
}

function errorInfo(reason: BcbErrorName, metadata: Record<string, string> = {}) {
  return { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }) };
}

export function invalidArgument(violations: FieldViolation[], message = 'request has invalid fields', bcbError: 'EntryInvalid' | 'ClaimInvalid' = 'EntryInvalid'): ConnectError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  return new ConnectError(`${message}: ${summary}`, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) },
    errorInfo(bcbErrorForViolations(violations, bcbError)),
  ]);
}

/**
 * The BCB name DICT itself answers for these violations: InvalidReason when the operation's
 * reason is missing, unknown or not allowed (DICT 2.6.1 "InvalidReason: requisição foi feita com
 * uma razão inválida para a operação"), EntryTaxIdNumberByDifferentOwner for a CPF/CNPJ key that
 * is not its owner's tax id, `fallback` (EntryInvalid / ClaimInvalid) otherwise.
 */
export function bcbErrorForViolations(violations: FieldViolation[], fallback: 'EntryInvalid' | 'ClaimInvalid'): BcbErrorName {
  if (violations.some((v) => v.field === 'reason')) return 'InvalidReason';
  if (violations.some((v) => v.reason === 'KEY_MISMATCH_TAX_ID')) return 'EntryTaxIdNumberByDifferentOwner';
  return fallback;
}

/** A business failure from a workflow or our store, as a ConnectError. */
export function fromFailure(f: FailureDetail): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    errorInfo(f.bcbError, {
      source: f.source,
      ...(f.status ? { dict_status: String(f.status) } : {}),
      ...(f.dictType ? { dict_type: f.dictType } : {}),
      ...SUGGESTIONS[f.bcbError],
    }),
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

export function unavailable(message: string, retryAfterSeconds?: number, reason: 'ServiceUnavailable' | 'RateLimited' | 'DictUnreachable' = 'ServiceUnavailable'): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [errorInfo(reason)];
  if (retryAfterSeconds !== undefined) {
    details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: create(DurationSchema, { seconds: BigInt(retryAfterSeconds) }) }) });
  }
  return new ConnectError(message, CODES[reason], undefined, details);
}

/**
 * An anti-scanning bucket of ours is empty (DICT would answer 429 RateLimited): BCB's name,
 * the policy in ErrorInfo's metadata, and when a token is back in RetryInfo.
 */
export function rateLimited(message: string, retryAfterSeconds: number, policy: string): ConnectError {
  return new ConnectError(message, CODES.RateLimited, undefined, [
    errorInfo('RateLimited', { policy }),
    { desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: create(DurationSchema, { seconds: BigInt(retryAfterSeconds) }) }) },
  ]);
}
