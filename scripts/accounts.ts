// The account registry's loader: core banking's (or the PSP's integration's) export of our
// accounts, a CSV file, upserted into table `accounts` by primary key (participant, branch,
// account number, type, holder's tax id: a joint account has a row per holder). Every row is
// checked with domain/validation.ts's rules (our ISPB, branch and number formats, BCB's account
// types, CPF/CNPJ check digits, dates); one bad row and nothing of the file is loaded (one
// transaction), each bad row reported with its line. Loading the same file again changes
// nothing. scripts/accounts.sh runs it on the dev stack:
//   node dist/scripts/accounts.js load FILE.csv [--max-bytes N]     (DATABASE_URL, PSP_ISPB)
// File: a header naming the columns (any order), then one account a line (lines starting with # are comments):
//   participant,branch,account_number,account_type,tax_id_number,person_type,opening_date,closed_at
//   12345678,0001,123456,CACC,11144477735,NATURAL_PERSON,2020-01-10T03:00:00Z,
// branch empty = an account without a branch; closed_at empty = open; dates RFC 3339 with offset.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CsvError, parse } from 'csv-parse/sync';
import { loadToolConfig } from '../config/index.js';
import { validateRegistryAccount } from '../domain/validation.js';
import type { AccountType, PersonType } from '../domain/types.js';
import { upsertAccounts, type RegistryAccount, type UpsertCounts } from '../store/accounts.js';
import { createSql, type Sql } from '../store/db.js';

export const ACCOUNT_COLUMNS = ['participant', 'branch', 'account_number', 'account_type', 'tax_id_number', 'person_type', 'opening_date', 'closed_at'] as const;
type Column = (typeof ACCOUNT_COLUMNS)[number];

/** Largest file loaded by default (≈ 500,000 accounts); a bigger export is split, or the bound raised. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Bad rows reported at most (the count of the rest follows). */
const MAX_REPORTED = 100;

/** A refused row (or the file itself, line 0 = the header or the whole file). */
export interface RowError {
  line: number;
  message: string;
}

export interface ParsedAccounts {
  accounts: RegistryAccount[];
  errors: RowError[];
}

/** Our field names (domain/validation.ts) back to the file's columns, for messages. */
const columnOf: Record<string, Column> = {
  'account.participant': 'participant',
  'account.branch': 'branch',
  'account.account_number': 'account_number',
  'account.account_type': 'account_type',
  'account.opening_date': 'opening_date',
  'holder.type': 'person_type',
  'holder.tax_id_number': 'tax_id_number',
  closed_at: 'closed_at',
};

/** The file's accounts, or every reason it cannot be loaded (then nothing is loaded). */
export function parseAccountsCsv(text: string, o: { ourIspb: string; now?: number }): ParsedAccounts {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  let header: string[] = [];
  try {
    rows = parse(text, { columns: (h: string[]) => (header = h), info: true, bom: true, trim: true, skip_empty_lines: true, comment: '#', comment_no_infix: true });
  } catch (err) {
    if (err instanceof CsvError) return { accounts: [], errors: [{ line: Number((err as CsvError & { lines?: number }).lines ?? 0), message: err.message }] };
    throw err;
  }
  const repeated = header.filter((c, i) => header.indexOf(c) !== i);
  if (repeated.length) return { accounts: [], errors: [{ line: 1, message: `header: column ${[...new Set(repeated)].join(', ')} more than once` }] };
  const missing = ACCOUNT_COLUMNS.filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !(ACCOUNT_COLUMNS as readonly string[]).includes(c));
  if (missing.length || unknown.length) {
    const what = [missing.length ? `missing ${missing.join(', ')}` : '', unknown.length ? `unknown ${unknown.join(', ')}` : ''].filter(Boolean).join('; ');
    return { accounts: [], errors: [{ line: 1, message: `header: ${what} (columns: ${ACCOUNT_COLUMNS.join(',')})` }] };
  }
  const errors: RowError[] = [];
  const accounts: RegistryAccount[] = [];
  const seen = new Map<string, number>();
  for (const { record: r, info } of rows) {
    const line = info.lines;
    const input = {
      account: { participant: r.participant, branch: r.branch, accountNumber: r.account_number, accountType: r.account_type, openingDate: r.opening_date },
      holder: { type: r.person_type, taxIdNumber: r.tax_id_number },
      closedAt: r.closed_at,
    };
    const violations = validateRegistryAccount(input, { ourIspb: o.ourIspb, now: o.now });
    if (violations.length) {
      for (const v of violations) errors.push({ line, message: v.description.replace(v.field, columnOf[v.field] ?? v.field) });
      continue;
    }
    const id = [r.participant, r.branch, r.account_number, r.account_type].join('/');
    const first = seen.get(`${id} ${r.tax_id_number}`);
    if (first !== undefined) {
      errors.push({ line, message: `account ${id} with this holder is already on line ${first}` });
      continue;
    }
    seen.set(`${id} ${r.tax_id_number}`, line);
    accounts.push({
      participant: r.participant!,
      branch: r.branch || undefined,
      accountNumber: r.account_number!,
      accountType: r.account_type as AccountType,
      holder: { type: r.person_type as PersonType, taxIdNumber: r.tax_id_number! },
      openingDate: r.opening_date!,
      closedAt: r.closed_at || undefined,
    });
  }
  return { accounts: errors.length ? [] : accounts, errors };
}

