// LookupKey's DICT read under failure: budget, bounded jittered retries of the idempotent read,
// Retry-After as a floor (fail fast past the budget), the circuit breaker, and the typed list
// of non-retryable BCB names that activities hand to Temporal's retry policy. A scripted
// getEntry and a virtual clock stand in for DICT and time: nothing here waits for real time
// except the attempt-timeout case, which only checks that the attempt is aborted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import { asActivityFailure } from '../../activities/errors.js';
import { DictCircuitOpenError, DictRateLimitHoldError, RATE_LIMIT_HOLD_DEFAULT_MS, resilientLookups, type LookupResilienceOptions } from '../../bridge/resilience.js';
import { DictProblemError, DictTransportError, type GetEntryInput, type GetEntryResult } from '../../bridge/types.js';
import { BCB_ERRORS, BCB_ERROR_NAMES, NON_RETRYABLE_BCB_ERRORS } from '../../domain/errors.js';

const input: GetEntryInput = { key: 'a@b.com', payerId: '11144477735', endToEndId: 'E1234567820250101000000000000a' };
const answer = { entry: { key: 'a@b.com' } } as unknown as GetEntryResult;

function virtualClock() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return { sleeps, now: () => t, sleep: async (ms: number) => { sleeps.push(ms); t += ms; } };
}

function scripted(steps: (Error | 'ok')[]) {
  const calls: GetEntryInput[] = [];
  return {
    calls,
    async getEntry(i: GetEntryInput): Promise<GetEntryResult> {
      calls.push(i);
      const s = steps[Math.min(calls.length - 1, steps.length - 1)]!;
      if (s === 'ok') return answer;
      throw s;
    },
  };
}

function options(clock: ReturnType<typeof virtualClock>, over: Partial<LookupResilienceOptions> = {}): LookupResilienceOptions {
  return {
    budgetMs: 3_000,
    attemptTimeoutMs: 1_000,
    maxAttempts: 3,
    initialDelayMs: 50,
    maxDelayMs: 400,
    breaker: { threshold: 0.5, windowMs: 60_000, minimumRps: 1_000, halfOpenAfterMs: 5_000 },
    clock,
    ...over,
  };
}

const unreachable = () => new DictTransportError('GET /entries/x: request failed: ECONNRESET');
const problem = (status: number, retryAfter?: number, name = status === 429 ? 'RateLimited' : 'ServiceUnavailable') =>
  new DictProblemError(name, status, name, undefined, undefined, [], retryAfter);

test('transport failures are retried with jittered, bounded backoff, then the last error surfaces', async () => {
  const clock = virtualClock();
  const dict = scripted([unreachable()]);
  const l = resilientLookups(dict, options(clock));
  await assert.rejects(l.getEntry(input), DictTransportError);
  assert.equal(dict.calls.length, 3);
  assert.equal(clock.sleeps.length, 2);
  for (const s of clock.sleeps) assert.ok(s >= 0 && s <= 400, `delay ${s} within the cap`);
  // Every attempt carries its own abort signal (the attempt timeout).
  assert.ok(dict.calls.every((c) => c.signal instanceof AbortSignal));
});

test('a transient failure then an answer: the lookup succeeds', async () => {
  const clock = virtualClock();
  const dict = scripted([problem(503), 'ok']);
  assert.equal(await resilientLookups(dict, options(clock)).getEntry(input), answer);
  assert.equal(dict.calls.length, 2);
});

test('business answers are never retried', async () => {
  const clock = virtualClock();
  const dict = scripted([new DictProblemError('NotFound', 404, 'Not found')]);
  await assert.rejects(resilientLookups(dict, options(clock)).getEntry(input), (e: unknown) => e instanceof DictProblemError && e.bcbError === 'NotFound');
  assert.equal(dict.calls.length, 1);
  assert.deepEqual(clock.sleeps, []);
});

