// BCB's getEntry anti-scanning rules (domain/antiscan.ts) and the in-process limiter built on
// them, checked against the spec's numbers and, with fast-check, against a reference model; and the
// reconcile interval's bound from BCB's POLICIES_LIST.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  admit,
  adjust,
  msUntilToken,
  PARTICIPANT_BUCKETS,
  participantTokensAtMost,
  payerPersonType,
  paymentOrderCredits,
  refill,
  scalePolicy,
  settleDeltas,
  USER_BUCKETS,
  userPolicyFor,
} from '../../domain/antiscan.js';
import { loadApiConfig } from '../../config/index.js';
import { createInProcessAntiscanLimiter } from '../../store/antiscan.js';
import { runStream, streamArb } from '../support/antiscan-model.js';

const ISPB = '12345678';
const T0 = 1_700_000_000_000;

describe('BCB anti-scanning policies', () => {
  test('tables of DICT API 2.6.1 "Limitação de requisições"', () => {
    assert.deepEqual(USER_BUCKETS.NATURAL_PERSON, { capacity: 100, refillPerMinute: 2 });
    assert.deepEqual(USER_BUCKETS.LEGAL_PERSON, { capacity: 1_000, refillPerMinute: 20 });
    assert.deepEqual(PARTICIPANT_BUCKETS.A, { capacity: 50_000, refillPerMinute: 25_000 });
    assert.deepEqual(PARTICIPANT_BUCKETS.H, { capacity: 50, refillPerMinute: 2 });
    assert.equal(userPolicyFor('EMAIL'), 'ENTRIES_READ_USER_ANTISCAN');
    assert.equal(userPolicyFor('PHONE'), 'ENTRIES_READ_USER_ANTISCAN');
    for (const k of ['CPF', 'CNPJ', 'EVP'] as const) assert.equal(userPolicyFor(k), 'ENTRIES_READ_USER_ANTISCAN_V2');
    assert.equal(payerPersonType('11144477735'), 'NATURAL_PERSON');
    assert.equal(payerPersonType('11222333000181'), 'LEGAL_PERSON');
    assert.deepEqual(settleDeltas('found'), [0, 0]);
    assert.deepEqual(settleDeltas('notFound'), [-19, -2]);
    assert.deepEqual(settleDeltas('notCounted'), [1, 1]);
    assert.deepEqual(paymentOrderCredits('NATURAL_PERSON'), [1, 1]);
    assert.deepEqual(paymentOrderCredits('LEGAL_PERSON'), [2, 1]);
  });

  test("Manual §13.1's example: 5 tokens, a not-found → −15, usable again after 8 minutes", () => {
    const p = USER_BUCKETS.NATURAL_PERSON;
    const a = admit([{ tokens: 5, at: T0 }], [p], T0);
    assert.ok(a.ok);
    const after = adjust(a.buckets[0], p, settleDeltas('notFound')[0], T0);
    assert.equal(after.tokens, -15);
    assert.equal(msUntilToken(after, p), 8 * 60_000);
    assert.equal(admit([after], [p], T0 + 8 * 60_000 - 1).ok, false);
    assert.equal(admit([after], [p], T0 + 8 * 60_000).ok, true);
  });

  test('refill never exceeds the bucket; a refused admission charges nothing', () => {
    const p = USER_BUCKETS.NATURAL_PERSON;
    assert.equal(refill({ tokens: 99, at: T0 }, p, T0 + 3_600_000).tokens, 100);
    const r = admit([{ tokens: 0.5, at: T0 }, undefined], [p, PARTICIPANT_BUCKETS.H], T0);
    assert.equal(r.ok, false);
    assert.equal(r.buckets[0]!.tokens, 0.5);
    assert.equal(r.buckets[1]!.tokens, 50);
  });

  test('the fallback scales rates and sizes, never below one token', () => {
    assert.deepEqual(scalePolicy(PARTICIPANT_BUCKETS.H, 0.1), { capacity: 5, refillPerMinute: 0.2 });
    assert.equal(scalePolicy({ capacity: 5, refillPerMinute: 1 }, 0.01).capacity, 1);
  });
});

