// Pix key formats (DICT API v2: Key maxLength 77 and the per-type table of the "Key" tag,
// Email/Phone schemas; Manual Operacional section 1).
//
// Two modes, because not every key DICT holds was registered under our rules:
//  - 'register' (default): what we accept when registering a key at our PSP. PHONE must be a
//    Brazilian mobile: +55, a DDD (two digits 1-9) and a 9-digit number starting with 9.
//  - 'existing': any key DICT's published formats allow (PHONE is any E.164 number). Used for
//    lookups, updates and deletes of keys that may have been registered elsewhere or earlier.
// In both modes CPF/CNPJ keys need valid check digits: such a key cannot exist in DICT, and a
// lookup that DICT answers 404 costs 20 antiscan tokens.
//
// Nothing here rewrites input: an upper-case e-mail or a masked CPF is a violation with a clear
// message, never silently fixed. normalizeKey is an explicit, opt-in helper for formatting noise.

import { isValidCnpj, isValidCpf } from './taxid.js';
import { KEY_TYPES, type KeyType } from './types.js';

export const KEY_MAX_LENGTH = 77;

export type KeyMode = 'register' | 'existing';

/** A broken rule: a SCREAMING_SNAKE code (FieldViolation.reason) and a human message. */
export interface RuleViolation {
  reason: string;
  description: string;
}

const CPF_KEY_RE = /^[0-9]{11}$/;
const CNPJ_KEY_RE = /^[0-9]{14}$/;
const EVP_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// BCB's Email schema, verbatim.
const EMAIL_RE =
  /^[a-z0-9.!#$%&'*+\/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
// E.164 as in the Key tag table (country code cannot start with 0).
const E164_RE = /^\+[1-9][0-9]{1,14}$/;
// +55, DDD with digits 1-9 each, mobile number: 9 followed by 8 digits.
const BR_MOBILE_RE = /^\+55[1-9]{2}9[0-9]{8}$/;

export function isKeyType(s: string): s is KeyType {
  return (KEY_TYPES as readonly string[]).includes(s);
}

/** EVP as DICT generates it: a lowercase RFC 4122 UUID (the v2 spec does not pin the version). */
export function isEvp(s: string): boolean {
  return EVP_RE.test(s);
}

export function isEmailKey(s: string): boolean {
  return s.length <= KEY_MAX_LENGTH && EMAIL_RE.test(s);
}

export function isE164Phone(s: string): boolean {
  return E164_RE.test(s);
}

export function isBrazilianMobile(s: string): boolean {
  return BR_MOBILE_RE.test(s);
}

/** Why `key` is not a valid key of `keyType`, or undefined when it is. */
export function keyViolation(keyType: KeyType, key: string, mode: KeyMode = 'register'): RuleViolation | undefined {
  if (key === '') return { reason: 'REQUIRED', description: 'key is required' };
  if ([...key].length > KEY_MAX_LENGTH) {
    return { reason: 'TOO_LONG', description: `key must be at most ${KEY_MAX_LENGTH} characters` };
  }
  switch (keyType) {
    case 'CPF':
      if (!CPF_KEY_RE.test(key)) return { reason: 'PATTERN', description: 'CPF key must be exactly 11 digits, without dots or dashes' };
      if (!isValidCpf(key)) return { reason: 'INVALID_CPF', description: 'CPF key has invalid check digits' };
      return undefined;
    case 'CNPJ':
      if (!CNPJ_KEY_RE.test(key)) return { reason: 'PATTERN', description: 'CNPJ key must be exactly 14 digits, without dots, slashes or dashes' };
      if (!isValidCnpj(key)) return { reason: 'INVALID_CNPJ', description: 'CNPJ key has invalid check digits' };
      return undefined;
    case 'PHONE':
      if (!E164_RE.test(key)) return { reason: 'PATTERN', description: "PHONE key must be E.164: '+' then country code and number, digits only" };
      if (mode === 'register' && !BR_MOBILE_RE.test(key)) {
        return { reason: 'INVALID_PHONE', description: 'PHONE key must be a Brazilian mobile: +55, 2-digit DDD, 9-digit number starting with 9' };
      }
      return undefined;
    case 'EMAIL':
      if (key !== key.toLowerCase() && EMAIL_RE.test(key.toLowerCase())) {
        return { reason: 'NOT_LOWERCASE', description: 'EMAIL key must be lowercase' };
      }
      if (!EMAIL_RE.test(key)) return { reason: 'PATTERN', description: "EMAIL key does not match BCB's e-mail pattern" };
      return undefined;
    case 'EVP':
      if (key !== key.toLowerCase() && EVP_RE.test(key.toLowerCase())) {
        return { reason: 'NOT_LOWERCASE', description: 'EVP key must be lowercase' };
      }
      if (!EVP_RE.test(key)) return { reason: 'PATTERN', description: 'EVP key must be a UUID (8-4-4-4-12 lowercase hex)' };
      return undefined;
  }
}

/** Reason message when `key` is not valid for `keyType`, else undefined. */
export function validateKey(keyType: KeyType, key: string, mode: KeyMode = 'register'): string | undefined {
  return keyViolation(keyType, key, mode)?.description;
}

/**
 * The key type a key's shape implies. The shapes are disjoint (UUID / has '@' / starts with '+' /
 * 11 digits / 14 digits), so this is unambiguous; it does not check validity (use validateKey).
 */
export function inferKeyType(key: string): KeyType | undefined {
  if (EVP_RE.test(key.toLowerCase())) return 'EVP';
  if (key.includes('@')) return 'EMAIL';
  if (key.startsWith('+')) return 'PHONE';
  if (CPF_KEY_RE.test(key)) return 'CPF';
  if (CNPJ_KEY_RE.test(key)) return 'CNPJ';
  return undefined;
}

/**
 * Opt-in cleanup of formatting noise a human types, only where the result is unambiguous:
 * CPF/CNPJ masks ('.', '-', '/', spaces) and PHONE separators (spaces, '-', '(', ')', '.').
 * EMAIL and EVP are returned unchanged: case is data, and we report it rather than fix it.
 * Leading/trailing whitespace is trimmed for all types. Always validate the result.
 */
export function normalizeKey(keyType: KeyType, key: string): string {
  const k = key.trim();
  switch (keyType) {
    case 'CPF':
    case 'CNPJ':
      return k.replace(/[.\-\/\s]/g, '');
    case 'PHONE':
      return k.replace(/[\s\-().]/g, '');
    case 'EMAIL':
    case 'EVP':
      return k;
  }
}