export type LoadResult = ({ ok: true } & UpsertCounts & { rows: number }) | { ok: false; errors: RowError[] };

/** Load a CSV file into the registry: all of it in one transaction, or (any bad row) nothing. */
export async function loadAccountsFile(sql: Sql, file: string, o: { ourIspb: string; maxBytes?: number; now?: number }): Promise<LoadResult> {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const over = (size: string): LoadResult => ({ ok: false, errors: [{ line: 0, message: `${file} is ${size}, over the ${maxBytes}-byte bound (--max-bytes)` }] });
  const size = statSync(file).size;
  if (size > maxBytes) return over(`${size} bytes`);
  // Read at most one byte past the bound whatever the size said (a pipe or /dev/stdin says 0).
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(maxBytes + 1);
  let read = 0;
  try {
    for (let n = 1; n > 0 && read < buf.length; read += n) n = readSync(fd, buf, read, buf.length - read, null);
  } finally {
    closeSync(fd);
  }
  if (read > maxBytes) return over('longer than it said');
  const parsed = parseAccountsCsv(buf.subarray(0, read).toString('utf8'), o);
  if (parsed.errors.length) return { ok: false, errors: parsed.errors };
  const counts = await sql.begin((tx) => upsertAccounts(tx, parsed.accounts));
  return { ok: true, rows: parsed.accounts.length, ...counts };
}

const USAGE = 'usage: accounts.js load FILE.csv [--max-bytes N]   (DATABASE_URL, PSP_ISPB from the environment)';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'max-bytes': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const [cmd, file, ...rest] = positionals;
  const maxBytes = values['max-bytes'] === undefined ? undefined : Number(values['max-bytes']);
  if (values.help || cmd !== 'load' || !file || rest.length || (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes > 0))) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadToolConfig();
  const sql = createSql(config.DATABASE_URL, { max: 1 });
  try {
    const r = await loadAccountsFile(sql, file, { ourIspb: config.PSP_ISPB, maxBytes });
    if (!r.ok) {
      for (const e of r.errors.slice(0, MAX_REPORTED)) process.stderr.write(`${file}:${e.line}: ${e.message}\n`);
      if (r.errors.length > MAX_REPORTED) process.stderr.write(`… and ${r.errors.length - MAX_REPORTED} more\n`);
      process.stderr.write(`${file}: nothing loaded (${r.errors.length} error${r.errors.length === 1 ? '' : 's'})\n`);
      return 1;
    }
    process.stdout.write(`${file}: ${r.rows} accounts: ${r.inserted} inserted, ${r.updated} updated, ${r.unchanged} unchanged\n`);
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
