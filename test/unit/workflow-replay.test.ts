// Determinism guard: today's workflow code must replay the histories recorded from earlier
// code (test/histories, made by test/histories/capture.ts). A failure here means running
// workflows would break on deploy: put the change behind patched() instead.
// historyFromJSON needs Temporal's packages to share one protobufjs copy: package.json lists
// protobufjs 8 directly so npm hoists it for all of them.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowsPath } from '../../worker/worker.js';

// dist/test/unit -> repository root
const dir = join(__dirname, '..', '..', '..', 'test', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed in this process
}

test('there are recorded histories for every entry and claim workflow', () => {
  const types = new Set(
    files.map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { events: { workflowExecutionStartedEventAttributes?: { workflowType: { name: string } } }[] }).events[0]!.workflowExecutionStartedEventAttributes!.workflowType.name),
  );
  assert.deepEqual([...types].sort(), [
    'claimPollerWorkflow',
    'claimerClaimWorkflow',
    'createEntryWorkflow',
    'deleteEntryWorkflow',
    'donorClaimWorkflow',
    'openClaimWorkflow',
    'updateEntryWorkflow',
  ]);
});

test('current workflow code replays every recorded history', async () => {
  const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ workflowsPath }, histories)) {
    replayed++;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  assert.equal(replayed, files.length);
  assert.deepEqual(failures, []);
});
