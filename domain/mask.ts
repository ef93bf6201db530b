// Masking of personal data (LGPD) and signature material in text we write out: log lines and the
// error messages we build. Pure: used by the pino logger (config/logger.ts) on every string of
// every line, by error constructors, and by the suite-level log scan (test/support/log-scan.ts),
// which looks for what this module should have masked with the same recognisers.
//
// Recognised by pattern: CPF (11 digits with a valid check, bare or 000.000.000-00), CNPJ
// (14 digits with a valid check, bare or 00.000.000/0000-00), Brazilian phones in DICT's form
// (+55 and 10-11 digits), e-mail addresses, and XMLDSig values (SignatureValue, DigestValue,
// X509Certificate contents and long base64 runs). Names cannot be recognised in free text: the
// logger removes them by field (owner.name, tradeName ...), see PERSONAL_FIELDS.
import { isValidCnpj, isValidCpf } from './taxid.js';

const CPF_RE = /(?<![\d.])(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?![\d])/g;
const CNPJ_RE = /(?<![\d.])(\d{2})\.?(\d{3})\.?(\d{3})\/?(\d{4})-?(\d{2})(?![\d])/g;
const PHONE_RE = /\+55\s?\(?\d{2}\)?\s?\d{4,5}-?\d{4}(?!\d)/g;
const EMAIL_RE = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})(?![A-Za-z0-9-])/g;
const XMLDSIG_RE = /<((?:[\w-]+:)?(?:SignatureValue|DigestValue|X509Certificate))(\s[^>]*)?>[^<]*<\/\1>/g;
const BASE64_RE = /(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])[A-Za-z0-9+/]{40,}={0,2}/g;

/** Object fields holding personal data whose value is dropped whole (names cannot be matched in text). */
export const PERSONAL_FIELDS = ['name', 'tradeName', 'ownerName', 'taxIdNumber', 'payerId', 'key', 'email', 'phone'] as const;

/** "***.456.789-**": the middle digits stay, enough to tell two people apart in an incident. */
export function maskCpf(digits: string): string {
  return `***.${digits.slice(3, 6)}.${digits.slice(6, 9)}-**`;
}

/** "**.***.678/0001-**": the branch (filial) part stays. */
export function maskCnpj(digits: string): string {
  return `**.***.${digits.slice(5, 8)}/${digits.slice(8, 12)}-**`;
}

/** "+55*******0000": country code and last four digits stay. */
export function maskPhone(phone: string): string {
  const d = phone.replace(/\D/g, '');
  return `+55${'*'.repeat(Math.max(0, d.length - 6))}${d.slice(-4)}`;
}

/** "j***@example.com": first character and domain stay. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`;
}

/** Masks every CPF, CNPJ, +55 phone, e-mail and signature value found in `s`. */
export function maskText(s: string): string {
  if (s.length < 6) return s;
  let out = s.replace(XMLDSIG_RE, (_m, tag: string, attrs: string | undefined) => `<${tag}${attrs ?? ''}>[omitted]</${tag}>`);
  out = out.replace(BASE64_RE, '[base64 omitted]');
  if (out.includes('@')) out = out.replace(EMAIL_RE, (m) => maskEmail(m));
  if (out.includes('+55')) out = out.replace(PHONE_RE, (m) => maskPhone(m));
  if (!/\d{2}/.test(out)) return out;
  out = out.replace(CNPJ_RE, (m, a: string, b: string, c: string, d: string, e: string) => {
    const digits = a + b + c + d + e;
    return isValidCnpj(digits) ? maskCnpj(digits) : m;
  });
  out = out.replace(CPF_RE, (m, a: string, b: string, c: string, d: string) => {
    const digits = a + b + c + d;
    return isValidCpf(digits) ? maskCpf(digits) : m;
  });
  return out;
}

/** A DICT key for messages: CPF/CNPJ/phone/e-mail masked by type, EVPs (random) as they are. */
export function maskKey(key: string): string {
  return maskText(key);
}

/**
 * A deep copy of `v` with every string masked and every personal field's value replaced;
 * Errors become plain objects first via `serializeError` (pino's serializer in the logger).
 */
export function maskDeep(v: unknown, serializeError: (e: Error) => unknown = (e) => ({ type: e.name, message: e.message, stack: e.stack }), depth = 0): unknown {
  if (typeof v === 'string') return maskText(v);
  if (v === null || typeof v !== 'object' || depth > 8) return v;
  if (v instanceof Error) return maskDeep(serializeError(v), serializeError, depth + 1);
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, serializeError, depth + 1));
  if (v instanceof Date || ArrayBuffer.isView(v) || v instanceof Map || v instanceof Set) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    out[k] = (PERSONAL_FIELDS as readonly string[]).includes(k) && x != null && typeof x !== 'object' ? '[masked]' : maskDeep(x, serializeError, depth + 1);
  }
  return out;
}

/** What the log scan looks for: personal data the masking should have removed. */
export interface Leak {
  kind: 'CPF' | 'CNPJ' | 'PHONE' | 'EMAIL';
  /** The match, itself masked (so a report of leaks is not itself a leak). */
  masked: string;
}

/** Unmasked CPF (valid check), CNPJ (valid check), +55 phone or e-mail in `s`. */
export function findLeaks(s: string): Leak[] {
  const leaks: Leak[] = [];
  for (const m of s.matchAll(EMAIL_RE)) leaks.push({ kind: 'EMAIL', masked: maskEmail(m[0]) });
  for (const m of s.matchAll(PHONE_RE)) leaks.push({ kind: 'PHONE', masked: maskPhone(m[0]) });
  for (const m of s.matchAll(CNPJ_RE)) {
    const d = m.slice(1, 6).join('');
    if (isValidCnpj(d)) leaks.push({ kind: 'CNPJ', masked: maskCnpj(d) });
  }
  for (const m of s.matchAll(CPF_RE)) {
    const d = m.slice(1, 5).join('');
    if (isValidCpf(d)) leaks.push({ kind: 'CPF', masked: maskCpf(d) });
  }
  return leaks;
}
