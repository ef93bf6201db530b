import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpfCheckDigits,
  toBcbProperty,
  validateCreateEntry,
  validateDeleteEntry,
  validateDictEntry,
  validateLookup,
  validateUpdateEntry,
  type CreateEntryInput,
  type Entry,
  type FieldViolation,
} from '../../domain/index.js';

const OUR_ISPB = '12345678';
const CPF = '11144477735';
const CNPJ = '11222333000181';
const NOW = Date.UTC(2024, 5, 1);

function natural(over: Partial<CreateEntryInput> = {}): CreateEntryInput {
  return {
    requestId: 'a946d533-7f22-42a5-9a9b-e87cd55c0f4d',
    keyType: 'CPF',
    key: CPF,
    account: { participant: OUR_ISPB, branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2010-01-10T03:00:00Z' },
    owner: { type: 'NATURAL_PERSON', taxIdNumber: CPF, name: 'João Silva' },
    reason: 'USER_REQUESTED',
    ...over,
  };
}

function legal(over: Partial<CreateEntryInput> = {}): CreateEntryInput {
  return natural({
    keyType: 'CNPJ',
    key: CNPJ,
    owner: { type: 'LEGAL_PERSON', taxIdNumber: CNPJ, name: 'Padaria Tres Irmãos Ltda', tradeName: 'Padaria 3 Irmãos' },
    ...over,
  });
}

const pairs = (vs: FieldViolation[]) => vs.map((v) => `${v.field}:${v.reason}`).sort();
const create = (i: CreateEntryInput, requireKeyForEvp = false) => validateCreateEntry(i, { ourIspb: OUR_ISPB, now: NOW, requireKeyForEvp });

test('create: valid entries of every key type pass', () => {
  assert.deepEqual(create(natural()), []);
  assert.deepEqual(create(legal()), []);
  assert.deepEqual(create(natural({ keyType: 'PHONE', key: '+5561988880000' })), []);
  assert.deepEqual(create(natural({ keyType: 'EMAIL', key: 'joao.silva@example.com.br' })), []);
  assert.deepEqual(create(natural({ keyType: 'EVP', key: '' })), []);
  assert.deepEqual(create(natural({ keyType: 'EVP', key: undefined })), []);
  assert.deepEqual(create(natural({ reason: 'RECONCILIATION' })), []);
  // Branch is optional.
  assert.deepEqual(create(natural({ account: { ...natural().account, branch: '' } })), []);
  // Legal person with a PHONE key and no trade name.
  assert.deepEqual(create(legal({ keyType: 'PHONE', key: '+5511987654321', owner: { type: 'LEGAL_PERSON', taxIdNumber: CNPJ, name: 'ACME S/A' } })), []);
});

test('create: empty request reports every required field at once', () => {
  assert.deepEqual(pairs(validateCreateEntry({})), [
    'account:REQUIRED',
    'key_type:REQUIRED',
    'owner:REQUIRED',
    'reason:REQUIRED',
    'request_id:REQUIRED',
  ]);
  assert.deepEqual(pairs(validateCreateEntry({ ...natural(), account: {}, owner: {} })), [
    'account.account_number:REQUIRED',
    'account.account_type:REQUIRED',
    'account.opening_date:REQUIRED',
    'account.participant:REQUIRED',
    'owner.name:REQUIRED',
    'owner.tax_id_number:REQUIRED',
    'owner.type:REQUIRED',
  ]);
});

test('create: many bad fields are all collected with proto paths', () => {
  const vs = validateCreateEntry(
    {
      requestId: 'not-a-uuid',
      keyType: 'EMAIL',
      key: 'Joao@Example.com',
      account: { participant: '1234', branch: '00001', accountNumber: '12-3', accountType: 'XXXX', openingDate: '2099-01-01T00:00:00Z' },
      owner: { type: 'NATURAL_PERSON', taxIdNumber: '11144477736', name: 'João 2', tradeName: 'Loja' },
      reason: 'FRAUD',
    },
    { ourIspb: OUR_ISPB, now: NOW },
  );
  assert.deepEqual(pairs(vs), [
    'account.account_number:PATTERN',
    'account.account_type:INVALID_ENUM',
    'account.branch:PATTERN',
    'account.opening_date:IN_FUTURE',
    'account.participant:PATTERN',
    'key:NOT_LOWERCASE',
    'owner.name:PATTERN',
    'owner.tax_id_number:INVALID_CPF',
    'owner.trade_name:NOT_ALLOWED',
    'reason:REASON_NOT_ALLOWED',
    'request_id:PATTERN',
  ]);
  for (const v of vs) assert.ok(v.description.length > 0);
});

test('create: CPF key must equal the owner tax id and belong to a natural person', () => {
  const other = '123456789' + cpfCheckDigits('123456789');
  assert.deepEqual(pairs(create(natural({ key: other }))), ['key:KEY_MISMATCH_TAX_ID']);
  assert.deepEqual(pairs(create(natural({ owner: { type: 'LEGAL_PERSON', taxIdNumber: CNPJ, name: 'ACME' } }))), [
    'key:KEY_MISMATCH_TAX_ID',
    'owner.type:OWNER_TYPE_MISMATCH',
  ]);
  // An invalid key is reported once, not also as a mismatch.
  assert.deepEqual(pairs(create(natural({ key: '11144477736' }))), ['key:INVALID_CPF']);
});

test('create: CNPJ key must equal the owner tax id and belong to a legal person', () => {
  assert.deepEqual(pairs(create(legal({ key: '11444777000161' }))), ['key:KEY_MISMATCH_TAX_ID']);
  assert.deepEqual(pairs(create(legal({ owner: { type: 'NATURAL_PERSON', taxIdNumber: CPF, name: 'João Silva' } }))), [
    'key:KEY_MISMATCH_TAX_ID',
    'owner.type:OWNER_TYPE_MISMATCH',
  ]);
  assert.deepEqual(pairs(create(legal({ key: '11222333000182' }))), ['key:INVALID_CNPJ']);
});

test('create: owner tax id must match the person type', () => {
  assert.deepEqual(pairs(create(natural({ keyType: 'EVP', key: '', owner: { type: 'NATURAL_PERSON', taxIdNumber: CNPJ, name: 'Ana' } }))), [
    'owner.tax_id_number:PATTERN',
  ]);
  assert.deepEqual(pairs(create(legal({ keyType: 'EVP', key: '', owner: { type: 'LEGAL_PERSON', taxIdNumber: '11222333000182', name: 'ACME' } }))), [
    'owner.tax_id_number:INVALID_CNPJ',
  ]);
  assert.deepEqual(pairs(create(legal({ keyType: 'EVP', key: '', owner: { type: 'COMPANY', taxIdNumber: CNPJ, name: 'ACME' } }))), [
    'owner.type:INVALID_ENUM',
  ]);
  assert.deepEqual(pairs(create(legal({ owner: { type: 'LEGAL_PERSON', taxIdNumber: CNPJ, name: 'ACME', tradeName: 'x'.repeat(101) } }))), [
    'owner.trade_name:TOO_LONG',
  ]);
});

test('create: EVP key must be empty unless requireKeyForEvp', () => {
  const evp = '123e4567-e89b-12d3-a456-426655440000';
  assert.deepEqual(pairs(create(natural({ keyType: 'EVP', key: evp }))), ['key:EVP_NOT_ALLOWED']);
  assert.deepEqual(create(natural({ keyType: 'EVP', key: evp }), true), []);
  assert.deepEqual(pairs(create(natural({ keyType: 'EVP', key: '' }), true)), ['key:REQUIRED']);
  assert.deepEqual(pairs(create(natural({ keyType: 'EVP', key: 'nope' }), true)), ['key:PATTERN']);
});

test('create: key type and key presence', () => {
  assert.deepEqual(pairs(create(natural({ keyType: 'IBAN' }))), ['key_type:INVALID_ENUM']);
  assert.deepEqual(pairs(create(natural({ keyType: 'PHONE', key: '' }))), ['key:REQUIRED']);
  assert.deepEqual(pairs(create(natural({ keyType: 'PHONE', key: '+556133334444' }))), ['key:INVALID_PHONE']);
});

test('create: participant must be ours when ourIspb is given', () => {
  const acc = { ...natural().account, participant: '87654321' };
  assert.deepEqual(pairs(create(natural({ account: acc }))), ['account.participant:NOT_OUR_PARTICIPANT']);
  assert.deepEqual(validateCreateEntry(natural({ account: acc }), { now: NOW }), []);
});

test('create: opening date must be a date-time and not in the future', () => {
  const at = (openingDate: string) => create(natural({ account: { ...natural().account, openingDate } }));
  assert.deepEqual(pairs(at('2010-01-10')), ['account.opening_date:INVALID_DATE_TIME']);
  assert.deepEqual(pairs(at('2024-06-01T00:00:01Z')), ['account.opening_date:IN_FUTURE']);
  assert.deepEqual(at('2024-06-01T00:00:00Z'), []);
  assert.deepEqual(at('2024-05-31T21:00:00-03:00'), []);
});

test('create: reason must be known and allowed for create', () => {
  assert.deepEqual(pairs(create(natural({ reason: 'ACCOUNT_CLOSURE' }))), ['reason:REASON_NOT_ALLOWED']);
  assert.deepEqual(pairs(create(natural({ reason: 'WHATEVER' }))), ['reason:INVALID_ENUM']);
});

test('update: key given, type inferred, reasons for update, EVP only RFB_VALIDATION', () => {
  const base = { requestId: natural().requestId, account: natural().account, owner: natural().owner, reason: 'BRANCH_TRANSFER' };
  const upd = (o: object) => validateUpdateEntry({ ...base, ...o }, { ourIspb: OUR_ISPB, now: NOW });
  assert.deepEqual(upd({ key: '+5561988887777' }), []);
  assert.deepEqual(upd({ key: CPF }), []);
  // Existing keys use DICT-wide formats: a non-Brazilian phone can be updated.
  assert.deepEqual(upd({ key: '+14155550123' }), []);
  assert.deepEqual(pairs(upd({ key: '' })), ['key:REQUIRED']);
  assert.deepEqual(pairs(upd({ key: 'not a key' })), ['key:PATTERN']);
  assert.deepEqual(pairs(upd({ key: CPF, reason: 'FRAUD' })), ['reason:REASON_NOT_ALLOWED']);
  assert.deepEqual(pairs(upd({ key: '123456789' + cpfCheckDigits('123456789') })), ['key:KEY_MISMATCH_TAX_ID']);
  const evp = '123e4567-e89b-12d3-a456-426655440000';
  assert.deepEqual(pairs(upd({ key: evp })), ['reason:REASON_NOT_ALLOWED']);
  assert.deepEqual(upd({ key: evp, reason: 'RFB_VALIDATION' }), []);
  assert.deepEqual(pairs(upd({ key: evp, keyType: 'EMAIL' })), ['key:PATTERN']);
  assert.deepEqual(pairs(validateUpdateEntry({ key: CPF })), ['account:REQUIRED', 'owner:REQUIRED', 'reason:REQUIRED', 'request_id:REQUIRED']);
});

test('delete: key, reason allowed for delete, request id', () => {
  const requestId = natural().requestId;
  assert.deepEqual(validateDeleteEntry({ key: '+5561988887777', reason: 'ACCOUNT_CLOSURE', requestId }), []);
  assert.deepEqual(validateDeleteEntry({ key: CNPJ, reason: 'FRAUD', requestId }), []);
  assert.deepEqual(pairs(validateDeleteEntry({ key: CNPJ, reason: 'BRANCH_TRANSFER', requestId })), ['reason:REASON_NOT_ALLOWED']);
  assert.deepEqual(pairs(validateDeleteEntry({})), ['key:REQUIRED', 'reason:REQUIRED', 'request_id:REQUIRED']);
  assert.deepEqual(pairs(validateDeleteEntry({ key: '11222333000182', reason: 'FRAUD', requestId })), ['key:INVALID_CNPJ']);
});

test('lookup: key of any type, payer CPF/CNPJ, SPI end-to-end id', () => {
  const e2e = 'E1234567820240229235901234abcDEF';
  assert.deepEqual(validateLookup({ key: 'pix@bcb.gov.br', payerId: CPF, endToEndId: e2e }), []);
  assert.deepEqual(validateLookup({ key: '+5510998765432', payerId: CNPJ, endToEndId: e2e }), []);
  assert.deepEqual(pairs(validateLookup({})), ['end_to_end_id:REQUIRED', 'key:REQUIRED', 'payer_id:REQUIRED']);
  assert.deepEqual(pairs(validateLookup({ key: 'PIX@bcb.gov.br', payerId: '111.444.777-35', endToEndId: 'E123' })), [
    'end_to_end_id:PATTERN',
    'key:NOT_LOWERCASE',
    'payer_id:PATTERN',
  ]);
  assert.deepEqual(pairs(validateLookup({ key: '11144477736', payerId: '11144477736', endToEndId: e2e })), ['key:INVALID_CPF', 'payer_id:INVALID_CPF']);
  assert.deepEqual(pairs(validateLookup({ key: CPF, payerId: '11222333000182', endToEndId: e2e })), ['payer_id:INVALID_CNPJ']);
});

test('validateDictEntry: DICT formats, EVP key absent on create, required on update', () => {
  const entry: Entry = {
    key: '+14155550123',
    keyType: 'PHONE',
    account: { participant: '99999999', accountNumber: '1', accountType: 'SVGS', openingDate: '2010-01-10T03:00:00Z' },
    owner: { type: 'NATURAL_PERSON', taxIdNumber: CPF, name: 'Ana' },
  };
  assert.deepEqual(validateDictEntry(entry, 'create', { now: NOW }), []);
  const evp: Entry = { ...entry, keyType: 'EVP', key: undefined };
  assert.deepEqual(validateDictEntry(evp, 'create', { now: NOW }), []);
  assert.deepEqual(pairs(validateDictEntry({ ...evp, key: '123e4567-e89b-12d3-a456-426655440000' }, 'create', { now: NOW })), ['key:EVP_NOT_ALLOWED']);
  assert.deepEqual(pairs(validateDictEntry(evp, 'update', { now: NOW })), ['key:REQUIRED']);
  assert.deepEqual(validateDictEntry({ ...evp, key: '123e4567-e89b-12d3-a456-426655440000' }, 'update', { now: NOW }), []);
  const cpfEntry: Entry = { ...entry, keyType: 'CPF', key: '11122233300', owner: { ...entry.owner, taxIdNumber: '11122233300' } };
  assert.deepEqual(pairs(validateDictEntry(cpfEntry, 'create', { now: NOW })), ['key:INVALID_CPF', 'owner.tax_id_number:INVALID_CPF']);
  assert.deepEqual(validateDictEntry(cpfEntry, 'create', { now: NOW, checkTaxIdDigits: false }), []);
  assert.deepEqual(pairs(validateDictEntry({ ...cpfEntry, key: CPF }, 'create', { now: NOW, checkTaxIdDigits: false })), ['key:KEY_MISMATCH_TAX_ID']);
});

test('toBcbProperty maps proto paths to BCB element names', () => {
  assert.equal(toBcbProperty('owner.tax_id_number'), 'Owner.TaxIdNumber');
  assert.equal(toBcbProperty('account.opening_date'), 'Account.OpeningDate');
  assert.equal(toBcbProperty('key_type'), 'KeyType');
  assert.equal(toBcbProperty('key'), 'Key');
});
