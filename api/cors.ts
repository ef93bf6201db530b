// CORS for browsers on another origin (Connect and gRPC-web from @connectrpc/connect-web), on the
// API_PORT listener: allowed origins answer preflights and get the Connect protocols' methods and
// headers (Connect's `cors` constants) plus ours (x-request-id, authorization);
// requests from other origins get no CORS headers, so browsers withhold the answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { cors } from '@connectrpc/connect';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;
type Handler = (req: Req, res: Res) => void;

const ALLOW_HEADERS = [...cors.allowedHeaders, 'Authorization', 'X-Request-Id'].join(', ');
const EXPOSE_HEADERS = [...cors.exposedHeaders, 'X-Request-Id', 'Trailer-X-Request-Id'].join(', ');
const ALLOW_METHODS = cors.allowedMethods.join(', ');

/** "https://a.example,https://b.example" or "*"; empty = CORS off. */
export function parseOrigins(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
}

export function withCors(handler: Handler, origins: string[]): Handler {
  if (!origins.length) return handler;
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req, res) => {
    const origin = req.headers.origin;
    const ok = typeof origin === 'string' && (any || allowed.has(origin));
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      if (!ok) {
        res.writeHead(403);
        res.end();
        return;
      }
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '7200');
      res.writeHead(204);
      res.end();
      return;
    }
    if (ok) res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    handler(req, res);
  };
}
