// build(): the API's servers around one Connect handler. The same handler answers gRPC,
// gRPC-web and Connect on two listeners: HTTP/2 cleartext (gRPC needs HTTP/2; buf curl uses
// --http2-prior-knowledge) and HTTP/1.1 (browsers, with CORS for `corsOrigins`; curl, Connect JSON). With `tls` both
// listeners are instead HTTPS servers offering h2 and http/1.1 by ALPN. Plain /healthz (process
// alive) and /readyz (dependencies answer; 503 once draining) serve probes. Request bodies are
// capped at `readMaxBytes` (larger ones are refused before they are read). close() drains:
// not ready at once, no new connections, in-flight calls get `graceMs` to finish.
// /metrics is not served here: api/metrics-server.ts serves it on API_METRICS_PORT, off the public
// listeners (anyone who reaches the API would otherwise read its internals).
// With `codec`, the first listener also serves Temporal's remote codec protocol at /codec/
// (codec-server.ts).
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { codecHandler, type CodecServerOptions } from './codec-server.js';
import { withCors } from './cors.js';
import { DEFAULT_ADMISSION, gate, slots, type AdmissionOptions, type Gate } from './admission.js';
import type { VerifyBearer } from './auth.js';
import { interceptors, type InterceptorOptions } from './interceptors.js';
import { rateLimited, watchGate } from '../config/metrics.js';
import { connectAdapter } from './node-adapter.js';
import { reflectionRoutes } from './reflection.js';
import { nodeContextValues } from './request-context.js';
import { routes, type RouteDeps } from './routes.js';
import { publicHealth } from './health.js';

/** Largest request message by default (every request of ours is well under 2 KiB). */
export const DEFAULT_READ_MAX_BYTES = 16_384;

export interface BuildOptions extends RouteDeps {
  participant: string;
  /** Verifies each call's `Authorization: Bearer` token (api/auth.ts createVerifier). */
  verifyBearer: VerifyBearer;
  log: Logger;
  /** Admission control (defaults: DEFAULT_ADMISSION). */
  admission?: Partial<AdmissionOptions>;
  /** Interval of the aggregate `rpc stats` info line; 0 or absent = never. */
  statsIntervalMs?: number;
  /** Largest request message accepted, in bytes (default DEFAULT_READ_MAX_BYTES). */
  readMaxBytes?: number;
  /** Per-client rate limiter (rate-limit.ts); absent = none. */
  rateLimiter?: InterceptorOptions['rateLimiter'];
  /** Per-peer limit of failed authentications (rate-limit.ts authFailureLimit); absent = none. */
  authFailureLimit?: InterceptorOptions['authFailureLimit'];
  /** Proxies of ours in front that append X-Forwarded-For; 0 = the socket's peer is the caller. */
  trustProxyHops?: number;
  /** Serve HTTPS (ALPN h2 + http/1.1) with this key pair on both listeners. */
  tls?: { certPem: string; keyPem: string };
  /** Serve grpc.reflection v1 and v1alpha (default true). */
  reflection?: boolean;
  /** Origins allowed to call from browsers on the API_PORT listener ("*" = any); empty = no CORS. */
  corsOrigins?: string[];
  /** Serve the codec endpoints (/codec/encode, /codec/decode) on the API_PORT listener. */
  codec?: CodecServerOptions;
}

export interface ApiServer {
  /** The admission gates, for stats. */
  gates: { rpc: Gate; lookupDb: Gate };
  listen(o: { host: string; httpPort: number; grpcPort: number }): Promise<{ httpUrl: string; grpcUrl: string }>;
  /**
   * Drain: /readyz 503 at once; for delayMs (default 0) keep serving so load balancers see it and
   * stop sending; then stop accepting, give in-flight calls up to graceMs (default 5 s), then cut.
   */
  close(o?: { graceMs?: number; delayMs?: number }): Promise<void>;
}

type AnyServer = http.Server | http2.Http2Server | http2.Http2SecureServer;

