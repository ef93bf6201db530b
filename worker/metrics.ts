// The worker's own small HTTP server (WORKER_METRICS_PORT, default 9464): GET /metrics is our
// registry (config/metrics.ts) followed by Temporal Core's metrics, which the Rust core serves
// on TEMPORAL_METRICS_PORT (Runtime telemetry, Prometheus exporter) and we append so one scrape
// target has both; GET /healthz answers 200 while the worker runs (Kubernetes liveness probe).
import http from 'node:http';
import { exposition } from '../config/metrics.js';
import { listen, sendMetrics } from '../config/small-http.js';

export interface WorkerMetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Text from Temporal Core's Prometheus endpoint (empty when it does not answer in 2 s). */
async function coreMetrics(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return res.ok ? await res.text() : '';
}

export async function startWorkerMetricsServer(o: { host: string; port: number; temporalCoreMetricsUrl?: string; healthy?: () => boolean }): Promise<WorkerMetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      const ok = o.healthy?.() ?? true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'stopping' }));
      return;
    }
    if (path === '/metrics') {
      const core = o.temporalCoreMetricsUrl;
      sendMetrics(res, exposition(core ? () => coreMetrics(core) : undefined));
      return;
    }
    res.writeHead(404).end();
  });
  return listen(server, o.port, o.host);
}
