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
// 2. A request Connect cannot convert (no authority: HTTP/1.0 without Host, an empty :authority)
//    is answered 400 instead of throwing in the server's request listener, which ended the
//    process (found in review, 2026-12-06: one such request took down an API worker).
import type http from 'node:http';
import type http2 from 'node:http2';
import { Code, createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from '@connectrpc/connect';
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

export interface AdapterOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void;
  fallback: (req: NodeRequest, res: NodeResponse) => void;
  /** Per-call context values from the node request (as connectNodeAdapter's option). */
  contextValues?: (req: NodeRequest) => ContextValues;
}

/** connectNodeAdapter (connect-node 2.x) with bad binary bodies answered INVALID_ARGUMENT and unconvertible requests 400. */
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
    let uReq: UniversalServerRequest;
    try {
      const values = options.contextValues?.(req);
      uReq = universalRequestFromNodeRequest(req as http.IncomingMessage, res as http.ServerResponse, undefined, values);
    } catch {
      // No authority, or one that makes no URL (change 2 above).
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('bad request: no usable authority (Host)\n');
      return;
    }
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res as http.ServerResponse))
      .catch((reason: unknown) => {
        // connect-node's adapter logs it the same way; the call is already answered or gone.
        if ((reason as { code?: unknown })?.code === Code.Aborted) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}
