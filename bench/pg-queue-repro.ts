// Standalone reproduction of postgres.js 3.4.x's queue growth under sustained saturation, and of
// the fix the API uses (a bulkhead: never more queries in flight than the pool has connections).
//
//   node dist/bench/pg-queue-repro.js [--url postgres://…] [--pool 10] [--in-flight 128]
//        [--n 200000] [--window 20000] [--gate 0|N] [--json out.json]
//
// `--in-flight` callers loop `select 1` until `--n` queries are done; queries/s is printed per
// window of `--window` queries. Without a gate, more callers than connections make postgres.js
// pipeline onto busy connections: its Queue (src/queue.js) only compacts when drained to empty,
// so under saturation every array it keeps (busy connections, a connection's sent queries) grows
// by one slot per query and remove() scans it — throughput falls as the run goes on. With
// `--gate N` (N ≤ pool) the callers pass a cockatiel bulkhead of N first, so every query finds an
// idle connection and the driver's queues drain to empty between bursts: throughput stays flat.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bulkhead } from 'cockatiel';
import postgres from 'postgres';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://coredict@127.0.0.1:5432/core_dict' },
    pool: { type: 'string', default: '10' },
    'in-flight': { type: 'string', default: '128' },
    n: { type: 'string', default: '200000' },
    window: { type: 'string', default: '20000' },
    gate: { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});
const POOL = Math.max(1, Number(values.pool));
const IN_FLIGHT = Math.max(1, Number(values['in-flight']));
// Bounded by design: at most 5 M queries.
const N = Math.min(5_000_000, Math.max(1, Number(values.n)));
const WINDOW = Math.max(1, Math.min(N, Number(values.window)));
const GATE = Math.max(0, Number(values.gate));

export interface ReproResult {
  pool: number;
  inFlight: number;
  gate: number;
  n: number;
  windows: number[];
  first: number;
  last: number;
  lastOverFirst: number;
}

async function main(): Promise<void> {
  const sql = postgres(values.url!, { max: POOL, onnotice: () => {} });
  // The bulkhead queues the excess callers itself (unbounded here: the callers are bounded).
  const gate = GATE > 0 ? bulkhead(GATE, IN_FLIGHT) : undefined;
  const query = gate ? () => gate.execute(() => sql`select 1`) : () => sql`select 1`;
  await sql`select 1`;
  const windows: number[] = [];
  let done = 0;
  let started = 0;
  let windowStart = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (started < N) {
        started++;
        await query();
        done++;
        if (done % WINDOW === 0) {
          const now = performance.now();
          const qps = Math.round((WINDOW * 1000) / (now - windowStart));
          windows.push(qps);
          console.log(`${String(done).padStart(9)} queries  ${String(qps).padStart(7)} q/s`);
          windowStart = now;
        }
      }
    }),
  );
  await sql.end({ timeout: 5 });
  const first = windows[0] ?? 0;
  const last = windows[windows.length - 1] ?? 0;
  const result: ReproResult = { pool: POOL, inFlight: IN_FLIGHT, gate: GATE, n: N, windows, first, last, lastOverFirst: first ? Number((last / first).toFixed(3)) : 0 };
  console.log(`pool ${POOL}, in flight ${IN_FLIGHT}, gate ${GATE || 'none'}: first window ${first} q/s, last ${last} q/s, last/first ${result.lastOverFirst}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
