// connect-node's adapter (connectNodeAdapter), as ours, with two changes:
// 1. A request body that is not a valid protobuf message is the caller's fault: INVALID_ARGUMENT,
//    as connect-go answers it and as Connect-ES already answers a bad JSON body. Connect-ES 2.x
//    (through 2.2.0, protocol/serialization.js) answers a bad *binary* body with INTERNAL
//    ("parse binary: …"), and so it does a gRPC/gRPC-web envelope flagged compressed without a
//    grpc-encoding ("received compressed envelope, but do not know how to decompress"), which
//    monitoring counts as our failure and clients may retry forever. Found by the RPC fuzzer
//    (test/integration/fuzz.test.ts). Each universal handler is wrapped so that exactly that
//    answer becomes INVALID_ARGUMENT, in each protocol's own shape: Connect (HTTP status + JSON
//    error body), gRPC (grpc-status in the headers or trailers), gRPC-web (the trailer frame at the
//    end of the body).
// 2. An HTTP/2 request (gRPC's transport, every lookup) becomes Connect's universal request here
//    (requestFromHttp2) instead of in universalRequestFromNodeRequest, which aborts each call's
//    request signal when its stream closes, finished or not, with no reason: Node 20's
//    AbortController then builds a DOMException, capturing a stack, on every call. The profile
//    put Node's DOMException at 8 % of the API's CPU at saturation, the bare Connect server's at
//    10 % (bench/RESULTS.md, "LookupKey, 2026-12-06 16:07"); this was one of its three per call
//    (Connect's handler context makes the other two, out of our reach). Here the signal is
//    aborted just the same, with the same reasons for a reset stream, and otherwise with one
//    AbortError made once. The body is the request stream itself (what connect-node's per-call
//    async generator yields from). HTTP/1.1 requests go through connect-node's function.
import type http from 'node:http';
import type http2 from 'node:http2';
import { constants as h2 } from 'node:http2';
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerRequest } from '@connectrpc/connect/protocol';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse, compressionBrotli, compressionGzip } from '@connectrpc/connect-node';

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Connect-ES's INTERNAL answers that describe the caller's bytes, not our failure. */
const CLIENT_FAULTS = ['parse binary:', 'received compressed envelope, but do not know how to decompress'];
const clientFault = (message: string): boolean => CLIENT_FAULTS.some((p) => message.startsWith(p));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** grpc-status INTERNAL with a "parse binary:" message, in headers or trailers → INVALID_ARGUMENT. */
function fixGrpcHeaders(h: Headers | undefined): void {
  if (!h) return;
  if (h.get('grpc-status') === String(Code.Internal) && clientFault(decodeURIComponent(h.get('grpc-message') ?? ''))) {
    h.set('grpc-status', String(Code.InvalidArgument));
  }
}

/** A gRPC-web trailer frame (flag 0x80) saying INTERNAL "parse binary: …" → INVALID_ARGUMENT. */
function fixGrpcWebChunk(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || (chunk[0]! & 0x80) === 0) return chunk;
  const text = decoder.decode(chunk.subarray(5));
  const m = /grpc-message:\s*([^\r\n]*)/i.exec(text);
  if (!new RegExp(`grpc-status:\\s*${Code.Internal}\\r?\\n`, 'i').test(`${text}\n`) || !m || !clientFault(decodeURIComponent(m[1]!))) return chunk;
  const fixed = encoder.encode(text.replace(/grpc-status:\s*\d+/i, `grpc-status: ${Code.InvalidArgument}`));
  const out = new Uint8Array(5 + fixed.length);
  out[0] = chunk[0]!;
  new DataView(out.buffer).setUint32(1, fixed.length);
  out.set(fixed, 5);
  return out;
}

/**
 * The body's chunks passed through `map`, then `done` once it has ended: a plain async iterator
 * (no generator layers: this sits on every call's response path).
 */
function mapBody(body: AsyncIterable<Uint8Array>, map: (c: Uint8Array) => Uint8Array, done?: () => void): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const it = body[Symbol.asyncIterator]();
      return {
        next() {
          return it.next().then((r) => {
            if (r.done) done?.();
            else r.value = map(r.value);
            return r;
          });
        },
        async return(value?: unknown) {
          return (await it.return?.(value)) ?? { done: true, value: undefined };
        },
        async throw(err?: unknown) {
          if (it.throw) return it.throw(err);
          throw err;
        },
      };
    },
  };
}
const same = (c: Uint8Array) => c;

function wrap(handler: UniversalHandler): UniversalHandler {
  const wrapped = (async (req) => {
    const res = await handler(req);
    const type = res.header?.get('content-type') ?? '';
    if (type.startsWith('application/grpc-web')) {
      fixGrpcHeaders(res.header);
      if (res.body) res.body = mapBody(res.body, fixGrpcWebChunk);
      return res;
    }
    if (type.startsWith('application/grpc')) {
      fixGrpcHeaders(res.header);
      // Trailers are filled in while the body is produced: fix them once it has been.
      if (res.body) {
        const trailer = res.trailer;
        res.body = mapBody(res.body, same, () => fixGrpcHeaders(trailer));
      } else fixGrpcHeaders(res.trailer);
      return res;
    }
    // Connect unary: an error is an HTTP status and a small JSON body.
    if (res.status === 500 && res.body && type.startsWith('application/json')) {
      const chunks: Uint8Array[] = [];
      for await (const c of res.body) chunks.push(c);
      const bytes = Buffer.concat(chunks);
      let out: Uint8Array = bytes;
      try {
        const e = JSON.parse(bytes.toString('utf8')) as { code?: string; message?: string };
        if (e.code === 'internal' && typeof e.message === 'string' && clientFault(e.message)) {
          out = encoder.encode(JSON.stringify({ ...e, code: 'invalid_argument' }));
          res.status = 400;
          res.header?.set('content-length', String(out.length));
        }
      } catch {
        // not a Connect error body: leave it
      }
      res.body = (async function* () {
        yield out;
      })();
    }
    return res;
  }) as UniversalHandler;
  return Object.assign(wrapped, { method: handler.method, service: handler.service, requestPath: handler.requestPath, protocolNames: handler.protocolNames, allowedMethods: handler.allowedMethods, supportedContentType: handler.supportedContentType });
}

