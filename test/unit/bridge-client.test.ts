// The DICT client against a tiny in-test DICT (node:http / node:https) that signs its answers
// with the DICT key: paths, headers, request signatures, response verification, problem mapping,
// timeouts, Cache-Control, gzip and mTLS.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { createDictClient, listClaimsQuery, type DictClient } from '../../bridge/client.js';
import {
  decodeAcknowledgeClaimRequest,
  decodeCancelClaimRequest,
  decodeCompleteClaimRequest,
  decodeConfirmClaimRequest,
  decodeCreateClaimRequest,
  encodeAcknowledgeClaimResponse,
  encodeCancelClaimResponse,
  encodeCompleteClaimResponse,
  encodeConfirmClaimResponse,
  encodeCreateClaimResponse,
  encodeGetClaimResponse,
  encodeListClaimsResponse,
  decodeCheckKeysRequest,
  decodeCreateEntryRequest,
  decodeDeleteEntryRequest,
  decodeUpdateEntryRequest,
  encodeCheckKeysResponse,
  encodeCreateEntryResponse,
  encodeDeleteEntryResponse,
  encodeGetEntryResponse,
  encodeProblem,
  encodeUpdateEntryResponse,
} from '../../bridge/xml.js';
import { signXml, verifyXml } from '../../bridge/xmldsig.js';
import { DictProblemError, DictTransportError, type CreateEntryInput } from '../../bridge/types.js';
import type { ExtendedClaim, ExtendedEntry } from '../../domain/types.js';
import { OUR_ISPB, testPki } from '../support/pki.js';

const pki = testPki();
const ours = pki.participants[OUR_ISPB]!;
const other = pki.participants['87654321']!;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  clientCn?: string;
}
interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (timeout tests). */
  hang?: boolean;
}

let handler: (s: Seen) => Reply = () => ({ status: 500 });
let seen: Seen[] = [];

function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    if (peer && peer.subject) s.clientCn = String(peer.subject.CN);
    seen.push(s);
    const r = handler(s);
    if (r.hang) return;
    res.writeHead(r.status, r.headers ?? {});
    res.end(r.body);
  });
}

