// Request validation for the API, the workflows and the DICT simulator: one FieldViolation per
// broken rule, all of them collected (never just the first).
//
// Conventions:
//  - field: proto snake_case path ('owner.tax_id_number'); toBcbProperty maps it to BCB's names.
//  - An empty string counts as absent (proto3 has no "unset" for strings and enums).
//  - request_id is our API's idempotency key and must be a UUID (isValidRequestId), on every
//    write, although DICT itself only takes a RequestId on createEntry.
//  - Nothing is normalized: a masked CPF or an upper-case e-mail is reported, not fixed.

import { parseDateTime } from './dates.js';
import { isClaimAllowed } from './claims.js';
import { isUuid, isValidEndToEndId, isValidIspb, isValidRequestId } from './ids.js';
import { inferKeyType, isKeyType, keyViolation, type KeyMode, type RuleViolation } from './keys.js';
import { legalNameViolation, naturalNameViolation, tradeNameViolation } from './names.js';
import { isReasonAllowed, allowedEntryReasons, type EntryOperation } from './reasons.js';
import { isValidCnpj, isValidCpf } from './taxid.js';
import {
  ACCOUNT_TYPES,
  CLAIM_OPERATION_REASONS,
  ENTRY_OPERATION_REASONS,
  KEY_TYPES,
  PERSON_TYPES,
  type Entry,
  type KeyType,
} from './types.js';

export { inferKeyType } from './keys.js';

export interface FieldViolation {
  /** Proto snake_case path, e.g. 'owner.tax_id_number', 'account.branch', 'key'. */
  field: string;
  description: string;
  /** SCREAMING_SNAKE code, e.g. 'REQUIRED', 'PATTERN', 'INVALID_CPF', 'KEY_MISMATCH_TAX_ID'. */
  reason: string;
}

/** Account as it arrives: every field may be missing, enums may be any string. */
export interface AccountInput {
  participant?: string;
  branch?: string;
  accountNumber?: string;
  accountType?: string;
  openingDate?: string;
}

/** Owner as it arrives: every field may be missing, enums may be any string. */
export interface PersonInput {
  type?: string;
  taxIdNumber?: string;
  name?: string;
  tradeName?: string;
}

export interface CreateEntryInput {
  key?: string;
  keyType?: string;
  account?: AccountInput;
  owner?: PersonInput;
  reason?: string;
  requestId?: string;
}

export interface UpdateEntryInput {
  key?: string;
  /** Optional: inferred from the key when absent (needed for the EVP reason rule). */
  keyType?: string;
  account?: AccountInput;
  owner?: PersonInput;
  reason?: string;
  requestId?: string;
}

export interface DeleteEntryInput {
  key?: string;
  keyType?: string;
  reason?: string;
  requestId?: string;
}

export interface LookupInput {
  key?: string;
  payerId?: string;
  endToEndId?: string;
}

export interface EntryRuleOptions {
  /** Our ISPB: we only register/update keys on accounts we hold. */
  ourIspb?: string;
  /** "Now" for the opening-date check, epoch ms; defaults to Date.now() (deterministic in Temporal workflows). */
  now?: number;
}

export interface CreateEntryOptions extends EntryRuleOptions {
  /** When true an EVP entry must carry its (already generated) key; default false: key must be empty. */
  requireKeyForEvp?: boolean;
}

const REQ = (field: string, label = field): FieldViolation => ({ field, reason: 'REQUIRED', description: `${label} is required` });

function present(s: string | undefined): s is string {
  return s !== undefined && s !== '';
}

function push(out: FieldViolation[], field: string, v: RuleViolation | undefined): void {
  if (v) out.push({ field, reason: v.reason, description: v.description });
}

function enumViolation(field: string, value: string, allowed: readonly string[]): FieldViolation {
  return { field, reason: 'INVALID_ENUM', description: `${field} '${value.slice(0, 40)}' is not one of ${allowed.join(', ')}` };
}

function checkRequestId(requestId: string | undefined, out: FieldViolation[]): void {
  if (!present(requestId)) out.push(REQ('request_id'));
  else if (!isValidRequestId(requestId)) {
    out.push({ field: 'request_id', reason: 'PATTERN', description: 'request_id must be a UUID' });
  }
}

