import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
  KEY_MAX_LENGTH,
  inferKeyType,
  isEvp,
  isValidEndToEndId,
  isValidIspb,
  isUuid,
  isUuidV4,
  keyViolation,
  normalizeKey,
  parseEndToEndId,
  newEndToEndId,
  validateKey,
  maxKeysPerAccount,
  ENTRY_REASONS,
  ENTRY_OPERATION_REASONS,
  isReasonAllowed,
  allowedEntryReasons,
  isClaimAllowed,
  parseDateTime,
  naturalNameViolation,
  legalNameViolation,
  tradeNameViolation,
} from '../../domain/index.js';

test('CPF / CNPJ keys: bare digits with valid check digits', () => {
  assert.equal(validateKey('CPF', '11144477735'), undefined);
  assert.equal(keyViolation('CPF', '111.444.777-35')?.reason, 'PATTERN');
  assert.equal(keyViolation('CPF', '11144477736')?.reason, 'INVALID_CPF');
  assert.equal(validateKey('CNPJ', '11222333000181'), undefined);
  assert.equal(keyViolation('CNPJ', '11222333000182')?.reason, 'INVALID_CNPJ');
  assert.equal(keyViolation('CNPJ', '11144477735')?.reason, 'PATTERN');
  // Check digits apply to keys DICT already holds, too.
  assert.equal(keyViolation('CPF', '11144477736', 'existing')?.reason, 'INVALID_CPF');
});

test('PHONE: Brazilian mobile when registering, any E.164 for existing keys', () => {
  assert.equal(validateKey('PHONE', '+5561988880000'), undefined);
  assert.equal(validateKey('PHONE', '+5511987654321'), undefined);
  assert.equal(keyViolation('PHONE', '5561988880000')?.reason, 'PATTERN'); // no '+'
  assert.equal(keyViolation('PHONE', '+55 61 98888-0000')?.reason, 'PATTERN');
  assert.equal(keyViolation('PHONE', '+0123')?.reason, 'PATTERN'); // country code cannot start with 0
  assert.equal(keyViolation('PHONE', '+1234567890123456')?.reason, 'PATTERN'); // > 15 digits
  assert.equal(keyViolation('PHONE', '+556133334444')?.reason, 'INVALID_PHONE'); // landline
  assert.equal(keyViolation('PHONE', '+5510998765432')?.reason, 'INVALID_PHONE'); // DDD 10 (BCB's v1.8 example)
  assert.equal(keyViolation('PHONE', '+5501988880000')?.reason, 'INVALID_PHONE'); // DDD 01
  assert.equal(keyViolation('PHONE', '+556198888000')?.reason, 'INVALID_PHONE'); // 8-digit number
  assert.equal(keyViolation('PHONE', '+14155550123')?.reason, 'INVALID_PHONE'); // not +55
  assert.equal(validateKey('PHONE', '+14155550123', 'existing'), undefined);
  assert.equal(validateKey('PHONE', '+5510998765432', 'existing'), undefined);
});

test("EMAIL: BCB's pattern, lowercase, at most 77 characters", () => {
  assert.equal(validateKey('EMAIL', 'pix@bcb.gov.br'), undefined);
  assert.equal(validateKey('EMAIL', "o'neil+pix@example.com"), undefined);
  assert.equal(keyViolation('EMAIL', 'Pix@BCB.gov.br')?.reason, 'NOT_LOWERCASE');
  assert.equal(keyViolation('EMAIL', 'pix.bcb.gov.br')?.reason, 'PATTERN');
  assert.equal(keyViolation('EMAIL', 'pix@-bcb.gov.br')?.reason, 'PATTERN');
  assert.equal(keyViolation('EMAIL', 'pi x@bcb.gov.br')?.reason, 'PATTERN');
  const local = 'a'.repeat(KEY_MAX_LENGTH - '@bcb.gov.br'.length);
  assert.equal(validateKey('EMAIL', `${local}@bcb.gov.br`), undefined); // exactly 77
  assert.equal(keyViolation('EMAIL', `${local}a@bcb.gov.br`)?.reason, 'TOO_LONG'); // 78
});

test('EVP: lowercase UUID', () => {
  assert.equal(isEvp('123e4567-e89b-12d3-a456-426655440000'), true);
  assert.equal(validateKey('EVP', 'a946d533-7f22-42a5-9a9b-e87cd55c0f4d'), undefined);
  assert.equal(keyViolation('EVP', 'A946D533-7F22-42A5-9A9B-E87CD55C0F4D')?.reason, 'NOT_LOWERCASE');
  assert.equal(keyViolation('EVP', 'a946d5337f2242a59a9be87cd55c0f4d')?.reason, 'PATTERN');
  assert.equal(keyViolation('EVP', 'g946d533-7f22-42a5-9a9b-e87cd55c0f4d')?.reason, 'PATTERN');
});

