// The Authorization header's digest (api/principal.ts), the key of the verified-token cache and of
// the auth-failure limit's memory: always the SHA-256 of the call's own header, computed once per
// connection while its calls repeat the same header, and again whenever a header differs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mock, test } from 'node:test';
import { createContextValues } from '@connectrpc/connect';
import { authorizationDigest, digestAuthorization, shareDigestWithConnection } from '../../api/principal.js';
import { nodeContextValues } from '../../api/request-context.js';
import crypto = require('node:crypto');

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');
const A = 'Bearer aaaa.bbbb.cccc';
const B = 'Bearer dddd.eeee.ffff';

test('the digest is the SHA-256 of the header, base64url', () => {
  assert.equal(digestAuthorization(A), sha256(A));
  assert.notEqual(digestAuthorization(A), digestAuthorization(B));
});

test('calls on one connection hash a repeated header once; another header, or another connection, is hashed for itself', (t) => {
  const hash = t.mock.method(crypto, 'hash');
  const session = {};
  const call = (connection: object) => {
    const values = createContextValues();
    shareDigestWithConnection(values, connection);
    return values;
  };

  const first = call(session);
  assert.equal(authorizationDigest(first, A), sha256(A));
  assert.equal(authorizationDigest(first, A), sha256(A), 'the same call asks again (the auth-failure limit, then the verifier)');
  assert.equal(authorizationDigest(call(session), A), sha256(A), 'the next call on the connection');
  assert.equal(hash.mock.callCount(), 1);

  // A gateway may multiplex several users' tokens on one connection: each call gets its own header's digest.
  const second = call(session);
  const third = call(session);
  assert.equal(authorizationDigest(second, B), sha256(B));
  assert.equal(authorizationDigest(third, A), sha256(A));
  assert.equal(authorizationDigest(second, B), sha256(B), 'after another call replaced the memo: still its own header');
  assert.equal(hash.mock.callCount(), 4);

  assert.equal(authorizationDigest(call({}), A), sha256(A), 'another connection keeps its own memo');
  assert.equal(hash.mock.callCount(), 5);

  // A call with no connection (context values made elsewhere) still computes once per call.
  const alone = createContextValues();
  assert.equal(authorizationDigest(alone, B), sha256(B));
  assert.equal(authorizationDigest(alone, B), sha256(B));
  assert.equal(hash.mock.callCount(), 6);
  mock.restoreAll();
});

test("the API's context values share the memo per HTTP/2 session, or per socket for HTTP/1.1", (t) => {
  const hash = t.mock.method(crypto, 'hash');
  const values = nodeContextValues();
  const session = {};
  const h2 = () => ({ stream: { session }, socket: { remoteAddress: '10.0.0.1' }, headers: {} }) as unknown as Parameters<typeof values>[0];
  const socket = { remoteAddress: '10.0.0.2' };
  const h1 = () => ({ socket, headers: {} }) as unknown as Parameters<typeof values>[0];

  for (let i = 0; i < 3; i++) assert.equal(authorizationDigest(values(h2()), A), sha256(A));
  assert.equal(hash.mock.callCount(), 1, 'three calls on one HTTP/2 session');
  for (let i = 0; i < 3; i++) assert.equal(authorizationDigest(values(h1()), A), sha256(A));
  assert.equal(hash.mock.callCount(), 2, 'three calls on one HTTP/1.1 socket');
  mock.restoreAll();
});