const server = http.createServer(serve);
let base = '';
let client: DictClient;

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/`;
  client = createDictClient({ baseUrl: base, participant: OUR_ISPB, signing: ours, trustedDictCertsPem: [pki.dict.certPem], timeoutMs: 2000 });
});
after(() => {
  client.close();
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen = [];
});

const dictSigned = (xml: string) => signXml(xml, pki.dict);
const ok = (status: number, xml: string, headers: Record<string, string> = {}): Reply => ({
  status,
  body: dictSigned(xml),
  headers: { 'Content-Type': 'application/xml', ...headers },
});
const problem = (status: number, bcbError: string, extra: { headers?: Record<string, string>; detail?: string } = {}): Reply => ({
  status,
  body: dictSigned(
    encodeProblem({ bcbError, title: `${bcbError} title`, status, detail: extra.detail, correlationId: 'c0ffee00c0ffee00c0ffee00c0ffee00', violations: bcbError === 'EntryInvalid' ? [{ reason: 'bad', property: 'entry.key', value: 'x' }] : [] }),
  ),
  headers: { 'Content-Type': 'application/problem+xml', ...extra.headers },
});

const entry: ExtendedEntry = {
  key: '+5561988887777',
  keyType: 'PHONE',
  account: { participant: OUR_ISPB, branch: '0001', accountNumber: '0007654321', accountType: 'CACC', openingDate: '2010-01-10T03:00:00Z' },
  owner: { type: 'NATURAL_PERSON', taxIdNumber: '11122233396', name: 'João Silva' },
  creationDate: '2024-01-01T00:00:00.000Z',
  keyOwnershipDate: '2024-01-01T00:00:00.000Z',
};
const createInput: CreateEntryInput = {
  entry: { key: entry.key, keyType: entry.keyType, account: entry.account, owner: entry.owner },
  reason: 'USER_REQUESTED',
  requestId: '4e5a6b7c-8d9e-4f00-9a1b-2c3d4e5f6a7b',
};
const meta = { correlationId: 'a9f13566e19f5ca51329479a5bae60c5', responseTime: '2024-01-01T00:00:00.000Z' };

async function rejectsWith<E extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => E, check?: (e: E) => void): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    check?.(e);
    return true;
  });
}

test('createEntry: signed XML body to POST /entries/, decodes the signed 201', async () => {
  handler = () => ok(201, encodeCreateEntryResponse({ entry, ...meta }));
  const out = await client.createEntry(createInput);
  assert.deepEqual(out, { entry, ...meta });
  const s = seen[0]!;
  assert.equal(s.method, 'POST');
  assert.equal(s.url, '/api/v2/entries/');
  assert.equal(s.headers['pi-requestingparticipant'], OUR_ISPB);
  assert.match(String(s.headers['content-type']), /^application\/xml/);
  // The body DICT receives verifies with our participant cert and carries our input.
  assert.equal(verifyXml(s.body, [other.certPem, ours.certPem]).signerCertPem, ours.certPem);
  assert.deepEqual(decodeCreateEntryRequest(s.body), createInput);
});

test('getEntry: URL-encoded key, PI-* headers, no body, Cache-Control max-age', async () => {
  handler = () => ok(200, encodeGetEntryResponse({ entry, ...meta }), { 'Cache-Control': 'public, max-age=180' });
  const out = await client.getEntry({ key: entry.key, payerId: '11122233396', endToEndId: 'E1234567820240101000000000000001' });
  assert.deepEqual(out, { entry, ...meta, cacheMaxAgeSeconds: 180 });
  const s = seen[0]!;
  assert.equal(s.method, 'GET');
  assert.equal(s.url, '/api/v2/entries/%2B5561988887777');
  assert.equal(s.headers['pi-payerid'], '11122233396');
  assert.equal(s.headers['pi-endtoendid'], 'E1234567820240101000000000000001');
  assert.equal(s.headers['pi-requestingparticipant'], OUR_ISPB);
  assert.equal(s.body, '');

  handler = () => ok(200, encodeGetEntryResponse({ entry: { ...entry, key: 'a/b@x.com' } }), { 'Cache-Control': 'no-store' });
  const out2 = await client.getEntry({ key: 'a/b@x.com', payerId: '11222333000181', endToEndId: 'E2' });
  assert.equal(out2.cacheMaxAgeSeconds, 0, 'no-store: must not be cached at all');
  assert.equal(seen[1]!.url, '/api/v2/entries/a%2Fb%40x.com');
});

test('getEntry: PI-PayerId / PI-EndToEndId are mandatory in DICT v2 (checked before any request)', async () => {
  await assert.rejects(client.getEntry({ key: 'k', payerId: '11122233396' }), TypeError);
  await assert.rejects(client.getEntry({ key: 'k', payerId: '123', endToEndId: 'E' }), TypeError);
  assert.equal(seen.length, 0);
});

test('updateEntry PUT /entries/{Key} and deleteEntry POST /entries/{Key}/delete are signed', async () => {
  handler = (s) =>
    s.method === 'PUT' ? ok(200, encodeUpdateEntryResponse({ entry, ...meta })) : ok(200, encodeDeleteEntryResponse({ key: entry.key, ...meta }));
  const upd = { key: entry.key, account: { ...entry.account, branch: '0002' }, owner: entry.owner, reason: 'BRANCH_TRANSFER' as const };
  assert.deepEqual(await client.updateEntry(upd), { entry, ...meta });
  const del = { key: entry.key, participant: OUR_ISPB, reason: 'ACCOUNT_CLOSURE' as const };
  assert.deepEqual(await client.deleteEntry(del), { key: entry.key, ...meta });
  const [u, d] = seen;
  assert.equal(u!.method, 'PUT');
  assert.equal(u!.url, '/api/v2/entries/%2B5561988887777');
  assert.deepEqual(decodeUpdateEntryRequest(u!.body), upd);
  assert.equal(verifyXml(u!.body, [ours.certPem]).signerCertPem, ours.certPem);
  assert.equal(d!.method, 'POST');
  assert.equal(d!.url, '/api/v2/entries/%2B5561988887777/delete');
  assert.deepEqual(decodeDeleteEntryRequest(d!.body), del);
  assert.equal(verifyXml(d!.body, [ours.certPem]).signerCertPem, ours.certPem);
});

test('checkKeys: POST /keys/check, decodes hasEntry per key', async () => {
  const keys = ['a@b.com', '+5561999999999'];
  handler = (s) => {
    const req = decodeCheckKeysRequest(s.body);
    return ok(200, encodeCheckKeysResponse({ keys: req.keys.map((k, i) => ({ key: k, hasEntry: i === 0 })), ...meta }));
  };
  const out = await client.checkKeys(keys);
  assert.deepEqual(out, { keys: [{ key: 'a@b.com', hasEntry: true }, { key: '+5561999999999', hasEntry: false }], ...meta });
  assert.equal(seen[0]!.url, '/api/v2/keys/check');
  assert.equal(seen[0]!.method, 'POST');
});

test('business problem -> DictProblemError with BCB name, status, violations; not retryable', async () => {
  handler = () => problem(400, 'EntryInvalid', { detail: 'Entry has invalid fields' });
  await rejectsWith(client.createEntry(createInput), DictProblemError, (e) => {
    assert.equal(e.bcbError, 'EntryInvalid');
    assert.equal(e.status, 400);
    assert.equal(e.title, 'EntryInvalid title');
    assert.equal(e.detail, 'Entry has invalid fields');
    assert.equal(e.correlationId, 'c0ffee00c0ffee00c0ffee00c0ffee00');
    assert.deepEqual(e.violations, [{ reason: 'bad', property: 'entry.key', value: 'x' }]);
    assert.equal(e.retryable, false);
    assert.equal(e.retryAfterSeconds, undefined);
  });
  handler = () => problem(404, 'NotFound');
  await rejectsWith(client.getEntry({ key: 'x@y.z', payerId: '11122233396', endToEndId: 'E1' }), DictProblemError, (e) => {
    assert.equal(e.bcbError, 'NotFound');
    assert.equal(e.status, 404);
  });
});

test('RateLimited / ServiceUnavailable -> retryable DictProblemError with Retry-After seconds', async () => {
  handler = () => problem(429, 'RateLimited', { headers: { 'Retry-After': '7' } });
  await rejectsWith(client.getEntry({ key: 'k@x.io', payerId: '11122233396', endToEndId: 'E1' }), DictProblemError, (e) => {
    assert.equal(e.bcbError, 'RateLimited');
    assert.equal(e.status, 429);
    assert.equal(e.retryAfterSeconds, 7);
    assert.equal(e.retryable, true);
  });
  const at = new Date(Date.now() + 30_000).toUTCString();
  handler = () => problem(503, 'ServiceUnavailable', { headers: { 'Retry-After': at } });
  await rejectsWith(client.deleteEntry({ key: 'k', participant: OUR_ISPB, reason: 'USER_REQUESTED' }), DictProblemError, (e) => {
    assert.equal(e.bcbError, 'ServiceUnavailable');
    assert.ok(e.retryAfterSeconds! >= 28 && e.retryAfterSeconds! <= 31, `retryAfter ${e.retryAfterSeconds}`);
  });
});

test('a gateway 429/503 without a signed body keeps its Retry-After (retryable; nothing else believed)', async () => {
  handler = () => ({ status: 429, body: '', headers: { 'Retry-After': '12' } });
  await rejectsWith(client.checkKeys(['a']), DictProblemError, (e) => {
    assert.equal(e.bcbError, 'RateLimited');
    assert.equal(e.retryAfterSeconds, 12);
    assert.equal(e.retryable, true);
  });
  const unsigned = encodeProblem({ bcbError: 'ServiceUnavailable', title: 't', status: 503 });
  handler = () => ({ status: 503, body: unsigned, headers: { 'Content-Type': 'application/problem+xml', 'Retry-After': '3' } });
  await rejectsWith(client.createEntry(createInput), DictProblemError, (e) => {
    assert.equal(e.bcbError, 'ServiceUnavailable');
    assert.equal(e.retryAfterSeconds, 3);
  });
});

test('responses not signed by the pinned DICT cert -> DictTransportError (success and problem)', async () => {
  const byOther = signXml(encodeCreateEntryResponse({ entry, ...meta }), other);
  handler = () => ({ status: 201, body: byOther, headers: { 'Content-Type': 'application/xml' } });
  await rejectsWith(client.createEntry(createInput), DictTransportError, (e) => assert.match(e.message, /untrusted/));

  const tampered = dictSigned(encodeCreateEntryResponse({ entry, ...meta })).replace('João Silva', 'Mallory');
  handler = () => ({ status: 201, body: tampered, headers: { 'Content-Type': 'application/xml' } });
  await rejectsWith(client.createEntry(createInput), DictTransportError);

  handler = () => ({ status: 200, body: encodeGetEntryResponse({ entry }), headers: { 'Content-Type': 'application/xml' } });
  await rejectsWith(client.getEntry({ key: 'k@x.io', payerId: '11122233396', endToEndId: 'E1' }), DictTransportError);

  // A forged problem must not be believed either (it could stop a legitimate operation).
  handler = () => ({ status: 400, body: encodeProblem({ bcbError: 'EntryAlreadyExists', title: 't', status: 400 }), headers: { 'Content-Type': 'application/problem+xml' } });
  await rejectsWith(client.createEntry(createInput), DictTransportError);
});

test('undecodable signed body and body-less gateway errors -> DictTransportError', async () => {
  handler = () => ok(201, '<?xml version="1.0"?><CreateEntryResponse><Signature></Signature><Entry><Key>k</Key></Entry></CreateEntryResponse>');
  await rejectsWith(client.createEntry(createInput), DictTransportError, (e) => assert.match(e.message, /undecodable/));
  handler = () => ({ status: 502, body: '<html>Bad gateway</html>', headers: { 'Content-Type': 'text/html' } });
  await rejectsWith(client.checkKeys(['a']), DictTransportError, (e) => assert.match(e.message, /502/));
});

test('timeout -> DictTransportError', async () => {
  const fast = createDictClient({ baseUrl: base, participant: OUR_ISPB, signing: ours, trustedDictCertsPem: [pki.dict.certPem], timeoutMs: 150 });
  try {
    handler = () => ({ status: 200, hang: true });
    const t0 = Date.now();
    await rejectsWith(fast.checkKeys(['a']), DictTransportError, (e) => assert.match(e.message, /timeout/));
    assert.ok(Date.now() - t0 < 1500);
  } finally {
    fast.close();
  }
});

test('connection refused -> DictTransportError', async () => {
  const dead = http.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const c = createDictClient({ baseUrl: `http://127.0.0.1:${port}/api/v2`, participant: OUR_ISPB, signing: ours, trustedDictCertsPem: [pki.dict.certPem] });
  try {
    await rejectsWith(c.checkKeys(['a']), DictTransportError);
  } finally {
    c.close();
  }
});

