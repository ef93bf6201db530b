// RPC fuzzing at volume against a running Core DICT (bash scripts/run.sh --detach):
// FUZZ_RUNS (default 5,000) generated messages and as many random-byte bodies per RPC — 10,000
// cases per RPC — on Connect JSON/binary, gRPC and gRPC-web in turn (engine:
// test/support/fuzz.ts; CI runs a few hundred per RPC in test/integration/fuzz.test.ts),
// FUZZ_CONCURRENCY (16) in flight, at most FUZZ_SECONDS_PER_RPC (600) per RPC. Prints, per RPC,
// cases, rate, answers by code and findings (Internal/Unknown/DataLoss, HTTP 5xx) grouped, checks
// /readyz after every RPC and, with DATABASE_URL, that nothing was half-written. Messages carry
// the dev operator's token or a customer's (dev key). Exit 1 on any finding or a time-bounded RPC.
//   bash scripts/bench.sh fuzz                      all RPCs, FUZZ_RUNS of each kind
//   FUZZ_RUNS=500 FUZZ_METHODS=LookupKey,GetKey FUZZ_SEED=42 bash scripts/bench.sh fuzz
import postgres from 'postgres';
import { readDevAuthKey } from '../scripts/pki.js';
import { devOperatorToken, mintToken } from '../scripts/token.js';
import { FUZZED_METHODS, fuzzClients, fuzzMethod, HALF_WRITTEN_SQL, ready, summarize, type Finding } from '../test/support/fuzz.js';

const runs = Number(process.env.FUZZ_RUNS ?? 5_000);
const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 16);
const secondsPerRpc = Number(process.env.FUZZ_SECONDS_PER_RPC ?? 600);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const only = process.env.FUZZ_METHODS ? new Set(process.env.FUZZ_METHODS.split(',').map((s) => s.trim())) : undefined;
const target = {
  httpUrl: process.env.API_URL ?? 'http://127.0.0.1:8080',
  grpcUrl: process.env.API_GRPC_URL ?? 'http://127.0.0.1:50051',
};

async function main(): Promise<number> {
  if (!(await ready(target.httpUrl))) {
    console.error(`${target.httpUrl}/readyz is not ready: start the stack first (bash scripts/run.sh --detach)`);
    return 2;
  }
  const started = new Date(Date.now() - 1000);
  const token = await devOperatorToken();
  // A customer (second factor shown) whose CPF owns nothing: every id they send is someone else's.
  const { keyPem, kid } = readDevAuthKey(process.env.PKI_DIR ?? '.data/dev/pki');
  const customer = await mintToken({ keyPem, kid, ispb: process.env.PSP_ISPB ?? '12345678', role: 'customer', sub: 'fuzz-customer', taxId: '52998224725', amr: ['pwd', 'otp'], ttlSeconds: 12 * 3600 });
  const full = { ...target, token, otherTokens: [customer] };
  const tr = fuzzClients(full);
  const all: Finding[] = [];
  let unhealthy = false;
  let bounded = false;
  const t00 = performance.now();
  for (const method of FUZZED_METHODS) {
    if (only && !only.has(method.name)) continue;
    const t0 = performance.now();
    const r = await fuzzMethod(full, tr, method, { runs, seed, concurrency, timeLimitMs: secondsPerRpc * 1000 });
    const s = (performance.now() - t0) / 1000;
    const ok = await ready(target.httpUrl);
    unhealthy ||= !ok;
    bounded ||= r.interrupted;
    all.push(...r.findings);
    const answers = Object.entries(r.answers).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(`${method.name.padEnd(20)} cases ${String(r.cases).padStart(6)}${r.interrupted ? ' (time-bounded)' : ''}  ${(r.cases / s).toFixed(0).padStart(4)}/s  findings ${r.findings.length}  readyz ${ok ? 'ok' : 'NOT READY'}  | ${answers}`);
  }
  console.log(`wall time ${((performance.now() - t00) / 1000).toFixed(0)} s`);
  for (const g of summarize(all)) console.log(`FINDING ×${g.count} ${g.key}\n  e.g. ${g.example}`);
  let orphans = 0;
  if (process.env.DATABASE_URL) {
    const sql = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql.unsafe(HALF_WRITTEN_SQL, [started]);
      orphans = rows.length;
      for (const r of rows) console.log(`HALF-WRITTEN ${String(r.what)} ${String(r.id)}`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  } else console.log('DATABASE_URL not set: half-written rows not checked');
  console.log(`findings ${all.length}, half-written ${orphans}, server ${unhealthy ? 'became unready' : 'stayed ready'}${bounded ? ', some RPCs stopped at FUZZ_SECONDS_PER_RPC' : ''}`);
  return all.length === 0 && orphans === 0 && !unhealthy && !bounded ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