function checkReason(op: EntryOperation, reason: string | undefined, keyType: KeyType | undefined, out: FieldViolation[]): void {
  if (!present(reason)) out.push(REQ('reason'));
  else if (!(ENTRY_OPERATION_REASONS as readonly string[]).includes(reason)) {
    out.push(enumViolation('reason', reason, ENTRY_OPERATION_REASONS));
  } else if (!isReasonAllowed(op, reason, keyType)) {
    const allowed = allowedEntryReasons(op, keyType).join(', ');
    const what = op === 'update' && keyType === 'EVP' ? 'update of an EVP key' : `${op}`;
    out.push({ field: 'reason', reason: 'REASON_NOT_ALLOWED', description: `reason ${reason} is not allowed for ${what}; allowed: ${allowed}` });
  }
}

function checkAccount(account: AccountInput | undefined, opts: EntryRuleOptions, out: FieldViolation[], p = 'account'): void {
  if (!account) {
    out.push(REQ(p));
    return;
  }
  const { participant, branch, accountNumber, accountType, openingDate } = account;
  if (!present(participant)) out.push(REQ(`${p}.participant`));
  else if (!isValidIspb(participant)) {
    out.push({ field: `${p}.participant`, reason: 'PATTERN', description: `${p}.participant must be an 8-digit ISPB` });
  } else if (opts.ourIspb !== undefined && participant !== opts.ourIspb) {
    out.push({ field: `${p}.participant`, reason: 'NOT_OUR_PARTICIPANT', description: `${p}.participant must be our ISPB ${opts.ourIspb}` });
  }
  if (present(branch) && !/^[0-9]{1,4}$/.test(branch)) {
    out.push({ field: `${p}.branch`, reason: 'PATTERN', description: `${p}.branch must be 1 to 4 digits, without check digit` });
  }
  if (!present(accountNumber)) out.push(REQ(`${p}.account_number`));
  else if (!/^[0-9]{1,20}$/.test(accountNumber)) {
    out.push({ field: `${p}.account_number`, reason: 'PATTERN', description: `${p}.account_number must be 1 to 20 digits (a letter check digit becomes 0)` });
  }
  if (!present(accountType)) out.push(REQ(`${p}.account_type`));
  else if (!(ACCOUNT_TYPES as readonly string[]).includes(accountType)) {
    out.push(enumViolation(`${p}.account_type`, accountType, ACCOUNT_TYPES));
  }
  if (!present(openingDate)) out.push(REQ(`${p}.opening_date`));
  else {
    const t = parseDateTime(openingDate);
    if (t === undefined) {
      out.push({ field: `${p}.opening_date`, reason: 'INVALID_DATE_TIME', description: `${p}.opening_date must be an ISO-8601 date-time with offset` });
    } else if (t > (opts.now ?? Date.now())) {
      out.push({ field: `${p}.opening_date`, reason: 'IN_FUTURE', description: `${p}.opening_date cannot be in the future` });
    }
  }
}

/** A person's tax id: required; a CPF (11 digits) for a natural person, a CNPJ (14) for a legal one, check digits right. */
function checkTaxIdNumber(knownType: string | undefined, taxIdNumber: string | undefined, checkTaxIdDigits: boolean, out: FieldViolation[], p: string): void {
  if (!present(taxIdNumber)) out.push(REQ(`${p}.tax_id_number`));
  else if (knownType === 'NATURAL_PERSON') {
    if (!/^[0-9]{11}$/.test(taxIdNumber)) {
      out.push({ field: `${p}.tax_id_number`, reason: 'PATTERN', description: `${p}.tax_id_number of a natural person must be a CPF: 11 digits` });
    } else if (checkTaxIdDigits && !isValidCpf(taxIdNumber)) {
      out.push({ field: `${p}.tax_id_number`, reason: 'INVALID_CPF', description: `${p}.tax_id_number is not a valid CPF` });
    }
  } else if (knownType === 'LEGAL_PERSON') {
    if (!/^[0-9]{14}$/.test(taxIdNumber)) {
      out.push({ field: `${p}.tax_id_number`, reason: 'PATTERN', description: `${p}.tax_id_number of a legal person must be a CNPJ: 14 digits` });
    } else if (checkTaxIdDigits && !isValidCnpj(taxIdNumber)) {
      out.push({ field: `${p}.tax_id_number`, reason: 'INVALID_CNPJ', description: `${p}.tax_id_number is not a valid CNPJ` });
    }
  }
}

