// RPC fuzzing at volume against a running Core DICT (bash scripts/run.sh --detach):
// FUZZ_RUNS (default 10,000) generated messages and as many random-byte bodies per RPC, on
// Connect JSON/binary, gRPC and gRPC-web (engine: test/support/fuzz.ts; CI runs a few hundred
// per RPC in test/integration/fuzz.test.ts). Reports findings (Internal/Unknown/DataLoss, HTTP
// 5xx) grouped, checks /readyz after every RPC and, with DATABASE_URL, that nothing was
// half-written. Calls carry an operator token (API_TOKEN, else minted with the dev key). Exit 1
// on any finding.
//   bash scripts/bench.sh fuzz                      all RPCs, FUZZ_RUNS each
//   FUZZ_RUNS=500 FUZZ_METHODS=LookupKey,GetKey FUZZ_SEED=42 bash scripts/bench.sh fuzz
import postgres from 'postgres';
import { devOperatorToken } from '../scripts/token.js';
import { FUZZED_METHODS, fuzzClients, fuzzMethod, HALF_WRITTEN_SQL, ready, summarize, type Finding } from '../test/support/fuzz.js';

const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
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
  const tr = fuzzClients({ ...target, token });
  const all: Finding[] = [];
  let unhealthy = false;
  for (const method of FUZZED_METHODS) {
    if (only && !only.has(method.name)) continue;
    const t0 = performance.now();
    const r = await fuzzMethod({ ...target, token }, tr, method, { runs, seed });
    const s = (performance.now() - t0) / 1000;
    const ok = await ready(target.httpUrl);
    unhealthy ||= !ok;
    all.push(...r.findings);
    console.log(`${method.name.padEnd(20)} cases ${String(r.cases).padStart(6)}  ${(r.cases / s).toFixed(0).padStart(5)}/s  findings ${r.findings.length}  readyz ${ok ? 'ok' : 'NOT READY'}`);
  }
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
  console.log(`findings ${all.length}, half-written ${orphans}, server ${unhealthy ? 'became unready' : 'stayed ready'}`);
  return all.length === 0 && orphans === 0 && !unhealthy ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
