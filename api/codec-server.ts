// The codec server: Temporal's remote codec protocol on the API's HTTP/1.1 listener, so the
// Temporal Web UI (and `temporal --codec-endpoint`) show operators workflow data that is
// encrypted at rest (config/payload-codec.ts).
//   POST /codec/encode   {"payloads": [...]} → {"payloads": [...]}   (proto3 JSON payloads)
//   POST /codec/decode   same shape
// X-Namespace, when sent, must name our namespace. CORS for the Web UI's origin(s) (preflights
// answered, credentials allowed); bodies over `maxBodyBytes` are refused with 413 before they are
// read; at most `maxInFlight` calls are read and decoded at once, `maxQueue` more wait, and the
// rest are refused with 503 and Retry-After (so memory stays under (in flight + queued) × the cap).
// Who may call is decided by `authorize`, a small injectable function: codecAuthorizer below
// accepts an operator's Bearer JWT (the API's verifier + requireOperator), and, for the dev
// stack only, callers on the loopback interface (the UI's browser on the same machine cannot
// send a token: the dev UI has no login).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Code, ConnectError } from '@connectrpc/connect';
import type { PayloadCodec } from '@temporalio/common';
import type { Logger } from 'pino';
import { PayloadCodecError, payloadFromJson, payloadToJson, type JsonPayload } from '../config/payload-codec.js';
import type { VerifyBearer } from './auth.js';
import { gate } from './admission.js';
import { requireOperator } from './authorization.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

