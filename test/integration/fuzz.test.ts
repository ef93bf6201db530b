// Every RPC driven with generated input (test/support/fuzz.ts): well-shaped messages with wrong
// values on a random protocol, and random bytes under each protocol's content type. A few
// hundred cases per RPC (FUZZ_CI_RUNS), bounded in time (FUZZ_CI_BUDGET_MS); bench/fuzz.ts runs
// 10,000 per RPC.
// No Internal/Unknown/DataLoss answer and no HTTP 5xx, the server stays ready, and nothing is
// half-written: every entry row has its accepted request and every accepted request its workflow.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FUZZED_METHODS, fuzzClients, fuzzMethod, HALF_WRITTEN_SQL, ready, summarize, type Finding } from '../support/fuzz.js';
import { startStack, type Stack } from '../support/stack.js';

const RUNS = Number(process.env.FUZZ_CI_RUNS ?? 150);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
// The whole run's time, shared evenly by every RPC and kind (messages, bytes): a slow machine
// runs fewer cases, never longer (the runner stops a file after TEST_TIMEOUT_MS, 120 s).
const BUDGET_MS = Number(process.env.FUZZ_CI_BUDGET_MS ?? 80_000);
const TIME_LIMIT_MS = Math.max(500, Math.floor(BUDGET_MS / (FUZZED_METHODS.length * 2)));

let s: Stack;
let startedAt: Date;
before(async () => {
  s = await startStack();
  startedAt = new Date(Date.now() - 1000);
});
after(async () => {
  await s?.stop();
});

test('every RPC survives generated messages and random bytes on every protocol', { timeout: 30 * 60_000 }, async () => {
  const target = { ...s.urls, token: await s.token() };
  const tr = fuzzClients(target);
  const findings: Finding[] = [];
  for (const method of FUZZED_METHODS) {
    const run = await fuzzMethod(target, tr, method, { runs: RUNS, seed: SEED, interruptAfterMs: TIME_LIMIT_MS });
    findings.push(...run.findings);
    assert.ok(await ready(target.httpUrl), `/readyz after ${method.name}`);
  }
  assert.deepEqual(summarize(findings), [], `${findings.length} findings`);
});

test('nothing half-written: entry rows have their request, accepted requests their workflow', { timeout: 5 * 60_000 }, async () => {
  const orphans = await s.sql.unsafe(HALF_WRITTEN_SQL, [startedAt]);
  assert.deepEqual([...orphans], []);
  const ops = await s.sql<{ workflow_id: string }[]>`select workflow_id from operations where created_at >= ${startedAt}`;
  const missing: string[] = [];
  for (const o of ops) {
    try {
      await s.temporal.workflow.getHandle(o.workflow_id).describe();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) missing.push(o.workflow_id);
      else throw e;
    }
  }
  assert.deepEqual(missing, []);
});
