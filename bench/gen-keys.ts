// Loads synthetic ACTIVE entries of our participant into Postgres with COPY, for lookups at
// scale (10 M keys in minutes). Idempotent top-up: it counts the rows it made before (request_id
// 'bench-gen-<i>') and adds only the missing ones, so `--total 100000` then `--total 10000000`
// grows the same data set; `--drop` removes them all.
//
//   node dist/bench/gen-keys.js --total 10000000 [--url postgres://…] [--batch 1000000] [--streams 2]
//   node dist/bench/gen-keys.js --drop
//   node dist/bench/gen-keys.js --total 10000000 --scale-db     (its own database, as the harness uses)
//   node dist/bench/gen-keys.js --drop-scale-dbs
//
// Scale databases: the LookupKey harness's key-table sizes each get a database of their own,
// `<db>_keys_<size>` beside --url's (created and migrated with dbmate, loaded here, then vacuumed,
// analysed and checkpointed), so that one api1 per size can run at once and the sizes be measured
// in alternating rounds. They are kept between runs (10 M rows take minutes to load, and some GB);
// `--drop-scale-dbs` removes them.
//
// Row i: EVP key benchKey(i) (a lowercase UUID that encodes i, so a bench can name any key
// without a lookup table), a natural person with a valid CPF, one account per 5 keys (BCB's
// limit), DICT dates set. Each batch is one COPY in its own transaction, `--streams` at a time.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { cpfCheckDigits } from '../domain/taxid.js';

export const BENCH_REQUEST_PREFIX = 'bench-gen-';

/** The EVP key of generated row i (0 ≤ i < 16^12). */
export function benchKey(i: number): string {
  const hex = i.toString(16).padStart(12, '0');
  return `b3c0de00-0000-4000-8000-${hex}`;
}

const COLUMNS = [
  'entry_id', 'key', 'key_type', 'status', 'participant', 'branch', 'account_number', 'account_type', 'opening_date',
  'owner_type', 'tax_id_number', 'owner_name', 'creation_date', 'key_ownership_date', 'request_id', 'dict_request_id',
];

function row(i: number, participant: string): string {
  const base9 = String(100_000_000 + (i % 800_000_000)).slice(-9);
  const cpf = base9 + cpfCheckDigits(base9);
  const account = String(10_000_000 + Math.floor(i / 5));
  return [
    randomUUID(), benchKey(i), 'EVP', 'ACTIVE', participant, '0001', account, 'CACC', '2020-01-10T03:00:00Z',
    'NATURAL_PERSON', cpf, 'Cliente Bench da Silva', '2024-01-01T12:00:00Z', '2024-01-01T12:00:00Z', BENCH_REQUEST_PREFIX + i, randomUUID(),
  ].join('\t') + '\n';
}

function rows(from: number, to: number, participant: string): Readable {
  let i = from;
  return new Readable({
    read() {
      let chunk = '';
      for (let k = 0; k < 2_000 && i < to; k++) chunk += row(i++, participant);
      this.push(chunk || null);
    },
  });
}

export async function countGenerated(sql: postgres.Sql): Promise<number> {
  // request_id is indexed with participant (entries_request); a prefix scan over it.
  const [r] = await sql<{ n: string }[]>`select count(*)::bigint as n from entries where request_id like ${BENCH_REQUEST_PREFIX + '%'}`;
  return Number(r!.n);
}

export async function generate(sql: postgres.Sql, o: { total: number; participant: string; batch: number; streams: number; log?: (s: string) => void }): Promise<{ added: number; seconds: number; total: number }> {
  const have = await countGenerated(sql);
  const started = performance.now();
  const batches: [number, number][] = [];
  for (let from = have; from < o.total; from += o.batch) batches.push([from, Math.min(o.total, from + o.batch)]);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, o.streams) }, async () => {
      while (next < batches.length) {
        const [from, to] = batches[next++]!;
        await sql.begin(async (tx) => {
          const writable = await tx.unsafe(`copy entries (${COLUMNS.join(', ')}) from stdin`).writable();
          await pipeline(rows(from, to, o.participant), writable);
        });
        done += to - from;
        o.log?.(`${have + done} / ${o.total} rows (${Math.round(done / ((performance.now() - started) / 1000))} rows/s)`);
      }
    }),
  );
  await sql`analyze entries`;
  return { added: o.total - Math.min(have, o.total), seconds: (performance.now() - started) / 1000, total: Math.max(have, o.total) };
}

/** The scale database for `size` keys beside `baseUrl`'s database: its name and URL. */
export function scaleDatabaseUrl(baseUrl: string, size: number): { name: string; url: string } {
  const u = new URL(baseUrl);
  const name = `${decodeURIComponent(u.pathname.slice(1))}_keys_${size}`;
  u.pathname = `/${encodeURIComponent(name)}`;
  return { name, url: u.toString() };
}