test('empty key is REQUIRED for every type', () => {
  for (const t of ['CPF', 'CNPJ', 'PHONE', 'EMAIL', 'EVP'] as const) assert.equal(keyViolation(t, '')?.reason, 'REQUIRED');
});

test('inferKeyType by shape', () => {
  assert.equal(inferKeyType('11144477735'), 'CPF');
  assert.equal(inferKeyType('11144477736'), 'CPF'); // shape, not validity
  assert.equal(inferKeyType('11222333000181'), 'CNPJ');
  assert.equal(inferKeyType('+5561988880000'), 'PHONE');
  assert.equal(inferKeyType('pix@bcb.gov.br'), 'EMAIL');
  assert.equal(inferKeyType('123e4567-e89b-12d3-a456-426655440000'), 'EVP');
  assert.equal(inferKeyType('123E4567-E89B-12D3-A456-426655440000'), 'EVP');
  assert.equal(inferKeyType('123456789012'), undefined);
  assert.equal(inferKeyType('hello'), undefined);
});

test('normalizeKey strips masks and phone separators, never changes case', () => {
  assert.equal(normalizeKey('CPF', ' 111.444.777-35 '), '11144477735');
  assert.equal(normalizeKey('CNPJ', '11.222.333/0001-81'), '11222333000181');
  assert.equal(normalizeKey('PHONE', '+55 (61) 98888-0000'), '+5561988880000');
  assert.equal(normalizeKey('EMAIL', ' Pix@BCB.gov.br '), 'Pix@BCB.gov.br');
  assert.equal(validateKey('CPF', normalizeKey('CPF', '111.444.777-35')), undefined);
});

test('ids: ISPB, UUID, end-to-end id', () => {
  assert.equal(isValidIspb('12345678'), true);
  assert.equal(isValidIspb('1234567'), false);
  assert.equal(isValidIspb('1234567a'), false);
  assert.equal(isUuid('A946D533-7F22-42A5-9A9B-E87CD55C0F4D'), true);
  assert.equal(isUuid('a946d533-7f22-42a5-9a9b'), false);
  assert.equal(isUuidV4('a946d533-7f22-42a5-9a9b-e87cd55c0f4d'), true);
  assert.equal(isUuidV4('123e4567-e89b-12d3-a456-426655440000'), false); // version 1
  const e2e = 'E1234567820240229235901234abcDEF';
  assert.equal(e2e.length, 32);
  assert.equal(isValidEndToEndId(e2e), true);
  assert.deepEqual(parseEndToEndId(e2e), { ispb: '12345678', dateTime: '2024-02-29T23:59:00Z', sequence: '01234abcDEF' });
  assert.equal(isValidEndToEndId('E1234567820230229235901234abcDEF'), false); // 29 Feb 2023
  assert.equal(isValidEndToEndId('E1234567820241301000001234abcDEF'), false); // month 13
  assert.equal(isValidEndToEndId('D1234567820240229235901234abcDEF'), false); // prefix
  assert.equal(isValidEndToEndId('E1234567820240229235901234abcDE'), false); // 31 chars
  assert.equal(isValidEndToEndId('E1234567820240229235901234abc-EF'), false);
  // BCB's placeholder (DICT v2 TransactionId example) has day 34.
  assert.equal(isValidEndToEndId('E9999901012341234123412345678900'), false);
});

test('newEndToEndId: E + ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics, 32 chars, parseable', () => {
  let i = 0;
  const counting = (n: number): number => i++ % n;
  const id = newEndToEndId('12345678', new Date(Date.UTC(2024, 1, 29, 23, 59, 30, 500)), counting);
  assert.equal(id, 'E12345678202402292359abcdefghijk');
  assert.equal(id.length, 32);
  assert.deepEqual(parseEndToEndId(id), { ispb: '12345678', dateTime: '2024-02-29T23:59:00Z', sequence: 'abcdefghijk' });
  // The stamp is UTC whatever offset the instant was written with; the last character is a digit.
  assert.equal(newEndToEndId('87654321', new Date('2024-02-29T22:30:00-03:00'), (n) => n - 1), 'E8765432120240301013099999999999');
  // Real randomness: every id valid, of the payer, and distinct.
  const ids = new Set(Array.from({ length: 200 }, () => newEndToEndId('11223344', new Date(), randomInt)));
  assert.equal(ids.size, 200);
  for (const e of ids) {
    assert.match(e, /^E11223344[0-9]{12}[a-z0-9]{11}$/);
    assert.equal(isValidEndToEndId(e), true);
  }
  assert.throws(() => newEndToEndId('1234567', new Date(), randomInt), /ISPB/);
});

