// The API's Connect adapter (api/node-adapter.ts) answers a request Connect cannot convert (no
// authority: HTTP/1.0 without Host) with 400 and keeps serving; thrown in the server's request
// listener, as connect-node's function throws it, it ended the process. (Bad binary bodies
// answered INVALID_ARGUMENT are the RPC fuzzer's: test/integration/fuzz.test.ts.)
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { connectAdapter } from '../../api/node-adapter.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';

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
