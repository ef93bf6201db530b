// BCB's official XML examples (DICT API 1.8, examples/entries) run through our rules. They use the
// placeholder CPF 11122233300, whose check digits are wrong (valid would be ...396): we keep the
// rule and show that check digits are the only thing those examples break.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { referencePath, referenceSkip } from '../support/reference.js';
import { join } from 'node:path';
import { validateCreateEntry, validateDictEntry, validateUpdateEntry, validateDeleteEntry, type Entry, type AccountType, type KeyType, type PersonType } from '../../domain/index.js';

const SUB = 'bacen-dict-api/openapi/examples/entries';
const skip = referenceSkip(SUB);
const DIR = referencePath(SUB);
const NOW = Date.UTC(2024, 0, 1);

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
function read(file: string): string {
  return readFileSync(join(DIR, file), 'utf8');
}
function entryOf(xml: string): Entry {
  return {
    key: tag(xml, 'Key'),
    keyType: (tag(xml, 'KeyType') ?? '') as KeyType,
    account: {
      participant: tag(xml, 'Participant') ?? '',
      branch: tag(xml, 'Branch'),
      accountNumber: tag(xml, 'AccountNumber') ?? '',
      accountType: (tag(xml, 'AccountType') ?? '') as AccountType,
      openingDate: tag(xml, 'OpeningDate') ?? '',
    },
    owner: { type: (tag(xml, 'Type') ?? '') as PersonType, taxIdNumber: tag(xml, 'TaxIdNumber') ?? '', name: tag(xml, 'Name') ?? '' },
  };
}
const pairs = (vs: { field: string; reason: string }[]) => vs.map((v) => `${v.field}:${v.reason}`).sort();

test('CreateEntryRequest example: only the placeholder CPF fails', { skip }, () => {
  const xml = read('CreateEntryRequest.xml');
  const e = entryOf(xml);
  assert.equal(e.keyType, 'PHONE');
  const input = { ...e, key: e.key, reason: tag(xml, 'Reason'), requestId: tag(xml, 'RequestId') };
  assert.deepEqual(pairs(validateCreateEntry(input, { ourIspb: e.account.participant, now: NOW })), ['owner.tax_id_number:INVALID_CPF']);
  assert.deepEqual(validateDictEntry(e, 'create', { now: NOW, checkTaxIdDigits: false }), []);
});

test('entries in CPF-keyed responses: valid apart from check digits', { skip }, () => {
  for (const f of ['CreateEntryResponse.xml', 'GetEntryResponse.xml', 'GetEntryResponseInitiator.xml', 'UpdateEntryResponse.xml']) {
    const e = entryOf(read(f));
    assert.equal(e.keyType, 'CPF', f);
    assert.deepEqual(validateDictEntry(e, 'update', { now: NOW, checkTaxIdDigits: false }), [], f);
    assert.deepEqual(pairs(validateDictEntry(e, 'update', { now: NOW })), ['key:INVALID_CPF', 'owner.tax_id_number:INVALID_CPF'], f);
  }
});

test('UpdateEntryRequest / DeleteEntryRequest examples', { skip }, () => {
  const u = read('UpdateEntryRequest.xml');
  const ue = entryOf(u);
  const requestId = 'a946d533-7f22-42a5-9a9b-e87cd55c0f4d'; // ours; DICT's update has none
  assert.deepEqual(
    pairs(validateUpdateEntry({ key: tag(u, 'Key'), account: ue.account, owner: ue.owner, reason: tag(u, 'Reason'), requestId }, { now: NOW })),
    ['owner.tax_id_number:INVALID_CPF'],
  );
  const d = read('DeleteEntryRequest.xml');
  assert.deepEqual(validateDeleteEntry({ key: tag(d, 'Key'), reason: tag(d, 'Reason'), requestId }), []);
});
