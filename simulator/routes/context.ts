// What a route handler gets (request, path parameters, query, body reader, services, the caller
// checks) and returns (status, XML, headers, whether state changed), and the matcher over the
// per-resource route tables (routes/entries.ts, routes/claims.ts, routes/policies.ts), and the
// rate-limited answer (spending).
import type { IncomingMessage } from 'node:http';
import type { ResponseMeta } from '../../bridge/types.js';
import type { ClaimsService } from '../claims.js';
import type { EntriesService } from '../entries.js';
import type { SimOperation } from '../faults.js';
import type { ParticipantRegistry } from '../identity.js';
import type { SimAntiscan } from '../antiscan.js';
import { SimProblem } from '../problems.js';
import type { RateLimiter, RateLimitPolicy } from '../ratelimit.js';
import type { WriteOperation } from '../stats.js';

export interface Outcome {
  status: number;
  xml: string;
  headers?: Record<string, string>;
  /** Set when the request changed state (for /admin/stats). */
  write?: WriteOperation;
}

export interface ApiContext {
  req: IncomingMessage;
  /** Path parameters by name (e.g. key, claimId), URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body, which must be XML (else BadRequest before any signature talk). */
  readXml(): Promise<string>;
  /** CorrelationId and ResponseTime for a response. */
  meta(): Required<ResponseMeta>;
  /** The external rate-limit hook (SimulatorOptions.rateLimit). */
  gate(op: SimOperation, participant: string, payerId?: string): Promise<void>;
  registry: ParticipantRegistry;
  entries: EntriesService;
  claims: ClaimsService;
  limiter: RateLimiter;
  /** getEntry's anti-scanning buckets. */
  antiscan: SimAntiscan;
}

export interface ApiRoute {
  op: SimOperation;
  method: string;
  /** Path under /api/v2 as segments; ':name' captures a parameter. */
  path: string[];
  /** BCB also serves this route under /api-np/v2 (checkKeys). */
  nonProduction?: boolean;
  handle(ctx: ApiContext): Promise<Outcome>;
}

/**
 * `answer` after taking a token of `policy` for `caller` (429 RateLimited with Retry-After when
 * there is none); an unexpected error (a 500) gives the token back, as BCB counts every answer but
 * a 500.
 */
export async function spending<T>(ctx: ApiContext, policy: RateLimitPolicy, caller: string, answer: () => T | Promise<T>): Promise<T> {
  const token = ctx.limiter.take(policy, caller);
  if (!token.ok) throw new SimProblem('RateLimited', 'Rate limit exceeded', [], token.retryAfterSeconds);
  try {
    return await answer();
  } catch (e) {
    if (!(e instanceof SimProblem)) token.refund();
    throw e;
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Finds the route for `method` and the path segments after /<base>/v2 (a trailing slash is ignored). */
export function matchRoute(routes: readonly ApiRoute[], method: string, base: string, rest: string[]): { route: ApiRoute; params: Record<string, string> } | undefined {
  const segs = rest.length > 1 && rest[rest.length - 1] === '' ? rest.slice(0, -1) : rest;
  for (const route of routes) {
    if (route.method !== method || route.path.length !== segs.length) continue;
    if (base === 'api-np' && !route.nonProduction) continue;
    const params: Record<string, string> = {};
    let ok = true;
    route.path.forEach((p, i) => {
      const s = segs[i]!;
      if (p.startsWith(':')) {
        if (s === '') ok = false;
        params[p.slice(1)] = s;
      } else if (p !== s) ok = false;
    });
    if (ok) return { route, params };
  }
  return undefined;
}