describe('in-process limiter', () => {
  test('101 hits by one natural person within seconds: 100 admitted (refill is 2 a minute)', async () => {
    const l = createInProcessAntiscanLimiter({ category: 'A', fraction: 1 });
    let ok = 0;
    let last;
    for (let i = 0; i < 101; i++) {
      last = await l.admit({ participant: ISPB, payerId: '11144477735', keyType: 'CPF' }, T0 + i * 100);
      if (last.ok) {
        ok++;
        await l.settle(last.ticket, 'found', undefined, T0 + i * 100);
      }
    }
    assert.equal(ok, 100);
    assert.ok(last && !last.ok);
    assert.equal(last.policy, 'ENTRIES_READ_USER_ANTISCAN_V2');
    assert.ok(last.retryAfterSeconds >= 1 && last.retryAfterSeconds <= 30);
    // The other user policy (EMAIL/PHONE) is a bucket of its own.
    assert.equal((await l.admit({ participant: ISPB, payerId: '11144477735', keyType: 'EMAIL' }, T0 + 10_100)).ok, true);
  });

  test('payment order credits once per end-to-end id', async () => {
    const l = createInProcessAntiscanLimiter({ category: 'H', fraction: 1 });
    const a = await l.admit({ participant: ISPB, payerId: '11222333000181', keyType: 'EMAIL' }, T0);
    assert.ok(a.ok);
    await l.settle(a.ticket, 'found', 'E1234567820261204000000000000001', T0);
    assert.equal(await l.peek('ENTRIES_READ_USER_ANTISCAN', ISPB, '11222333000181', T0), 999);
    assert.deepEqual(await l.paymentOrder(ISPB, 'E1234567820261204000000000000001', T0), { refunded: true, replayed: false });
    assert.deepEqual(await l.paymentOrder(ISPB, 'E1234567820261204000000000000001', T0), { refunded: true, replayed: true });
    assert.equal(await l.peek('ENTRIES_READ_USER_ANTISCAN', ISPB, '11222333000181', T0), 1_000);
    assert.equal(await l.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', ISPB, undefined, T0), 50);
    assert.deepEqual(await l.paymentOrder(ISPB, 'E1234567820261204000000000000099', T0), { refunded: false, replayed: false });
  });

  test('reconcile takes DICT category and never holds more than DICT', async () => {
    const l = createInProcessAntiscanLimiter({ category: 'H', fraction: 1 });
    await l.reconcile(ISPB, { category: 'G', availableTokens: 3 }, T0);
    assert.equal(l.category(), 'G');
    assert.equal(await l.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', ISPB, undefined, T0), 3);
    await l.reconcile(ISPB, { availableTokens: 200 }, T0);
    assert.equal(await l.peek('ENTRIES_READ_PARTICIPANT_ANTISCAN', ISPB, undefined, T0), 3);
  });

  test('the property catches a limiter more generous than BCB (wrong category)', async () => {
    await assert.rejects(
      fc.assert(
        fc.asyncProperty(streamArb, async (events) => {
          const diff = await runStream(createInProcessAntiscanLimiter({ category: 'G', fraction: 1 }), 'H', ISPB, events, T0);
          assert.equal(diff, undefined);
        }),
        { numRuns: 500 },
      ),
    );
  });

  for (const category of ['H', 'G', 'A'] as const) {
    test(`property: never admits more than the reference model (category ${category})`, async () => {
      await fc.assert(
        fc.asyncProperty(streamArb, async (events) => {
          const l = createInProcessAntiscanLimiter({ category, fraction: 1 });
          const diff = await runStream(l, category, ISPB, events, T0);
          assert.equal(diff, undefined, `diverged: ${JSON.stringify(diff)}`);
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe('reconcile with DICT', () => {
  test("participantTokensAtMost: DICT's reported tokens plus at most the refill since, capped by the category's bucket", () => {
    // Category H: 2 a minute, bucket 50.
    assert.equal(participantTokensAtMost(10, T0, 'H', T0), 10);
    assert.equal(participantTokensAtMost(10, T0, 'H', T0 + 60_000), 12);
    assert.equal(participantTokensAtMost(10, T0, 'H', T0 + 3_600_000), 50);
    // A reader whose clock is behind the reporter's adds nothing.
    assert.equal(participantTokensAtMost(10, T0, 'H', T0 - 5_000), 10);
    assert.equal(participantTokensAtMost(0, T0, 'A', T0 + 1_000), 25_000 / 60);
  });
});

describe('ANTISCAN_RECONCILE_INTERVAL_MS', () => {
  test("one deployment's reconcile fits BCB's POLICIES_LIST (6 a minute): 0 (startup only) or at least 15 s", () => {
    assert.equal(loadApiConfig({}).ANTISCAN_RECONCILE_INTERVAL_MS, 60_000);
    assert.equal(loadApiConfig({ ANTISCAN_RECONCILE_INTERVAL_MS: '0' }).ANTISCAN_RECONCILE_INTERVAL_MS, 0);
    assert.equal(loadApiConfig({ ANTISCAN_RECONCILE_INTERVAL_MS: '15000' }).ANTISCAN_RECONCILE_INTERVAL_MS, 15_000);
    for (const bad of ['14999', '10000', '-1']) assert.throws(() => loadApiConfig({ ANTISCAN_RECONCILE_INTERVAL_MS: bad }), /ANTISCAN_RECONCILE_INTERVAL_MS/);
  });
});