test('date-time: RFC 3339 with offset, real calendar dates', () => {
  assert.equal(parseDateTime('2010-01-10T03:00:00Z'), Date.UTC(2010, 0, 10, 3));
  assert.equal(parseDateTime('2010-01-10T00:00:00-03:00'), Date.UTC(2010, 0, 10, 3));
  assert.equal(parseDateTime('2010-01-10T03:00:00.250Z'), Date.UTC(2010, 0, 10, 3, 0, 0, 250));
  assert.equal(parseDateTime('2010-01-10'), undefined);
  assert.equal(parseDateTime('2010-01-10T03:00:00'), undefined); // no offset
  assert.equal(parseDateTime('2010-02-30T03:00:00Z'), undefined);
  assert.equal(parseDateTime('2010-01-10T24:00:00Z'), undefined);
});

test('names: natural pattern and lengths', () => {
  assert.equal(naturalNameViolation('João Silva'), undefined);
  assert.equal(naturalNameViolation("Maria D'Ávila-Souza"), undefined);
  assert.equal(naturalNameViolation('João Silva 2')?.reason, 'PATTERN');
  assert.equal(naturalNameViolation('João × Silva')?.reason, 'PATTERN'); // U+00D7 excluded
  assert.equal(naturalNameViolation('a'.repeat(150)), undefined);
  assert.equal(naturalNameViolation('a'.repeat(151))?.reason, 'TOO_LONG');
  assert.equal(naturalNameViolation('   ')?.reason, 'REQUIRED');
});

test('names: legal and trade name pattern and lengths', () => {
  assert.equal(legalNameViolation('Padaria Tres Irmãos Ltda'), undefined);
  assert.equal(legalNameViolation('Padaria & Cia. 3 Ltda'), undefined);
  assert.equal(legalNameViolation('Padaria\tLtda')?.reason, 'PATTERN');
  assert.equal(legalNameViolation('Padaria 😀')?.reason, 'PATTERN');
  assert.equal(legalNameViolation('x'.repeat(150)), undefined);
  assert.equal(legalNameViolation('x'.repeat(151))?.reason, 'TOO_LONG');
  assert.equal(tradeNameViolation('Padaria 3 Irmãos'), undefined);
  assert.equal(tradeNameViolation('x'.repeat(100)), undefined);
  assert.equal(tradeNameViolation('x'.repeat(101))?.reason, 'TOO_LONG');
});

test('reasons per operation (v2 OpenAPI "Valores válidos")', () => {
  assert.deepEqual([...ENTRY_REASONS.create].sort(), ['RECONCILIATION', 'USER_REQUESTED']);
  assert.deepEqual([...ENTRY_REASONS.update].sort(), ['BRANCH_TRANSFER', 'RECONCILIATION', 'RFB_VALIDATION', 'USER_REQUESTED']);
  assert.deepEqual([...ENTRY_REASONS.delete].sort(), ['ACCOUNT_CLOSURE', 'FRAUD', 'RECONCILIATION', 'RFB_VALIDATION', 'USER_REQUESTED']);
  assert.equal(isReasonAllowed('create', 'USER_REQUESTED'), true);
  assert.equal(isReasonAllowed('create', 'FRAUD'), false);
  assert.equal(isReasonAllowed('update', 'BRANCH_TRANSFER'), true);
  assert.equal(isReasonAllowed('update', 'ACCOUNT_CLOSURE'), false);
  assert.equal(isReasonAllowed('delete', 'FRAUD'), true);
  assert.equal(isReasonAllowed('delete', 'BRANCH_TRANSFER'), false);
  assert.equal(isReasonAllowed('delete', 'NOT_A_REASON'), false);
  // EVP entries: updates only for RFB_VALIDATION.
  assert.deepEqual(allowedEntryReasons('update', 'EVP'), ['RFB_VALIDATION']);
  assert.equal(isReasonAllowed('update', 'USER_REQUESTED', 'EVP'), false);
  assert.equal(isReasonAllowed('update', 'USER_REQUESTED', 'PHONE'), true);
  for (const op of ['create', 'update', 'delete'] as const) {
    for (const r of ENTRY_REASONS[op]) assert.ok((ENTRY_OPERATION_REASONS as readonly string[]).includes(r));
  }
});

test('limits and claimable key types', () => {
  assert.equal(maxKeysPerAccount('NATURAL_PERSON'), 5);
  assert.equal(maxKeysPerAccount('LEGAL_PERSON'), 20);
  assert.equal(isClaimAllowed('OWNERSHIP', 'PHONE'), true);
  assert.equal(isClaimAllowed('OWNERSHIP', 'EMAIL'), false);
  assert.equal(isClaimAllowed('OWNERSHIP', 'CPF'), false);
  assert.equal(isClaimAllowed('PORTABILITY', 'CNPJ'), true);
  assert.equal(isClaimAllowed('PORTABILITY', 'EVP'), false);
});
