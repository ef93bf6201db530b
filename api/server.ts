// build(): the API's servers around one Connect handler. The same handler answers gRPC,
// gRPC-web and Connect on two listeners: HTTP/2 cleartext (gRPC needs HTTP/2; buf curl uses
// --http2-prior-knowledge) and HTTP/1.1 (browsers, curl, Connect JSON). Plain /healthz
// (process alive) and /readyz (dependencies answer) serve probes; /metrics serves Prometheus
// (config/metrics.ts) on both listeners (scrape the HTTP/1.1 one).
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from 'pino';
import { DEFAULT_ADMISSION, gate, type AdmissionOptions, type Gate } from './admission.js';
import { interceptors } from './interceptors.js';
import { exposition, register, watchGate } from '../config/metrics.js';
import { routes, type RouteDeps } from './routes.js';

export interface BuildOptions extends RouteDeps {
  participant: string;
  log: Logger;
  /** Admission control (defaults: DEFAULT_ADMISSION). */
  admission?: Partial<AdmissionOptions>;
  /** Interval of the aggregate `rpc stats` info line; 0 or absent = never. */
  statsIntervalMs?: number;
}

export interface ApiServer {
  /** The admission gates, for stats. */
  gates: { rpc: Gate; lookupDb: Gate };
  listen(o: { host: string; httpPort: number; grpcPort: number }): Promise<{ httpUrl: string; grpcUrl: string }>;
  close(): Promise<void>;
}

export function build(o: BuildOptions): ApiServer {
  const probes = async (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return reply(200, { status: 'ok' });
    if (path === '/metrics') {
      const body = await exposition();
      res.writeHead(200, { 'content-type': register.contentType });
      return void res.end(body);
    }
    if (path === '/readyz') {
      const components = await o.health();
      const ok = components.every((c) => c.ok);
      return reply(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', components });
    }
    return reply(404, { error: 'not found' });
  };

  const adm = { ...DEFAULT_ADMISSION, ...o.admission };
  const gates = {
    rpc: gate('rpc', { maxInFlight: adm.maxInFlightRpcs, maxQueue: 0 }),
    lookupDb: o.lookupDbGate ?? gate('lookup-db', { maxInFlight: adm.lookupDbMaxInFlight, maxQueue: adm.lookupDbMaxQueue }),
  };
  watchGate('rpc', () => gates.rpc.stats());
  watchGate('lookup-db', () => gates.lookupDb.stats());
  const handler = connectNodeAdapter({
    routes: routes({ ...o, lookupDbGate: gates.lookupDb }),
    interceptors: interceptors({ participant: o.participant, log: o.log, rpcGate: gates.rpc, statsIntervalMs: o.statsIntervalMs }),
    fallback: (req, res) => void probes(req as http.IncomingMessage, res as http.ServerResponse),
  });

  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  // http2 servers only close once every session has; track them to end them on close().
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  // Keep-alive beyond common load balancers' idle timeouts.
  h1.keepAliveTimeout = 65_000;

  const listenOn = (server: http.Server | http2.Http2Server, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });

  return {
    gates,
    async listen({ host, httpPort, grpcPort }) {
      const [hp, gp] = await Promise.all([listenOn(h1, host, httpPort), listenOn(h2, host, grpcPort)]);
      const shown = host.includes(':') ? `[${host}]` : host;
      return { httpUrl: `http://${shown}:${hp}`, grpcUrl: `http://${shown}:${gp}` };
    },
    async close() {
      const closeOne = (s: http.Server | http2.Http2Server) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve();
          s.close(() => resolve());
          if (s instanceof http.Server) s.closeIdleConnections();
        });
      for (const session of sessions) session.close();
      const closing = Promise.all([closeOne(h1), closeOne(h2)]);
      // Give in-flight calls a moment, then cut what is left.
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        h1.closeAllConnections();
      }, 5_000);
      await closing;
      clearTimeout(timer);
    },
  };
}
