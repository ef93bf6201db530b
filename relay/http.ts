// The relay's small HTTP server (RELAY_HTTP_PORT, default 9466), for Kubernetes and Prometheus:
// GET /healthz answers 200 while the process runs (liveness); GET /readyz answers 200 only while
// Postgres answers and the NATS connection is up (readiness: the relay can move events), 503
// with the failing components otherwise; GET /metrics is the process's registry
// (config/metrics.ts: published and pruned rows, outbox lag and backlog, Node process metrics).
import http from 'node:http';
import { register } from '../config/metrics.js';
import { listen, sendMetrics } from '../config/small-http.js';

export interface RelayHttpServer {
  url: string;
  close(): Promise<void>;
}

export interface RelayProbes {
  /** Postgres answers a trivial query. */
  database(): Promise<boolean>;
  /** The NATS connection is established (not connecting, reconnecting or closed). */
  nats(): boolean;
}

export async function startRelayHttpServer(o: { host: string; port: number; probes: RelayProbes }): Promise<RelayHttpServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path === '/healthz') return void json(200, { status: 'ok' });
    if (path === '/readyz') {
      void o.probes.database().catch(() => false).then((db) => {
        const components = [{ name: 'postgres', ok: db }, { name: 'nats', ok: o.probes.nats() }];
        const ok = components.every((c) => c.ok);
        json(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', components });
      });
      return;
    }
    if (path === '/metrics') {
      sendMetrics(res, register.metrics());
      return;
    }
    res.writeHead(404).end();
  });
  return listen(server, o.port, o.host);
}
