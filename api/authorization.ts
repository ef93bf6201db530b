// Authorization rules of the API, on top of the verified Principal (api/auth.ts). Every call is
// already within the token's PSP (its ISPB equals PSP_ISPB, and every read and write is scoped to
// that participant). Operators act on anything of their PSP. A customer acts only on what is
// theirs: ownership is the tax id (CPF/CNPJ) — an entry is a customer's when its owner's tax id
// equals the token's tax id claim; a claim is when the customer is its party at our PSP (as
// claimer: the claimer's tax id; as donor: the owner of our entry the claim was about, recorded
// on the claim when we first saw it — not whoever holds the key now, so a later owner of the
// same key at our PSP never sees or acts on an earlier claim). Customers' claim decisions also
// need a second factor (amr/acr). An account a customer names (a key's account, a claimer
// account) must be one of ours the customer holds, open (the account registry, fed by core
// banking: store/accounts.ts); operators are not checked against it.
import type { ConnectError } from '@connectrpc/connect';
import * as accounts from '../store/accounts.js';
import type { ClaimRecord } from '../store/claims.js';
import type { Db } from '../store/db.js';
import * as entries from '../store/entries.js';
import * as operations from '../store/operations.js';
import { permissionDenied } from './auth.js';
import { invalidArgument } from './errors.js';
import { describePrincipal, type Principal } from './principal.js';

/** The tax id a customer acts for, or undefined for an operator (who is not limited to one owner). */
export function customerTaxId(p: Principal): string | undefined {
  if (p.role !== 'customer') return undefined;
  // The verifier refuses customer tokens without one; never treat a customer as unrestricted.
  if (!p.taxIdNumber) throw permissionDenied('a customer token without a tax id acts for nobody');
  return p.taxIdNumber;
}

/** A customer may only name themselves (as a key's owner, a claimer, a payer). */
export function requireSelf(p: Principal, taxIdNumber: string | undefined, what: string): void {
  const own = customerTaxId(p);
  if (own !== undefined && taxIdNumber !== own) throw permissionDenied(`a customer can only act for themselves: ${what} is not the token's tax id`);
}

/** Whether the principal may see or change this entry of our PSP. */
export function ownsEntry(p: Principal, e: entries.EntryRecord): boolean {
  const own = customerTaxId(p);
  return own === undefined || e.owner.taxIdNumber === own;
}

/** An existing entry of ours changed by a customer must be theirs. */
export async function requireOwnKey(db: Db, p: Principal, key: string): Promise<void> {
  const own = customerTaxId(p);
  if (own === undefined) return;
  const rec = await entries.getLatestEntryByKey(db, key);
  if (!rec || rec.account.participant !== p.participant || rec.owner.taxIdNumber !== own) {
    throw permissionDenied('a customer can only change their own keys');
  }
}

/** ACCOUNT_REGISTRY: enforce (default) checks customers' accounts against the registry; off does not. */
export type AccountRegistryMode = 'enforce' | 'off';

/**
 * An account a customer names must be in our account registry, open, and held by the customer's
 * tax id. One answer for an unknown, closed or another holder's account: nothing is revealed
 * about whose it is or whether it exists. Operators act within their PSP and are not checked.
 */
export async function requireOwnAccount(db: Db, p: Principal, account: accounts.AccountId & { openingDate?: string }, what: string, requestId?: string, field = 'account'): Promise<void> {
  const own = customerTaxId(p);
  if (own === undefined) return;
  // The customer's own row of the account (a joint account has one per holder).
  const rec = account.participant === p.participant ? await accounts.getAccount(db, account, own) : undefined;
  let refusal: ConnectError | undefined;
  if (!rec || rec.closedAt !== undefined) {
    refusal = permissionDenied(`a customer can only name an open account of their own at this PSP: ${what} is not one`);
  } else if (account.openingDate !== undefined && Date.parse(account.openingDate) !== Date.parse(rec.openingDate)) {
    // Their own account: what goes to DICT about it is what core banking says (BCB's openingDate).
    refusal = invalidArgument([{ field: `${field}.opening_date`, reason: 'OPENING_DATE_MISMATCH', description: `is not ${what}'s opening date (${rec.openingDate.slice(0, 10)})` }]);
  }
  if (!refusal) return;
  // A retry of this same user's accepted request gets its first answer (the gateway compares the
  // bodies), even if the account has closed since: the check was made when it was accepted.
  // Looked up only when the check fails, so an ordinary write costs one query here.
  if (requestId && (await operations.getOperation(db, p.participant, requestId))?.requestedBy === describePrincipal(p)) return;
  throw refusal;
}

/**
 * The tax id of our customer who is party to a claim: the claimer, or (donor) the owner of our
 * entry the claim was about, as recorded on the claim (undefined: no customer is).
 */
export function claimPartyTaxId(c: ClaimRecord): string | undefined {
  return c.role === 'CLAIMER' ? c.claimer.taxIdNumber : c.donorTaxIdNumber;
}

export function ownsClaim(p: Principal, c: ClaimRecord): boolean {
  const own = customerTaxId(p);
  return own === undefined || claimPartyTaxId(c) === own;
}

/** A customer's decision on a claim needs a token showing a second factor. */
export function requireSecondFactor(p: Principal, action: string): void {
  if (p.role === 'customer' && !p.secondFactor) {
    throw permissionDenied(`${action} by a customer needs a second authentication factor (token amr/acr shows none: amr=${JSON.stringify(p.amr)}${p.acr ? `, acr=${p.acr}` : ''})`);
  }
}

/** Operators only (e.g. the /codec endpoint): a customer is PERMISSION_DENIED. */
export function requireOperator(p: Principal, what: string): void {
  if (p.role !== 'operator') throw permissionDenied(`${what} is for the PSP's operators only`);
}
