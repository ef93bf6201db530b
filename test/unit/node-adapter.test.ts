// The API's own HTTP/2 request conversion (api/node-adapter.ts requestFromHttp2) against
// connect-node's universalRequestFromNodeRequest, on the same requests over a real HTTP/2
// connection: the same method, URL, headers and body bytes, a signal that aborts when the stream
// closes (a finished call with an AbortError, a call the client reset with connect-node's error
// for that code), and every reset code mapped as connect-node maps it. And the adapter answers a
// request without an authority 400 instead of throwing in the server's request listener.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { Code, ConnectError, createContextValues } from '@connectrpc/connect';
import type { UniversalServerRequest } from '@connectrpc/connect/protocol';
import { universalRequestFromNodeRequest } from '@connectrpc/connect-node';
import { connectAdapter, requestFromHttp2, resetError } from '../../api/node-adapter.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';

interface Seen {
  ours: UniversalServerRequest;
  theirs: UniversalServerRequest;
  res: http2.Http2ServerResponse;
}

/** An HTTP/2 server that converts each request both ways and hands them to the test. */
async function server() {
  const seen: Seen[] = [];
  const waiting: ((s: Seen) => void)[] = [];
  const srv = http2.createServer((req, res) => {
    const values = createContextValues();
    const s = { ours: requestFromHttp2(req, values), theirs: universalRequestFromNodeRequest(req, res, undefined, values), res };
    const w = waiting.shift();
    if (w) w(s);
    else seen.push(s);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const next = () => new Promise<Seen>((resolve) => (seen.length ? resolve(seen.shift()!) : waiting.push(resolve)));
  const client = http2.connect(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
  return { next, client, close: () => new Promise<void>((r) => (client.close(), srv.close(() => r()))) };
}

const bytes = async (body: UniversalServerRequest['body']) => {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
};
/** A Headers' entries in order (this project's TS lib has no iterable Headers). */
const entries = (h: Headers) => {
  const out: [string, string][] = [];
  h.forEach((v, k) => out.push([k, v]));
  return out;
};
const aborted = (signal: AbortSignal) => (signal.aborted ? Promise.resolve() : once(signal, 'abort').then(() => undefined));

test('an HTTP/2 request: the same request as connect-node makes, and a signal aborted with an AbortError once the stream closes', async () => {
  const s = await server();
  try {
    const call = s.client.request({ ':method': 'POST', ':path': '/dict.core.v1.CoreDictService/LookupKey?x=1', 'content-type': 'application/grpc', te: 'trailers', 'x-request-id': 'abc', 'x-multi': ['a', 'b'] });
    call.end(Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]));
    const { ours, theirs, res } = await s.next();
    assert.equal(ours.method, theirs.method);
    assert.equal(ours.httpVersion, theirs.httpVersion);
    assert.equal(ours.url, theirs.url);
    assert.deepEqual(entries(ours.header), entries(theirs.header));
    assert.deepEqual(ours.header.get('x-multi'), 'a, b');
    assert.ok(!entries(ours.header).some(([k]) => k.startsWith(':')), 'no pseudo-headers');
    assert.equal(ours.contextValues, theirs.contextValues);
    assert.deepEqual(await bytes(ours.body), Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]));
    assert.equal(ours.signal.aborted, false, 'not aborted while the call runs');

    res.end('done');
    call.resume();
    await Promise.all([aborted(ours.signal), aborted(theirs.signal)]);
    assert.equal((ours.signal.reason as DOMException).name, 'AbortError');
    assert.equal((theirs.signal.reason as DOMException).name, 'AbortError');
  } finally {
    await s.close();
  }
});

test('a stream the client resets: the signal aborts with the error connect-node gives that code', async () => {
  const s = await server();
  try {
    const call = s.client.request({ ':method': 'POST', ':path': '/dict.core.v1.CoreDictService/LookupKey', 'content-type': 'application/grpc' });
    call.write(Buffer.from([0, 0, 0, 0, 1]));
    const { ours, theirs } = await s.next();
    call.close(http2.constants.NGHTTP2_CANCEL);
    await Promise.all([aborted(ours.signal), aborted(theirs.signal)]);
    for (const reason of [ours.signal.reason, theirs.signal.reason]) {
      assert.ok(reason instanceof ConnectError);
      assert.equal(reason.code, Code.Canceled);
    }
    assert.equal((ours.signal.reason as ConnectError).message, (theirs.signal.reason as ConnectError).message);
  } finally {
    await s.close();
  }
});

test('every reset code (0-15) maps to the code and message connect-node gives it, or to none', async () => {
  // connect-node's mapping, observed through its own function on a reset stream per code.
  const s = await server();
  try {
    for (let rst = 0; rst <= 15; rst++) {
      const call = s.client.request({ ':method': 'POST', ':path': '/x' });
      call.on('error', () => {});
      call.write(Buffer.from([1]));
      const { theirs } = await s.next();
      call.close(rst);
      await aborted(theirs.signal);
      const mine = resetError(rst);
      const want = theirs.signal.reason;
      if (want instanceof ConnectError) {
        assert.ok(mine, `code ${rst}: connect-node gives ${Code[want.code]}`);
        assert.equal(mine.code, want.code, `code ${rst}`);
        assert.equal(mine.message, want.message, `code ${rst}`);
      } else assert.equal(mine, undefined, `code ${rst}: connect-node gives no error`);
    }
  } finally {
    await s.close();
  }
});

test('a request without an authority is answered 400 and the server keeps serving (it used to end the process)', async () => {
  const handler = connectAdapter({
    routes: (router) => router.service(CoreDictService, {}),
    fallback: (_req, res) => res.writeHead(404).end(),
  });
  const srv = http.createServer((req, res) => handler(req, res));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  // HTTP/1.0 lets a client leave out Host; Node's server takes such a request.
  const raw = (head: string) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.end(`${head}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`));
      let data = '';
      s.on('data', (c) => (data += c));
      s.on('close', () => resolve(data));
      s.on('error', reject);
    });
  try {
    const path = `/${CoreDictService.typeName}/LookupKey`;
    assert.match(await raw(`POST ${path} HTTP/1.0\r\n`), /^HTTP\/1\.1 400 /);
    // Still serving: a well-formed call reaches Connect (an unimplemented method, as routed here).
    assert.match(await raw(`POST ${path} HTTP/1.0\r\nHost: localhost\r\n`), /^HTTP\/1\.1 501 |"unimplemented"/);
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
