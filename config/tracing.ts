// OpenTelemetry tracing of a Core DICT process: API call (api/metrics.ts) → StartWorkflow
// (Temporal's client interceptor) → RunWorkflow (workflow interceptors, exported through a sink)
// → RunActivity (activity interceptor) → DICT HTTP call (bridge/client.ts). Off unless an exporter
// is configured: OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP, e.g. http://otel-collector:4318)
// or, in tests, an in-memory exporter. Off, the OTel API is a no-op, the API's per-call server
// span (api/metrics.ts) is not built at all, and the SDK, the OTLP exporter and Temporal's
// OpenTelemetry interceptors are never loaded: they are imported here, when tracing is set up
// (in an API process 277 modules and 3.4 MB of heap, which every full collection would mark again).
import * as otel from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

let current: Tracing | undefined;
let settingUp: Promise<Tracing | undefined> | undefined;

/** The process's tracing, when set up (the worker injects its workflow span sink from it). */
export const tracing = (): Tracing | undefined => current;

/**
 * Registers the global tracer provider (W3C trace context, AsyncLocalStorage context) exporting
 * to `endpoint` (OTLP/HTTP; "/v1/traces" appended when missing) or to `exporter` (synchronously,
 * for tests). Neither given: nothing is loaded or registered and undefined is returned.
 */
export function setupTracing(o: { serviceName: string; endpoint?: string; exporter?: SpanExporter }): Promise<Tracing | undefined> {
  if (!o.exporter && !o.endpoint) return tracingSetUp();
  // A failed set-up (an import, the exporter's options) is not remembered: the next call tries again.
  settingUp ??= register(o).catch((err: unknown) => {
    settingUp = undefined;
    throw err;
  });
  return settingUp;
}

/** The process's tracing once a set-up under way has finished (undefined when none was asked for). */
export const tracingSetUp = (): Promise<Tracing | undefined> => settingUp ?? Promise.resolve(undefined);

async function register(o: { serviceName: string; endpoint?: string; exporter?: SpanExporter }): Promise<Tracing> {
  const [{ BatchSpanProcessor, SimpleSpanProcessor }, { Resource }, { NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  let spanProcessor: SpanProcessor;
  if (o.exporter) spanProcessor = new SimpleSpanProcessor(o.exporter);
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const endpoint = o.endpoint!;
    const url = /\/v1\/traces\/?$/.test(endpoint) ? endpoint : `${endpoint.replace(/\/+$/, '')}/v1/traces`;
    spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  }
  const resource = new Resource({ 'service.name': o.serviceName });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  current = { resource, spanProcessor, shutdown: () => provider.shutdown() };
  return current;
}

/**
 * The Temporal client's workflow interceptors: with tracing set up, Temporal's OpenTelemetry one
 * (a StartWorkflow span under the caller's, its context sent in the workflow's headers); without,
 * none (with no tracer provider and no propagator registered it would only add an empty
 * `_tracer-data` header to every start, signal and update, which nothing reads).
 */
export async function workflowClientInterceptors(): Promise<WorkflowClientInterceptor[]> {
  if (!(await tracingSetUp())) return [];
  const { OpenTelemetryWorkflowClientInterceptor } = await import('@temporalio/interceptors-opentelemetry');
  return [new OpenTelemetryWorkflowClientInterceptor()];
}

export const tracer = (name: string): otel.Tracer => otel.trace.getTracer(name);
