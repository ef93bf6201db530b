// RED metrics per RPC (config/metrics.ts core_dict_rpc_duration_seconds{rpc,code} and the
// in-flight gauge) and the call's server span (config/tracing.ts; the parent of the Temporal and
// DICT spans it causes, continuing the caller's W3C traceparent if any): taken by the RPC chain's
// outer layer, outside authentication, the rate limit and admission, so refused calls are counted
// with their code (api/interceptors.ts).
// The API serves the metrics on its own listener (api/metrics-server.ts, API_METRICS_PORT).
import * as otel from '@opentelemetry/api';
import { rpcDuration, rpcInFlight } from '../config/metrics.js';
import { tracing } from '../config/tracing.js';
import { rpcName } from './request-context.js';

const tracer = otel.trace.getTracer('core-dict-api');
const headerGetter: otel.TextMapGetter<Headers> = {
  keys: (h) => {
    const ks: string[] = [];
    h.forEach((_v, k) => ks.push(k));
    return ks;
  },
  get: (h, k) => h.get(k) ?? undefined,
};

/** One RPC's metric children, looked up once per method (no labels object, name or timer closure built per call). */
export interface RpcMetrics {
  rpc: string;
  inFlight: ReturnType<typeof rpcInFlight.labels>;
  byCode: Map<string, ReturnType<typeof rpcDuration.labels>>;
}

/** The call's server span, continuing the caller's W3C traceparent if any, and the context holding it. */
function serverSpan(req: { header: Headers; service: { typeName: string }; method: { name: string } }, rpc: string): { span: otel.Span; context: otel.Context } {
  const parent = otel.propagation.extract(otel.context.active(), req.header, headerGetter);
  const span = tracer.startSpan(rpc, { kind: otel.SpanKind.SERVER, attributes: { 'rpc.system': 'connect_rpc', 'rpc.service': req.service.typeName, 'rpc.method': req.method.name } }, parent);
  return { span, context: otel.trace.setSpan(parent, span) };
}

/** A call being measured: its method's metric children, when it started, and its span if traced. */
export interface MeasuredCall {
  m: RpcMetrics;
  /** performance.now() at the start. */
  started: number;
  traced: { span: otel.Span; context: otel.Context } | undefined;
}

/**
 * RED metrics and the server span of each call, as api/interceptors.ts's outer layer uses them:
 * start() counts the call in flight (and opens its span), run() runs it inside the span's context,
 * end() observes its duration under its final code and takes it out of flight. The span exists
 * only while this process exports spans (config/tracing.ts set up, asked per call): without an
 * exporter it would be a no-op span, so its context, propagation and attributes are not built at
 * all (every lookup passes here).
 */
export function callMetrics(): {
  start(req: Parameters<typeof rpcName>[0] & { header: Headers }, started: number): MeasuredCall;
  run<T>(call: MeasuredCall, fn: () => Promise<T>): Promise<T>;
  end(call: MeasuredCall, code: string): void;
} {
  const perMethod = new WeakMap<object, RpcMetrics>();
  const metricsOf = (req: Parameters<typeof rpcName>[0]): RpcMetrics => {
    let m = perMethod.get(req.method);
    if (!m) {
      const rpc = rpcName(req);
      perMethod.set(req.method, (m = { rpc, inFlight: rpcInFlight.labels({ rpc }), byCode: new Map() }));
    }
    return m;
  };
  return {
    start(req, started) {
      const m = metricsOf(req);
      const traced = tracing() ? serverSpan(req, m.rpc) : undefined;
      m.inFlight.inc(); // after anything that could throw: end() takes it back
      return { m, started, traced };
    },
    run: (call, fn) => (call.traced ? otel.context.with(call.traced.context, fn) : fn()),
    end({ m, started, traced }, code) {
      let h = m.byCode.get(code);
      if (!h) m.byCode.set(code, (h = rpcDuration.labels({ rpc: m.rpc, code })));
      h.observe((performance.now() - started) / 1000);
      m.inFlight.dec();
      if (!traced) return;
      if (code !== 'OK') {
        traced.span.setAttribute('rpc.connect_rpc.error_code', code);
        traced.span.setStatus({ code: otel.SpanStatusCode.ERROR, message: code });
      }
      traced.span.end();
    },
  };
}
