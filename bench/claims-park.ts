// Parks N donor claim workflows with BCB's real-length timers (7-day resolution) on a running dev
// stack (bash scripts/run.sh --detach) and measures what they cost while they wait: the worker's
// RSS, the Temporal dev server's SQLite size, and `temporal workflow count --query` latency, then
// extrapolates to 100,000. Loopback only; bounded in count (≤ 20,000) and time (--max-seconds).
//   node dist/bench/claims-park.js [--n 10000] [--concurrency 32] [--keep]
// The claims are synthetic DICT views (WAITING_RESOLUTION, ResolutionPeriodEnd 7 days ahead):
// each workflow records its projection row (a local activity) and then sleeps on its timer, as a
// real incoming claim does after acknowledging it. Without --keep they are terminated and their
// rows deleted at the end.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { Client, Connection } from '@temporalio/client';
import { dataConverter, payloadCodecFromEnv } from '../config/payload-codec.js';
import postgres from 'postgres';
import { BCB_CLAIM_PERIODS } from '../domain/claims.js';
import type { ExtendedClaim } from '../domain/types.js';
import { claimWorkflowId, dictClaimChangedSignal, type ClaimWorkflowInput } from '../workflows/claim-messages.js';
import { claimSearchAttributes } from '../workflows/search-attributes.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    keep: { type: 'boolean', default: false },
    'max-seconds': { type: 'string', default: '1200' },
  },
});
const N = Math.min(Number(values.n), 20_000);
const C = Math.min(Number(values.concurrency), 128);
const deadline = Date.now() + Number(values['max-seconds']) * 1000;

const root = join(__dirname, '..', '..');
const dataDir = process.env.CORE_DICT_DATA_DIR ?? join(root, '.data', 'dev');
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'core-dict';
const taskQueue = process.env.TEMPORAL_TASK_QUEUE ?? 'core-dict';
const participant = process.env.PSP_ISPB ?? '12345678';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://coredict@127.0.0.1:5432/core_dict';
const temporalBin = process.env.TEMPORAL_BIN ?? 'temporal';
const DAY = 86_400_000;

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
/** The worker's V8 heap limit: same node, same machine, same default as this process. */
const v8HeapLimitMiB = () => getHeapStatistics().heap_size_limit / 1048576;

