// BCB's real claim periods — 7 days of resolution, 7 of closing, the claimer's 30th day — fire
// in seconds on the time-skipping test server: our real claim workflows and activities, the
// simulator with BCB's periods and its clock moved with the skipped time before every DICT call.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createClaimActivities } from '../../activities/claims.js';
import type { DictClient } from '../../bridge/client.js';
import { BCB_CLAIM_PERIODS } from '../../domain/claims.js';
import type { ExtendedClaim } from '../../domain/types.js';
import { createLookupCache } from '../../store/lookup-cache.js';
import { claimStateQuery, claimWorkflowId, type ClaimWorkflowState } from '../../workflows/claim-messages.js';
import { naturalPerson, newCpf, newEndToEndId, newPhone } from '../support/fixtures.js';
import { OTHER_ISPB, OUR_ISPB, testBridge, testLogger, testPki, env as testEnvUrls } from '../support/stack.js';
import { startTimeSkippingStack, type TimeSkippingStack } from '../support/time-skipping.js';
import { Redis } from 'ioredis';

const DAY = 86_400_000;
/** DICT's clock: the time-skipping server's, read before every DICT call. */
let dictNow = Date.now();
const syncedWith = (d: DictClient, env: TestWorkflowEnvironment): DictClient =>
  new Proxy(d, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        dictNow = Math.max(dictNow, await env.currentTimeMs());
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });

let s: TimeSkippingStack;
let other: DictClient;
let redis: Redis;
let poll: ReturnType<typeof createClaimActivities>['poll'];
before(async () => {
  s = await startTimeSkippingStack({ simulator: { now: () => new Date(dictNow), claimPeriods: BCB_CLAIM_PERIODS }, wrapDict: syncedWith });
  other = syncedWith(testBridge(s.simulator, testPki(), OTHER_ISPB), s.env);
  redis = new Redis(testEnvUrls.redisUrl);
  // The poller's own round (list claims, hand each to its workflow), called when the test wants it.
  poll = createClaimActivities({
    sql: s.sql,
    dict: s.dict,
    cache: createLookupCache(redis),
    log: testLogger(),
    temporal: s.env.client,
    taskQueue: s.taskQueue,
    claimPeriods: BCB_CLAIM_PERIODS,
  }).poll;
});
after(async () => {
  other?.close();
  redis?.disconnect();
  await s?.stop();
});

const account = (participant: string) => ({ participant, branch: '0001', accountNumber: '5544332211', accountType: 'CACC' as const, openingDate: '2020-01-10T03:00:00.000Z' });
const state = (claimId: string, role: 'CLAIMER' | 'DONOR') => s.env.client.workflow.getHandle(claimWorkflowId(OUR_ISPB, claimId, role)).query(claimStateQuery);
/** One poller round over every claim modified since DICT's clock `sinceMs` (default: open claims only). */
const handOver = (sinceMs?: number) => poll.pollClaims({ participant: OUR_ISPB, overlapMs: 60_000, seen: {}, ...(sinceMs ? { since: new Date(sinceMs).toISOString() } : {}) });