test('gzip-encoded responses are accepted', async () => {
  handler = (s) => {
    assert.match(String(s.headers['accept-encoding']), /gzip/);
    return { status: 200, body: gzipSync(dictSigned(encodeDeleteEntryResponse({ key: 'k', ...meta }))) as unknown as string, headers: { 'Content-Type': 'application/xml', 'Content-Encoding': 'gzip' } };
  };
  assert.deepEqual(await client.deleteEntry({ key: 'k', participant: OUR_ISPB, reason: 'USER_REQUESTED' }), { key: 'k', ...meta });
});

test('mTLS: https with our client cert; DICT sees CN = our ISPB', async () => {
  const tlsServer = https.createServer({ key: pki.dict.keyPem, cert: pki.dict.certPem, ca: pki.caCertPem, requestCert: true, rejectUnauthorized: true }, serve);
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
  const url = `https://localhost:${(tlsServer.address() as AddressInfo).port}/api/v2`;
  const c = createDictClient({
    baseUrl: url,
    participant: OUR_ISPB,
    signing: ours,
    trustedDictCertsPem: [pki.dict.certPem],
    tls: { caPem: pki.caCertPem, certPem: ours.certPem, keyPem: ours.keyPem },
  });
  const noCert = createDictClient({ baseUrl: url, participant: OUR_ISPB, signing: ours, trustedDictCertsPem: [pki.dict.certPem], tls: { caPem: pki.caCertPem } });
  try {
    handler = () => ok(200, encodeCheckKeysResponse({ keys: [{ key: 'a', hasEntry: false }] }));
    assert.deepEqual((await c.checkKeys(['a'])).keys, [{ key: 'a', hasEntry: false }]);
    assert.equal(seen.at(-1)!.clientCn, OUR_ISPB);
    await rejectsWith(noCert.checkKeys(['a']), DictTransportError);
  } finally {
    c.close();
    noCert.close();
    tlsServer.closeAllConnections();
    tlsServer.close();
  }
});

