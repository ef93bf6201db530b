// The one place where cross-cutting concerns wrap every RPC, in order: the principal first (so
// later interceptors may use it), then logging of outcome and latency, then admission control
// (excess calls are shed before any work, and still counted by the logging). Per-call lines are debug (a lookup is on every
// payment: one info line each would dominate the process); every `statsIntervalMs` one info
// line sums the calls per RPC and outcome with latency percentiles. Internal errors are always
// logged, one line each.
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import * as hdr from 'hdr-histogram-js';
import type { Logger } from 'pino';
import { admissionInterceptor, type Gate } from './admission.js';
import { metricsInterceptor } from './metrics.js';
import { principalKey, staticPrincipalInterceptor } from './principal.js';

interface RpcStats {
  count: number;
  codes: Record<string, number>;
  /** Latency in microseconds. */
  latency: hdr.Histogram;
}

export function loggingInterceptor(log: Logger, o: { statsIntervalMs?: number } = {}): Interceptor {
  const stats = new Map<string, RpcStats>();
  const record = (rpc: string, code: string, ms: number) => {
    let s = stats.get(rpc);
    if (!s) {
      s = { count: 0, codes: {}, latency: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 2 }) };
      stats.set(rpc, s);
    }
    s.count++;
    s.codes[code] = (s.codes[code] ?? 0) + 1;
    s.latency.recordValue(Math.max(1, Math.round(ms * 1000)));
  };
  if (o.statsIntervalMs) {
    const started = Date.now();
    let since = started;
    setInterval(() => {
      const now = Date.now();
      for (const [rpc, s] of stats) {
        if (!s.count) continue;
        const q = (p: number) => Number((s.latency.getValueAtPercentile(p) / 1000).toFixed(2));
        log.info({ rpc, windowMs: now - since, calls: s.count, codes: s.codes, p50Ms: q(50), p99Ms: q(99), maxMs: Number((s.latency.maxValue / 1000).toFixed(2)) }, 'rpc stats');
        s.count = 0;
        s.codes = {};
        s.latency.reset();
      }
      since = now;
    }, o.statsIntervalMs).unref();
  }
  return (next) => async (req) => {
    const started = performance.now();
    const rpc = `${req.service.typeName}/${req.method.name}`;
    // One line's context: the call, who made it (PSP and end user) and its request id if any.
    const who = () => {
      const p = req.contextValues.get(principalKey);
      return { rpc, psp: p?.participant, user: p?.subject, requestId: req.header.get('x-request-id') ?? undefined };
    };
    try {
      const res = await next(req);
      const ms = performance.now() - started;
      record(rpc, 'OK', ms);
      if (log.isLevelEnabled('debug')) log.debug({ ...who(), code: 'OK', durationMs: Math.round(ms) }, 'rpc ok');
      return res;
    } catch (err) {
      const ce = ConnectError.from(err);
      const ms = performance.now() - started;
      record(rpc, Code[ce.code], ms);
      // The error text goes under `error` (pino owns `msg`: two would make JSON parsers keep one).
      if (ce.code === Code.Internal || ce.code === Code.Unknown) log.error({ ...who(), code: Code[ce.code], durationMs: Math.round(ms), error: ce.rawMessage, err }, 'rpc failed');
      else if (log.isLevelEnabled('debug')) log.debug({ ...who(), code: Code[ce.code], durationMs: Math.round(ms), error: ce.rawMessage }, 'rpc failed');
      throw ce;
    }
  };
}

export function interceptors(o: { participant: string; log: Logger; rpcGate?: Gate; statsIntervalMs?: number }): Interceptor[] {
  return [
    staticPrincipalInterceptor(o.participant),
    loggingInterceptor(o.log, { statsIntervalMs: o.statsIntervalMs }),
    ...(o.rpcGate ? [admissionInterceptor(o.rpcGate)] : []),
    metricsInterceptor(),
  ];
}