test("Retry-After is a floor: the retry never comes sooner than DICT asked", async () => {
  const clock = virtualClock();
  const dict = scripted([problem(503, 2), 'ok']);
  assert.equal(await resilientLookups(dict, options(clock, { budgetMs: 5_000 })).getEntry(input), answer);
  assert.equal(clock.sleeps.length, 1);
  assert.ok(clock.sleeps[0]! >= 2_000, `waited ${clock.sleeps[0]} ms`);
});

test('Retry-After past the remaining budget fails fast with DICT\'s answer and its delay', async () => {
  for (const status of [429, 503]) {
    const clock = virtualClock();
    const dict = scripted([problem(status, 10), 'ok']);
    await assert.rejects(resilientLookups(dict, options(clock)).getEntry(input), (e: unknown) => e instanceof DictProblemError && e.status === status && e.retryAfterSeconds === 10);
    assert.equal(dict.calls.length, 1, `${status}: one attempt only`);
    assert.deepEqual(clock.sleeps, [], `${status}: no wait`);
  }
});

test('the circuit opens after repeated failures: DICT is not called, the error says when to come back', async () => {
  const clock = virtualClock();
  const dict = scripted([unreachable()]);
  const l = resilientLookups(dict, options(clock, { maxAttempts: 1, breaker: { threshold: 0.5, windowMs: 10_000, minimumRps: 0.1, halfOpenAfterMs: 7_000 } }));
  let open: DictCircuitOpenError | undefined;
  for (let i = 0; i < 10 && !open; i++) {
    try {
      await l.getEntry(input);
    } catch (e) {
      if (e instanceof DictCircuitOpenError) open = e;
    }
  }
  assert.ok(open, 'circuit opened');
  assert.equal(open.retryAfterSeconds, 7);
  const before = dict.calls.length;
  await assert.rejects(l.getEntry(input), DictCircuitOpenError);
  assert.equal(dict.calls.length, before, 'no call while open');
});

test('rate limits and business answers do not open the circuit', async () => {
  const clock = virtualClock();
  const dict = scripted([problem(429), new DictProblemError('NotFound', 404, 'Not found')]);
  const l = resilientLookups(dict, options(clock, { maxAttempts: 1, breaker: { threshold: 0.5, windowMs: 10_000, minimumRps: 0.1, halfOpenAfterMs: 7_000 } }));
  for (let i = 0; i < 20; i++) {
    await assert.rejects(l.getEntry(input), DictProblemError);
    await clock.sleep(RATE_LIMIT_HOLD_DEFAULT_MS); // past the 429's hold
  }
  assert.equal(dict.calls.length, 20);
});

test("DICT's 429 is not retried and holds that payer's lookups until its Retry-After", async () => {
  const clock = virtualClock();
  const dict = scripted([problem(429, 2), 'ok']);
  const l = resilientLookups(dict, options(clock, { budgetMs: 10_000 }));
  await assert.rejects(l.getEntry(input), (e: unknown) => e instanceof DictProblemError && e.status === 429);
  assert.equal(dict.calls.length, 1, 'no retry of a 429, even with budget left');
  // Other lookups during the hold never reach DICT, and say when to come back.
  for (let i = 0; i < 50; i++) await assert.rejects(l.getEntry(input), (e: unknown) => e instanceof DictRateLimitHoldError && e.retryAfterSeconds === 2);
  assert.equal(dict.calls.length, 1, 'nothing reaches DICT while held');
  await clock.sleep(1_500);
  await assert.rejects(l.getEntry(input), (e: unknown) => e instanceof DictRateLimitHoldError && e.retryAfterSeconds === 1);
  await clock.sleep(500);
  assert.equal(await l.getEntry(input), answer, 'after Retry-After, lookups go through again');
  assert.equal(dict.calls.length, 2);
});