function workerRss(): number {
  const pid = Number(readFileSync(join(dataDir, 'run', 'worker.pid'), 'utf8').trim());
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

function temporalDbBytes(): number {
  const base = join(dataDir, 'temporal', 'temporal.db');
  return ['', '-wal', '-shm'].reduce((sum, suffix) => {
    try {
      return sum + statSync(base + suffix).size;
    } catch {
      return sum;
    }
  }, 0);
}

function countLatency(query: string): { count: string; ms: number } {
  const t0 = performance.now();
  const out = execFileSync(temporalBin, ['workflow', 'count', '--address', address, '--namespace', namespace, '--query', query], { encoding: 'utf8' });
  return { count: out.trim().split('\n')[0] ?? '', ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const connection = await Connection.connect({ address });
  // The worker decodes with the stack's keys (PAYLOAD_KEYS_FILE, as scripts/env.sh sets it).
  const temporal = new Client({ connection, namespace, dataConverter: dataConverter(payloadCodecFromEnv()) });
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
  const runId = randomUUID().slice(0, 8);
  const query = `ClaimStatus="WAITING_RESOLUTION" AND ClaimRole="DONOR" AND WorkflowId STARTS_WITH "claim/${participant}/"`;

  const before = { rss: workerRss(), db: temporalDbBytes(), rows: (await sql`select count(*)::int as n from claims`)[0]!.n as number };
  console.log(`# park ${N} donor claim workflows (7-day timers) on ${address}/${namespace}, run ${runId} (${new Date().toISOString()})`);
  console.log(`before: worker RSS ${mb(before.rss)}, temporal.db ${mb(before.db)}, claims rows ${before.rows}`);

  const ids: string[] = [];
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N && Date.now() < deadline) {
        const i = next++;
        const now = Date.now();
        const claim: ExtendedClaim = {
          id: randomUUID(),
          type: i % 2 ? 'OWNERSHIP' : 'PORTABILITY',
          key: `+55619${String(10_000_000 + i).slice(-8)}`,
          keyType: 'PHONE',
          claimerAccount: { participant: '87654321', branch: '0001', accountNumber: String(7_000_000 + i), accountType: 'CACC', openingDate: '2020-01-10T03:00:00.000Z' },
          claimer: { type: 'NATURAL_PERSON', taxIdNumber: '11144477735', name: 'Bench Reivindicador' },
          donorParticipant: participant,
          status: 'WAITING_RESOLUTION',
          resolutionPeriodEnd: new Date(now + 7 * DAY).toISOString(),
          ...(i % 2 ? { completionPeriodEnd: new Date(now + 14 * DAY).toISOString() } : {}),
          lastModified: new Date(now).toISOString(),
        };
        const input: ClaimWorkflowInput = { participant, role: 'DONOR', claim, periods: BCB_CLAIM_PERIODS };
        const workflowId = claimWorkflowId(participant, claim.id, 'DONOR');
        try {
          await temporal.workflow.signalWithStart('donorClaimWorkflow', {
            taskQueue,
            workflowId,
            args: [input],
            signal: dictClaimChangedSignal,
            signalArgs: [claim],
            typedSearchAttributes: claimSearchAttributes({ claimType: claim.type, role: 'DONOR', status: claim.status, keyType: claim.keyType }),
            memo: { bench: runId },
          });
          ids.push(workflowId);
        } catch (err) {
          if (++failed <= 3) console.error((err as Error).message);
        }
      }
    }),
  );
  const startSeconds = (performance.now() - t0) / 1000;
  console.log(`started ${ids.length} (failed ${failed}) in ${startSeconds.toFixed(1)} s: ${(ids.length / startSeconds).toFixed(0)}/s`);

  // Wait until every workflow has recorded its projection row (its first task ran).
  const ids0 = ids.map((w) => w.split('/')[2]!);
  for (;;) {
    const [{ n }] = (await sql`select count(*)::int as n from claims where claim_id = any(${ids0}::uuid[])`) as unknown as [{ n: number }];
    if (n >= ids.length || Date.now() > deadline) {
      console.log(`parked: ${n} projection rows after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  await new Promise((r) => setTimeout(r, 3000));

  const after = { rss: workerRss(), db: temporalDbBytes() };
  const counts = [countLatency(query), countLatency(query), countLatency(query)];
  const perWorkflowDb = (after.db - before.db) / Math.max(1, ids.length);
  console.log(`after: worker RSS ${mb(after.rss)} (${mb(after.rss - before.rss)} more), temporal.db ${mb(after.db)} (+${mb(after.db - before.db)}, ${(perWorkflowDb / 1024).toFixed(1)} KiB per workflow)`);
  console.log(`temporal workflow count --query '${query}': ${counts.map((c) => `${c.count} in ${c.ms.toFixed(0)} ms`).join('; ')}`);
  const scale = 100_000 / Math.max(1, ids.length);
  // The worker keeps at most maxCachedWorkflows executions in memory (sticky cache; the SDK's
  // default comes from the V8 heap limit); parked ones beyond it live only in Temporal's store.
  const cacheCap = Number(process.env.WORKER_MAX_CACHED_WORKFLOWS) || Math.max(Math.floor(((v8HeapLimitMiB() - 200) * 600) / 1024), 10);
  const perCached = (after.rss - before.rss) / Math.min(ids.length, cacheCap);
  console.log(
    `at 100,000: temporal.db ≈ ${mb(before.db + (after.db - before.db) * scale)}; worker RSS is bounded by its workflow cache ` +
      `(≈${cacheCap} executions, ≈${(perCached / 1024).toFixed(0)} KiB each here), not by the number parked: ≈ ${mb(after.rss)} at 100,000 too`,
  );

  if (!values.keep) {
    const t1 = performance.now();
    let done = 0;
    let i = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (i < ids.length) {
          const id = ids[i++]!;
          await temporal.workflow.getHandle(id).terminate('bench cleanup').then(() => done++, () => undefined);
        }
      }),
    );
    await sql`delete from claims where claim_id = any(${ids0}::uuid[])`;
    await sql`delete from outbox where aggregate_type = 'claim' and payload->>'claimId' = any(${ids0})`;
    console.log(`cleanup: terminated ${done}, rows deleted, in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
  await sql.end();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
