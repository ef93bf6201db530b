// The one place where cross-cutting concerns wrap every RPC. In order (each sees what the earlier
// ones put in the call's context):
//   1. request id      — accept a well-formed `x-request-id` or make one; echoed in headers/trailers
//   2. recovery        — any non-ConnectError becomes Internal with a safe message, logged once
//   3. logging         — outcome and latency per RPC (`rpc stats` lines)
//   4. metrics         — RED metrics and the server span (api/metrics.ts)
//   5. auth failures   — per peer address (API_TRUST_PROXY_HOPS: our proxy's X-Forwarded-For
//                        entry, else the socket), in memory: a peer with too many failed
//                        authentications is refused before its token is verified (api/rate-limit.ts)
//   6. auth            — the Bearer JWT verified into the principal (api/principal.ts, api/auth.ts);
//                        refusals (Unauthenticated / PermissionDenied) end the call here (and
//                        count at 5)
//   7. rate limit      — per client (principal or peer), leased from Redis
//                        (api/rate-limit-lease.ts), with an in-process fallback
//   8. NUL strings     — a request with NUL in any string field is InvalidArgument before any
//                        handler (Postgres text cannot hold it)
//   9. admission       — calls beyond API_MAX_IN_FLIGHT_RPCS are shed before any work
//  10. (validation happens in the handlers, against domain/validation.ts)
// They make two interceptors, not nine: 1–4 are one layer around the call (observeInterceptor),
// 5–9 are checks (Steps, api/request-context.ts) run in order by one layer (gateInterceptor),
// each answering at once when it can (a remembered token, a point of a lease), then the admission gate. Every
// async interceptor costs each call a promise, a suspended frame and a turn of the microtask
// queue, and a lookup is on every payment: the chain as nine interceptors took about 45 µs of a
// lookup's 380 µs of CPU (bench/RESULTS.md, "LookupKey, 2026-12-06 13:16").
// Logging and metrics sit outside every check, so each call is counted with its final code:
// refusals by the auth-failure limit and the rate limit and admission (ResourceExhausted), by auth
// (Unauthenticated / PermissionDenied) and the NUL check (InvalidArgument) appear in
// core_dict_rpc_duration_seconds and the `rpc stats` lines like any other outcome. The log line
// reads the principal after the call, so it names the client whenever auth got that far. A body
// that does not parse is refused by Connect before any interceptor runs (it never has a method
// to count under); the gates still count their own (Gate.stats().shed, `onRateLimited`).
// Per-call lines are debug (a lookup is on every payment: one info line each would dominate the
// process); every `statsIntervalMs` one info line sums the calls per RPC and outcome with latency
// percentiles. Internal errors are always logged, one line each (by recovery when the error was
// not a ConnectError, here otherwise).
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Logger } from 'pino';
import type { Gate } from './admission.js';
import type { VerifyBearer } from './auth.js';
import { authStep, principalKey } from './principal.js';
import { callMetrics, type MeasuredCall } from './metrics.js';
import type { RateLimitName } from '../config/metrics.js';
import { authFailureLimit, rateLimitStep, type AuthFailureLimitOptions, type ClientLimiter } from './rate-limit.js';
import { acceptRequestId, echoRequestId, recovery, REQUEST_ID_HEADER, requestIdKey, rpcName, type CallRequest, type Step } from './request-context.js';
import { invalidArgument } from './errors.js';

/** The `rpc stats` histograms' range: 1 µs to 120 s (a longer call is counted as 120 s). */
const LATENCY_HIGHEST_US = 120_000_000;

interface RpcStats {
  count: number;
  codes: Record<string, number>;
  /** Latency in microseconds (node's own HDR histogram: no JS heap of its own, no package to load). */
  latency: RecordableHistogram;
}

/** One log line's context: the call, who made it (PSP and end user) and its request id if any. */
function who(req: CallRequest) {
  const p = req.contextValues.get(principalKey);
  return { requestId: req.contextValues.get(requestIdKey), rpc: rpcName(req), psp: p?.participant, user: p?.subject };
}