export const CODEC_PATH_PREFIX = '/codec/';
/** Default body cap: the Web UI decodes a page of history at a time, well under this. */
export const DEFAULT_CODEC_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A refused codec call: HTTP status (401, 403) and why. */
export class CodecRefusal extends Error {
  override readonly name = 'CodecRefusal';
  constructor(
    readonly status: 401 | 403 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** Decides whether a request may use the codec: resolves, or throws a CodecRefusal. */
export type AuthorizeCodec = (req: Req) => Promise<void>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
/** The names a loopback caller reaches us by; any other Host is a page that rebound its DNS name to 127.0.0.1. */
const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;
/** A request relayed by a proxy on this host is not a loopback caller. */
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'via'] as const;

/**
 * The default seam: an operator's Bearer JWT; with `allowLoopback` (dev: CODEC_ALLOW_LOOPBACK),
 * also any caller on the loopback interface that sends no token, was not forwarded by a proxy and
 * names us by a loopback Host (localhost, 127.x.x.x, [::1]).
 */
export function codecAuthorizer(o: { verifyBearer: VerifyBearer; allowLoopback?: boolean }): AuthorizeCodec {
  return async (req) => {
    const authorization = req.headers.authorization;
    if (!authorization) {
      const peer = req.socket?.remoteAddress ?? '';
      const proxied = PROXY_HEADERS.some((h) => req.headers[h] !== undefined);
      // DNS rebinding: a web page whose name now resolves to 127.0.0.1 sends its own name as Host.
      const host = req.headers.host ?? '';
      if (o.allowLoopback && LOOPBACK.test(peer) && !proxied && LOOPBACK_HOST.test(host)) return;
      throw new CodecRefusal(401, 'the codec needs an operator\'s Authorization: Bearer token');
    }
    try {
      requireOperator(await o.verifyBearer(authorization), 'the codec endpoint');
    } catch (err) {
      // The IdP's keys unreachable is no bad token: 503, retry (api/auth.ts).
      if (err instanceof ConnectError) throw new CodecRefusal(err.code === Code.PermissionDenied ? 403 : err.code === Code.Unavailable ? 503 : 401, err.rawMessage);
      throw err;
    }
  };
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The Temporal namespace this codec serves (X-Namespace must match). */
  namespace: string;
  authorize: AuthorizeCodec;
  /** Origins of the Web UI allowed to call from a browser ("*" = any); empty = none. */
  corsOrigins?: string[];
  maxBodyBytes?: number;
  /** Calls read and decoded at once (default 8) and waiting for a turn (default 32); beyond, 503. */
  maxInFlight?: number;
  maxQueue?: number;
  /** A body not received within this long is answered 408 and frees its turn (default CODEC_READ_TIMEOUT_MS). */
  readTimeoutMs?: number;
  log?: Logger;
}

export const DEFAULT_CODEC_MAX_IN_FLIGHT = 8;
export const DEFAULT_CODEC_MAX_QUEUE = 32;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A body not received within this long frees its turn (408): slow senders cannot hold the gate. */
export const CODEC_READ_TIMEOUT_MS = 10_000;

/** Reads the body up to `max` bytes within `timeoutMs`; over it, 413 (the rest is not read); too slow, 408. */
function readBody(req: Req, max: number, timeoutMs = CODEC_READ_TIMEOUT_MS): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new HttpError(413, `body over ${max} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      req.pause();
      reject(new HttpError(408, `body not received within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    req.once('close', () => clearTimeout(timer));
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        req.pause();
        reject(new HttpError(413, `body over ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      clearTimeout(timer);
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err: Error) => {
      if (!done) reject(err);
    });
  });
}

/** The codec endpoints' handler: answers (and returns true) for /codec/* paths, false for any other. */
export function codecHandler(o: CodecServerOptions): (req: Req, res: Res) => boolean {
  const origins = o.corsOrigins ?? [];
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  const max = o.maxBodyBytes ?? DEFAULT_CODEC_MAX_BODY_BYTES;
  const turns = gate('codec', { maxInFlight: o.maxInFlight ?? DEFAULT_CODEC_MAX_IN_FLIGHT, maxQueue: o.maxQueue ?? DEFAULT_CODEC_MAX_QUEUE });

  const reply = (res: Res, status: number, body: unknown, extra: Record<string, string> = {}) => {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify(body));
  };

  const serve = async (req: Req, res: Res, op: 'encode' | 'decode') => {
    try {
      if (req.method !== 'POST') throw new HttpError(405, 'POST only');
      await o.authorize(req);
      const ns = req.headers['x-namespace'];
      if (ns !== undefined && ns !== o.namespace) throw new HttpError(403, `this codec serves namespace ${o.namespace}`);
      await turns.run(() => work(req, res, op)).catch((err: unknown) => {
        if (err instanceof ConnectError && err.code === Code.ResourceExhausted) throw new HttpError(503, 'codec busy: retry later');
        throw err;
      });
    } catch (err) {
      fail(req, res, err);
    }
  };

  /** Reads, decodes or encodes, answers: inside a turn of the gate. */
  const work = async (req: Req, res: Res, op: 'encode' | 'decode') => {
    const raw = await readBody(req, max, o.readTimeoutMs);
    let body: { payloads?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8')) as { payloads?: unknown };
    } catch {
      throw new HttpError(400, 'body is not JSON');
    }
    // proto3 JSON omits an empty repeated field: the temporal CLI sends `{}` for a query without arguments.
    if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some((k) => k !== 'payloads') || (body.payloads !== undefined && !Array.isArray(body.payloads))) {
      throw new HttpError(400, 'body must be {"payloads": [...]}');
    }
    const payloads = ((body.payloads ?? []) as JsonPayload[]).map(payloadFromJson);
    const out = op === 'encode' ? await o.codec.encode(payloads) : await o.codec.decode(payloads);
    reply(res, 200, { payloads: out.map(payloadToJson) });
  };

  const fail = (req: Req, res: Res, err: unknown) => {
    if (err instanceof CodecRefusal) {
      o.log?.debug({ status: err.status, why: err.message, path: req.url }, 'codec call refused');
      return reply(res, err.status, { error: err.message }, err.status === 401 ? { 'www-authenticate': 'Bearer' } : err.status === 503 ? { 'retry-after': '1' } : {});
    }
    if (err instanceof HttpError) {
      // Over the cap: answer and close, without reading the rest.
      return reply(res, err.status, { error: err.message }, err.status === 413 || err.status === 408 ? { connection: 'close' } : err.status === 503 ? { 'retry-after': '1', connection: 'close' } : {});
    }
    if (err instanceof PayloadCodecError) return reply(res, 400, { error: err.message });
    o.log?.error({ err: err instanceof Error ? err.message : String(err) }, 'codec call failed');
    reply(res, 500, { error: 'internal error' });
  };

  return (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (!path.startsWith(CODEC_PATH_PREFIX)) return false;
    const origin = req.headers.origin;
    const ok = typeof origin === 'string' && (anyOrigin || allowed.has(origin));
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      if (!ok) {
        res.writeHead(403);
        res.end();
        return true;
      }
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Max-Age', '7200');
      res.writeHead(204);
      res.end();
      return true;
    }
    const op = path.slice(CODEC_PATH_PREFIX.length);
    if (op !== 'encode' && op !== 'decode') {
      reply(res, 404, { error: 'not found' });
      return true;
    }
    void serve(req, res, op);
    return true;
  };
}
