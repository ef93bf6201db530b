// The baseline of the lookup benchmark: a bare connect-node server on HTTP/2 cleartext that
// answers LookupKey with one fixed LookupKeyResponse held in memory — no interceptors, no
// validation, no Postgres, no Redis. What the API costs is measured against this.
//
//   node dist/bench/bare-server.js --port 0 --response <base64 of a LookupKeyResponse>
// Prints `{"listening":<port>}` on stdout once it accepts connections; SIGTERM stops it.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { CoreDictService, LookupKeyResponseSchema } from '../gen/dict/core/v1/service_pb.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, response: { type: 'string' } } });
if (!values.response) throw new Error('--response is required');
const response = fromBinary(LookupKeyResponseSchema, Buffer.from(values.response, 'base64'));

const handler = connectNodeAdapter({
  routes: (router) => {
    router.service(CoreDictService, { lookupKey: () => response });
  },
});
const server = http2.createServer(handler);
const sessions = new Set<http2.Http2Session>();
server.on('session', (s) => {
  sessions.add(s);
  s.once('close', () => sessions.delete(s));
});
server.listen(Number(values.port), values.host, () => {
  console.log(JSON.stringify({ listening: (server.address() as AddressInfo).port, pid: process.pid }));
});
process.once('SIGTERM', () => {
  for (const s of sessions) s.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