test("one payer's 429 does not hold other payers; a second payer's 429 meanwhile holds every lookup (our participant's bucket)", async () => {
  const clock = virtualClock();
  const dict = scripted([problem(429, 5), 'ok', problem(429, 5), 'ok']);
  const l = resilientLookups(dict, options(clock, { budgetMs: 10_000 }));
  const as = (payerId: string) => ({ ...input, payerId });
  await assert.rejects(l.getEntry(as('11144477735')), (e: unknown) => e instanceof DictProblemError && e.status === 429);
  await assert.rejects(l.getEntry(as('11144477735')), DictRateLimitHoldError);
  // Another payer still reaches DICT.
  assert.equal(await l.getEntry(as('52998224725')), answer);
  // A third payer gets a 429 while the first is held: the participant's bucket is empty.
  await assert.rejects(l.getEntry(as('39053344705')), (e: unknown) => e instanceof DictProblemError && e.status === 429);
  const calls = dict.calls.length;
  await assert.rejects(l.getEntry(as('52998224725')), DictRateLimitHoldError);
  await assert.rejects(l.getEntry(as('86288366757')), DictRateLimitHoldError);
  assert.equal(dict.calls.length, calls, 'nothing reaches DICT while the process is held');
  await clock.sleep(5_000);
  assert.equal(await l.getEntry(as('86288366757')), answer);
});

test('the 429 holds match a reference model over random streams of payers, answers, time and lookups in flight', async () => {
  // The model: every payer's hold kept in a Map and scanned, as the rule reads. Lookups overlap:
  // DICT's answer to each comes when the stream says, so one payer can get two 429s in a row.
  type Op = { kind: 'start'; payer: number } | { kind: 'finish'; index: number; answer: 'ok' | number } | { kind: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('start' as const), payer: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('finish' as const), index: fc.nat(), answer: fc.oneof(fc.constant('ok' as const), fc.integer({ min: 1, max: 6 })) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3_000 }) }) },
  );
  const settle = () => new Promise((r) => setImmediate(r));
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 80, size: 'max' }), async (ops: Op[]) => {
      const clock = virtualClock();
      const answers: ((a: 'ok' | number) => void)[] = [];
      const dict = {
        getEntry: () => new Promise<GetEntryResult>((resolve, reject) => answers.push((a) => (a === 'ok' ? resolve(answer) : reject(problem(429, a))))),
      };
      const l = resilientLookups(dict, options(clock, { maxAttempts: 1, attemptTimeoutMs: 60_000, budgetMs: 60_000 }));
      const outcomeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof DictRateLimitHoldError ? 'held' : e instanceof DictProblemError && e.status === 429 ? '429' : String(e)));
      const holds = new Map<number, number>();
      let all = 0;
      const inFlight: { payer: number; outcome: Promise<string>; answer: (a: 'ok' | number) => void }[] = [];
      try {
        for (const o of ops) {
          if (o.kind === 'advance') await clock.sleep(o.ms);
          else if (o.kind === 'start') {
            const held = Math.max(all, holds.get(o.payer) ?? 0) > clock.now();
            const before = answers.length;
            const outcome = outcomeOf(l.getEntry({ ...input, payerId: `payer-${o.payer}` }));
            await settle();
            if (held) {
              assert.equal(answers.length, before, 'a held lookup never reaches DICT');
              assert.equal(await outcome, 'held');
            } else {
              assert.equal(answers.length, before + 1, 'a lookup not held reaches DICT');
              inFlight.push({ payer: o.payer, outcome, answer: answers[before]! });
            }
          } else if (inFlight.length > 0) {
            const [f] = inFlight.splice(o.index % inFlight.length, 1);
            f!.answer(o.answer);
            assert.equal(await f!.outcome, o.answer === 'ok' ? 'ok' : '429');
            if (o.answer !== 'ok') {
              const now = clock.now();
              const until = now + o.answer * 1000;
              if ([...holds].some(([p, u]) => p !== f!.payer && u > now)) all = Math.max(all, until);
              holds.set(f!.payer, Math.max(holds.get(f!.payer) ?? 0, until));
            }
          }
        }
      } finally {
        // Whatever happened, no lookup is left waiting on DICT (answering one twice does nothing).
        for (const a of answers) a('ok');
        await Promise.all(inFlight.map((f) => f.outcome));
      }
    }),
    {
      numRuns: 600,
      // Rarely drawn at random: a payer second behind gets a second, shorter 429 from a lookup in
      // flight; its hold must not shrink, so the first payer's next 429 still holds everyone.
      examples: [
        [
          [
            { kind: 'start', payer: 0 },
            { kind: 'start', payer: 1 },
            { kind: 'start', payer: 1 },
            { kind: 'start', payer: 0 },
            { kind: 'finish', index: 0, answer: 3 },
            { kind: 'finish', index: 0, answer: 2 },
            { kind: 'finish', index: 0, answer: 1 },
            { kind: 'advance', ms: 1_500 },
            { kind: 'finish', index: 0, answer: 5 },
            { kind: 'advance', ms: 1_500 },
            { kind: 'start', payer: 2 },
          ],
        ],
      ],
    },
  );
});