/** The logging layer: each call's outcome into the `rpc stats` lines, and its debug/error line. */
function rpcLog(log: Logger, o: { statsIntervalMs?: number } = {}): { ok(req: CallRequest, rpc: string, ms: number): void; failed(req: CallRequest, rpc: string, ms: number, err: unknown): void } {
  const stats = new Map<string, RpcStats>();
  const record = (rpc: string, code: string, ms: number) => {
    let s = stats.get(rpc);
    if (!s) {
      s = { count: 0, codes: {}, latency: createHistogram({ lowest: 1, highest: LATENCY_HIGHEST_US, figures: 2 }) };
      stats.set(rpc, s);
    }
    s.count++;
    s.codes[code] = (s.codes[code] ?? 0) + 1;
    s.latency.record(Math.min(LATENCY_HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
  };
  if (o.statsIntervalMs) {
    const started = Date.now();
    let since = started;
    setInterval(() => {
      const now = Date.now();
      for (const [rpc, s] of stats) {
        if (!s.count) continue;
        const q = (p: number) => Number((s.latency.percentile(p) / 1000).toFixed(2));
        log.info({ rpc, windowMs: now - since, calls: s.count, codes: s.codes, p50Ms: q(50), p99Ms: q(99), maxMs: Number((s.latency.max / 1000).toFixed(2)) }, 'rpc stats');
        s.count = 0;
        s.codes = {};
        s.latency.reset();
      }
      since = now;
    }, o.statsIntervalMs).unref();
  }
  return {
    ok(req, rpc, ms) {
      record(rpc, 'OK', ms);
      if (log.isLevelEnabled('debug')) log.debug({ ...who(req), code: 'OK', durationMs: Math.round(ms) }, 'rpc ok');
    },
    failed(req, rpc, ms, err) {
      // Not a ConnectError: recovery turns it into Internal and logs it (once, with its stack).
      if (!(err instanceof ConnectError)) {
        record(rpc, Code[Code.Internal], ms);
        return;
      }
      record(rpc, Code[err.code], ms);
      // The error text goes under `reason` (pino owns `msg`: two would make JSON parsers keep one).
      if (err.code === Code.Internal || err.code === Code.Unknown) log.error({ ...who(req), code: Code[err.code], durationMs: Math.round(ms), reason: err.rawMessage, err }, 'rpc failed');
      else if (log.isLevelEnabled('debug')) log.debug({ ...who(req), code: Code[err.code], durationMs: Math.round(ms), reason: err.rawMessage }, 'rpc failed');
    },
  };
}

/**
 * 1–4 as one layer: the request id, recovery, logging and metrics around everything else. A
 * failure is logged and measured under its own code (a non-ConnectError as Internal), then
 * answered as recovery makes it, naming the request id.
 */
export function observeInterceptor(log: Logger, o: { statsIntervalMs?: number } = {}): Interceptor {
  const calls = rpcLog(log, o);
  const metrics = callMetrics();
  const recover = recovery(log);
  // Not a ConnectError: recovery makes it Internal, so measure it as that.
  const codeOf = (err: unknown) => Code[err instanceof ConnectError ? err.code : Code.Internal];
  return (next) => async (req) => {
    const id = acceptRequestId(req.header.get(REQUEST_ID_HEADER));
    req.contextValues.set(requestIdKey, id);
    const rpc = rpcName(req);
    const started = performance.now();
    let call: MeasuredCall | undefined;
    let res: Awaited<ReturnType<typeof next>>;
    try {
      call = metrics.start(req, started);
      res = await metrics.run(call, () => next(req));
    } catch (err) {
      if (call) metrics.end(call, codeOf(err));
      calls.failed(req, rpc, performance.now() - started, err);
      const safe = recover.safe(req, err);
      safe.metadata.set(REQUEST_ID_HEADER, id);
      throw safe;
    }
    metrics.end(call, 'OK');
    calls.ok(req, rpc, performance.now() - started);
    echoRequestId(res, id);
    return recover.stream(req, res);
  };
}

/** Path of the first string field holding a NUL character, if any (snake_case, as BadRequest names fields). */
export function nulStringField(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path || 'request' : undefined;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = nulStringField(value[i], `${path}[${i}]`);
      if (f) return f;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === '$typeName' || k === '$unknown') continue;
    const name = k === 'case' || k === 'value' ? '' : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const f = nulStringField(v, name ? (path ? `${path}.${name}` : name) : path);
    if (f) return f;
  }
  return undefined;
}