export function build(o: BuildOptions): ApiServer {
  let draining = false;
  const probes = async (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return reply(200, { status: 'ok' });
    if (path === '/readyz') {
      if (draining) return reply(503, { status: 'draining', components: [] });
      const components = await o.health();
      const ok = components.every((c) => c.ok);
      // Anonymous: up/down per component only (details, e.g. error texts, are for operators and the log).
      return reply(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', components: publicHealth(components) });
    }
    return reply(404, { error: 'not found' });
  };

  const adm = { ...DEFAULT_ADMISSION, ...o.admission };
  const gates = {
    rpc: slots('rpc', adm.maxInFlightRpcs),
    lookupDb: o.lookupDbGate ?? gate('lookup-db', { maxInFlight: adm.lookupDbMaxInFlight, maxQueue: adm.lookupDbMaxQueue }),
  };
  watchGate('rpc', () => gates.rpc.stats());
  watchGate('lookup-db', () => gates.lookupDb.stats());
  const serviceRoutes = routes({ ...o, lookupDbGate: gates.lookupDb });
  const handler = connectAdapter({
    routes: (router) => {
      serviceRoutes(router);
      if (o.reflection !== false) reflectionRoutes(router);
    },
    interceptors: interceptors({ verifyBearer: o.verifyBearer, log: o.log, rpcGate: gates.rpc, rateLimiter: o.rateLimiter, authFailureLimit: o.authFailureLimit, onRateLimited: (limit) => rateLimited.inc({ limit }), statsIntervalMs: o.statsIntervalMs }),
    readMaxBytes: o.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
    contextValues: nodeContextValues({
      trustProxyHops: o.trustProxyHops,
      onIgnoredForwardedFor: (peer) =>
        o.log.warn({ peer }, 'a call carries X-Forwarded-For but API_TRUST_PROXY_HOPS is 0: callers are told apart by the socket address; behind an ingress or load balancer every caller is then that proxy, sharing one rate-limit and failed-authentication budget (set API_TRUST_PROXY_HOPS to the number of proxies; reported once)'),
    }),
    fallback: (req, res) => void probes(req as http.IncomingMessage, res as http.ServerResponse),
  });

  // Browsers come to the first listener (HTTP/1.1, or h2/http1.1 with TLS): CORS there.
  const withoutCodec = withCors(handler as Parameters<typeof withCors>[0], o.corsOrigins ?? []);
  const codec = o.codec ? codecHandler(o.codec) : undefined;
  const browserHandler: typeof withoutCodec = codec ? (req, res) => void (codec(req, res) || withoutCodec(req, res)) : withoutCodec;
  const servers: AnyServer[] = o.tls
    ? [browserHandler, handler].map((h) => http2.createSecureServer({ cert: o.tls!.certPem, key: o.tls!.keyPem, allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'] }, h))
    : [http.createServer(browserHandler), http2.createServer(handler)];
  // http2 servers only close once every session has; track sessions and sockets to end them.
  const sessions = new Set<http2.Http2Session>();
  const sockets = new Set<Socket>();
  for (const s of servers) {
    s.on('session', (session: http2.Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    s.on(o.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    // Keep-alive beyond common load balancers' idle timeouts.
    if (s instanceof http.Server) s.keepAliveTimeout = 65_000;
  }

  const listenOn = (server: AnyServer, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });

  return {
    gates,
    async listen({ host, httpPort, grpcPort }) {
      const [hp, gp] = await Promise.all([listenOn(servers[0]!, host, httpPort), listenOn(servers[1]!, host, grpcPort)]);
      const shown = host.includes(':') ? `[${host}]` : host;
      const scheme = o.tls ? 'https' : 'http';
      return { httpUrl: `${scheme}://${shown}:${hp}`, grpcUrl: `${scheme}://${shown}:${gp}` };
    },
    async close({ graceMs = 5_000, delayMs = 0 } = {}) {
      draining = true;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const closeOne = (s: AnyServer) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve();
          s.close(() => resolve());
        });
      // GOAWAY: h2 clients open no new streams here; running streams finish.
      for (const session of sessions) session.close();
      const closing = Promise.all(servers.map(closeOne));
      // HTTP/1.1 connections end as soon as they are idle (between calls).
      const idle = () => {
        for (const s of servers) if (s instanceof http.Server) s.closeIdleConnections();
      };
      idle();
      const idler = setInterval(idle, 50);
      // In-flight calls get graceMs; then whatever is left is cut.
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        for (const s of servers) if (s instanceof http.Server) s.closeAllConnections();
      }, graceMs);
      await closing;
      clearTimeout(timer);
      clearInterval(idler);
    },
  };
}
