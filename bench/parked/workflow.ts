// A stand-in for a parked claim workflow (claims do not exist yet): it upserts a search
// attribute like the real ones, then waits on a long timer — what an open claim does for its
// 7-day (30-day for portability) deadline. Measured by bench/parked/main.ts.
import { condition, defineSignal, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';

export const wake = defineSignal('wake');

export async function parkedClaim(days: number): Promise<void> {
  upsertSearchAttributes({ ClaimStatus: ['OPEN'] });
  let woken = false;
  setHandler(wake, () => {
    woken = true;
  });
  await Promise.race([sleep(`${days} days`), condition(() => woken)]);
}
