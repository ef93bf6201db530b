// The API process in cluster mode (API_WORKERS=2), configured only by environment: both workers
// serve on the one port, the primary's metrics listener (API_METRICS_PORT) sums both workers'
// series, refused calls are counted too, the workers run with the API's V8 flags, and SIGTERM
// lets a call in flight finish before everything exits 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { API_NODE_FLAGS } from '../../config/node-flags.js';
import { KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { createKeyRequest, legalPerson, naturalPerson, newEmail, newEndToEndId } from '../support/fixtures.js';
import { programEnv, startStack, type Stack } from '../support/stack.js';
import { freePort, teeToLogDir } from '../support/processes.js';

const dist = join(__dirname, '..', '..');
let s: Stack;
let token = '';
let api: ChildProcess;
let out = '';
let httpPort = 0;
let metricsPort = 0;

const lines = () =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A Connect JSON LookupKey on a fresh TCP connection (so the primary hands out each one anew). */
function lookupOnNewConnection(key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = JSON.stringify({ key, payerId: naturalPerson().taxIdNumber, endToEndId: newEndToEndId() });
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: httpPort, method: 'POST', path: '/dict.core.v1.CoreDictService/LookupKey', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body || '{}') as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

before(async () => {
  s = await startStack();
  token = await s.token();
  const pki = s.pki;
  httpPort = await freePort();
  metricsPort = await freePort();
  api = spawn(process.execPath, [...API_NODE_FLAGS, join(dist, 'api/main.js')], {
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      API_WORKERS: '2',
      RPC_STATS_INTERVAL_MS: '200',
      ...programEnv({ pki, taskQueue: s.taskQueue, dictBaseUrl: s.simulator.url }),
      AUTH_JWKS_FILE: pki.auth.jwksFile,
      API_HOST: '127.0.0.1',
      API_PORT: String(httpPort),
      API_GRPC_PORT: String(await freePort()),
      API_METRICS_HOST: '127.0.0.1',
      API_METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => (out += d.toString());
  teeToLogDir(api, 'api-cluster');
  api.stdout!.on('data', keep);
  api.stderr!.on('data', keep);
  const deadline = Date.now() + 60_000;
  while (lines().filter((l) => l.msg === 'api listening').length < 2) {
    if (api.exitCode !== null) throw new Error(`api exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`api workers not listening:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (api && api.exitCode === null) api.kill('SIGKILL');
  await s?.stop();
});

test('API_WORKERS=2: two worker processes serve lookups on one port', async () => {
  const listening = lines().filter((l) => l.msg === 'api listening');
  const pids = new Set(listening.map((l) => l.pid));
  assert.equal(pids.size, 2);
  assert.ok(!pids.has(api.pid), 'workers are not the primary');
  // Started as every launcher starts it, with the V8 flags (config/node-flags.ts): the workers
  // run with them too (node:cluster forks with the primary's execArgv).
  for (const pid of [api.pid, ...pids]) {
    const argv = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').split('\0');
    for (const flag of API_NODE_FLAGS) assert.ok(argv.includes(flag), `pid ${String(pid)} runs without ${flag}: ${argv.join(' ')}`);
  }

  const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  const key = created.entry!.key;
  const results = await Promise.all(Array.from({ length: 40 }, () => lookupOnNewConnection(key)));
  assert.ok(results.every((r) => r.status === 200 && r.body.source === 'LOCAL'), JSON.stringify(results.find((r) => r.status !== 200)));

  // Each worker sums its calls in an `rpc stats` line: both took a share of the 40.
  const served = () => {
    const by = new Map<unknown, number>();
    for (const l of lines()) if (l.msg === 'rpc stats' && l.rpc === 'dict.core.v1.CoreDictService/LookupKey') by.set(l.pid, (by.get(l.pid) ?? 0) + (l.calls as number));
    return by;
  };
  const deadline = Date.now() + 5_000;
  while ([...served().values()].reduce((a, b) => a + b, 0) < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const by = served();
  assert.equal([...by.values()].reduce((a, b) => a + b, 0), 40, out);
  assert.equal(by.size, 2, `calls per worker pid: ${JSON.stringify([...by])}`);
  for (const pid of by.keys()) assert.ok(pids.has(pid));
});

test('the anti-scanning fallback is shared: each of the two workers allows half of ANTISCAN_FALLBACK_FRACTION', () => {
  const shares = lines().filter((l) => l.msg === 'antiscan fallback share of this process');
  assert.equal(shares.length, 2, out);
  const configured = Number(process.env.ANTISCAN_FALLBACK_FRACTION ?? 0.1);
  for (const l of shares) {
    assert.equal(l.processes, 2);
    assert.equal(l.fallbackFraction, configured / 2);
  }
});

test("the primary's metrics listener sums both workers; refused calls are counted with their code", async () => {
  const rpc = 'dict.core.v1.CoreDictService/LookupKey';
  const count = async (code: string) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('core_dict_rpc_duration_seconds_count{') && l.includes(`rpc="${rpc}"`) && l.includes(`code="${code}"`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  // The 40 lookups of the test above, served by two workers, in one scrape.
  assert.equal(await count('OK'), 40);
  assert.equal((await fetch(`http://127.0.0.1:${httpPort}/metrics`)).status, 404, 'not on the public port');
  // No token: refused by auth, yet counted and in the workers' rpc stats lines.
  const refused = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: httpPort, method: 'POST', path: `/${rpc}`, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{}');
  });
  assert.equal(refused, 401);
  assert.equal(await count('Unauthenticated'), 1);
  const deadline = Date.now() + 5_000;
  const statsLine = () => lines().find((l) => l.msg === 'rpc stats' && l.rpc === rpc && (l.codes as Record<string, number>).Unauthenticated === 1);
  while (!statsLine() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(statsLine(), out.slice(-2000));
});

test('SIGTERM drains: a call in flight completes, then primary and workers exit 0', async () => {
  const owner = legalPerson();
  const key = newEmail();
  await s.registerInDict(s.otherPsp, { key, keyType: 'EMAIL', owner: { type: 'LEGAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name } });
  // DICT takes 1.5 s to answer this lookup: SIGTERM arrives while it is in flight.
  await s.simAdmin('faults', 'POST', { operation: 'getEntry', kind: 'latency', latencyMs: 1500 });
  const workerPids = new Set(lines().filter((l) => l.msg === 'api listening').map((l) => l.pid as number));
  const inFlight = lookupOnNewConnection(key);
  await new Promise((r) => setTimeout(r, 400));
  api.kill('SIGTERM');
  const res = await inFlight;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.source, 'DICT');
  const [code] = (await once(api, 'exit')) as [number | null];
  assert.equal(code, 0, out);
  assert.equal(lines().filter((l) => l.msg === 'api stopped').length, 3, out);
  for (const pid of workerPids) assert.throws(() => process.kill(pid, 0), 'worker process gone');
  await assert.rejects(lookupOnNewConnection(key));
});
