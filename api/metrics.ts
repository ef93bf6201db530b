// RED metrics per RPC (config/metrics.ts core_dict_rpc_duration_seconds{rpc,code} and the
// in-flight gauge) and the call's server span (config/tracing.ts; the parent of the Temporal and
// DICT spans it causes, continuing the caller's W3C traceparent if any): outside authentication,
// the rate limit and admission, so refused calls are counted with their code (api/interceptors.ts).
// The API serves the metrics on its own listener (api/metrics-server.ts, API_METRICS_PORT).
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import * as otel from '@opentelemetry/api';
import { rpcDuration, rpcInFlight } from '../config/metrics.js';

const tracer = otel.trace.getTracer('core-dict-api');
const headerGetter: otel.TextMapGetter<Headers> = {
  keys: (h) => {
    const ks: string[] = [];
    h.forEach((_v, k) => ks.push(k));
    return ks;
  },
  get: (h, k) => h.get(k) ?? undefined,
};

/** One RPC's metric children, looked up once per rpc and code (no labels object or timer closure built per call). */
interface RpcMetrics {
  inFlight: ReturnType<typeof rpcInFlight.labels>;
  byCode: Map<string, ReturnType<typeof rpcDuration.labels>>;
}

export function metricsInterceptor(): Interceptor {
  const perRpc = new Map<string, RpcMetrics>();
  const metricsOf = (rpc: string): RpcMetrics => {
    let m = perRpc.get(rpc);
    if (!m) perRpc.set(rpc, (m = { inFlight: rpcInFlight.labels({ rpc }), byCode: new Map() }));
    return m;
  };
  return (next) => async (req) => {
    const rpc = `${req.service.typeName}/${req.method.name}`;
    const m = metricsOf(rpc);
    const started = process.hrtime.bigint();
    const end = ({ code }: { code: string }) => {
      let h = m.byCode.get(code);
      if (!h) m.byCode.set(code, (h = rpcDuration.labels({ rpc, code })));
      h.observe(Number(process.hrtime.bigint() - started) / 1e9);
    };
    m.inFlight.inc();
    const parent = otel.propagation.extract(otel.context.active(), req.header, headerGetter);
    const span = tracer.startSpan(rpc, { kind: otel.SpanKind.SERVER, attributes: { 'rpc.system': 'connect_rpc', 'rpc.service': req.service.typeName, 'rpc.method': req.method.name } }, parent);
    try {
      const res = await otel.context.with(otel.trace.setSpan(parent, span), () => next(req));
      end({ code: 'OK' });
      return res;
    } catch (err) {
      // Not a ConnectError: recovery (outside) makes it Internal, so count it as that.
      const code = Code[err instanceof ConnectError ? err.code : Code.Internal];
      end({ code });
      span.setAttribute('rpc.connect_rpc.error_code', code);
      span.setStatus({ code: otel.SpanStatusCode.ERROR, message: code });
      throw err;
    } finally {
      m.inFlight.dec();
      span.end();
    }
  };
}
