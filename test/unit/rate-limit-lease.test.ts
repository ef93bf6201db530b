// Local leases over the shared per-client rate limit (api/rate-limit-lease.ts): several API
// processes leasing from one shared budget never admit more than it, one process alone admits
// exactly it, and leasing cuts the shared limiter's calls to about one per lease.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { leasedLimiter } from '../../api/rate-limit-lease.js';

/** A shared limiter (as Redis would be) that counts the calls made to it. */
function shared(points: number) {
  const limiter = new RateLimiterMemory({ points, duration: 60 });
  const calls = { consume: 0, reward: 0 };
  const consume = limiter.consume.bind(limiter);
  const reward = limiter.reward.bind(limiter);
  limiter.consume = (key, n) => (calls.consume++, consume(key, n));
  limiter.reward = (key, n) => (calls.reward++, reward(key, n));
  return { limiter, calls };
}

async function admitted(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    assert.ok(err instanceof RateLimiterRes, String(err));
    return false;
  }
}

test('one process alone admits exactly the budget, with about one shared call per lease', async () => {
  const { limiter, calls } = shared(100);
  const l = leasedLimiter(limiter, { lease: 30 });
  let ok = 0;
  for (let i = 0; i < 130; i++) if (await admitted(l.consume('c1'))) ok++;
  assert.equal(ok, 100);
  // 3 leases of 30, then single points near the end of the budget, then refusals.
  assert.ok(calls.consume < 60, `shared consumes: ${calls.consume}`);
  // Another client has its own budget.
  assert.equal(await admitted(l.consume('c2')), true);
});

test('concurrent calls of one client wait for one lease request instead of each asking', async () => {
  const { limiter, calls } = shared(1000);
  const l = leasedLimiter(limiter, { lease: 50 });
  const results = await Promise.all(Array.from({ length: 50 }, () => admitted(l.consume('c1'))));
  assert.ok(results.every(Boolean));
  assert.equal(calls.consume, 1);
});

test("a lease follows the client's pace: twice as large after one spent fast (up to maxLease), half as large after one left unspent past its window", async () => {
  let t = 0;
  const { limiter, calls } = shared(1_000_000);
  const taken: number[] = [];
  const consume = limiter.consume.bind(limiter);
  limiter.consume = (key, n) => (taken.push(n ?? 1), consume(key, n));
  const l = leasedLimiter(limiter, { lease: 10, maxLease: 40, now: () => t });
  // Spent at once (the clock does not move): 10, 20, 40, 40.
  for (let i = 0; i < 110; i++) assert.equal(await admitted(l.consume('busy')), true);
  assert.deepEqual(taken, [10, 20, 40, 40]);
  // The next lease follows one spent at once: 40 again (the most), spent over 400 ms.
  for (let i = 0; i < 40; i++) {
    t += 10;
    await l.consume('busy');
  }
  // Spent, but over more than FAST_LEASE_MS and within its window: the same size.
  t += 10;
  await l.consume('busy');
  // Its window (60 s here) ended before the next request: half as large each time, down to `lease`.
  t += 61_000;
  await l.consume('busy');
  t += 61_000;
  await l.consume('busy');
  t += 61_000;
  await l.consume('busy');
  assert.deepEqual(taken.slice(4), [40, 40, 20, 10, 10]);
  // By default a lease grows to 10 × the first but never past a tenth of the budget.
  const small = shared(200);
  const grown: number[] = [];
  const smallConsume = small.limiter.consume.bind(small.limiter);
  small.limiter.consume = (key, n) => (grown.push(n ?? 1), smallConsume(key, n));
  const s = leasedLimiter(small.limiter, { lease: 5, now: () => 0 });
  for (let i = 0; i < 60; i++) await s.consume('c');
  assert.deepEqual(grown, [5, 10, 20, 20, 20]);
  assert.equal(calls.consume, taken.length);
});

test('a lease of 1 is the shared limiter itself', async () => {
  const { limiter, calls } = shared(3);
  const l = leasedLimiter(limiter, { lease: 1 });
  const r = [];
  for (let i = 0; i < 5; i++) r.push(await admitted(l.consume('c1')));
  assert.deepEqual(r, [true, true, true, false, false]);
  assert.equal(calls.consume, 5);
});

test('property: processes leasing from one budget never admit more than it', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 60 }),
      fc.array(fc.record({ proc: fc.integer({ min: 0, max: 2 }), burst: fc.integer({ min: 1, max: 20 }) }), { minLength: 1, maxLength: 40 }),
      async (points, lease, steps) => {
        const { limiter } = shared(points);
        const procs = [0, 1, 2].map(() => leasedLimiter(limiter, { lease }));
        let ok = 0;
        let tried = 0;
        for (const s of steps) {
          // A burst of concurrent calls on one process.
          const r = await Promise.all(Array.from({ length: s.burst }, () => admitted(procs[s.proc]!.consume('c'))));
          ok += r.filter(Boolean).length;
          tried += s.burst;
        }
        assert.ok(ok <= points, `admitted ${ok} of a budget of ${points}`);
        // Leases lost in other processes cost at most maxLease − 1 each per window (a lease grows
        // up to 10 × lease for a client that spends it fast, as these bursts do).
        assert.ok(ok >= Math.min(tried, points) - 3 * (Math.min(lease * 10, points) - 1), `admitted only ${ok} of ${Math.min(tried, points)}`);
      },
    ),
    { numRuns: Number(process.env.LEASE_RUNS ?? 200) },
  );
});
