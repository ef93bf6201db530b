// The codec server's bound on concurrent work: with one call in flight and one waiting, a third is
// refused at once with 503 and Retry-After (never read nor decoded), and the two admitted calls
// both complete once the codec answers. The codec here is a controllable PayloadCodec that holds
// its answer until the test releases it, so the calls overlap for certain. A sender that stalls
// mid-body is answered 408 and closed at the read timeout, and its turn serves the next call. The
// identity provider down is 503 with Retry-After, a bad token 401.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { unavailable } from '../../api/errors.js';
import { unauthenticated } from '../../api/auth.js';
import { codecAuthorizer, codecHandler } from '../../api/codec-server.js';

test('codec: beyond maxInFlight + maxQueue calls are refused with 503 and Retry-After, the admitted ones complete', { timeout: 15_000 }, async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let decodes = 0;
  const codec: PayloadCodec = {
    encode: async (p: Payload[]) => p,
    decode: async (p: Payload[]) => {
      decodes++;
      await released;
      return p;
    },
  };
  const handle = codecHandler({ codec, namespace: 'ns', authorize: async () => {}, maxInFlight: 1, maxQueue: 1 });
  let received = 0;
  const server = http.createServer((req, res) => {
    received++;
    if (!handle(req, res)) res.writeHead(404).end();
  });
  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/codec/decode`;
  const post = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'ns' }, body: JSON.stringify({ payloads: [{ metadata: {}, data: 'AA==' }] }) });
  try {
    const first = post();
    while (decodes < 1) await new Promise((r) => setImmediate(r));
    const second = post();
    // The second waits for the turn: it has reached the server, and after its (immediate) authorization, the queue.
    while (received < 2) await ticks(1);
    await ticks(5);
    const third = await post();
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('retry-after'), '1');
    assert.match(((await third.json()) as { error: string }).error, /busy/);
    assert.equal(decodes, 1, 'the refused call was never decoded and the queued one not yet');
    release();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(decodes, 2);
  } finally {
    server.close();
  }
});

test('codec: a body that stops arriving is answered 408 and closed at the read timeout, and its turn serves the next call', { timeout: 15_000 }, async () => {
  const codec: PayloadCodec = { encode: async (p: Payload[]) => p, decode: async (p: Payload[]) => p };
  // One turn and no queue: while the stalled call held it, any other call would be refused 503.
  const handle = codecHandler({ codec, namespace: 'ns', authorize: async () => {}, maxInFlight: 1, maxQueue: 0, readTimeoutMs: 300 });
  const server = http.createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    // Announces 100 bytes, sends 10, then nothing.
    const slow = net.connect(port, '127.0.0.1');
    await once(slow, 'connect');
    let answer = '';
    slow.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const closed = once(slow, 'close');
    const started = Date.now();
    slow.write('POST /codec/decode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"payloads');
    await closed;
    const took = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /connection: close/i);
    assert.match(answer, /body not received within 300 ms/);
    assert.ok(took >= 250 && took < 5_000, `answered after ${took} ms`);
    // The turn is free again.
    const next = await fetch(`http://127.0.0.1:${port}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'ns' }, body: JSON.stringify({ payloads: [] }) });
    assert.equal(next.status, 200);
    assert.deepEqual(await next.json(), { payloads: [] });
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('codec: the identity provider down is 503 with Retry-After (retry), a bad token 401', async () => {
  let verify: () => Promise<never> = () => Promise.reject(unavailable('identity provider keys unavailable; retry later'));
  const handle = codecHandler({ codec: { encode: async (p: Payload[]) => p, decode: async (p: Payload[]) => p }, namespace: 'ns', authorize: codecAuthorizer({ verifyBearer: () => verify() }) });
  const server = http.createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const post = () => fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/codec/decode`, { method: 'POST', headers: { authorization: 'Bearer a.b.c' }, body: '{"payloads":[]}' });
  try {
    const down = await post();
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '1');
    assert.equal(down.headers.get('www-authenticate'), null);
    verify = () => Promise.reject(unauthenticated('token signature invalid'));
    const bad = await post();
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
