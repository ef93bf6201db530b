// The script of the browser test's page (bundled for the browser by esbuild in
// test/integration/surface.test.ts): from its own origin it calls our API's CreateKey and
// LookupKey with @connectrpc/connect-web, over Connect and over gRPC-web, and reports back.
import { fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import { CoreDictService, CreateKeyRequestSchema, LookupKeyResponseSchema } from '../../gen/dict/core/v1/service_pb.js';
import { EntryStatus } from '../../gen/dict/core/v1/types_pb.js';
import { bearer } from '../support/bearer.js';

export interface PageCall {
  apiUrl: string;
  protocol: 'connect' | 'grpc-web';
  /** Bearer token the page sends (a customer's, as a bank's web app would). */
  token: string;
  createKey: JsonValue;
  payerId: string;
  endToEndId: string;
}

export interface PageResult {
  ok: boolean;
  error?: string;
  createdStatus?: string;
  lookup?: JsonValue;
  requestIdSeen?: string;
}

async function runDict(c: PageCall): Promise<PageResult> {
  const interceptors = [bearer(c.token)];
  const transport = c.protocol === 'connect' ? createConnectTransport({ baseUrl: c.apiUrl, interceptors }) : createGrpcWebTransport({ baseUrl: c.apiUrl, interceptors });
  const client = createClient(CoreDictService, transport);
  try {
    let requestIdSeen: string | undefined;
    const created = await client.createKey(fromJson(CreateKeyRequestSchema, c.createKey), {
      headers: { 'x-request-id': `browser-${c.protocol}` },
      onHeader: (h) => (requestIdSeen = h.get('x-request-id') ?? undefined),
    });
    const found = await client.lookupKey({ key: created.entry?.key ?? '', payerId: c.payerId, endToEndId: c.endToEndId });
    return { ok: true, createdStatus: EntryStatus[created.entry?.status ?? 0], lookup: toJson(LookupKeyResponseSchema, found), requestIdSeen };
  } catch (err) {
    return { ok: false, error: String(err) };
  }
}

(globalThis as { runDict?: typeof runDict }).runDict = runDict;