function checkOwner(owner: PersonInput | undefined, checkTaxIdDigits: boolean, out: FieldViolation[], p = 'owner'): void {
  if (!owner) {
    out.push(REQ(p));
    return;
  }
  const { type, taxIdNumber, name, tradeName } = owner;
  const knownType = present(type) && (PERSON_TYPES as readonly string[]).includes(type) ? type : undefined;
  if (!present(type)) out.push(REQ(`${p}.type`));
  else if (!knownType) out.push(enumViolation(`${p}.type`, type, PERSON_TYPES));

  checkTaxIdNumber(knownType, taxIdNumber, checkTaxIdDigits, out, p);

  if (!present(name)) out.push(REQ(`${p}.name`));
  else if (knownType === 'NATURAL_PERSON') push(out, `${p}.name`, naturalNameViolation(name));
  else if (knownType === 'LEGAL_PERSON') push(out, `${p}.name`, legalNameViolation(name));

  if (present(tradeName)) {
    if (knownType === 'NATURAL_PERSON') {
      out.push({ field: `${p}.trade_name`, reason: 'NOT_ALLOWED', description: `${p}.trade_name is for legal persons only` });
    } else if (knownType === 'LEGAL_PERSON') push(out, `${p}.trade_name`, tradeNameViolation(tradeName));
  }
}

/**
 * CPF/CNPJ keys belong to their holder: the key must equal the owner's tax id and the owner must
 * be of the matching person type (BCB: EntryTaxIdNumberByDifferentOwner). Only compared once the
 * key itself is valid, so a malformed key yields one violation, not two.
 */
function checkKeyOwner(keyType: KeyType, key: string, keyValid: boolean, owner: PersonInput | undefined, out: FieldViolation[], p = 'owner'): void {
  if (!owner || (keyType !== 'CPF' && keyType !== 'CNPJ')) return;
  const wantType = keyType === 'CPF' ? 'NATURAL_PERSON' : 'LEGAL_PERSON';
  if (present(owner.type) && owner.type !== wantType && (PERSON_TYPES as readonly string[]).includes(owner.type)) {
    out.push({ field: `${p}.type`, reason: 'OWNER_TYPE_MISMATCH', description: `a ${keyType} key must belong to a ${wantType}` });
  }
  if (keyValid && present(owner.taxIdNumber) && owner.taxIdNumber !== key) {
    out.push({ field: 'key', reason: 'KEY_MISMATCH_TAX_ID', description: `${keyType} key must equal ${p}.tax_id_number` });
  }
}

/** key_type: required and known; returns the type when usable. */
function checkKeyType(keyType: string | undefined, out: FieldViolation[]): KeyType | undefined {
  if (!present(keyType)) {
    out.push(REQ('key_type'));
    return undefined;
  }
  if (!isKeyType(keyType)) {
    out.push(enumViolation('key_type', keyType, KEY_TYPES));
    return undefined;
  }
  return keyType;
}

/** An existing key (update/delete/lookup): required, type given or inferred, DICT-wide format. */
function checkExistingKey(key: string | undefined, keyType: string | undefined, out: FieldViolation[]): { type?: KeyType; valid: boolean } {
  let type: KeyType | undefined;
  if (present(keyType)) {
    if (isKeyType(keyType)) type = keyType;
    else out.push(enumViolation('key_type', keyType, KEY_TYPES));
  }
  if (!present(key)) {
    out.push(REQ('key'));
    return { type, valid: false };
  }
  type ??= inferKeyType(key);
  if (!type) {
    out.push({ field: 'key', reason: 'PATTERN', description: 'key is not a CPF, CNPJ, PHONE (+E.164), EMAIL or EVP (UUID)' });
    return { valid: false };
  }
  const v = keyViolation(type, key, 'existing');
  push(out, 'key', v);
  return { type, valid: v === undefined };
}

/** CreateKey: registering a new key for one of our accounts. */
export function validateCreateEntry(input: CreateEntryInput, opts: CreateEntryOptions = {}): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkRequestId(input.requestId, out);
  const keyType = checkKeyType(input.keyType, out);
  if (keyType) checkNewKey(keyType, input.key, input.owner, opts.requireKeyForEvp ?? false, 'register', out);
  checkAccount(input.account, opts, out);
  checkOwner(input.owner, true, out);
  checkReason('create', input.reason, keyType, out);
  return out;
}

function checkNewKey(keyType: KeyType, key: string | undefined, owner: PersonInput | undefined, requireKeyForEvp: boolean, mode: KeyMode, out: FieldViolation[]): void {
  if (keyType === 'EVP' && !requireKeyForEvp) {
    if (present(key)) out.push({ field: 'key', reason: 'EVP_NOT_ALLOWED', description: 'key must be empty for EVP: DICT generates random keys' });
    return;
  }
  if (!present(key)) {
    out.push(REQ('key'));
    return;
  }
  const v = keyViolation(keyType, key, mode);
  push(out, 'key', v);
  checkKeyOwner(keyType, key, v === undefined, owner, out);
}