/** What a reset stream's code tells the handler, as connect-node says it (node-error.js, connectErrorFromH2ResetCode). */
const RESET_CODES: ReadonlyMap<number, Code> = new Map([
  [h2.NGHTTP2_PROTOCOL_ERROR, Code.Internal],
  [h2.NGHTTP2_INTERNAL_ERROR, Code.Internal],
  [h2.NGHTTP2_FLOW_CONTROL_ERROR, Code.Internal],
  [h2.NGHTTP2_SETTINGS_TIMEOUT, Code.Internal],
  [h2.NGHTTP2_FRAME_SIZE_ERROR, Code.Internal],
  [h2.NGHTTP2_COMPRESSION_ERROR, Code.Internal],
  [h2.NGHTTP2_CONNECT_ERROR, Code.Internal],
  [h2.NGHTTP2_REFUSED_STREAM, Code.Unavailable],
  [h2.NGHTTP2_CANCEL, Code.Canceled],
  [h2.NGHTTP2_ENHANCE_YOUR_CALM, Code.ResourceExhausted],
  [h2.NGHTTP2_INADEQUATE_SECURITY, Code.PermissionDenied],
  [h2.NGHTTP2_HTTP_1_1_REQUIRED, Code.PermissionDenied],
]);
const RESET_NAMES = new Map(Object.entries(h2).filter(([k]) => /^NGHTTP2_[A-Z_0-9]+$/.test(k)).map(([k, v]) => [v as number, k.slice('NGHTTP2_'.length)]));

/** A reset stream's error for the handler, or undefined for a stream that closed without one. */
export function resetError(rstCode: number): ConnectError | undefined {
  const code = RESET_CODES.get(rstCode);
  return code === undefined ? undefined : new ConnectError(`http/2 stream closed with error code ${RESET_NAMES.get(rstCode) ?? rstCode} (0x${rstCode.toString(16)})`, code);
}

/** The reason of a request signal whose stream closed without an error code (made once: see the top of this file). */
const STREAM_CLOSED = Object.freeze(new DOMException('This operation was aborted', 'AbortError'));

/** A node header object as fetch Headers, HTTP/2 pseudo-headers left out (as connect-node's nodeHeaderToWebHeader). */
function webHeaders(node: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const k in node) {
    if (k.charCodeAt(0) === 58 /* ':' */) continue;
    const v = node[k];
    if (v === undefined) continue;
    if (typeof v === 'string') out.append(k, v);
    else for (const e of v) out.append(k, e);
  }
  return out;
}

/** Connect's universal request for an HTTP/2 request (universalRequestFromNodeRequest's, but see the top of this file). */
export function requestFromHttp2(req: http2.Http2ServerRequest, contextValues?: ContextValues): UniversalServerRequest {
  const authority = req.authority;
  if (!authority) throw new ConnectError('unable to determine request authority from Node.js server request', Code.Internal);
  const abort = new AbortController();
  req.once('close', () => abort.abort(resetError(req.stream.rstCode) ?? STREAM_CLOSED));
  const tls = 'encrypted' in req.socket && req.socket.encrypted;
  return {
    httpVersion: req.httpVersion,
    method: req.method,
    url: new URL(req.url, `${tls ? 'https' : 'http'}://${authority}`).toString(),
    header: webHeaders(req.headers),
    body: req as AsyncIterable<Uint8Array>,
    signal: abort.signal,
    contextValues,
  };
}

export interface AdapterOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void;
  fallback: (req: NodeRequest, res: NodeResponse) => void;
  /** Per-call context values from the node request (as connectNodeAdapter's option). */
  contextValues?: (req: NodeRequest) => ContextValues;
}

/** connectNodeAdapter (connect-node 2.x) with bad binary bodies answered INVALID_ARGUMENT and HTTP/2 requests converted here. */
export function connectAdapter(options: AdapterOptions): (req: NodeRequest, res: NodeResponse) => void {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, wrap(h));
  return (req, res) => {
    const handler = paths.get(req.url?.split('?', 2)[0] ?? '');
    if (!handler) {
      options.fallback(req, res);
      return;
    }
    const values = options.contextValues?.(req);
    const uReq = 'stream' in req ? requestFromHttp2(req, values) : universalRequestFromNodeRequest(req, res as http.ServerResponse, undefined, values);
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res as http.ServerResponse))
      .catch((reason: unknown) => {
        // connect-node's adapter logs it the same way; the call is already answered or gone.
        if ((reason as { code?: unknown })?.code === Code.Aborted) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}
