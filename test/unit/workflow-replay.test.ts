// Determinism guard: today's workflow code must replay the histories recorded from earlier
// code (test/histories, made by test/histories/capture.ts). A failure here means running
// workflows would break on deploy: put the change behind patched() instead.
// historyFromJSON needs Temporal's packages to share one protobufjs copy: package.json lists
// protobufjs 8 directly so npm hoists it for all of them.
// Replayed with the payload codec production uses (fixtures are stored decoded: plain payloads
// pass through), and each once more encrypted under a key, as Temporal now stores them.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { AesGcmPayloadCodec, dataConverter, mapPayloads, newPayloadKey } from '../../config/payload-codec.js';
import { workflowsPath } from '../../worker/worker.js';

const codec = new AesGcmPayloadCodec({ currentKeyId: 'replay', keys: new Map([['replay', new Uint8Array(Buffer.from(newPayloadKey(), 'base64'))]]) });

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

test('current workflow code replays every recorded history, plain and encrypted', async () => {
  const read = (f: string) => historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8')));
  const plain = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: read(f) }));
  const encrypted = await Promise.all(
    files.map(async (f) => ({ workflowId: `${f.replace(/\.json$/, '')}/encrypted`, history: await mapPayloads(read(f), async (p) => (await codec.encode([p]))[0]!) })),
  );
  // The encrypted copies really are: no payload of theirs is still JSON.
  const firstInput = encrypted[0]!.history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  assert.equal(Buffer.from(firstInput.metadata!.encoding!).toString(), 'binary/encrypted');
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ workflowsPath, dataConverter: dataConverter(codec) }, [...plain, ...encrypted])) {
    replayed++;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  assert.equal(replayed, files.length * 2);
  assert.deepEqual(failures, []);
});
