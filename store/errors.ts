// A BCB rule our own records already show to be broken, thrown by store functions.
import type { BcbErrorName } from '../domain/errors.js';

/**
 * A rule of BCB's that our own records already show to be broken (e.g. the key is live here,
 * the account has reached its key limit). `bcbError` is the name DICT itself would answer,
 * so callers see one vocabulary whether we or DICT caught it.
 */
export class BusinessRuleError extends Error {
  override readonly name = 'BusinessRuleError';
  constructor(
    readonly bcbError: BcbErrorName,
    message: string,
  ) {
    super(message);
  }
}