/** Whether any string field holds NUL (no paths built: this runs on every call). */
function hasNulString(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  if (Array.isArray(value)) return value.some(hasNulString);
  for (const k in value) if (k !== '$typeName' && k !== '$unknown' && hasNulString((value as Record<string, unknown>)[k])) return true;
  return false;
}

/**
 * Refuses any request whose strings hold NUL: no BCB field allows it, and Postgres text cannot
 * store it (the query itself would fail: found by the RPC fuzzer on GetKey/ListKeys/GetClaimStatus).
 */
export const nulStringStep: Step = (req) => {
  if (req.stream || !hasNulString(req.message)) return;
  const field = nulStringField(req.message);
  if (field) throw invalidArgument([{ field, reason: 'PATTERN', description: `${field} must not contain NUL characters` }]);
};

/** The checks from `from` on, in order: undefined when all passed at once, else a promise of their passing. */
function runSteps(steps: readonly Step[], req: CallRequest, from = 0): Promise<void> | undefined {
  for (let i = from; i < steps.length; i++) {
    const waiting = steps[i]!(req);
    if (waiting) return waiting.then(() => runSteps(steps, req, i + 1));
  }
  return undefined;
}

/**
 * 5–9 as one layer: the checks in order, then the admission gate around the rest of the call
 * (api/admission.ts `slots`: a call already cancelled does no work). A call that every check
 * passes at once, as a lookup with a remembered token and a leased point does, costs this layer
 * one async frame (the gate's), or none without admission. A refusal comes back as a rejection,
 * never a throw.
 */
export function gateInterceptor(steps: readonly Step[], gate?: Gate): Interceptor {
  return (next) => {
    const admitted = gate ? (req: CallRequest) => gate.run(() => next(req), req.signal) : next;
    return (req) => {
      try {
        const waiting = runSteps(steps, req);
        return (waiting ? waiting.then(() => admitted(req)) : admitted(req)) as ReturnType<typeof next>;
      } catch (err) {
        return Promise.reject(err as Error);
      }
    };
  };
}

export interface InterceptorOptions {
  /** Verifies each call's Bearer token (api/auth.ts). */
  verifyBearer: VerifyBearer;
  log: Logger;
  /** The admission gate every call passes (api/admission.ts slots); absent = none. */
  rpcGate?: Gate;
  /** Per-client limiter (rate-limit.ts); absent = no limit. */
  rateLimiter?: Pick<ClientLimiter, 'consume' | 'tryConsume'>;
  /** Per-peer limit of failed authentications, before auth (rate-limit.ts); absent = none. */
  authFailureLimit?: Omit<AuthFailureLimitOptions, 'log' | 'onLimited'>;
  /** Called for each call a rate limit refuses, with which one (metrics). */
  onRateLimited?: (limit: RateLimitName) => void;
  statsIntervalMs?: number;
}

/** The chain, in the order documented at the top of this file. */
export function interceptors(o: InterceptorOptions): Interceptor[] {
  const failures = o.authFailureLimit?.points ? authFailureLimit({ ...o.authFailureLimit, log: o.log, onLimited: o.onRateLimited }) : undefined;
  const steps: Step[] = [
    ...(failures ? [failures.check] : []),
    authStep(o.verifyBearer, failures?.hooks),
    ...(o.rateLimiter ? [rateLimitStep(o.rateLimiter, { log: o.log, onLimited: o.onRateLimited })] : []),
    nulStringStep,
  ];
  return [observeInterceptor(o.log, { statsIntervalMs: o.statsIntervalMs }), gateInterceptor(steps, o.rpcGate)];
}
