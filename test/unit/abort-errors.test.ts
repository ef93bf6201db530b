// config/abort-errors.ts: with it installed, AbortController.abort() behaves as Node's in every
// observable way but the AbortError's stack (none captured): the same DOMException name, code and
// message, a fresh one per abort, explicit reasons untouched, one 'abort' event, a second abort a
// no-op, and Error.stackTraceLimit as it was. Uninstalled, Node's own abort is back.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { installStacklessAbortErrors, uninstallStacklessAbortErrors } from '../../config/abort-errors.js';

afterEach(() => uninstallStacklessAbortErrors());

/** What a sequence of aborts on one controller shows: reasons, events, and what throwIfAborted throws. */
function observe(steps: ({ reason: unknown } | 'none' | 'undefined')[]) {
  const ac = new AbortController();
  let events = 0;
  ac.signal.addEventListener('abort', () => events++);
  const reasons: unknown[] = [];
  for (const step of steps) {
    if (step === 'none') ac.abort();
    else if (step === 'undefined') ac.abort(undefined);
    else ac.abort(step.reason);
    reasons.push(ac.signal.reason);
  }
  let thrown: unknown;
  try {
    ac.signal.throwIfAborted();
  } catch (err) {
    thrown = err;
  }
  return { events, reasons, thrown, aborted: ac.signal.aborted };
}

const shape = (r: unknown) => (r instanceof DOMException ? { dom: true, name: r.name, code: r.code, message: r.message } : r);

test('installed: the same AbortError as Node, fresh per abort, with no stack frames; Error.stackTraceLimit kept', () => {
  const node = [observe(['none']), observe(['undefined'])];
  const limit = Error.stackTraceLimit;
  installStacklessAbortErrors();
  installStacklessAbortErrors(); // idempotent
  const ours = [observe(['none']), observe(['undefined'])];
  assert.equal(Error.stackTraceLimit, limit);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(shape(ours[i]!.reasons[0]), shape(node[i]!.reasons[0]));
    assert.deepEqual(shape(ours[i]!.reasons[0]), { dom: true, name: 'AbortError', code: 20, message: 'This operation was aborted' });
    assert.equal(ours[i]!.thrown, ours[i]!.reasons[0], 'throwIfAborted throws the reason');
    assert.equal(ours[i]!.events, 1);
    assert.doesNotMatch(String((ours[i]!.reasons[0] as DOMException).stack), /\n\s+at /, 'no frames');
    assert.match(String((node[i]!.reasons[0] as DOMException).stack), /\n\s+at /, "Node's has frames");
  }
  assert.notEqual(ours[0]!.reasons[0], ours[1]!.reasons[0], 'a fresh error per abort');
});

test('installed: explicit reasons untouched; a second abort changes nothing and fires nothing, as in Node', () => {
  const reason = new Error('mine');
  const sequences: Parameters<typeof observe>[0][] = [[{ reason }], [{ reason }, 'none'], ['none', { reason }], [{ reason: 0 }, { reason }], [{ reason: null }], ['none', 'undefined', 'none']];
  const node = sequences.map((s) => observe(s));
  installStacklessAbortErrors();
  const ours = sequences.map((s) => observe(s));
  for (let i = 0; i < sequences.length; i++) {
    const [n, o] = [node[i]!, ours[i]!];
    assert.equal(o.events, n.events, `events of sequence ${i}`);
    assert.equal(o.aborted, n.aborted);
    assert.deepEqual(o.reasons.map(shape), n.reasons.map(shape), `reasons of sequence ${i}`);
    // The first abort decides the reason for good: the same object after every later step.
    assert.ok(o.reasons.every((r) => r === o.reasons[0]));
    assert.equal(o.thrown, o.reasons[0]);
  }
  assert.equal(ours[0]!.reasons[0], reason, 'the very object given');
});

test('uninstalled: Node’s own abort again', () => {
  const before = AbortController.prototype.abort;
  installStacklessAbortErrors();
  assert.notEqual(AbortController.prototype.abort, before);
  uninstallStacklessAbortErrors();
  assert.equal(AbortController.prototype.abort, before);
  assert.match(String((observe(['none']).reasons[0] as DOMException).stack), /\n\s+at /);
});
