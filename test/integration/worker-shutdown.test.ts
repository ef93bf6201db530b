// The worker process's graceful shutdown: SIGTERM while CreateKey registrations are in flight in
// DICT (the simulator answers some within the grace time, others far later). The worker exits 0
// within WORKER_SHUTDOWN_GRACE_MS plus a margin (activities still running at the end of the grace
// time are cancelled: their DICT request is aborted), every acknowledged CreateKey reaches ACTIVE
// once a new worker process runs, and DICT applies each registration exactly once.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { waitFor } from '../support/claims.js';
import { createKeyRequest, newEmail } from '../support/fixtures.js';
import { Programs } from '../support/processes.js';
import { programEnv, startStack, type Stack } from '../support/stack.js';

const GRACE_MS = 2_000;
// Process exit after the grace time: closing pools and connections, and a loaded CI machine.
const MARGIN_MS = 6_000;
const FAST = 3; // DICT answers these within the grace time
const SLOW = 3; // and these long after it (the worker must not wait for them)
// Longer than grace + margin: a worker that waited for these would fail the exit bound.
const SLOW_LATENCY_MS = 10_000;

let s: Stack;
const programs = new Programs();

function startWorkerProcess(): ChildProcess {
  return programs.start('worker/main.js', {
    ...programEnv({ pki: s.pki, taskQueue: s.taskQueue, dictBaseUrl: s.simulator.url }),
    CLAIM_POLLER_ENABLED: 'false',
    WORKER_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    LOG_LEVEL: 'info',
  });
}

before(async () => {
  s = await startStack({ worker: false });
});
after(async () => {
  programs.killAll();
  await s?.simAdmin('faults', 'DELETE');
  await s?.stop();
});

test('SIGTERM with DICT registrations in flight: exit 0 within the grace time, every acknowledged key ACTIVE after a restart, no DICT write twice', async () => {
  const first = startWorkerProcess();
  // The worker is up: a key goes all the way.
  const warm = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  assert.equal(warm.entry?.status, EntryStatus.ACTIVE, programs.all());

  const before = await s.simStats();
  const faultsAt = performance.now();
  assert.equal((await s.simAdmin('faults', 'POST', { operation: 'createEntry', kind: 'latency', latencyMs: 500, count: FAST })).status, 201);
  assert.equal((await s.simAdmin('faults', 'POST', { operation: 'createEntry', kind: 'latency', latencyMs: SLOW_LATENCY_MS, count: SLOW })).status, 201);
  const reqs = Array.from({ length: FAST + SLOW }, () => createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), waitTimeout: undefined }));
  // Acknowledged: recorded and its workflow started (no wait for DICT).
  const acks = await Promise.all(reqs.map((r) => s.client.createKey(r)));
  assert.ok(acks.every((a) => a.operation?.workflowId));
  // Every registration is in DICT's hands.
  await waitFor('createEntry requests in flight', async () => ((await s.simStats()).requests.createEntry! - before.requests.createEntry! >= FAST + SLOW) || undefined, 20_000, 20);

  const t0 = performance.now();
  first.kill('SIGTERM');
  const [code, signal] = (await once(first, 'exit')) as [number | null, string | null];
  const took = performance.now() - t0;
  assert.equal(code, 0, `exit ${code} ${signal}\n${programs.log(first)}`);
  assert.ok(took < GRACE_MS + MARGIN_MS, `worker took ${took.toFixed(0)} ms to stop (grace ${GRACE_MS} ms)\n${programs.log(first)}`);
  // The slow registrations were still running at the end of the grace time: they were cut.
  assert.ok(took >= GRACE_MS - 100, `stopped after ${took.toFixed(0)} ms: the slow activities were not waited for at all`);

  // A new worker finishes them.
  startWorkerProcess();
  const pending = new Set(reqs.map((r) => r.requestId));
  await waitFor(
    'every acknowledged key ACTIVE',
    async () => {
      for (const id of [...pending]) {
        const got = await s.client.getKey({ by: { case: 'requestId', value: id } }).catch((err: unknown) => {
          if (ConnectError.from(err).code === Code.NotFound) return undefined;
          throw err;
        });
        if (got?.entry?.status === EntryStatus.ACTIVE) pending.delete(id);
        else if (got) assert.notEqual(got.entry?.status, EntryStatus.FAILED, `${id}: ${got.entry?.errorName}`);
      }
      return pending.size === 0 || undefined;
    },
    60_000,
    250,
  );

  // One entry per key with us; DICT applied each registration once, even the ones whose first
  // request was cut (it is still answered, late, with the same RequestId: DICT's idempotent repeat).
  const rows = await s.sql<{ n: number }[]>`select count(*)::int as n from entries where key = any(${reqs.map((r) => r.key)})`;
  assert.equal(rows[0]!.n, reqs.length);
  for (const r of reqs) {
    const res = await s.simAdmin(`entries/${encodeURIComponent(r.key)}`);
    assert.equal(res.status, 200, r.key);
  }
  // The simulator answers the cut requests once their latency is over (it does not notice the
  // client left): only then can a late duplicate show.
  await waitFor('the cut requests processed by DICT', async () => (performance.now() - faultsAt > SLOW_LATENCY_MS + 1_000) || undefined, SLOW_LATENCY_MS + 5_000, 250);
  assert.equal((await s.simStats()).writes.createEntry! - before.writes.createEntry!, reqs.length);
});