/** The timers a workflow started, in (simulated) ms. */
async function timers(workflowId: string): Promise<number[]> {
  const history = await s.env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout)
    .filter((t): t is NonNullable<typeof t> => !!t)
    .map((t) => Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

async function until(what: string, claimId: string, role: 'CLAIMER' | 'DONOR', ok: (c: ClaimWorkflowState) => boolean): Promise<ClaimWorkflowState> {
  for (let i = 0; i < 200; i++) {
    const st = await state(claimId, role).catch(() => undefined);
    if (st && ok(st)) return st;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function ourKeyClaimed(type: 'OWNERSHIP' | 'PORTABILITY'): Promise<ExtendedClaim> {
  const owner = naturalPerson();
  const key = type === 'OWNERSHIP' ? newPhone() : owner.taxIdNumber;
  const keyType = type === 'OWNERSHIP' ? 'PHONE' : 'CPF';
  await s.dict.createEntry({ requestId: crypto.randomUUID(), reason: 'USER_REQUESTED', entry: { key, keyType, account: account(OUR_ISPB), owner: { type: 'NATURAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name } } });
  const claimer = type === 'OWNERSHIP' ? naturalPerson() : owner;
  const { claim } = await other.createClaim({ claim: { type, key, keyType, claimerAccount: account(OTHER_ISPB), claimer: { type: 'NATURAL_PERSON', taxIdNumber: claimer.taxIdNumber, name: claimer.name } } });
  return claim;
}

test('ownership, donor: the user is silent — on day 7 we confirm (DEFAULT_OPERATION); the closing period runs to day 14', async () => {
  const claim = await ourKeyClaimed('OWNERSHIP');
  const opened = Date.parse(claim.lastModified);
  await s.withWorker(async () => {
    await handOver();
    await until('acknowledged', claim.id, 'DONOR', (c) => c.claim.status === 'WAITING_RESOLUTION');
    await s.env.sleep(7 * DAY + 60_000);
    const confirmed = await until('confirmed', claim.id, 'DONOR', (c) => c.claim.status === 'CONFIRMED');
    assert.equal(confirmed.claim.confirmReason, 'DEFAULT_OPERATION');
    assert.equal(Date.parse(confirmed.claim.completionPeriodEnd!) - opened, 14 * DAY, 'DICT’s closing period ends on day 14');
    assert.equal(confirmed.plan.onDeadline, 'CLOSING_PERIOD_END');
    // The claimer completes once the closing period is over.
    await s.env.sleep(7 * DAY);
    await other.completeClaim({ claimId: claim.id, participant: OTHER_ISPB, requestId: crypto.randomUUID() });
    await handOver(dictNow);
    await until('completed', claim.id, 'DONOR', (c) => c.claim.status === 'COMPLETED');
  });
  const t = await timers(claimWorkflowId(OUR_ISPB, claim.id, 'DONOR'));
  assert.ok(t.some((ms) => Math.abs(ms - 7 * DAY) < 60_000), `a ~7-day timer: ${t.join(', ')}`);
});

test('portability, donor: the user is silent — on day 7 we cancel (DEFAULT_OPERATION) and the key stays', async () => {
  const claim = await ourKeyClaimed('PORTABILITY');
  await s.withWorker(async () => {
    await handOver();
    await until('acknowledged', claim.id, 'DONOR', (c) => c.claim.status === 'WAITING_RESOLUTION');
    await s.env.sleep(7 * DAY + 60_000);
    const c = await until('cancelled', claim.id, 'DONOR', (x) => x.claim.status === 'CANCELLED');
    assert.equal(c.claim.cancelReason, 'DEFAULT_OPERATION');
    assert.equal(c.claim.cancelledBy, 'DONOR');
  });
  const entry = await other.getEntry({ key: claim.key, payerId: newCpf(), endToEndId: newEndToEndId(OTHER_ISPB) });
  assert.equal(entry.entry.account.participant, OUR_ISPB);
});

test('ownership, claimer: our user never validates possession — on day 30 we cancel (DEFAULT_OPERATION)', async () => {
  const key = newPhone();
  const holder = naturalPerson();
  await other.createEntry({ requestId: crypto.randomUUID(), reason: 'USER_REQUESTED', entry: { key, keyType: 'PHONE', account: account(OTHER_ISPB), owner: { type: 'NATURAL_PERSON', taxIdNumber: holder.taxIdNumber, name: holder.name } } });
  const us = naturalPerson();
  const { claim } = await s.dict.createClaim({ claim: { type: 'OWNERSHIP', key, keyType: 'PHONE', claimerAccount: account(OUR_ISPB), claimer: { type: 'NATURAL_PERSON', taxIdNumber: us.taxIdNumber, name: us.name } } });
  const opened = Date.parse(claim.lastModified);
  await other.acknowledgeClaim({ claimId: claim.id, participant: OTHER_ISPB });
  await other.confirmClaim({ claimId: claim.id, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
  await s.withWorker(async () => {
    await handOver();
    const waiting = await until('confirmed here', claim.id, 'CLAIMER', (c) => c.claim.status === 'CONFIRMED');
    assert.equal(waiting.claimerDeadline, new Date(opened + 30 * DAY).toISOString());
    await s.env.sleep(30 * DAY + 60_000);
    const c = await until('cancelled', claim.id, 'CLAIMER', (x) => x.claim.status === 'CANCELLED');
    assert.equal(c.claim.cancelReason, 'DEFAULT_OPERATION');
    assert.equal(c.claim.cancelledBy, 'CLAIMER');
  });
  assert.equal((await other.getClaim(claim.id)).claim.status, 'CANCELLED');
  const t = await timers(claimWorkflowId(OUR_ISPB, claim.id, 'CLAIMER'));
  assert.ok(t.some((ms) => ms > 29 * DAY && ms <= 30 * DAY), `a ~30-day timer: ${t.join(', ')}`);
});
