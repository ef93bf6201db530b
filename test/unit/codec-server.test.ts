// The codec server's bound on concurrent work: with one call in flight and one waiting, a third is
// refused at once with 503 and Retry-After (never read nor decoded), and the two admitted calls
// both complete once the codec answers. The codec here is a controllable PayloadCodec that holds
// its answer until the test releases it, so the calls overlap for certain.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { test } from 'node:test';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { codecHandler } from '../../api/codec-server.js';

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
