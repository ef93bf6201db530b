// BCB's anti-scanning rules for getEntry (DICT API 2.6.1 "Limitação de requisições", Manual
// Operacional §13.1), as pure functions shared by the API's limiter and the DICT simulator.
//
// Three token buckets are charged by every getEntry:
//  - per end user (the payer, PI-PayerId) and participant: ENTRIES_READ_USER_ANTISCAN for EMAIL
//    and PHONE keys, ENTRIES_READ_USER_ANTISCAN_V2 for CPF, CNPJ and EVP keys; natural person
//    (PF, 11-digit CPF) 2 tokens/min with a bucket of 100, legal person (PJ, 14-digit CNPJ)
//    20/min with 1,000; an answered lookup (200) costs 1, a not-found (404) 20;
//  - per participant: ENTRIES_READ_PARTICIPANT_ANTISCAN, by the category BCB puts the participant
//    in (A–H); 200 costs 1, 404 costs 3.
// A payment order sent to SPI after a lookup gives tokens back: +1 (PF) / +2 (PJ) to the user's
// bucket, +1 to the participant's. An empty bucket (under one token) is 429 RateLimited until
// it refills; a not-found may take a bucket below zero (Manual: 5 tokens, a 404 → −15, 8 min).
//
// A bucket is { tokens, at } (at = ms of the last refill); a bucket never seen is full.

import type { KeyType, PersonType } from './types.js';

export const USER_ANTISCAN_POLICIES = ['ENTRIES_READ_USER_ANTISCAN', 'ENTRIES_READ_USER_ANTISCAN_V2'] as const;
export type UserAntiscanPolicy = (typeof USER_ANTISCAN_POLICIES)[number];
export const PARTICIPANT_ANTISCAN_POLICY = 'ENTRIES_READ_PARTICIPANT_ANTISCAN';
export type AntiscanPolicy = UserAntiscanPolicy | typeof PARTICIPANT_ANTISCAN_POLICY;
export const ANTISCAN_POLICIES: readonly AntiscanPolicy[] = [...USER_ANTISCAN_POLICIES, PARTICIPANT_ANTISCAN_POLICY];

export const PARTICIPANT_CATEGORIES = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] as const;
export type ParticipantCategory = (typeof PARTICIPANT_CATEGORIES)[number];

export interface BucketPolicy {
  /** Bucket size: the most tokens it holds (and what a new bucket starts with). */
  capacity: number;
  /** Tokens added per minute. */
  refillPerMinute: number;
}

/** "(*)": user buckets by the payer's person type. */
export const USER_BUCKETS: Readonly<Record<PersonType, BucketPolicy>> = {
  NATURAL_PERSON: { capacity: 100, refillPerMinute: 2 },
  LEGAL_PERSON: { capacity: 1_000, refillPerMinute: 20 },
};

/** "(**)": the participant's bucket by its category. */
export const PARTICIPANT_BUCKETS: Readonly<Record<ParticipantCategory, BucketPolicy>> = {
  A: { capacity: 50_000, refillPerMinute: 25_000 },
  B: { capacity: 40_000, refillPerMinute: 20_000 },
  C: { capacity: 30_000, refillPerMinute: 15_000 },
  D: { capacity: 16_000, refillPerMinute: 8_000 },
  E: { capacity: 5_000, refillPerMinute: 2_500 },
  F: { capacity: 500, refillPerMinute: 250 },
  G: { capacity: 250, refillPerMinute: 25 },
  H: { capacity: 50, refillPerMinute: 2 },
};

/** What a getEntry's answer costs ("status 200: subtrai 1", "status 404: subtrai 20 / 3"). */
export const LOOKUP_COST = {
  user: { found: 1, notFound: 20 },
  participant: { found: 1, notFound: 3 },
} as const;

/** "ordem de pagamento enviada": tokens given back. */
export const PAYMENT_ORDER_CREDIT = {
  user: { NATURAL_PERSON: 1, LEGAL_PERSON: 2 } as Readonly<Record<PersonType, number>>,
  participant: 1,
} as const;

/** The outcome of a lookup as the buckets see it: DICT answered, or it did not count. */
export type LookupOutcome = 'found' | 'notFound' | 'notCounted';

export interface Bucket {
  tokens: number;
  /** Milliseconds (epoch) of the last refill. */
  at: number;
}

export function userPolicyFor(keyType: KeyType): UserAntiscanPolicy {
  return keyType === 'EMAIL' || keyType === 'PHONE' ? 'ENTRIES_READ_USER_ANTISCAN' : 'ENTRIES_READ_USER_ANTISCAN_V2';
}

/** PI-PayerId: 11 digits (CPF) is a natural person, 14 (CNPJ) a legal person. */
export function payerPersonType(payerId: string): PersonType {
  return payerId.length === 14 ? 'LEGAL_PERSON' : 'NATURAL_PERSON';
}

