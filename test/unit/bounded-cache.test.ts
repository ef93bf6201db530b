// The in-process caches' bound (config/bounded-cache.ts): a cache never holds more than its number
// of entries and evicts exactly what a reference least-recently-used model evicts, TTLs still
// expire entries, and building a cache with a large bound costs no memory up front.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { boundedCache } from '../../config/bounded-cache.js';

/** The reference: a Map in recency order (oldest first), trimmed from the front. */
class ModelLru {
  private readonly m = new Map<number, number>();
  constructor(private readonly max: number) {}
  get(k: number): number | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: number, v: number): void {
    this.m.delete(k);
    this.m.set(k, v);
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value!);
  }
  delete(k: number): void {
    this.m.delete(k);
  }
  entries(): [number, number][] {
    return [...this.m.entries()].reverse();
  }
}

type Op = { op: 'set'; k: number; v: number } | { op: 'get'; k: number } | { op: 'delete'; k: number };
const key = fc.integer({ min: 0, max: 40 });
const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), k: key, v: fc.integer() }),
    fc.record({ op: fc.constant('get' as const), k: key }),
    fc.record({ op: fc.constant('delete' as const), k: key }),
  ),
  { maxLength: 300 },
);

test('property: a bounded cache holds at most its bound and evicts what a reference LRU evicts', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), ops, (max, seq: Op[]) => {
      const cache = boundedCache<number, number>(max);
      const model = new ModelLru(max);
      for (const s of seq) {
        if (s.op === 'set') {
          cache.set(s.k, s.v);
          model.set(s.k, s.v);
        } else if (s.op === 'get') assert.equal(cache.get(s.k), model.get(s.k));
        else {
          cache.delete(s.k);
          model.delete(s.k);
        }
        assert.ok(cache.size <= max, `size ${cache.size} > ${max}`);
      }
      // Most recent first, as lru-cache lists them.
      assert.deepEqual([...cache.entries()], model.entries());
    }),
    { numRuns: 300 },
  );
});

test('a TTL given to a bounded cache still expires its entries', () => {
  // ttlResolution 0: lru-cache otherwise reuses one reading of the clock for a millisecond.
  let now = 1_000;
  const cache = boundedCache<string, true>(10, { ttl: 500, ttlResolution: 0, perf: { now: () => now } });
  cache.set('a', true);
  now += 499;
  assert.equal(cache.get('a'), true);
  now += 2;
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.size, 0);
});

test('a bounded cache costs memory for what it holds, not for its bound', () => {
  // Ten caches of a million entries each, with a TTL: with lru-cache's `max` that would be forty
  // JS arrays of a million slots (8 MB each) on the heap before the first entry (305 MiB measured).
  const before = process.memoryUsage().heapUsed;
  const caches = Array.from({ length: 10 }, () => boundedCache<string, number>(1_000_000, { ttl: 60_000 }));
  const grown = process.memoryUsage().heapUsed - before;
  for (const c of caches) c.set('k', 1);
  assert.ok(grown < 8 * 1024 * 1024, `ten empty caches took ${(grown / 1048576).toFixed(1)} MiB`);
  assert.equal(caches.reduce((n, c) => n + c.size, 0), 10);
});

test('a bounded cache refuses a bound that is not a whole number of entries', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => boundedCache(bad), RangeError, String(bad));
});
