import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cnpjCheckDigits, cpfCheckDigits, isValidCnpj, isValidCpf, isValidTaxId } from '../../domain/index.js';

// Deterministic PRNG so failures reproduce.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
function digits(rand: () => number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String(Math.floor(rand() * 10));
  return out;
}

// Independent formulation of RFB's rule (sum * 10 mod 11, 10 -> 0) to cross-check taxid.ts.
function oracleDigit(ds: string, weights: number[]): number {
  const sum = weights.reduce((acc, w, i) => acc + w * Number(ds[i]), 0);
  const d = (sum * 10) % 11;
  return d === 10 ? 0 : d;
}
function oracleCpf(base: string): string {
  const d1 = oracleDigit(base, [10, 9, 8, 7, 6, 5, 4, 3, 2]);
  const d2 = oracleDigit(base + d1, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
  return `${d1}${d2}`;
}
function oracleCnpj(base: string): string {
  const d1 = oracleDigit(base, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
  const d2 = oracleDigit(base + d1, [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
  return `${d1}${d2}`;
}

test('well-known valid numbers (check digits verified by hand)', () => {
  // 111.444.777-35: sum1 = 162, 162 % 11 = 8 -> 3; sum2 = 204, 204 % 11 = 6 -> 5.
  assert.equal(isValidCpf('11144477735'), true);
  // 11.222.333/0001-81: sum1 = 102, 102 % 11 = 3 -> 8; sum2 = 120, 120 % 11 = 10 -> 1.
  assert.equal(isValidCnpj('11222333000181'), true);
  assert.equal(cpfCheckDigits('111444777'), '35');
  assert.equal(cnpjCheckDigits('112223330001'), '81');
});

test('random CPFs: check digits agree with an independent formulation and validate', () => {
  const rand = lcg(42);
  for (let i = 0; i < 500; i++) {
    const base = digits(rand, 9);
    assert.equal(cpfCheckDigits(base), oracleCpf(base), base);
    const cpf = base + cpfCheckDigits(base);
    if (/^(\d)\1*$/.test(cpf)) continue;
    assert.equal(isValidCpf(cpf), true, cpf);
    // Any other second check digit, or any other first one, is wrong.
    const d1 = cpf[9]!, d2 = cpf[10]!;
    const otherD2 = String((Number(d2) + 1 + Math.floor(rand() * 9)) % 10);
    const otherD1 = String((Number(d1) + 1 + Math.floor(rand() * 9)) % 10);
    assert.equal(isValidCpf(cpf.slice(0, 10) + otherD2), false, `${cpf} d2->${otherD2}`);
    assert.equal(isValidCpf(base + otherD1 + d2), false, `${cpf} d1->${otherD1}`);
  }
});

test('random CNPJs: check digits agree with an independent formulation and validate', () => {
  const rand = lcg(7);
  for (let i = 0; i < 500; i++) {
    const base = digits(rand, 12);
    assert.equal(cnpjCheckDigits(base), oracleCnpj(base), base);
    const cnpj = base + cnpjCheckDigits(base);
    if (/^(\d)\1*$/.test(cnpj)) continue;
    assert.equal(isValidCnpj(cnpj), true, cnpj);
    const d2 = cnpj[13]!;
    const otherD2 = String((Number(d2) + 1 + Math.floor(rand() * 9)) % 10);
    assert.equal(isValidCnpj(cnpj.slice(0, 13) + otherD2), false, `${cnpj} d2->${otherD2}`);
  }
});

test('repeated-digit sequences are rejected although modulo 11 accepts them', () => {
  for (let d = 0; d <= 9; d++) {
    const cpf = String(d).repeat(11);
    // The arithmetic alone would accept these: that is why the explicit rule exists.
    assert.equal(oracleCpf(cpf.slice(0, 9)), cpf.slice(9));
    assert.equal(isValidCpf(cpf), false, cpf);
    assert.equal(isValidCnpj(String(d).repeat(14)), false);
  }
});

test('format: exactly 11 / 14 digits, no masks, no letters', () => {
  assert.equal(isValidCpf('111.444.777-35'), false);
  assert.equal(isValidCpf('1114447773'), false);
  assert.equal(isValidCpf('111444777350'), false);
  assert.equal(isValidCpf(' 11144477735'), false);
  assert.equal(isValidCnpj('11.222.333/0001-81'), false);
  assert.equal(isValidCnpj('1122233300018'), false);
  assert.equal(isValidCnpj('1122233300018A'), false);
  assert.equal(isValidTaxId('11144477735'), true);
  assert.equal(isValidTaxId('11222333000181'), true);
  assert.equal(isValidTaxId('111444777350'), false);
});

test("BCB's example tax ids fail check digits (documented, rule kept)", () => {
  // Used throughout the DICT examples (XML and v2 OpenAPI); its correct check digits are 96.
  assert.equal(isValidCpf('11122233300'), false);
  assert.equal(cpfCheckDigits('111222333'), '96');
  // v2 OpenAPI LEGAL_PERSON example; correct check digits for that base are 81.
  assert.equal(isValidCnpj('11222333000150'), false);
});

test('check-digit helpers refuse malformed bases', () => {
  assert.throws(() => cpfCheckDigits('12345678'));
  assert.throws(() => cnpjCheckDigits('1234567890a1'));
});
