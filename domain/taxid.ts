// CPF / CNPJ check digits (Receita Federal's modulo-11 rules). DICT carries tax ids as bare digits
// (BCB: "sem pontos ou traços"), so masked input is a format error here, not something we strip.

const CPF_RE = /^[0-9]{11}$/;
const CNPJ_RE = /^[0-9]{14}$/;

/** Modulo-11 check digit over `digits` with the given weights (RFB: remainder < 2 gives 0). */
function mod11Digit(digits: string, weights: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += (digits.charCodeAt(i) - 48) * (weights[i] ?? 0);
  const r = sum % 11;
  return r < 2 ? 0 : 11 - r;
}

const CPF_W1 = [10, 9, 8, 7, 6, 5, 4, 3, 2] as const;
const CPF_W2 = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2] as const;
const CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2] as const;
const CNPJ_W2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** The two check digits for a 9-digit CPF base. Throws on a malformed base (programming error). */
export function cpfCheckDigits(base9: string): string {
  if (!/^[0-9]{9}$/.test(base9)) throw new Error('CPF base must be 9 digits');
  const d1 = mod11Digit(base9, CPF_W1);
  const d2 = mod11Digit(base9 + String(d1), CPF_W2);
  return `${d1}${d2}`;
}

/** The two check digits for a 12-digit CNPJ base (8-digit root + 4-digit branch order). */
export function cnpjCheckDigits(base12: string): string {
  if (!/^[0-9]{12}$/.test(base12)) throw new Error('CNPJ base must be 12 digits');
  const d1 = mod11Digit(base12, CNPJ_W1);
  const d2 = mod11Digit(base12 + String(d1), CNPJ_W2);
  return `${d1}${d2}`;
}

/** Repeated digits (000..., 111...) pass modulo 11 but RFB never issues them. */
function allSameDigit(s: string): boolean {
  return /^(\d)\1*$/.test(s);
}

/** Exactly 11 digits, not a repeated digit, check digits correct. */
export function isValidCpf(s: string): boolean {
  if (!CPF_RE.test(s) || allSameDigit(s)) return false;
  return s.slice(9) === cpfCheckDigits(s.slice(0, 9));
}

/**
 * Exactly 14 digits, not a repeated digit, check digits correct. BCB's schema is numeric-only
 * (`[0-9]{14}`), so RFB's future alphanumeric CNPJ is not accepted until DICT's contract changes.
 */
export function isValidCnpj(s: string): boolean {
  if (!CNPJ_RE.test(s) || allSameDigit(s)) return false;
  return s.slice(12) === cnpjCheckDigits(s.slice(0, 12));
}

/** CPF or CNPJ by length (BCB's TaxIdNumber / PI-PayerId: 11 or 14 digits). */
export function isValidTaxId(s: string): boolean {
  return s.length === 11 ? isValidCpf(s) : s.length === 14 ? isValidCnpj(s) : false;
}
