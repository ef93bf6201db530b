// kill -9 of the worker process in the middle of a claim: DICT has applied our confirmation but
// its answer was lost, and the worker dies before it learns anything. A new worker process
// finishes the claim with exactly one transition in DICT (the retried confirmClaim is DICT's
// idempotent repeat).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ClaimOperationReason, ClaimStatus, EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { dictClaim, untilStatus, waitFor } from '../support/claims.js';
import { account, createKeyRequest, naturalPerson, newPhone } from '../support/fixtures.js';
import { teeToLogDir } from '../support/processes.js';
import { OTHER_ISPB, OUR_ISPB, programEnv, startStack, type Stack } from '../support/stack.js';

const PERIODS = { resolutionMs: 4_000, closingMs: 3_000, claimerDeadlineMs: 15_000 };
// dist/test/integration -> dist
const dist = join(__dirname, '..', '..');

let s: Stack;
let worker: ChildProcess | undefined;
let output = '';

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, [join(dist, 'worker/main.js')], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      WORKER_METRICS_PORT: '0',
      TEMPORAL_METRICS_PORT: '0',
      ...programEnv({ pki: s.pki, taskQueue: s.taskQueue, dictBaseUrl: s.simulator.url }),
      CLAIM_RESOLUTION_PERIOD_SECONDS: String(PERIODS.resolutionMs / 1000),
      CLAIM_CLOSING_PERIOD_SECONDS: String(PERIODS.closingMs / 1000),
      CLAIM_CLAIMER_DEADLINE_SECONDS: String(PERIODS.claimerDeadlineMs / 1000),
      // The test stack runs this participant's poller on the same task queue already.
      CLAIM_POLLER_ENABLED: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  teeToLogDir(child, 'claims-crash-worker');
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

before(async () => {
  s = await startStack({ worker: false, claimPeriods: PERIODS, claimPoller: { intervalMs: 1_500 }, simulator: { claimPeriods: PERIODS } });
  worker = startWorkerProcess();
});
after(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await s?.stop();
});

test('kill -9 the worker while DICT applies our default confirmation; a new worker finishes with one DICT transition', async () => {
  const key = newPhone();
  const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key, account: account(OUR_ISPB) }));
  assert.equal(created.entry?.status, EntryStatus.ACTIVE, output);
  const { claim } = await s.otherPsp.createClaim({ claim: dictClaim('OWNERSHIP', key, 'PHONE', account(OTHER_ISPB), naturalPerson()) });
  const ours = async () => (await s.client.getClaimStatus({ by: { case: 'claimId', value: claim.id } })).claim;
  await untilStatus('acknowledged', ours, ClaimStatus.WAITING_RESOLUTION, 15_000);

  // At ResolutionPeriodEnd our worker confirms; DICT applies it and drops the connection; the
  // worker is killed as soon as DICT has applied it.
  const fault = await s.simAdmin('faults', 'POST', { operation: 'confirmClaim', kind: 'lost-response', dropConnection: true, count: 1 });
  assert.equal(fault.status, 201);
  await waitFor('DICT applied our confirmation', async () => ((await s.simStats()).writes.confirmClaim ?? 0) >= 1 || undefined, 15_000, 20);
  worker!.kill('SIGKILL');
  await once(worker!, 'exit');
  assert.equal((await s.otherPsp.getClaim(claim.id)).claim.status, 'CONFIRMED');
  assert.equal((await ours())?.status, ClaimStatus.WAITING_RESOLUTION, 'we never heard the answer');

  // A new worker process: the lost attempt times out, the retry is DICT's idempotent repeat.
  worker = startWorkerProcess();
  const done = await untilStatus('confirmed here', ours, ClaimStatus.CONFIRMED, 60_000);
  assert.equal(done.confirmReason, ClaimOperationReason.DEFAULT_OPERATION);
  assert.equal((await s.client.getKey({ by: { case: 'key', value: key } })).entry?.status, EntryStatus.DELETED);
  const stats = await s.simStats();
  assert.equal(stats.writes.confirmClaim, 1, 'one transition in DICT');
  assert.ok((stats.requests.confirmClaim ?? 0) >= 2, 'the confirmation was sent again after the crash');
  assert.equal(stats.writes.acknowledgeClaim, 1);
});
