// Per-call context that every later step and log line relies on: the request id (a caller's
// `x-request-id`, when well-formed, else one we make) echoed in the response headers and
// trailers, the caller's network address (for rate limiting callers without an end user), and
// recovery: whatever a handler throws that is not a ConnectError becomes Internal with a safe
// message naming the request id — the stack and the error's text stay in our log, once. The RPC
// chain that applies them is api/interceptors.ts; the Step type of its checks is here.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { Code, ConnectError, createContextKey, createContextValues, type ContextValues, type Interceptor } from '@connectrpc/connect';
import type { Logger } from 'pino';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable, no spaces, at most 128 characters: safe to log and to echo. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export const requestIdKey = createContextKey<string>('', { description: 'request id' });
export const peerKey = createContextKey<string>('', { description: 'peer address' });

/** The caller's request id when well-formed, else a new one. */
export const acceptRequestId = (given: string | null | undefined): string => (given && REQUEST_ID.test(given) ? given : randomUUID());

/**
 * The caller's address: the socket's peer, or — behind `trustProxyHops` proxies of ours that each
 * append the address they saw to X-Forwarded-For — the entry the outermost of them appended
 * (the `trustProxyHops`-th from the right). Entries further left were written by the client and
 * are never trusted; with fewer entries than hops the socket's peer is used.
 */
export function peerAddress(req: IncomingMessage | Http2ServerRequest, trustProxyHops = 0): string {
  const socket = req.socket?.remoteAddress ?? '';
  if (trustProxyHops <= 0) return socket;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => h.trim()).filter(Boolean);
  return hops.length >= trustProxyHops ? hops[hops.length - trustProxyHops]! : socket;
}

/**
 * connectNodeAdapter's contextValues: the peer address (see peerAddress). With no proxy
 * configured, the first call that carries X-Forwarded-For is reported once (`onIgnoredForwardedFor`):
 * behind an ingress left at API_TRUST_PROXY_HOPS=0 every caller is the ingress, and the per-peer
 * limits would count them all as one.
 */
export function nodeContextValues(o: { trustProxyHops?: number; onIgnoredForwardedFor?: (socketPeer: string) => void } = {}): (req: IncomingMessage | Http2ServerRequest) => ContextValues {
  let reported = !o.onIgnoredForwardedFor || (o.trustProxyHops ?? 0) > 0;
  return (req) => {
    const values = createContextValues();
    const peer = peerAddress(req, o.trustProxyHops);
    values.set(peerKey, peer);
    if (!reported && req.headers['x-forwarded-for'] !== undefined) {
      reported = true;
      o.onIgnoredForwardedFor!(peer);
    }
    return values;
  };
}

const rpcNames = new WeakMap<object, string>();
/** "package.Service/Method", as logs and metrics name a call: built once per method. */
export function rpcName(req: { service: { typeName: string }; method: { name: string } }): string {
  let name = rpcNames.get(req.method);
  if (name === undefined) rpcNames.set(req.method, (name = `${req.service.typeName}/${req.method.name}`));
  return name;
}

/** A call as interceptors see it (unary or streaming). */
export type CallRequest = Parameters<Parameters<Interceptor>[0]>[0];

/**
 * One check of the RPC chain before the handler (api/interceptors.ts): returns when the call may
 * go on, or a promise when the check has to wait for something (a token to verify, Redis); a
 * refusal throws (or rejects with) a ConnectError. Checks that can decide at once do, so a call
 * that passes them all costs no promise of theirs.
 */
export type Step = (req: CallRequest) => void | Promise<void>;

/** A successful call's answer names its request id in the headers and the trailers. */
export function echoRequestId(res: { header: Headers; trailer: Headers }, id: string): void {
  res.header.set(REQUEST_ID_HEADER, id);
  res.trailer.set(REQUEST_ID_HEADER, id);
}

/**
 * Recovery: a ConnectError passes as is (it was made for the client); anything else is a bug or
 * an unexpected failure of a dependency, logged here once with the request id and answered as
 * Internal without its text.
 */
export function recovery(log: Logger): { safe(req: CallRequest, err: unknown): ConnectError; stream<R extends { stream: boolean; message: unknown }>(req: CallRequest, res: R): R } {
  const safe = (req: CallRequest, err: unknown): ConnectError => {
    if (err instanceof ConnectError) return err;
    // A call the client abandoned is theirs to know about, not a failure of ours.
    if (req.signal.aborted) return ConnectError.from(err, Code.Canceled);
    const requestId = req.contextValues.get(requestIdKey);
    log.error({ requestId, rpc: rpcName(req), err }, 'rpc failed unexpectedly');
    return new ConnectError(`internal error; request id ${requestId}`, Code.Internal);
  };
  return {
    safe,
    /** A streaming answer can still fail while its messages are produced: those failures recovered too. */
    stream(req, res) {
      if (!res.stream) return res;
      const messages = res.message as AsyncIterable<unknown>;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
          } catch (err) {
            throw safe(req, err);
          }
        })(),
      };
    },
  };
}
