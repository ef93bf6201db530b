// CreateKey latency against a running Core DICT (scripts/run.sh), loopback only.
//   node dist/bench/create-key.js [--url http://127.0.0.1:8080] [--n 200] [--concurrency 16] [--phases accept,active]
//   node dist/bench/create-key.js --rate 20 --seconds 60 [--max-in-flight 400] [--sample 200|all] [--out DIR]
// Phase "accept": CreateKey with no wait — the RPC answers once the request is recorded and
// its workflow started. Phase "active" (to ACTIVE): CreateKey waiting for the final state — DICT
// registration included. Fixed N and concurrency; every request is a fresh EVP key.
// Phase "sustained" (the default when --rate or --seconds is given): to-ACTIVE CreateKeys offered
// open-loop at a fixed rate (BCB's ENTRIES_WRITE refill, 20/s) for a fixed time, then a sample of
// their workflow histories fetched from Temporal and split into segments (history-breakdown.ts);
// a table on stdout, results.json and latency.svg in --out (default bench/results/<timestamp>/).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { devBearer } from '../scripts/token.js';
import { cnpjCheckDigits } from '../domain/taxid.js';
import { CoreDictService, CreateKeyRequestSchema } from '../gen/dict/core/v1/service_pb.js';
import { AccountType, EntryOperationReason, EntryStatus, KeyType, PersonType } from '../gen/dict/core/v1/types_pb.js';
import { ErrorInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import { sustainedPhase } from './create-key-sustained.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.API_URL ?? 'http://127.0.0.1:8080' },
    n: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
    ispb: { type: 'string', default: process.env.PSP_ISPB ?? '12345678' },
    phases: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    'max-in-flight': { type: 'string', default: '400' },
    wait: { type: 'string', default: '15' },
    sample: { type: 'string', default: '200' },
    'history-seconds': { type: 'string', default: '120' },
    temporal: { type: 'string', default: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' },
    namespace: { type: 'string', default: process.env.TEMPORAL_NAMESPACE ?? 'core-dict' },
    out: { type: 'string' },
  },
});
const PHASES = new Set((values.phases ?? (values.rate || values.seconds ? 'sustained' : 'accept,active')).split(','));
const N = Math.min(Number(values.n), 10_000);
const C = Math.min(Number(values.concurrency), 256);
const client = createClient(CoreDictService, createConnectTransport({ baseUrl: values.url!, httpVersion: '1.1', interceptors: [devBearer()] }));

let accountSeq = 0;
// Account numbers unique per run too (BCB's per-account key limit holds across runs).
const accountBase = (Date.now() % 1e6) * 1e6;
/** A legal person per 20 keys (BCB's per-account limit), on a fresh account each time. */
function request(waitSeconds: number) {
  const i = accountBase + accountSeq++;
  const base = String(Date.now() % 1e8).padStart(8, '0') + '0001';
  const cnpj = base + cnpjCheckDigits(base);
  return create(CreateKeyRequestSchema, {
    requestId: randomUUID(),
    keyType: KeyType.EVP,
    account: { participant: values.ispb!, branch: '0001', accountNumber: String(i), accountType: AccountType.CACC, openingDate: timestampFromDate(new Date('2020-01-01T03:00:00Z')) },
    owner: { type: PersonType.LEGAL_PERSON, taxIdNumber: cnpj, name: 'Bench Comercio Ltda' },
    reason: EntryOperationReason.USER_REQUESTED,
    waitTimeout: waitSeconds ? { seconds: BigInt(waitSeconds) } : undefined,
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function phase(name: string, waitSeconds: number): Promise<string[]> {
  const latencies: number[] = [];
  const workflowIds: string[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        const req = request(waitSeconds);
        const t0 = performance.now();
        try {
          const res = await client.createKey(req);
          latencies.push(performance.now() - t0);
          if (waitSeconds && res.entry?.status !== EntryStatus.ACTIVE) failures++;
          workflowIds.push(req.requestId);
        } catch (err) {
          failures++;
          if (failures <= 3) console.error(`${name}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `${name.padEnd(10)} n=${N} c=${C} ok=${latencies.length} failed=${failures} ` +
      `p50=${f(pct(latencies, 50))}ms p95=${f(pct(latencies, 95))}ms p99=${f(pct(latencies, 99))}ms max=${f(latencies[latencies.length - 1] ?? 0)}ms ` +
      `throughput=${(latencies.length / seconds).toFixed(1)}/s`,
  );
  return workflowIds;
}

async function waitAllActive(requestIds: string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const id of requestIds) {
    for (;;) {
      const res = await client.getKey({ by: { case: 'requestId', value: id } }).catch(() => undefined);
      if (res?.entry?.status === EntryStatus.ACTIVE) break;
      if (Date.now() > deadline) throw new Error(`not ACTIVE in time: ${id}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function main(): Promise<void> {
  const health = await client.healthCheck({});
  if (health.status !== 1) throw new Error(`stack not healthy at ${values.url}: ${health.components.map((c) => `${c.name}=${c.detail}`).join(', ')}`);
  // Warm-up: connections, workflow cache, JIT.
  await Promise.all(Array.from({ length: Math.min(C, 8) }, () => client.createKey(request(15))));
  console.log(`# CreateKey bench against ${values.url} (${new Date().toISOString()})`);
  if (PHASES.has('accept')) {
    const accepted = await phase('accept', 0);
    const t0 = performance.now();
    await waitAllActive(accepted);
    console.log(`accept->all ACTIVE drained in ${((performance.now() - t0) / 1000).toFixed(2)}s`);
  }
  if (PHASES.has('active')) await phase('to-ACTIVE', 15);
  if (PHASES.has('sustained')) {
    await sustainedPhase({
      url: values.url!,
      ispb: values.ispb!,
      rate: Number(values.rate ?? 20),
      seconds: Number(values.seconds ?? 60),
      maxInFlight: Number(values['max-in-flight']),
      waitSeconds: Number(values.wait),
      sample: values.sample === 'all' ? Infinity : Number(values.sample),
      historySeconds: Number(values['history-seconds']),
      temporalAddress: values.temporal!,
      namespace: values.namespace!,
      out: values.out,
      send: async (signal) => {
        const req = request(Number(values.wait));
        try {
          const res = await client.createKey(req, { signal, timeoutMs: (Number(values.wait) + 10) * 1000 });
          const status = res.entry?.status ?? EntryStatus.UNSPECIFIED;
          return { requestId: req.requestId, code: status === EntryStatus.ACTIVE ? undefined : `answered ${EntryStatus[status]}` };
        } catch (err) {
          const e = ConnectError.from(err);
          const reason = e.findDetails(ErrorInfoSchema)[0]?.reason;
          return { requestId: req.requestId, code: `${Code[e.code]}${reason ? ` ${reason}` : ''}` };
        }
      },
    });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
