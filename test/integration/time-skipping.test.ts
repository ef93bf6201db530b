// The time-skipping level at work: a key registration whose DICT calls fail for simulated
// minutes (connection dropped after DICT applied the write, so backoff grows to its 30 s cap)
// and then succeed — real activities against the test Postgres and the simulator, the waiting
// skipped. The same helper runs claim workflows with 7/14/30-day timers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createEntryWorkflow } from '../../workflows/create-entry.js';
import { getEntryById } from '../../store/entries.js';
import { newCpf } from '../support/fixtures.js';
import { OUR_ISPB } from '../support/stack.js';
import { startTimeSkippingStack, type TimeSkippingStack } from '../support/time-skipping.js';

let s: TimeSkippingStack;
before(async () => {
  s = await startTimeSkippingStack();
});
after(async () => {
  await s?.stop();
});

test('a registration DICT keeps failing for simulated minutes ends ACTIVE with one DICT write, in seconds of wall time', async () => {
  const FAILURES = 40; // backoff 0.5 s, 1 s, … capped at 30 s: about 17 simulated minutes
  const fault = await s.simAdmin('faults', 'POST', { operation: 'createEntry', kind: 'lost-response', count: FAILURES, dropConnection: true });
  assert.equal(fault.status, 201);

  const cpf = newCpf();
  const input = {
    participant: OUR_ISPB,
    requestId: randomUUID(),
    requestedBy: 'test',
    entryId: randomUUID(),
    dictRequestId: randomUUID(),
    reason: 'USER_REQUESTED' as const,
    entry: {
      key: cpf,
      keyType: 'CPF' as const,
      account: { participant: OUR_ISPB, branch: '0001', accountNumber: '778899', accountType: 'CACC' as const, openingDate: '2020-01-10T03:00:00.000Z' },
      owner: { type: 'NATURAL_PERSON' as const, taxIdNumber: cpf, name: 'Maria da Silva' },
    },
  };

  const simulatedStart = await s.env.currentTimeMs();
  const wallStart = Date.now();
  const rec = await s.withWorker(() =>
    s.env.client.workflow.execute(createEntryWorkflow, { taskQueue: s.taskQueue, workflowId: `entry-create/${OUR_ISPB}/${input.requestId}`, args: [input] }),
  );
  const simulated = (await s.env.currentTimeMs()) - simulatedStart;
  const wall = Date.now() - wallStart;

  assert.equal(rec.status, 'ACTIVE');
  assert.equal(rec.key, cpf);
  assert.equal((await getEntryById(s.sql, input.entryId))?.status, 'ACTIVE');
  const stats = await s.simStats();
  assert.equal(stats.writes.createEntry, 1, 'every retry sent the same RequestId: one write in DICT');
  assert.equal(stats.requests.createEntry, FAILURES + 1);
  assert.ok(simulated > 10 * 60_000, `simulated ${simulated} ms`);
  assert.ok(wall < simulated / 10, `wall ${wall} ms for ${simulated} ms simulated`);
});