/**
 * UpdateKey: BCB only lets account data, name and trade name change; account and owner are the
 * entry's complete new state, so both are required. That owner type/tax id did not change needs
 * the stored entry and is checked by the caller.
 */
export function validateUpdateEntry(input: UpdateEntryInput, opts: EntryRuleOptions = {}): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkRequestId(input.requestId, out);
  const { type, valid } = checkExistingKey(input.key, input.keyType, out);
  if (type && present(input.key)) checkKeyOwner(type, input.key, valid, input.owner, out);
  checkAccount(input.account, opts, out);
  checkOwner(input.owner, true, out);
  checkReason('update', input.reason, type, out);
  return out;
}

/** DeleteKey. */
export function validateDeleteEntry(input: DeleteEntryInput): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkRequestId(input.requestId, out);
  checkExistingKey(input.key, input.keyType, out);
  checkReason('delete', input.reason, undefined, out);
  return out;
}

/**
 * LookupKey (BCB getEntry). The key may have been registered anywhere, so its format is DICT's,
 * not our registration rules. PI-PayerId (CPF/CNPJ digits) and PI-EndToEndId are required headers.
 */
export function validateLookup(input: LookupInput): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkExistingKey(input.key, undefined, out);
  const { payerId, endToEndId } = input;
  if (!present(payerId)) out.push(REQ('payer_id'));
  else if (!/^([0-9]{11}|[0-9]{14})$/.test(payerId)) {
    out.push({ field: 'payer_id', reason: 'PATTERN', description: 'payer_id must be the payer CPF (11 digits) or CNPJ (14 digits)' });
  } else if (payerId.length === 11 ? !isValidCpf(payerId) : !isValidCnpj(payerId)) {
    out.push({ field: 'payer_id', reason: payerId.length === 11 ? 'INVALID_CPF' : 'INVALID_CNPJ', description: 'payer_id has invalid check digits' });
  }
  if (!present(endToEndId)) out.push(REQ('end_to_end_id'));
  else if (!isValidEndToEndId(endToEndId)) {
    out.push({ field: 'end_to_end_id', reason: 'PATTERN', description: "end_to_end_id must be SPI's 'E' + ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics" });
  }
  return out;
}

export interface DictEntryOptions {
  /**
   * Check CPF/CNPJ check digits of the owner's tax id and of CPF/CNPJ keys. Default true (real
   * DICT checks tax ids against Receita Federal). BCB's own examples use 11122233300, whose check
   * digits are wrong, so replaying them needs false.
   */
  checkTaxIdDigits?: boolean;
  now?: number;
}

/**
 * An Entry as DICT itself would judge it, for the simulator (createEntry / updateEntry bodies).
 * DICT's formats, not our registration rules: PHONE is any E.164 number, participant is not
 * compared with anyone. On 'create' an EVP entry must come without a key (DICT generates it); on
 * 'update' the key is required. Reason and RequestId are outside Entry: check them with
 * isReasonAllowed / isUuidV4. Fields are mapped to BCB names with toBcbProperty.
 */
export function validateDictEntry(entry: Entry, op: 'create' | 'update', opts: DictEntryOptions = {}): FieldViolation[] {
  const out: FieldViolation[] = [];
  const checkDigits = opts.checkTaxIdDigits ?? true;
  const keyType = checkKeyType(entry.keyType, out);
  if (keyType === 'EVP' && op === 'create') {
    if (present(entry.key)) out.push({ field: 'key', reason: 'EVP_NOT_ALLOWED', description: 'key must be empty for EVP: DICT generates random keys' });
  } else if (keyType) {
    if (!present(entry.key)) out.push(REQ('key'));
    else if (checkDigits) checkNewKey(keyType, entry.key, entry.owner, true, 'existing', out);
    else checkKeyFormatOnly(keyType, entry.key, entry.owner, out);
  }
  checkAccount(entry.account, { now: opts.now }, out);
  checkOwner(entry.owner, checkDigits, out);
  return out;
}

/** Like checkNewKey in 'existing' mode but CPF/CNPJ keys are checked for shape only. */
function checkKeyFormatOnly(keyType: KeyType, key: string, owner: PersonInput | undefined, out: FieldViolation[]): void {
  if (keyType !== 'CPF' && keyType !== 'CNPJ') {
    checkNewKey(keyType, key, owner, true, 'existing', out);
    return;
  }
  const len = keyType === 'CPF' ? 11 : 14;
  const ok = new RegExp(`^[0-9]{${len}}$`).test(key);
  if (!ok) out.push({ field: 'key', reason: 'PATTERN', description: `${keyType} key must be exactly ${len} digits` });
  checkKeyOwner(keyType, key, ok, owner, out);
}

