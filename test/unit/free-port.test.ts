// test/support/processes.ts's freePort: a test that starts several processes asks it for several
// ports in a row, and a port handed out twice made the second process die with EADDRINUSE.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { freePort } from '../support/processes.js';

test('freePort never hands out the same port twice in one process', async () => {
  // The kernel alone repeated a port 15 times in 500 such calls on the CI machine.
  const ports: number[] = [];
  for (let i = 0; i < 500; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
});

test('the port it gives can be listened on', async () => {
  const port = await freePort();
  const srv = createServer().listen(port, '127.0.0.1');
  await once(srv, 'listening');
  srv.close();
});
