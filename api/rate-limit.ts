// Per-client rate limit: each client (the principal's participant and end user, or the
// participant and the peer address when no end user is named) may make API_RATE_LIMIT_POINTS
// calls per API_RATE_LIMIT_DURATION_SECONDS, counted in Redis by rate-limiter-flexible so every
// API process shares one budget. When Redis does not answer, each process counts alone in
// memory (the library's insurance limiter) rather than refusing or letting everything through.
// Beyond the budget a call answers RESOURCE_EXHAUSTED with ErrorInfo RateLimited (BCB's name)
// and RetryInfo saying when the client's window reopens.
import type { ContextValues, Interceptor } from '@connectrpc/connect';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { Health } from '../gen/grpc/health/v1/health_pb.js';
import { unavailable } from './errors.js';
import type { ClientLimiter } from './rate-limit-lease.js';
import { principalKey } from './principal.js';
import { peerKey, requestIdKey } from './request-context.js';

export interface RateLimitOptions {
  /** Calls per client per window; 0 = no limit. */
  points: number;
  durationSeconds: number;
  /** Redis key prefix (one per deployment sharing a Redis). */
  keyPrefix?: string;
}

/** Services never limited: probes must see the server as it is. */
const EXEMPT = new Set([Health.typeName, 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);

export function rateLimiter(redis: Redis | undefined, o: RateLimitOptions): RateLimiterAbstract {
  const common = { points: o.points, duration: o.durationSeconds, keyPrefix: o.keyPrefix ?? 'core-dict:rl' };
  const insurance = new RateLimiterMemory(common);
  if (!redis) return insurance;
  // rejectIfRedisNotReady: while ioredis reconnects, go straight to the insurance limiter.
  return new RateLimiterRedis({ ...common, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: insurance });
}

/** The budget a call is counted against. */
export function clientKey(values: ContextValues): string {
  const p = values.get(principalKey);
  const peer = values.get(peerKey) || 'unknown';
  if (!p) return `peer:${peer}`;
  return p.subject ? `user:${p.participant}/${p.subject}` : `peer:${p.participant}@${peer}`;
}

/** After auth (the key needs the principal), before admission and any work. */
export function rateLimitInterceptor(limiter: ClientLimiter, o: { log?: Logger; onLimited?: () => void } = {}): Interceptor {
  return (next) => async (req) => {
    if (EXEMPT.has(req.service.typeName)) return next(req);
    const client = clientKey(req.contextValues);
    try {
      await limiter.consume(client);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        o.onLimited?.();
        o.log?.debug({ requestId: req.contextValues.get(requestIdKey), rpc: `${req.service.typeName}/${req.method.name}`, client, retryAfterMs: err.msBeforeNext }, 'rate limited');
        throw unavailable('rate limit exceeded for this client: retry later', Math.max(1, Math.ceil(err.msBeforeNext / 1000)), 'RateLimited');
      }
      throw err;
    }
    return next(req);
  };
}