/**
 * The scale database for `size` keys, made ready: created and migrated (scripts/lib.sh's migrate,
 * as run.sh and test.sh migrate theirs), its generated keys topped up to `size`, and after a load
 * vacuumed, analysed and checkpointed (so a measurement right after does not meet autovacuum or a
 * checkpoint). Returns its URL and row count (it holds generated rows only).
 */
export async function ensureScaleDatabase(baseUrl: string, size: number, o: { participant: string; log?: (s: string) => void }): Promise<{ url: string; entries: number }> {
  const { name, url } = scaleDatabaseUrl(baseUrl, size);
  const root = join(__dirname, '..', '..');
  // dbmate up creates the database if it is missing (lib.sh's migrate: its URL, flags, sslmode).
  const r = spawnSync('bash', ['-c', 'ROOT=$1; source "$ROOT/scripts/lib.sh" && migrate "$2" migrations', 'migrate', root, url], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`migrating ${name} failed (status ${r.status}, signal ${r.signal}): ${r.error?.message ?? ''}${r.stderr || r.stdout || ''}`);
  const sql = postgres(url, { max: 3, onnotice: () => {} });
  try {
    let entries = await countGenerated(sql);
    if (entries < size) {
      o.log?.(`${name}: loading generated keys up to ${size} (COPY)`);
      const g = await generate(sql, { total: size, participant: o.participant, batch: 1_000_000, streams: 2, log: (s) => o.log?.(`  ${s}`) });
      o.log?.(`  loaded ${g.added} rows in ${g.seconds.toFixed(1)} s`);
      entries = g.total;
    }
    // Also when an earlier load was cut between its last COPY and its vacuum: never vacuumed yet.
    const [t] = await sql<{ vacuumed: boolean }[]>`select coalesce(last_vacuum, last_autovacuum) is not null as vacuumed from pg_stat_user_tables where relname = 'entries'`;
    if (!t?.vacuumed) {
      o.log?.(`${name}: vacuum (analyze) and checkpoint`);
      await sql`vacuum (analyze) entries`;
      await sql`checkpoint`.catch((err: unknown) => o.log?.(`  checkpoint skipped: ${(err as Error).message}`));
    }
    if (entries > size * 1.05) o.log?.(`  note: ${name} holds ${entries} rows (more than ${size}): its point measures that size`);
    return { url, entries };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Whether `name` is one of the scale databases beside database `base`: `<base>_keys_<digits>`. */
export function isScaleDatabaseName(base: string, name: string): boolean {
  const prefix = `${base}_keys_`;
  return name.startsWith(prefix) && /^[1-9]\d*$/.test(name.slice(prefix.length));
}

/** Drops every scale database beside `baseUrl`'s (names `<db>_keys_<digits>`); returns their names. */
export async function dropScaleDatabases(baseUrl: string): Promise<string[]> {
  const base = decodeURIComponent(new URL(baseUrl).pathname.slice(1));
  const sql = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    const dbs = await sql<{ datname: string }[]>`select datname from pg_database where starts_with(datname, ${`${base}_keys_`})`;
    const names = dbs.map((d) => d.datname).filter((n) => isScaleDatabaseName(base, n));
    for (const n of names) await sql.unsafe(`drop database "${n.replace(/"/g, '""')}" with (force)`);
    return names;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://coredict@127.0.0.1:5432/core_dict' },
      total: { type: 'string', default: '100000' },
      batch: { type: 'string', default: '1000000' },
      streams: { type: 'string', default: '2' },
      participant: { type: 'string', default: process.env.PSP_ISPB ?? '12345678' },
      drop: { type: 'boolean', default: false },
      'scale-db': { type: 'boolean', default: false },
      'drop-scale-dbs': { type: 'boolean', default: false },
    },
  });
  const total = Number(values.total);
  if (!Number.isInteger(total) || total < 1 || total > 50_000_000) throw new Error(`--total must be a whole number from 1 to 50000000 (got ${JSON.stringify(values.total)})`);
  if (values['drop-scale-dbs']) {
    const names = await dropScaleDatabases(values.url!);
    console.log(names.length ? `dropped ${names.join(', ')}` : 'no scale databases');
    return;
  }
  if (values['scale-db']) {
    const db = await ensureScaleDatabase(values.url!, total, { participant: values.participant!, log: (s) => console.log(s) });
    console.log(`${scaleDatabaseUrl(values.url!, total).name}: ${db.entries} entries`);
    return;
  }
  const sql = postgres(values.url!, { max: Number(values.streams) + 1, onnotice: () => {} });
  try {
    if (values.drop) {
      const r = await sql`delete from entries where request_id like ${BENCH_REQUEST_PREFIX + '%'}`;
      console.log(`removed ${r.count} generated entries`);
      return;
    }
    const res = await generate(sql, { total, participant: values.participant!, batch: Math.max(1_000, Number(values.batch)), streams: Math.max(1, Math.min(8, Number(values.streams))), log: (s) => console.log(s) });
    console.log(`generated entries: ${res.total} (added ${res.added} in ${res.seconds.toFixed(1)} s)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
