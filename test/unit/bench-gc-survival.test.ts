// Unit test of bench/gc-survival.ts's reading of --trace-gc-nvp output: only scavenges count, the
// first quarter (warm-up) is left out, and the means are of the rest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scavengeStats } from '../../bench/gc-survival.js';

const line = (ms: number, gc: 's' | 'mc', pause: number, survive: number, promoted: number, allocated: number) =>
  `[123:0x55]  ${ms} ms: pause=${pause} mutator=10.0 gc=${gc} reduce_memory=0 allocated=${allocated} promoted=${promoted} new_space_survived=1 new_space_survive_rate_=${survive}% promotion_rate=50.0%`;

test('scavengeStats: means over the scavenges after the first quarter, full collections ignored', () => {
  const text = [
    line(1, 's', 100, 90, 9e6, 1e6), // warm-up: left out
    line(2, 'mc', 500, 0, 0, 0),
    line(3, 's', 2, 10, 1e6, 20e6),
    line(4, 's', 4, 30, 3e6, 20e6),
    line(5, 's', 6, 20, 2e6, 20e6),
    'not a gc line',
  ].join('\n');
  assert.deepEqual(scavengeStats(text), { scavenges: 3, pauseMs: 4, survivedPct: 20, promotedMB: 2, allocatedMB: 20 });
});

test('scavengeStats: no scavenges is reported as none, not as zeros', () => {
  const s = scavengeStats(line(1, 'mc', 5, 0, 0, 0));
  assert.equal(s.scavenges, 0);
  assert.ok(Number.isNaN(s.pauseMs));
});
