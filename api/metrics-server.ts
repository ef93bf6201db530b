// The API's Prometheus endpoint on a listener of its own (API_METRICS_HOST:API_METRICS_PORT,
// default 9465), apart from the public Connect/gRPC listeners: the metrics name every RPC, its
// error codes and the process's internals, which only the monitoring system should read
// (deploy/k8s/networkpolicy.yaml lets only the monitoring namespace reach this port). GET /metrics
// is the process's registry, or, in a node:cluster primary (API_WORKERS > 1), every worker's
// aggregated (config/metrics.ts clusterExposition); GET /healthz answers 200.
import http from 'node:http';
import { exposition } from '../config/metrics.js';
import { listen, sendMetrics } from '../config/small-http.js';

export interface ApiMetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startApiMetricsServer(o: { host: string; port: number; text?: () => Promise<string> }): Promise<ApiMetricsServer> {
  const text = o.text ?? (() => exposition());
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (path === '/metrics') {
      sendMetrics(res, text());
      return;
    }
    res.writeHead(404).end();
  });
  return listen(server, o.port, o.host);
}
