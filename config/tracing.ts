// OpenTelemetry tracing of a Core DICT process: API call (api/metrics.ts) → StartWorkflow
// (Temporal's client interceptor) → RunWorkflow (workflow interceptors, exported through a sink)
// → RunActivity (activity interceptor) → DICT HTTP call (bridge/client.ts). Off unless an exporter
// is configured: OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP, e.g. http://otel-collector:4318)
// or, in tests, an in-memory exporter. Off, the OTel API is a no-op, and the API's per-call server
// span (api/metrics.ts) is not built at all.
import * as otel from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

let current: Tracing | undefined;

/** The process's tracing, when set up (the worker injects its workflow span sink from it). */
export const tracing = (): Tracing | undefined => current;

/**
 * Registers the global tracer provider (W3C trace context, AsyncLocalStorage context) exporting
 * to `endpoint` (OTLP/HTTP; "/v1/traces" appended when missing) or to `exporter` (synchronously,
 * for tests). Neither given: nothing is registered and undefined is returned.
 */
export function setupTracing(o: { serviceName: string; endpoint?: string; exporter?: SpanExporter }): Tracing | undefined {
  if (current) return current;
  let spanProcessor: SpanProcessor;
  if (o.exporter) spanProcessor = new SimpleSpanProcessor(o.exporter);
  else if (o.endpoint) {
    const url = /\/v1\/traces\/?$/.test(o.endpoint) ? o.endpoint : `${o.endpoint.replace(/\/+$/, '')}/v1/traces`;
    spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  } else return undefined;
  const resource = new Resource({ 'service.name': o.serviceName });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  current = { resource, spanProcessor, shutdown: () => provider.shutdown() };
  return current;
}

export const tracer = (name: string): otel.Tracer => otel.trace.getTracer(name);
