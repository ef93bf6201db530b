// The shipped programs as separate processes, configured only by environment, the way
// scripts/run.sh and docker-compose run them: simulator (mTLS on), worker, API.
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
import { createKeyRequest, newEmail } from '../support/fixtures.js';
import { bearer, env, OTHER_ISPB, OUR_ISPB, testToken, THIRD_ISPB } from '../support/stack.js';
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
let shared: Record<string, string> = {};
let token = '';

before(async () => {
  const pki = ensureDevPki(env.pkiDir, [OUR_ISPB, OTHER_ISPB, THIRD_ISPB]);
  const [simPort, httpPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const taskQueue = `proc-${randomUUID()}`;
  shared = {
    PSP_ISPB: OUR_ISPB,
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DICT_BASE_URL: `https://127.0.0.1:${simPort}/api/v2`,
    DICT_SIGNING_KEY_FILE: pki.participants[OUR_ISPB]!.keyFile,
    DICT_SIGNING_CERT_FILE: pki.participants[OUR_ISPB]!.certFile,
    DICT_TRUSTED_CERT_FILE: pki.dict.certFile,
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
  start('worker/main.js', shared);
  start('api/main.js', { ...shared, API_HOST: '127.0.0.1', API_PORT: String(httpPort), API_GRPC_PORT: String(grpcPort) });
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