export function isParticipantCategory(s: string): s is ParticipantCategory {
  return (PARTICIPANT_CATEGORIES as readonly string[]).includes(s);
}

/** A policy scaled by `fraction` (the in-process fallback limiter), never below one token. */
export function scalePolicy(p: BucketPolicy, fraction: number): BucketPolicy {
  return { capacity: Math.max(1, Math.floor(p.capacity * fraction)), refillPerMinute: p.refillPerMinute * fraction };
}

/** The bucket at `now`: refilled at the policy's rate since `at`, never above capacity. */
export function refill(b: Bucket | undefined, p: BucketPolicy, now: number): Bucket {
  if (!b) return { tokens: p.capacity, at: now };
  const elapsed = Math.max(0, now - b.at);
  return { tokens: Math.min(p.capacity, b.tokens + (elapsed * p.refillPerMinute) / 60_000), at: Math.max(now, b.at) };
}

/**
 * An upper bound of our participant bucket's tokens at DICT `now`, from the AvailableTokens DICT
 * reported at `at`: at most the refill since then came in (lookups only take tokens away). A
 * bucket lowered to it holds no more than this bound (DICT may hold fewer).
 */
export function participantTokensAtMost(reported: number, at: number, category: ParticipantCategory, now: number): number {
  return refill({ tokens: reported, at }, PARTICIPANT_BUCKETS[category], now).tokens;
}

/** Milliseconds until the bucket holds one whole token again (0 when it does). */
export function msUntilToken(b: Bucket, p: BucketPolicy): number {
  if (b.tokens >= 1) return 0;
  if (p.refillPerMinute <= 0) return Number.POSITIVE_INFINITY;
  return Math.ceil(((1 - b.tokens) * 60_000) / p.refillPerMinute);
}

/** Retry-After in whole seconds (at least 1) for a refused request. */
export function retryAfterSeconds(ms: number): number {
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 60;
}

/**
 * Admission: a lookup may go when every bucket holds at least one token; it then takes one from
 * each (the cost of a hit, reserved before the answer is known, so concurrent lookups cannot
 * overdraw). Either all buckets are charged or none.
 */
export function admit(buckets: readonly (Bucket | undefined)[], policies: readonly BucketPolicy[], now: number): { ok: true; buckets: Bucket[] } | { ok: false; buckets: Bucket[]; retryAfterMs: number } {
  const filled = buckets.map((b, i) => refill(b, policies[i]!, now));
  const wait = Math.max(0, ...filled.map((b, i) => msUntilToken(b, policies[i]!)));
  if (wait > 0) return { ok: false, buckets: filled, retryAfterMs: wait };
  return { ok: true, buckets: filled.map((b) => ({ tokens: b.tokens - 1, at: b.at })) };
}

/** Adds `delta` tokens (negative: a charge, may go below zero; positive: a credit, up to capacity). */
export function adjust(b: Bucket | undefined, p: BucketPolicy, delta: number, now: number): Bucket {
  const f = refill(b, p, now);
  return { tokens: Math.min(p.capacity, f.tokens + delta), at: f.at };
}

/**
 * After DICT answered an admitted lookup: the part of its cost not reserved at admission
 * (negative), or the reservation given back when the call did not count (a 5xx, a 429, no
 * answer). Order: [user, participant].
 */
export function settleDeltas(outcome: LookupOutcome): [user: number, participant: number] {
  switch (outcome) {
    case 'found':
      return [0, 0];
    case 'notFound':
      return [1 - LOOKUP_COST.user.notFound, 1 - LOOKUP_COST.participant.notFound];
    case 'notCounted':
      return [1, 1];
  }
}

/** Credits of a payment order sent after a lookup: [user, participant]. */
export function paymentOrderCredits(payerType: PersonType): [user: number, participant: number] {
  return [PAYMENT_ORDER_CREDIT.user[payerType], PAYMENT_ORDER_CREDIT.participant];
}

/** Seconds after which an untouched bucket is full again (how long storage must keep it). */
export function secondsToFull(p: BucketPolicy, tokens = 0): number {
  if (p.refillPerMinute <= 0) return 86_400;
  return Math.ceil(((p.capacity - Math.min(tokens, p.capacity) + LOOKUP_COST.user.notFound) * 60) / p.refillPerMinute);
}

/** Bucket storage ids: per payer and participant for the user policies, per participant for the PSP's. */
export function userBucketId(policy: UserAntiscanPolicy, participant: string, payerId: string): string {
  return `${policy}:${participant}:${payerId}`;
}
export function participantBucketId(participant: string): string {
  return `${PARTICIPANT_ANTISCAN_POLICY}:${participant}`;
}
