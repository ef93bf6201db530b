// Waiting in tests for something another process or connection does (an announcement arriving, a
// circuit closing): poll a condition until it holds, failing the test with what was awaited.
import assert from 'node:assert/strict';

/** Polls `cond` every 10 ms until it is true; fails the test after `ms`. An error thrown by `cond` fails at once. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