/** 'owner.tax_id_number' -> 'Owner.TaxIdNumber' (BCB's XML element names, for Problem violations). */
export function toBcbProperty(field: string): string {
  return field
    .split('.')
    .map((seg) => seg.split('_').map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w)).join(''))
    .join('.');
}

export interface StartClaimInput {
  requestId?: string;
  /** OWNERSHIP (StartClaim) or PORTABILITY (StartPortability): set by the RPC, not the caller. */
  type: 'OWNERSHIP' | 'PORTABILITY';
  keyType?: string;
  key?: string;
  claimerAccount?: AccountInput;
  claimer?: PersonInput;
}

/**
 * StartClaim / StartPortability: a key of a type the claim type allows (BCB's createClaim table),
 * in DICT's format; the account ours; the claimer a valid person. A CPF/CNPJ key can only be
 * ported by its holder. Whether the key's current owner fits the claim type is DICT's to say
 * (ClaimTypeInconsistent): we do not know the owner.
 */
export function validateStartClaim(input: StartClaimInput, opts: EntryRuleOptions = {}): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkRequestId(input.requestId, out);
  const keyType = checkKeyType(input.keyType, out);
  if (keyType && !isClaimAllowed(input.type, keyType)) {
    out.push({ field: 'key_type', reason: 'CLAIM_NOT_ALLOWED', description: `a ${keyType} key cannot be claimed by ${input.type}` });
  } else if (keyType) {
    if (!present(input.key)) out.push(REQ('key'));
    else {
      const v = keyViolation(keyType, input.key, 'existing');
      push(out, 'key', v);
      checkKeyOwner(keyType, input.key, v === undefined, input.claimer, out, 'claimer');
    }
  }
  checkAccount(input.claimerAccount, opts, out, 'claimer_account');
  checkOwner(input.claimer, true, out, 'claimer');
  return out;
}

export interface ClaimDecisionInput {
  requestId?: string;
  claimId?: string;
  reason?: string;
  /** Whether the RPC needs a reason (CompleteClaim has none). */
  reasonRequired: boolean;
}

/** The decision RPCs: request id, DICT's claim id (a UUID), and a known reason where one is needed. */
export function validateClaimDecision(input: ClaimDecisionInput): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkRequestId(input.requestId, out);
  if (!present(input.claimId)) out.push(REQ('claim_id'));
  else if (!isUuid(input.claimId)) out.push({ field: 'claim_id', reason: 'PATTERN', description: 'claim_id must be a UUID' });
  if (input.reasonRequired) {
    if (!present(input.reason)) out.push(REQ('reason'));
    else if (!(CLAIM_OPERATION_REASONS as readonly string[]).includes(input.reason)) out.push(enumViolation('reason', input.reason, CLAIM_OPERATION_REASONS));
  }
  return out;
}

/** One account of our PSP as core banking feeds it to the account registry (scripts/accounts.ts). */
export interface RegistryAccountInput {
  account?: AccountInput;
  holder?: { type?: string; taxIdNumber?: string };
  /** When the account closed (RFC 3339 date-time with offset); absent or empty while it is open. */
  closedAt?: string;
}

/**
 * An account for the registry: the account as an entry's would be checked (our ISPB, branch and
 * number formats, BCB's account type, an opening date not in the future), its holder's person
 * type and CPF/CNPJ (check digits included), and a closing date, when there is one, that is a
 * date-time not before the opening.
 */
export function validateRegistryAccount(input: RegistryAccountInput, opts: EntryRuleOptions = {}): FieldViolation[] {
  const out: FieldViolation[] = [];
  checkAccount(input.account, opts, out);
  const holder = input.holder ?? {};
  const knownType = present(holder.type) && (PERSON_TYPES as readonly string[]).includes(holder.type) ? holder.type : undefined;
  if (!present(holder.type)) out.push(REQ('holder.type'));
  else if (!knownType) out.push(enumViolation('holder.type', holder.type, PERSON_TYPES));
  checkTaxIdNumber(knownType, holder.taxIdNumber, true, out, 'holder');
  if (present(input.closedAt)) {
    const closed = parseDateTime(input.closedAt);
    const opened = present(input.account?.openingDate) ? parseDateTime(input.account.openingDate) : undefined;
    if (closed === undefined) out.push({ field: 'closed_at', reason: 'INVALID_DATE_TIME', description: 'closed_at must be an ISO-8601 date-time with offset' });
    else if (opened !== undefined && closed < opened) out.push({ field: 'closed_at', reason: 'BEFORE_OPENING', description: 'closed_at cannot be before account.opening_date' });
  }
  return out;
}
