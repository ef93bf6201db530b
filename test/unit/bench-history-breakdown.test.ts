// Unit tests of bench/history-breakdown.ts: CreateKey to-ACTIVE time split into history segments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { breakdown, percentile, shortEventType, summarize, type HistoryEventLite } from '../../bench/history-breakdown.js';

// A createEntryWorkflow history as the dev server writes it: reserveEntry as a local activity in
// WFT1, registerEntryInDict as a regular activity, activateEntry as a local activity in WFT2.
const history = (base: number): HistoryEventLite[] => [
  { eventId: 1, type: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', timeMs: base + 20 },
  { eventId: 2, type: 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', timeMs: base + 20 },
  { eventId: 3, type: 'EVENT_TYPE_WORKFLOW_TASK_STARTED', timeMs: base + 25 },
  { eventId: 4, type: 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED', timeMs: base + 40 },
  { eventId: 5, type: 'EVENT_TYPE_MARKER_RECORDED', timeMs: base + 40 },
  { eventId: 6, type: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', timeMs: base + 40, activityType: 'registerEntryInDict' },
  { eventId: 7, type: 'EVENT_TYPE_ACTIVITY_TASK_STARTED', timeMs: base + 43, scheduledEventId: 6 },
  { eventId: 8, type: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED', timeMs: base + 63, scheduledEventId: 6 },
  { eventId: 9, type: 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', timeMs: base + 63 },
  { eventId: 10, type: 'EVENT_TYPE_WORKFLOW_TASK_STARTED', timeMs: base + 70 },
  { eventId: 11, type: 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED', timeMs: base + 80 },
  { eventId: 12, type: 'EVENT_TYPE_MARKER_RECORDED', timeMs: base + 80 },
  { eventId: 13, type: 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED', timeMs: base + 80 },
];

test('shortEventType turns the proto enum name into the history event name', () => {
  assert.equal(shortEventType('EVENT_TYPE_WORKFLOW_TASK_SCHEDULED'), 'WorkflowTaskScheduled');
  assert.equal(shortEventType('EVENT_TYPE_MARKER_RECORDED'), 'MarkerRecorded');
  assert.equal(shortEventType('ActivityTaskStarted'), 'ActivityTaskStarted');
});

test('breakdown names the segments of a create-entry history and they add up to the client latency', () => {
  const b = breakdown(1000, 1090, history(1000));
  assert.equal(b.totalMs, 90);
  assert.equal(b.localActivities, 2);
  assert.equal(b.segments.reduce((s, x) => s + x.ms, 0), 90);
  const ms = Object.fromEntries(b.segments.filter((s) => s.ms !== 0).map((s) => [s.name, s.ms]));
  assert.deepEqual(ms, {
    'accept: client sent → WorkflowExecutionStarted': 20,
    'WFT1 queue (scheduled → started)': 5,
    'WFT1 run (started → completed, 1 local activity)': 15,
    'activity registerEntryInDict queue (scheduled → started)': 3,
    'activity registerEntryInDict run (started → completed)': 20,
    'WFT2 queue (scheduled → started)': 7,
    'WFT2 run (started → completed, 1 local activity)': 10,
    'answer: WorkflowExecutionCompleted → client answered': 10,
  });
  // Same-batch neighbours are kept as 0 ms segments, so nothing is hidden.
  assert.ok(b.segments.some((s) => s.name === 'WorkflowExecutionStarted → WFT1 scheduled' && s.ms === 0));
});

test('without a client answer (wait_timeout ran out) the breakdown ends at the workflow\'s completion', () => {
  const b = breakdown(1000, undefined, history(1000));
  assert.equal(b.totalMs, 80);
  assert.equal(b.segments.at(-1)!.name, 'WFT2 completed → WorkflowExecutionCompleted');
  assert.ok(!b.segments.some((s) => s.name.startsWith('answer')));
});

test('a timed-out workflow task shows up as its own segment and the next one is WFT<k+1>', () => {
  const h = history(0);
  h.splice(9, 2,
    { eventId: 10, type: 'EVENT_TYPE_WORKFLOW_TASK_STARTED', timeMs: 70 },
    { eventId: 11, type: 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT', timeMs: 10_070 },
    { eventId: 12, type: 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', timeMs: 10_070 },
    { eventId: 13, type: 'EVENT_TYPE_WORKFLOW_TASK_STARTED', timeMs: 10_075 },
    { eventId: 14, type: 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED', timeMs: 10_080 },
  );
  h[h.length - 1]!.timeMs = 10_080;
  const b = breakdown(0, 10_090, h);
  const names = b.segments.map((s) => s.name);
  assert.ok(names.includes('WFT2 started → WFT2 timedout'));
  assert.ok(names.includes('WFT3 queue (scheduled → started)'));
  assert.equal(b.segments.reduce((s, x) => s + x.ms, 0), 10_090);
});

test('summarize gives nearest-rank p50/p99/max per segment, in first-seen order', () => {
  const all = Array.from({ length: 100 }, (_, i) => breakdown(0, 90 + i, history(0)));
  const stats = summarize(all);
  assert.equal(stats[0]!.name, 'accept: client sent → WorkflowExecutionStarted');
  const answer = stats.find((s) => s.name.startsWith('answer'))!;
  assert.equal(answer.n, 100);
  assert.equal(answer.p50, 59); // 10 + 49
  assert.equal(answer.p99, 108); // 10 + 98
  assert.equal(answer.max, 109);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
});
