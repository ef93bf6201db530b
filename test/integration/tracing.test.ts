// One trace from the API call to DICT: with an in-memory exporter installed as the process's
// tracing (config/tracing.ts), a CreateKey through the in-process stack yields spans that share
// one trace id: the API's server span → StartWorkflow → RunWorkflow → RunActivity → the bridge's
// DICT HTTP span, each the child of the one before.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setupTracing, tracing } from '../../config/tracing.js';
import { EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { createKeyRequest, newEmail } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

const exporter = new InMemorySpanExporter();
let s: Stack;

before(async () => {
  await setupTracing({ serviceName: 'core-dict-test', exporter });
  s = await startStack();
});

after(async () => {
  await s?.stop();
  await tracing()?.shutdown();
});

test('CreateKey: API span → StartWorkflow → RunWorkflow → RunActivity → DICT createEntry, one trace', async () => {
  exporter.reset();
  const res = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  assert.equal(res.entry?.status, EntryStatus.ACTIVE);

  const spans = exporter.getFinishedSpans();
  const api = spans.find((x) => x.name === 'dict.core.v1.CoreDictService/CreateKey');
  assert.ok(api, `no API span among ${spans.map((x) => x.name).join(', ')}`);
  const traceId = api.spanContext().traceId;
  const inTrace = spans.filter((x) => x.spanContext().traceId === traceId);
  const names = inTrace.map((x) => x.name);
  const byId = new Map(inTrace.map((x) => [x.spanContext().spanId, x]));
  const parentOf = (x: ReadableSpan) => byId.get(x.parentSpanId ?? '');
  const find = (p: RegExp) => {
    const x = inTrace.find((y) => p.test(y.name));
    assert.ok(x, `no span matching ${p} in the trace: ${names.join(', ')}`);
    return x;
  };
  const start = find(/^StartWorkflow:/);
  const run = find(/^RunWorkflow:/);
  const dict = find(/^DICT createEntry$/);
  const activity = parentOf(dict);
  assert.ok(activity && /^RunActivity:/.test(activity.name), `the DICT span's parent is ${activity?.name}`);
  // Each hop is below the one before: API → StartWorkflow → RunWorkflow → ... → RunActivity → DICT.
  const ancestors = (x: ReadableSpan): ReadableSpan[] => {
    const out: ReadableSpan[] = [];
    for (let p = parentOf(x); p; p = parentOf(p)) out.push(p);
    return out;
  };
  assert.equal(parentOf(start), api);
  assert.ok(ancestors(run).includes(start), `RunWorkflow under StartWorkflow: ${ancestors(run).map((x) => x.name)}`);
  assert.ok(ancestors(activity).includes(run), `RunActivity under RunWorkflow: ${ancestors(activity).map((x) => x.name)}`);
});
