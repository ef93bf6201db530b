// BCB's token-bucket rate limits ("Limitação de requisições" in API v2) for the policies the
// simulator enforces, per participant (scope PSP): listClaims with a donor/claimer filter
// (CLAIMS_LIST_WITH_ROLE, 40/min refill, bucket 200) and without one (CLAIMS_LIST_WITHOUT_ROLE,
// 10/min, 50), listBucketStates (POLICIES_LIST, 6/min, 20) and getBucketState (POLICIES_READ,
// 60/min, 200). Every answer but a 500 costs one token; an empty bucket is 429 RateLimited with
// Retry-After until the next token. Buckets refill by the simulator's clock; sizes and rates are
// configurable (options, env, /admin/rate-limits) and buckets can be refilled for tests.

export const RATE_LIMIT_POLICIES = ['CLAIMS_LIST_WITH_ROLE', 'CLAIMS_LIST_WITHOUT_ROLE', 'POLICIES_LIST', 'POLICIES_READ'] as const;
export type RateLimitPolicy = (typeof RATE_LIMIT_POLICIES)[number];

export interface BucketConfig {
  /** Tokens added per minute. */
  refillPerMinute: number;
  /** Bucket size: the most tokens it holds (a full bucket to start with). */
  bucketSize: number;
}

export const BCB_RATE_LIMITS: Readonly<Record<RateLimitPolicy, BucketConfig>> = {
  CLAIMS_LIST_WITH_ROLE: { refillPerMinute: 40, bucketSize: 200 },
  CLAIMS_LIST_WITHOUT_ROLE: { refillPerMinute: 10, bucketSize: 50 },
  POLICIES_LIST: { refillPerMinute: 6, bucketSize: 20 },
  POLICIES_READ: { refillPerMinute: 60, bucketSize: 200 },
};

interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true; refund: () => void } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private config: Record<RateLimitPolicy, BucketConfig>;
  private buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => Date,
    config: Partial<Record<RateLimitPolicy, BucketConfig>> = {},
  ) {
    this.config = { ...BCB_RATE_LIMITS, ...config };
  }

  private fill(policy: RateLimitPolicy, participant: string): Bucket {
    const { refillPerMinute, bucketSize } = this.config[policy];
    const id = `${policy}:${participant}`;
    const t = this.now().getTime();
    const b = this.buckets.get(id) ?? { tokens: bucketSize, at: t };
    b.tokens = Math.min(bucketSize, b.tokens + (Math.max(0, t - b.at) * refillPerMinute) / 60_000);
    b.at = t;
    this.buckets.set(id, b);
    return b;
  }

  /** Takes one token, or says how long until one is there. `refund` gives it back (a 500). */
  take(policy: RateLimitPolicy, participant: string): Take {
    const b = this.fill(policy, participant);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, refund: () => (b.tokens = Math.min(this.config[policy].bucketSize, b.tokens + 1)) };
    }
    const rate = this.config[policy].refillPerMinute;
    const retryAfterSeconds = rate > 0 ? Math.max(1, Math.ceil(((1 - b.tokens) * 60) / rate)) : 60;
    return { ok: false, retryAfterSeconds };
  }

  /** A participant's bucket now (GET /policies): whole tokens available and its configuration. */
  state(policy: RateLimitPolicy, participant: string): BucketConfig & { availableTokens: number } {
    return { ...this.config[policy], availableTokens: Math.max(0, Math.floor(this.fill(policy, participant).tokens)) };
  }

  configure(policy: RateLimitPolicy, c: BucketConfig): void {
    this.config[policy] = c;
    for (const id of [...this.buckets.keys()]) if (id.startsWith(`${policy}:`)) this.buckets.delete(id);
  }

  /** Every bucket full again; with `initial`, the configuration goes back to BCB's values overridden by it. */
  reset(initial?: Partial<Record<RateLimitPolicy, BucketConfig>>): void {
    this.buckets.clear();
    if (initial) this.config = { ...BCB_RATE_LIMITS, ...initial };
  }

  snapshot(): Record<RateLimitPolicy, BucketConfig & { buckets: Record<string, number> }> {
    const out = {} as Record<RateLimitPolicy, BucketConfig & { buckets: Record<string, number> }>;
    for (const p of RATE_LIMIT_POLICIES) {
      const buckets: Record<string, number> = {};
      for (const id of this.buckets.keys()) {
        if (id.startsWith(`${p}:`)) buckets[id.slice(p.length + 1)] = Math.floor(this.fill(p, id.slice(p.length + 1)).tokens);
      }
      out[p] = { ...this.config[p], buckets };
    }
    return out;
  }
}
