// The shipped programs as separate processes, configured only by environment, the way
// scripts/run.sh and docker-compose run them: simulator (mTLS on), worker, API; and their
// Prometheus endpoints (API /metrics on API_METRICS_PORT and not on the public port, worker
// /metrics with Temporal Core's series, /healthz).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { ensureDevPki } from '../../scripts/pki.js';
import { createKeyRequest, naturalPerson, newEmail, newEndToEndId } from '../support/fixtures.js';
import { bearer, env, OTHER_ISPB, OUR_ISPB, programEnv, testToken, THIRD_ISPB } from '../support/stack.js';
import { freePort, Programs } from '../support/processes.js';

const programs = new Programs();
const procs = programs.procs;

const start = (script: string, extra: Record<string, string>): ChildProcess => programs.start(script, extra);

async function exited(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

let apiUrl = '';
let apiMetricsUrl = '';
let workerMetricsUrl = '';

/** Sum of the samples of `name` whose labels include `labels`, in a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
    seen = true;
  }
  return seen ? sum : NaN;
}

const scrape = async (url: string): Promise<string> => {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
};
let shared: Record<string, string> = {};
let token = '';

before(async () => {
  const pki = ensureDevPki(env.pkiDir, [OUR_ISPB, OTHER_ISPB, THIRD_ISPB]);
  const [simPort, httpPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const taskQueue = `proc-${randomUUID()}`;
  shared = {
    ...programEnv({ pki, taskQueue, dictBaseUrl: `https://127.0.0.1:${simPort}/api/v2` }),
    DICT_TLS_CA_FILE: join(pki.dir, 'ca.crt'),
    DICT_TLS_CERT_FILE: pki.participants[OUR_ISPB]!.certFile,
    DICT_TLS_KEY_FILE: pki.participants[OUR_ISPB]!.keyFile,
    AUTH_JWKS_FILE: pki.auth.jwksFile,
  };
  token = await testToken(pki);
  start('simulator/main.js', {
    SIM_HOST: '127.0.0.1',
    SIM_PORT: String(simPort),
    SIM_DATABASE_URL: env.simDatabaseUrl,
    SIM_SIGNING_KEY_FILE: pki.dict.keyFile,
    SIM_SIGNING_CERT_FILE: pki.dict.certFile,
    SIM_PARTICIPANT_CERTS: [OUR_ISPB, OTHER_ISPB, THIRD_ISPB].map((i) => `${i}=${pki.participants[i]!.certFile}`).join(','),
    SIM_TLS_KEY_FILE: pki.dict.keyFile,
    SIM_TLS_CERT_FILE: pki.dict.certFile,
    SIM_TLS_CA_FILE: join(pki.dir, 'ca.crt'),
  });
  const [workerMetricsPort, coreMetricsPort] = [await freePort(), await freePort()];
  workerMetricsUrl = `http://127.0.0.1:${workerMetricsPort}`;
  start('worker/main.js', { ...shared, WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: String(workerMetricsPort), TEMPORAL_METRICS_PORT: String(coreMetricsPort), METRICS_DB_MIN_INTERVAL_MS: '0' });
  const apiMetricsPort = await freePort();
  apiMetricsUrl = `http://127.0.0.1:${apiMetricsPort}`;
  start('api/main.js', { ...shared, API_HOST: '127.0.0.1', API_PORT: String(httpPort), API_GRPC_PORT: String(grpcPort), API_METRICS_HOST: '127.0.0.1', API_METRICS_PORT: String(apiMetricsPort), METRICS_DB_MIN_INTERVAL_MS: '0' });
  apiUrl = `http://127.0.0.1:${httpPort}`;

  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${apiUrl}/readyz`).then((r) => r.status, () => 0);
    if (ready === 200) break;
    const dead = procs.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`a process exited early:\n${programs.log(dead)}`);
    if (Date.now() > deadline) throw new Error(`stack not ready: ${programs.all()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
});

test('a key reaches ACTIVE through API process -> Temporal -> worker process -> simulator over mTLS', async () => {
  const client = createClient(CoreDictService, createConnectTransport({ baseUrl: apiUrl, httpVersion: '1.1', interceptors: [bearer(token)] }));
  const res = await client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  assert.equal(res.entry?.status, EntryStatus.ACTIVE, `${EntryStatus[res.entry?.status ?? 0]} ${res.entry?.errorName}\n${programs.all()}`);
  assert.equal(res.operation?.done, true);
});

test('metrics: API and worker /metrics move with calls; worker /healthz; Temporal Core series included', async () => {
  const client = createClient(CoreDictService, createConnectTransport({ baseUrl: apiUrl, httpVersion: '1.1', interceptors: [bearer(token)] }));
  // Not on the public port: only the metrics listener answers /metrics.
  assert.equal((await fetch(`${apiUrl}/metrics`)).status, 404);
  const api0 = await scrape(apiMetricsUrl);
  const worker0 = await scrape(workerMetricsUrl);
  const rpc = 'dict.core.v1.CoreDictService/CreateKey';
  const n = (t: string, name: string, l: Record<string, string>) => sample(t, name, l) || 0;

  const created = await client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  assert.equal(created.entry?.status, EntryStatus.ACTIVE);
  const lookup = (key: string) => client.lookupKey({ key, payerId: naturalPerson().taxIdNumber, endToEndId: newEndToEndId() });
  await lookup(created.entry!.key); // a cache miss, then our own record
  await lookup(newEmail()).catch(() => undefined); // a miss, then DICT: NotFound
  await client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: 'NOT-AN-EMAIL' })).catch(() => undefined);

  const api1 = await scrape(apiMetricsUrl);
  assert.equal(n(api1, 'core_dict_rpc_duration_seconds_count', { rpc, code: 'OK' }) - n(api0, 'core_dict_rpc_duration_seconds_count', { rpc, code: 'OK' }), 1);
  assert.ok(n(api1, 'core_dict_rpc_duration_seconds_count', { rpc, code: 'InvalidArgument' }) >= 1);
  assert.ok(n(api1, 'core_dict_rpc_duration_seconds_bucket', { rpc, code: 'OK', le: '+Inf' }) >= 1);
  assert.equal(n(api1, 'core_dict_lookup_cache_requests_total', { result: 'miss' }) - n(api0, 'core_dict_lookup_cache_requests_total', { result: 'miss' }), 2);
  assert.ok(n(api1, 'core_dict_bridge_request_duration_seconds_count', { operation: 'getEntry', status: '404' }) >= 1, 'the unknown key went to DICT');
  assert.equal(sample(api1, 'core_dict_circuit_state', { circuit: 'lookup-cache' }), 0);
  assert.ok(n(api1, 'core_dict_keys', { type: 'EMAIL', status: 'ACTIVE' }) >= 1);
  assert.equal(sample(api1, 'core_dict_dependency_up', { dependency: 'postgres' }), 1);
  assert.equal(sample(api1, 'core_dict_dependency_up', { dependency: 'redis' }), 1);
  assert.ok(sample(api1, 'core_dict_outbox_lag_seconds') >= 0);
  assert.ok(!Number.isNaN(sample(api1, 'core_dict_admission_in_flight', { gate: 'rpc' })));
  assert.ok(!Number.isNaN(sample(api1, 'process_cpu_user_seconds_total')));

  const worker1 = await scrape(workerMetricsUrl);
  const created1 = n(worker1, 'core_dict_bridge_request_duration_seconds_count', { operation: 'createEntry', status: '201' });
  assert.equal(created1 - n(worker0, 'core_dict_bridge_request_duration_seconds_count', { operation: 'createEntry', status: '201' }), 1, worker1.slice(0, 2000));
  assert.ok(n(worker1, 'core_dict_keys', { type: 'EMAIL', status: 'ACTIVE' }) >= 1);
  assert.match(worker1, /^temporal_\w+/m, 'Temporal Core metrics are appended');
  assert.equal((await fetch(`${workerMetricsUrl}/healthz`)).status, 200);
});

test('bad configuration fails fast, naming every bad variable', async () => {
  const child = start('api/main.js', { ...shared, API_PORT: 'eighty', PSP_ISPB: '123', DATABASE_URL: 'not a url' });
  const code = await exited(child, 15_000);
  assert.notEqual(code, 0);
  const out = programs.log(child);
  for (const name of ['API_PORT', 'PSP_ISPB', 'DATABASE_URL']) assert.match(out, new RegExp(name));
});

test('SIGTERM stops every process cleanly', async () => {
  const running = procs.filter((p) => p.exitCode === null);
  for (const p of running) p.kill('SIGTERM');
  const codes = await Promise.all(running.map((p) => exited(p, 15_000)));
  assert.deepEqual(codes, running.map(() => 0), programs.all());
});
