// Stateless replicas on one Temporal: two API processes and two worker processes on the same
// namespace and task queue, configured only by environment (as scripts/run.sh starts them with
// API_REPLICAS=2 WORKER_REPLICAS=2). Writes and reads through either API; one worker killed with
// SIGKILL mid-load loses nothing and duplicates nothing (one entry, one DICT write per key).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Code, ConnectError, createClient, type Client as RpcClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Connection } from '@temporalio/client';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { ensureDevPki } from '../../scripts/pki.js';
import { createSql, type Sql } from '../../store/db.js';
import { createKeyRequest, newEmail } from '../support/fixtures.js';
import { bearer, env, OTHER_ISPB, OUR_ISPB, programEnv, testToken, THIRD_ISPB } from '../support/stack.js';
import { freePort, Programs } from '../support/processes.js';

const programs = new Programs();
const procs = programs.procs;
const allLogs = () => programs.all();

const start = (script: string, extra: Record<string, string>): ChildProcess => programs.start(script, extra);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let simUrl = '';
let taskQueue = '';
let sql: Sql;
const apis: RpcClient<typeof CoreDictService>[] = [];
const workers: ChildProcess[] = [];

/** Worker processes polling our task queue, by the pid in their default identity (pid@host). */
async function pollerPids(): Promise<Set<number>> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const res = await connection.workflowService.describeTaskQueue({ namespace: env.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
    return new Set(res.pollers.map((p) => Number(String(p.identity).split('@')[0])));
  } finally {
    await connection.close();
  }
}

before(async () => {
  const pki = ensureDevPki(env.pkiDir, [OUR_ISPB, OTHER_ISPB, THIRD_ISPB]);
  const simPort = await freePort();
  taskQueue = `replicas-${randomUUID()}`;
  const shared = {
    ...programEnv({ pki, taskQueue, dictBaseUrl: `http://127.0.0.1:${simPort}/api/v2` }),
    AUTH_JWKS_FILE: pki.auth.jwksFile,
  };
  const token = await testToken(pki);
  start('simulator/main.js', {
    SIM_HOST: '127.0.0.1',
    SIM_PORT: String(simPort),
    SIM_DATABASE_URL: env.simDatabaseUrl,
    SIM_SIGNING_KEY_FILE: pki.dict.keyFile,
    SIM_SIGNING_CERT_FILE: pki.dict.certFile,
    SIM_PARTICIPANT_CERTS: [OUR_ISPB, OTHER_ISPB, THIRD_ISPB].map((i) => `${i}=${pki.participants[i]!.certFile}`).join(','),
  });
  simUrl = `http://127.0.0.1:${simPort}`;
  for (let i = 0; i < 2; i++) workers.push(start('worker/main.js', shared));
  const apiUrls: string[] = [];
  for (let i = 0; i < 2; i++) {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    start('api/main.js', { ...shared, API_HOST: '127.0.0.1', API_PORT: String(httpPort), API_GRPC_PORT: String(grpcPort) });
    apiUrls.push(`http://127.0.0.1:${httpPort}`);
    apis.push(createClient(CoreDictService, createConnectTransport({ baseUrl: apiUrls[i]!, httpVersion: '1.1', interceptors: [bearer(token)] })));
  }
  sql = createSql(env.databaseUrl, { max: 2 });

  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await Promise.all(apiUrls.map((u) => fetch(`${u}/readyz`).then((r) => r.status === 200, () => false)));
    const polling = await pollerPids().catch(() => new Set<number>());
    if (ready.every(Boolean) && workers.every((w) => polling.has(w.pid!))) break;
    const dead = procs.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`a process exited early:\n${programs.log(dead)}`);
    if (Date.now() > deadline) throw new Error(`replicas not ready (polling: ${[...polling].join(',')}):\n${allLogs()}`);
    await sleep(250);
  }
});

after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await sql?.end({ timeout: 5 });
});

async function simStats(): Promise<{ writes: Record<string, number>; requests: Record<string, number> }> {
  return (await (await fetch(`${simUrl}/admin/stats`)).json()) as { writes: Record<string, number>; requests: Record<string, number> };
}

test('either API writes and reads; both workers poll the same task queue', async () => {
  const polling = await pollerPids();
  for (const w of workers) assert.ok(polling.has(w.pid!), `worker ${w.pid} is not polling ${taskQueue}: ${[...polling].join(',')}`);
  for (let i = 0; i < 2; i++) {
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() });
    const res = await apis[i % 2]!.createKey(req);
    assert.equal(res.entry?.status, EntryStatus.ACTIVE, `${EntryStatus[res.entry?.status ?? 0]} ${res.entry?.errorName}\n${allLogs()}`);
    const read = await apis[(i + 1) % 2]!.getKey({ by: { case: 'requestId', value: req.requestId } });
    assert.equal(read.entry?.status, EntryStatus.ACTIVE);
    assert.equal(read.entry?.entryId, res.entry?.entryId);
  }
});

test('SIGKILL of one worker mid-load: every key reaches ACTIVE, none is written twice', async () => {
  const N = 24;
  const before = await simStats();
  const reqs = Array.from({ length: N }, () => createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), waitTimeout: undefined }));
  let sent = 0;
  const send = async (lane: number) => {
    while (sent < N) {
      const i = sent++;
      if (i === N / 3) workers[0]!.kill('SIGKILL'); // a third accepted: one worker dies, unannounced
      // Answers once the request is recorded and its workflow started (no wait).
      await apis[lane % 2]!.createKey(reqs[i]!);
    }
  };
  await Promise.all([0, 1, 2, 3].map(send));
  if (workers[0]!.exitCode === null && workers[0]!.signalCode === null) await once(workers[0]!, 'exit');
  assert.equal(workers[0]!.signalCode, 'SIGKILL');

  // The survivor finishes everything: the dead worker's sticky workflow tasks time out and are
  // redispatched, its running activities are retried after their start-to-close timeout.
  const deadline = Date.now() + 100_000;
  const pending = new Set(reqs.map((r) => r.requestId));
  while (pending.size && Date.now() < deadline) {
    for (const id of [...pending]) {
      // NotFound until the workflow's first step has written the entry.
      const got = await apis[1]!.getKey({ by: { case: 'requestId', value: id } }).catch((err: unknown) => {
        if (ConnectError.from(err).code === Code.NotFound) return undefined;
        throw err;
      });
      if (got?.entry?.status === EntryStatus.ACTIVE) pending.delete(id);
      else if (!got) continue;
      else assert.notEqual(got.entry?.status, EntryStatus.FAILED, `${id}: ${got.entry?.errorName}`);
    }
    if (pending.size) await sleep(500);
  }
  assert.equal(pending.size, 0, `${pending.size} of ${N} keys never reached ACTIVE\n${allLogs()}`);

  // Exactly one entry per key in our Postgres and exactly one state-changing DICT write per key.
  const keys = reqs.map((r) => r.key);
  const rows = await sql<{ key: string; n: number }[]>`select key, count(*)::int as n from entries where key = any(${keys}) group by key`;
  assert.equal(rows.length, N);
  assert.ok(rows.every((r) => r.n === 1), JSON.stringify(rows.filter((r) => r.n !== 1)));
  const afterStats = await simStats();
  assert.equal(afterStats.writes.createEntry! - before.writes.createEntry!, N);
  assert.equal(afterStats.writes.updateEntry! - before.writes.updateEntry!, 0);
});
