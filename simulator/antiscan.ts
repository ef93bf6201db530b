// The DICT simulator's anti-scanning buckets for getEntry, by the same rules as our limiter
// (domain/antiscan.ts): per payer (ENTRIES_READ_USER_ANTISCAN / _V2) and per participant
// (ENTRIES_READ_PARTICIPANT_ANTISCAN, by category A–H, default A, settable per participant).
// A lookup needs a token in both buckets (else 429 RateLimited with Retry-After); a found
// entry costs 1, a NotFound 20 (user) / 3 (participant); any other answer does not count. A
// payment order (SPI's, played through /admin/antiscan/payment-orders) credits a found lookup
// once by its end-to-end id. Buckets refill by the simulator's clock. The participant's bucket
// state is what GET /policies/ and /policies/{policy} report.
import {
  adjust,
  admit,
  isParticipantCategory,
  PARTICIPANT_ANTISCAN_POLICY,
  PARTICIPANT_BUCKETS,
  participantBucketId,
  paymentOrderCredits,
  payerPersonType,
  refill,
  retryAfterSeconds,
  settleDeltas,
  USER_BUCKETS,
  userBucketId,
  userPolicyFor,
  type Bucket,
  type BucketPolicy,
  type LookupOutcome,
  type ParticipantCategory,
} from '../domain/antiscan.js';
import { inferKeyType } from '../domain/keys.js';

export interface SimAntiscanOptions {
  /** Enforce the buckets (default true). */
  enabled?: boolean;
  /** Category of participants without one of their own (default A). */
  defaultCategory?: ParticipantCategory;
  categories?: Record<string, ParticipantCategory>;
}

export interface SimLookupTicket {
  participant: string;
  userId: string;
  participantId: string;
  userPolicy: BucketPolicy;
  payerId: string;
}

export class SimAntiscan {
  private readonly buckets = new Map<string, Bucket>();
  /** End-to-end id of a found lookup → its ticket; `credited` once a payment order came. */
  private readonly lookups = new Map<string, { ticket: SimLookupTicket; credited: boolean }>();
  private enabled: boolean;
  private defaultCategory: ParticipantCategory;
  private categories: Map<string, ParticipantCategory>;

  constructor(
    private readonly now: () => number,
    private readonly initial: SimAntiscanOptions = {},
  ) {
    this.enabled = initial.enabled ?? true;
    this.defaultCategory = initial.defaultCategory ?? 'A';
    this.categories = new Map(Object.entries(initial.categories ?? {}));
  }

  categoryOf(participant: string): ParticipantCategory {
    return this.categories.get(participant) ?? this.defaultCategory;
  }

  participantPolicy(participant: string): BucketPolicy {
    return PARTICIPANT_BUCKETS[this.categoryOf(participant)];
  }

  /** Takes a token from the payer's and the participant's buckets, or says how long to wait. */
  admit(participant: string, payerId: string | undefined, key: string): { ok: true; ticket?: SimLookupTicket } | { ok: false; retryAfterSeconds: number } {
    // A request without a valid PI-PayerId is refused as BadRequest before it counts.
    if (!this.enabled || !payerId || !/^(\d{11}|\d{14})$/.test(payerId)) return { ok: true };
    const userPolicy = USER_BUCKETS[payerPersonType(payerId)];
    const ticket: SimLookupTicket = {
      participant,
      payerId,
      userId: userBucketId(userPolicyFor(inferKeyType(key) ?? 'EVP'), participant, payerId),
      participantId: participantBucketId(participant),
      userPolicy,
    };
    const policies = [userPolicy, this.participantPolicy(participant)];
    const r = admit([this.buckets.get(ticket.userId), this.buckets.get(ticket.participantId)], policies, this.now());
    if (!r.ok) return { ok: false, retryAfterSeconds: retryAfterSeconds(r.retryAfterMs) };
    this.buckets.set(ticket.userId, r.buckets[0]!);
    this.buckets.set(ticket.participantId, r.buckets[1]!);
    return { ok: true, ticket };
  }

  settle(ticket: SimLookupTicket | undefined, outcome: LookupOutcome, endToEndId?: string): void {
    if (!ticket) return;
    const [ud, pd] = settleDeltas(outcome);
    const now = this.now();
    if (ud) this.buckets.set(ticket.userId, adjust(this.buckets.get(ticket.userId), ticket.userPolicy, ud, now));
    if (pd) this.buckets.set(ticket.participantId, adjust(this.buckets.get(ticket.participantId), this.participantPolicy(ticket.participant), pd, now));
    if (outcome === 'found' && endToEndId) this.lookups.set(`${ticket.participant}:${endToEndId}`, { ticket, credited: false });
  }

  /** SPI received the payment order of a looked-up key: credit once. */
  paymentOrder(participant: string, endToEndId: string): { refunded: boolean; replayed: boolean } {
    const l = this.lookups.get(`${participant}:${endToEndId}`);
    if (!l) return { refunded: false, replayed: false };
    if (l.credited) return { refunded: true, replayed: true };
    l.credited = true;
    const [uc, pc] = paymentOrderCredits(payerPersonType(l.ticket.payerId));
    const now = this.now();
    this.buckets.set(l.ticket.userId, adjust(this.buckets.get(l.ticket.userId), l.ticket.userPolicy, uc, now));
    this.buckets.set(l.ticket.participantId, adjust(this.buckets.get(l.ticket.participantId), this.participantPolicy(participant), pc, now));
    return { refunded: true, replayed: false };
  }

  /** The participant's ENTRIES_READ_PARTICIPANT_ANTISCAN bucket now (full when never used). */
  participantState(participant: string): { category: ParticipantCategory; availableTokens: number; capacity: number; refillPerMinute: number } {
    const p = this.participantPolicy(participant);
    const b = refill(this.buckets.get(participantBucketId(participant)), p, this.now());
    return { category: this.categoryOf(participant), availableTokens: Math.max(0, Math.floor(b.tokens)), capacity: p.capacity, refillPerMinute: p.refillPerMinute };
  }

  /** Admin: a participant's category (its bucket starts full again). */
  setCategory(participant: string, category: string): boolean {
    if (!isParticipantCategory(category)) return false;
    this.categories.set(participant, category);
    this.buckets.delete(participantBucketId(participant));
    return true;
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  /** Admin: every bucket's tokens now, by id. */
  snapshot(): { enabled: boolean; defaultCategory: ParticipantCategory; categories: Record<string, ParticipantCategory>; buckets: Record<string, number> } {
    const now = this.now();
    const buckets: Record<string, number> = {};
    for (const [id, b] of this.buckets) {
      const policy = id.startsWith(PARTICIPANT_ANTISCAN_POLICY) ? this.participantPolicy(id.slice(PARTICIPANT_ANTISCAN_POLICY.length + 1)) : USER_BUCKETS[payerPersonType(id.split(':')[2] ?? '')];
      buckets[id] = Number(refill(b, policy, now).tokens.toFixed(3));
    }
    return { enabled: this.enabled, defaultCategory: this.defaultCategory, categories: Object.fromEntries(this.categories), buckets };
  }

  /** Every bucket full, lookups forgotten, options back to the start values. */
  reset(): void {
    this.buckets.clear();
    this.lookups.clear();
    this.enabled = this.initial.enabled ?? true;
    this.defaultCategory = this.initial.defaultCategory ?? 'A';
    this.categories = new Map(Object.entries(this.initial.categories ?? {}));
  }
}