const claim: ExtendedClaim = {
  type: 'PORTABILITY',
  key: entry.key,
  keyType: 'PHONE',
  claimerAccount: entry.account,
  claimer: entry.owner,
  id: '123e4567-e89b-42d3-a456-426655440000',
  donorParticipant: '87654321',
  status: 'OPEN',
  resolutionPeriodEnd: '2024-01-08T00:00:00.000Z',
  lastModified: '2024-01-01T00:00:00.000Z',
};

test('claim writes: paths, signed bodies in BCB shape, verified and decoded answers', async () => {
  const answers: Record<string, (b: string) => string> = {
    '/api/v2/claims/': (b) => (decodeCreateClaimRequest(b), encodeCreateClaimResponse({ claim, ...meta })),
    [`/api/v2/claims/${claim.id}/acknowledge`]: (b) => (decodeAcknowledgeClaimRequest(b), encodeAcknowledgeClaimResponse({ claim: { ...claim, status: 'WAITING_RESOLUTION' }, ...meta })),
    [`/api/v2/claims/${claim.id}/confirm`]: (b) => (decodeConfirmClaimRequest(b), encodeConfirmClaimResponse({ claim: { ...claim, status: 'CONFIRMED', confirmReason: 'USER_REQUESTED' }, ...meta })),
    [`/api/v2/claims/${claim.id}/cancel`]: (b) => (decodeCancelClaimRequest(b), encodeCancelClaimResponse({ claim: { ...claim, status: 'CANCELLED', cancelReason: 'FRAUD', cancelledBy: 'DONOR' }, ...meta })),
    [`/api/v2/claims/${claim.id}/complete`]: (b) =>
      (decodeCompleteClaimRequest(b), encodeCompleteClaimResponse({ claim: { ...claim, status: 'COMPLETED' }, entryCreationDate: '2024-01-02T00:00:00.000Z', keyOwnershipDate: '2023-01-01T00:00:00.000Z', ...meta })),
  };
  handler = (s) => (s.method === 'POST' && answers[s.url] ? ok(s.url.endsWith('/claims/') ? 201 : 200, answers[s.url]!(s.body)) : { status: 404 });
  const created = await client.createClaim({ claim: { type: claim.type, key: claim.key, keyType: claim.keyType, claimerAccount: claim.claimerAccount, claimer: claim.claimer } });
  assert.deepEqual(created, { claim, ...meta });
  assert.equal((await client.acknowledgeClaim({ claimId: claim.id, participant: '87654321' })).claim.status, 'WAITING_RESOLUTION');
  assert.equal((await client.confirmClaim({ claimId: claim.id, participant: '87654321', reason: 'USER_REQUESTED' })).claim.confirmReason, 'USER_REQUESTED');
  assert.equal((await client.cancelClaim({ claimId: claim.id, participant: '87654321', reason: 'FRAUD' })).claim.cancelledBy, 'DONOR');
  const done = await client.completeClaim({ claimId: claim.id, participant: OUR_ISPB, requestId: createInput.requestId });
  assert.deepEqual([done.claim.status, done.entryCreationDate, done.keyOwnershipDate], ['COMPLETED', '2024-01-02T00:00:00.000Z', '2023-01-01T00:00:00.000Z']);
  assert.equal(seen.length, 5);
  for (const s of seen) {
    assert.equal(verifyXml(s.body, [ours.certPem]).signerCertPem, ours.certPem, `${s.url} signed with our key`);
    assert.equal(s.headers['pi-requestingparticipant'], OUR_ISPB);
  }
  assert.equal(decodeCompleteClaimRequest(seen[4]!.body).requestId, createInput.requestId);
  assert.deepEqual(decodeCancelClaimRequest(seen[3]!.body), { claimId: claim.id, participant: '87654321', reason: 'FRAUD' });
});

