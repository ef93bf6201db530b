// A reference model of BCB's getEntry anti-scanning buckets, written apart from the limiter
// (domain/antiscan.ts, store/antiscan.ts) and in exact integer arithmetic: tokens are counted
// in 1/60,000ths, so a bucket refilling `r` tokens a minute gains exactly `r` units a
// millisecond. It charges a lookup's whole cost after the answer (the limiter reserves one
// token at admission and settles the rest), and a lookup may go only when every bucket it
// touches holds a whole token. Used by the fast-check property tests: driven by the same random
// request stream, the limiter must never admit a lookup the model refuses.
import fc from 'fast-check';
import type { AntiscanLimiter } from '../../store/antiscan.js';

const UNIT = 60_000;
const USER = { N: { cap: 100, rate: 2, hit: 1, miss: 20, credit: 1 }, L: { cap: 1_000, rate: 20, hit: 1, miss: 20, credit: 2 } };
const PSP: Record<string, { cap: number; rate: number }> = {
  A: { cap: 50_000, rate: 25_000 },
  B: { cap: 40_000, rate: 20_000 },
  C: { cap: 30_000, rate: 15_000 },
  D: { cap: 16_000, rate: 8_000 },
  E: { cap: 5_000, rate: 2_500 },
  F: { cap: 500, rate: 250 },
  G: { cap: 250, rate: 25 },
  H: { cap: 50, rate: 2 },
};

class ModelBucket {
  units: bigint;
  last: bigint;
  constructor(
    readonly cap: number,
    readonly rate: number,
    now: bigint,
  ) {
    this.units = BigInt(cap * UNIT);
    this.last = now;
  }
  at(now: bigint): void {
    if (now > this.last) {
      const u = this.units + (now - this.last) * BigInt(this.rate);
      const max = BigInt(this.cap * UNIT);
      this.units = u > max ? max : u;
      this.last = now;
    }
  }
  hasToken(): boolean {
    return this.units >= BigInt(UNIT);
  }
  add(tokens: number): void {
    const u = this.units + BigInt(tokens * UNIT);
    const max = BigInt(this.cap * UNIT);
    this.units = u > max ? max : u;
  }
}

export class AntiscanModel {
  private readonly buckets = new Map<string, ModelBucket>();
  private readonly found = new Map<string, { user: string; credit: number; credited: boolean }>();
  constructor(
    private readonly category: string,
    private readonly participant: string,
  ) {}

  private bucket(id: string, cap: number, rate: number, now: bigint): ModelBucket {
    let b = this.buckets.get(id);
    if (!b) this.buckets.set(id, (b = new ModelBucket(cap, rate, now)));
    b.at(now);
    return b;
  }

  /** One lookup: admitted or not, and if admitted, charged for its outcome. */
  lookup(now: number, payerId: string, emailOrPhone: boolean, outcome: 'found' | 'notFound' | 'notCounted', e2e: string): boolean {
    const t = BigInt(now);
    const kind = payerId.length === 14 ? USER.L : USER.N;
    const userId = `${emailOrPhone ? 'U1' : 'U2'}:${payerId}`;
    const u = this.bucket(userId, kind.cap, kind.rate, t);
    const p = this.bucket('P', PSP[this.category]!.cap, PSP[this.category]!.rate, t);
    if (!u.hasToken() || !p.hasToken()) return false;
    if (outcome === 'found') {
      u.add(-kind.hit);
      p.add(-1);
      this.found.set(e2e, { user: userId, credit: kind.credit, credited: false });
    } else if (outcome === 'notFound') {
      u.add(-kind.miss);
      p.add(-3);
    }
    return true;
  }

  paymentOrder(now: number, e2e: string): void {
    const f = this.found.get(e2e);
    if (!f || f.credited) return;
    f.credited = true;
    const t = BigInt(now);
    const b = this.buckets.get(f.user)!;
    b.at(t);
    b.add(f.credit);
    const p = this.buckets.get('P')!;
    p.at(t);
    p.add(1);
  }
}

export type StreamEvent =
  | { kind: 'lookup'; steps: number; payer: number; emailOrPhone: boolean; outcome: 'found' | 'notFound' | 'notCounted' }
  | { kind: 'payment'; steps: number; lookup: number };

/** Time advances in steps of 1,875 ms (1/32 minute): every refill is a dyadic fraction, exact in doubles and in Lua's "%.17g". */
export const STEP_MS = 1_875;

export const PAYERS = ['11144477735', '52998224725', '11222333000181', '45723174000110'];

/** Mostly bursts (no time passes), sometimes pauses of up to 75 s. */
const stepsArb = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 40 }) });

export const streamArb = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('lookup' as const), steps: stepsArb, payer: fc.nat({ max: PAYERS.length - 1 }), emailOrPhone: fc.boolean(), outcome: fc.constantFrom('found' as const, 'notFound' as const, 'notCounted' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('payment' as const), steps: stepsArb, lookup: fc.nat({ max: 400 }) }) },
  ),
  { minLength: 1, maxLength: 300, size: 'max' },
);

/**
 * Drives `events` through `limiter` and the model; returns the first step where the limiter
 * admitted a lookup the model refused (or refused one the model admitted), if any.
 */
export async function runStream(limiter: AntiscanLimiter, category: string, participant: string, events: StreamEvent[], t0: number): Promise<{ step: number; limiter: boolean; model: boolean } | undefined> {
  const model = new AntiscanModel(category, participant);
  let now = t0;
  const e2es: string[] = [];
  for (const [i, ev] of events.entries()) {
    now += ev.steps * STEP_MS;
    if (ev.kind === 'payment') {
      const e2e = e2es[ev.lookup % Math.max(1, e2es.length)];
      if (!e2e) continue;
      model.paymentOrder(now, e2e);
      await limiter.paymentOrder(participant, e2e, now);
      continue;
    }
    const e2e = `E${participant}${String(i).padStart(23, '0')}`;
    e2es.push(e2e);
    const payerId = PAYERS[ev.payer]!;
    const m = model.lookup(now, payerId, ev.emailOrPhone, ev.outcome, e2e);
    const a = await limiter.admit({ participant, payerId, keyType: ev.emailOrPhone ? 'EMAIL' : 'CPF' }, now);
    if (a.ok) await limiter.settle(a.ticket, ev.outcome, e2e, now);
    if (a.ok !== m) return { step: i, limiter: a.ok, model: m };
  }
  return undefined;
}
