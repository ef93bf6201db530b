// The call-context governor (api/call-context.ts) over a real AsyncLocalStorage: a governed call
// keeps its store across awaits while another governed call finishes (the storage is switched
// off only when the last one is done), settle() waits for calls in flight, and switching the
// storage off in the middle of a call — what the governor exists to avoid — loses that call's store.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { test } from 'node:test';
import { CallContextGovernor, callContextOf } from '../../api/call-context.js';

/** Node 20's AsyncLocalStorage says whether it is on (its promise hooks follow it); later Nodes do not. */
const isOn = (als: AsyncLocalStorage<unknown>): boolean => (als as unknown as { enabled: boolean }).enabled;
const skip = 'enabled' in new AsyncLocalStorage() ? false : 'this Node has no AsyncLocalStorage.enabled (AsyncContextFrame: no promise hooks to switch off)';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Like the Temporal client: reads the store only after awaiting something. */
const storeAfter = (als: AsyncLocalStorage<string>, store: string, wait: Promise<void>) =>
  als.run(store, async () => {
    await wait;
    await Promise.resolve();
    return als.getStore();
  });

test('call context: overlapping governed calls keep their stores; off once the last one is done', { skip }, async () => {
  const als = new AsyncLocalStorage<string>();
  const g = new CallContextGovernor(als);
  const a = deferred();
  const b = deferred();
  const first = g.run(() => storeAfter(als, 'first', a.promise));
  const second = g.run(() => storeAfter(als, 'second', b.promise));
  assert.equal(isOn(als), true);
  a.resolve();
  assert.equal(await first, 'first');
  // The first is done, the second still waits: the storage must still be on.
  assert.equal(isOn(als), true);
  b.resolve();
  assert.equal(await second, 'second');
  assert.equal(isOn(als), false);
  // The next call switches it on again by itself, and off when done.
  const c = deferred();
  const third = g.run(() => storeAfter(als, 'third', c.promise));
  c.resolve();
  assert.equal(await third, 'third');
  assert.equal(isOn(als), false);
});

test('call context: a failing call also switches the storage off; settle() waits for calls in flight', { skip }, async () => {
  const als = new AsyncLocalStorage<string>();
  const g = new CallContextGovernor(als);
  await assert.rejects(g.run(() => als.run('x', async () => Promise.reject(new Error('boom')))), /boom/);
  assert.equal(isOn(als), false);

  const d = deferred();
  const inFlight = g.run(() => storeAfter(als, 'kept', d.promise));
  g.settle();
  assert.equal(isOn(als), true, 'settle() must not switch off a storage a call still needs');
  d.resolve();
  assert.equal(await inFlight, 'kept');
  als.run('sync', () => als.getStore()); // an ungoverned call (the client's namespace header) switches it on
  assert.equal(isOn(als), true);
  g.settle();
  assert.equal(isOn(als), false);
});

test('call context: switched off mid-call, a call loses its store (why the governor counts)', async () => {
  const als = new AsyncLocalStorage<string>();
  const d = deferred();
  const call = storeAfter(als, 'lost', d.promise);
  als.disable();
  d.resolve();
  assert.equal(await call, undefined);
});

test('call context: one governor per connection; a connection without the storage is left alone', () => {
  const connection = { callContextStorage: new AsyncLocalStorage() };
  assert.equal(callContextOf({ connection } as never), callContextOf({ connection } as never));
  assert.notEqual(callContextOf({ connection } as never), callContextOf({ connection: { ...connection } } as never));
  const native = callContextOf({ connection: {} } as never);
  native.settle();
  return native.run(async () => 1).then((v) => assert.equal(v, 1));
});