test('getClaim and listClaims: unsigned GETs with BCB query parameters; problems map to DictProblemError', async () => {
  handler = (s) => {
    if (s.url === `/api/v2/claims/${claim.id}`) return ok(200, encodeGetClaimResponse({ claim, ...meta }));
    if (s.url.startsWith('/api/v2/claims/?')) return ok(200, encodeListClaimsResponse({ claims: [claim, { ...claim, id: 'b' }], hasMoreElements: true, ...meta }));
    return problem(404, 'NotFound');
  };
  assert.deepEqual(await client.getClaim(claim.id), { claim, ...meta });
  const list = await client.listClaims({ participant: OUR_ISPB, isDonor: true, isClaimer: false, status: ['OPEN', 'WAITING_RESOLUTION'], type: 'OWNERSHIP', modifiedAfter: '2024-01-01T00:00:00Z', modifiedBefore: '2024-02-01T00:00:00Z', limit: 50 });
  assert.deepEqual([list.claims.length, list.hasMoreElements], [2, true]);
  const url = new URL(seen[1]!.url, 'http://x');
  assert.equal(seen[1]!.method, 'GET');
  assert.equal(seen[1]!.body, '');
  assert.deepEqual(url.searchParams.getAll('Status'), ['OPEN', 'WAITING_RESOLUTION']);
  assert.deepEqual(
    ['Participant', 'IsDonor', 'IsClaimer', 'Type', 'ModifiedAfter', 'ModifiedBefore', 'Limit'].map((k) => url.searchParams.get(k)),
    [OUR_ISPB, 'true', 'false', 'OWNERSHIP', '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z', '50'],
  );
  await rejectsWith(client.getClaim('nope'), DictProblemError, (e) => assert.equal(e.bcbError, 'NotFound'));
  assert.equal(listClaimsQuery({ participant: OUR_ISPB }), `Participant=${OUR_ISPB}`);
  assert.throws(() => listClaimsQuery({ participant: OUR_ISPB, limit: 201 }), TypeError);
  assert.throws(() => listClaimsQuery({ participant: OUR_ISPB, limit: 0 }), TypeError);
  assert.throws(() => listClaimsQuery({ participant: '123' }), TypeError);
});