test('a 429 without Retry-After holds lookups for the default hold', async () => {
  const clock = virtualClock();
  const dict = scripted([problem(429), 'ok']);
  const l = resilientLookups(dict, options(clock));
  await assert.rejects(l.getEntry(input), DictProblemError);
  await assert.rejects(l.getEntry(input), DictRateLimitHoldError);
  await clock.sleep(RATE_LIMIT_HOLD_DEFAULT_MS);
  assert.equal(await l.getEntry(input), answer);
  assert.equal(dict.calls.length, 2);
});

test('an attempt that hangs is aborted at the attempt timeout', async () => {
  const hanging = {
    getEntry: (i: GetEntryInput) =>
      new Promise<GetEntryResult>((_, reject) => i.signal!.addEventListener('abort', () => reject(new DictTransportError(`aborted: ${String((i.signal!.reason as Error).message)}`)))),
  };
  const l = resilientLookups(hanging, { ...options(virtualClock(), { maxAttempts: 1 }), clock: undefined, attemptTimeoutMs: 20 });
  await assert.rejects(l.getEntry(input), (e: unknown) => e instanceof DictTransportError && /timed out/.test(e.message));
});

test("the caller's cancellation ends the lookup without further attempts", async () => {
  const clock = virtualClock();
  const ac = new AbortController();
  const dict = {
    calls: 0,
    async getEntry(): Promise<GetEntryResult> {
      this.calls++;
      ac.abort();
      throw unreachable();
    },
  };
  await assert.rejects(resilientLookups(dict, options(clock)).getEntry({ ...input, signal: ac.signal }), DictTransportError);
  assert.equal(dict.calls, 1);
});

test('non-retryable BCB names: exactly the catalogue\'s business names, never a transient one', () => {
  assert.deepEqual([...NON_RETRYABLE_BCB_ERRORS].sort(), BCB_ERROR_NAMES.filter((n) => !BCB_ERRORS[n].retryable).sort());
  for (const n of ['RateLimited', 'ServiceUnavailable', 'InternalServerError', 'DictUnreachable'] as const) {
    assert.ok(!(NON_RETRYABLE_BCB_ERRORS as readonly string[]).includes(n), n);
  }
  assert.ok(NON_RETRYABLE_BCB_ERRORS.includes('EntryInvalid'));
  assert.ok(NON_RETRYABLE_BCB_ERRORS.includes('InvalidReason'));
});

test('activity failures: business names are non-retryable; a transient status travels under a retryable name', () => {
  const business = asActivityFailure(new DictProblemError('EntryAlreadyExists', 400, 't')) as ApplicationFailure;
  assert.equal(business.type, 'EntryAlreadyExists');
  assert.equal(business.nonRetryable, true);
  const rate = asActivityFailure(problem(429, 7)) as ApplicationFailure;
  assert.equal(rate.type, 'RateLimited');
  assert.equal(rate.nonRetryable, false);
  // An odd answer: a business name with a 503 status is an outage, not a business answer.
  const odd = asActivityFailure(new DictProblemError('EntryInvalid', 503, 't')) as ApplicationFailure;
  assert.equal(odd.nonRetryable, false);
  assert.ok(!(NON_RETRYABLE_BCB_ERRORS as readonly string[]).includes(odd.type!), odd.type!);
});
