// The account registry's file rules without a database: scripts/accounts.ts parseAccountsCsv
// (columns, comments, BOM and CRLF, line numbers, duplicates) and domain/validation.ts
// validateRegistryAccount (our ISPB, formats, BCB's account types, CPF/CNPJ check digits, dates).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { validateRegistryAccount } from '../../domain/validation.js';
import { ACCOUNT_COLUMNS, loadAccountsFile, parseAccountsCsv } from '../../scripts/accounts.js';

const OUR = '12345678';
const CPF = '11144477735';
const CNPJ = '11222333000181';
const NOW = Date.UTC(2026, 0, 1);
const header = ACCOUNT_COLUMNS.join(',');
const parse = (lines: string[], eol = '\n') => parseAccountsCsv(lines.join(eol), { ourIspb: OUR, now: NOW });

describe('parseAccountsCsv', () => {
  test('a good file: comments, BOM, CRLF, columns in any order, no branch, a closed account', () => {
    const r = parse(
      [
        '\uFEFF# export of 2026-01-01',
        'branch,participant,account_number,account_type,tax_id_number,person_type,opening_date,closed_at',
        `0001,${OUR},123456,CACC,${CPF},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
        '',
        `,${OUR},88001234,TRAN,${CNPJ},LEGAL_PERSON,2021-05-03T09:00:00-03:00,2024-01-02T10:00:00Z`,
      ],
      '\r\n',
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.accounts, [
      { participant: OUR, branch: '0001', accountNumber: '123456', accountType: 'CACC', holder: { type: 'NATURAL_PERSON', taxIdNumber: CPF }, openingDate: '2020-01-10T03:00:00Z', closedAt: undefined },
      { participant: OUR, branch: undefined, accountNumber: '88001234', accountType: 'TRAN', holder: { type: 'LEGAL_PERSON', taxIdNumber: CNPJ }, openingDate: '2021-05-03T09:00:00-03:00', closedAt: '2024-01-02T10:00:00Z' },
    ]);
  });

  test('every bad row reported with its line (the comment and blank lines counted), and no account returned', () => {
    const r = parse([
      '# comment',
      header,
      `${OUR},0001,1,CACC,${CPF},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
      '',
      `${OUR},0001,2,CACC,11122233300,NATURAL_PERSON,2020-01-10T03:00:00Z,`,
      `${OUR},0001,3,CACC,${CPF},LEGAL_PERSON,2020-01-10T03:00:00Z,`,
      `${OUR},0001,1,CACC,${CPF},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
    ]);
    assert.deepEqual(r.accounts, []);
    assert.deepEqual(
      r.errors.map((e) => [e.line, e.message]),
      [
        [5, 'tax_id_number is not a valid CPF'],
        [6, 'tax_id_number of a legal person must be a CNPJ: 14 digits'],
        [7, `account ${OUR}/0001/1/CACC with this holder is already on line 3`],
      ],
    );
  });

  test('a missing or unknown column, an empty file and a broken quote are file errors', () => {
    assert.match(parse([header.replace('opening_date', 'opened')]).errors[0]!.message, /missing opening_date; unknown opened/);
    assert.deepEqual(parseAccountsCsv('', { ourIspb: OUR }).errors.map((e) => e.line), [1]);
    const broken = parse([header, `${OUR},"0001,1,CACC,${CPF},NATURAL_PERSON,2020-01-10T03:00:00Z,`]);
    assert.equal(broken.accounts.length, 0);
    assert.equal(broken.errors.length, 1);
    const short = parse([header, `${OUR},0001,1,CACC`]);
    assert.deepEqual(short.errors.map((e) => e.line), [2]);
  });
});

describe('validateRegistryAccount', () => {
  const ok = { account: { participant: OUR, branch: '0001', accountNumber: '1', accountType: 'CACC', openingDate: '2020-01-10T03:00:00Z' }, holder: { type: 'NATURAL_PERSON', taxIdNumber: CPF } };
  const fields = (over: object) => validateRegistryAccount({ ...ok, ...over }, { ourIspb: OUR, now: NOW }).map((v) => `${v.field}:${v.reason}`);

  test('an open and a closed account of ours pass', () => {
    assert.deepEqual(fields({}), []);
    assert.deepEqual(fields({ closedAt: '2025-12-31T23:59:59Z' }), []);
  });

  test("the account's rules are an entry's; the holder's CPF/CNPJ has valid check digits; dates are date-times in order", () => {
    assert.deepEqual(fields({ account: { ...ok.account, participant: '87654321' } }), ['account.participant:NOT_OUR_PARTICIPANT']);
    assert.deepEqual(fields({ account: { ...ok.account, branch: '12345', accountNumber: '12-3', accountType: 'CURRENT' } }), ['account.branch:PATTERN', 'account.account_number:PATTERN', 'account.account_type:INVALID_ENUM']);
    assert.deepEqual(fields({ account: { ...ok.account, openingDate: '2027-01-01T00:00:00Z' } }), ['account.opening_date:IN_FUTURE']);
    assert.deepEqual(fields({ account: { ...ok.account, openingDate: '2020-01-10' } }), ['account.opening_date:INVALID_DATE_TIME']);
    assert.deepEqual(fields({ holder: { type: 'LEGAL_PERSON', taxIdNumber: '11222333000182' } }), ['holder.tax_id_number:INVALID_CNPJ']);
    assert.deepEqual(fields({ holder: { type: 'COMPANY', taxIdNumber: CNPJ } }), ['holder.type:INVALID_ENUM']);
    assert.deepEqual(fields({ holder: {} }), ['holder.type:REQUIRED', 'holder.tax_id_number:REQUIRED']);
    assert.deepEqual(fields({ closedAt: 'yesterday' }), ['closed_at:INVALID_DATE_TIME']);
    assert.deepEqual(fields({ closedAt: '2019-01-01T00:00:00Z' }), ['closed_at:BEFORE_OPENING']);
  });
});

describe('accounts loader bounds', () => {
  test('a header naming a column twice is refused on line 1', () => {
    const r = parseAccountsCsv(`${ACCOUNT_COLUMNS.join(',')},branch\n`, { ourIspb: '12345678' });
    assert.equal(r.accounts.length, 0);
    assert.deepEqual(r.errors.map((e) => e.line), [1]);
    assert.match(r.errors[0]!.message, /branch more than once/);
  });

  test('a pipe (whose size says 0) longer than --max-bytes is refused before anything is parsed or loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'accounts-fifo-'));
    const fifo = join(dir, 'accounts.csv');
    try {
      execFileSync('mkfifo', [fifo]);
      const writer = spawn('sh', ['-c', `head -c 5000 /dev/zero | tr '\\0' 'x' > "${fifo}"`]);
      // No database is touched on this path: a refusal comes first.
      const r = await loadAccountsFile(undefined as never, fifo, { ourIspb: '12345678', maxBytes: 1000 });
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.errors[0]!.message, /over the 1000-byte bound/);
      writer.kill();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
