// The Bearer JWT verifier (api/auth.ts): what it accepts, what it refuses and with which code.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type KeyLike } from 'jose';
import { authOptionsFromConfig, createVerifier, setVerifier, verifyBearer, type AuthOptions } from '../../api/auth.js';
import { requireOperator } from '../../api/authorization.js';
import { loadApiConfig } from '../../config/index.js';

const ISPB = '12345678';
const ISS = 'https://idp.example';
const AUD = 'core-dict';

async function keys() {
  const good = await generateKeyPair('ES256', { extractable: true });
  const other = await generateKeyPair('ES256', { extractable: true });
  const pub: JWK = { ...(await exportJWK(good.publicKey)), kid: 'k1', alg: 'ES256' };
  return { good, other, jwks: { keys: [pub] } };
}
const k = keys();

async function sign(claims: Record<string, unknown>, o: { key?: KeyLike; kid?: string; alg?: string; iss?: string; aud?: string; exp?: number; nbf?: number; iat?: number } = {}): Promise<string> {
  const { good } = await k;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ispb: ISPB, role: 'operator', sub: 'ana', ...claims })
    .setProtectedHeader({ alg: o.alg ?? 'ES256', kid: o.kid ?? 'k1' })
    .setIssuer(o.iss ?? ISS)
    .setAudience(o.aud ?? AUD)
    .setIssuedAt(o.iat ?? now)
    .setNotBefore(o.nbf ?? now)
    .setExpirationTime(o.exp ?? now + 600)
    .sign(o.key ?? good.privateKey);
}

async function verifier(extra: Partial<AuthOptions> = {}) {
  const { jwks } = await k;
  return createVerifier({ participant: ISPB, issuer: ISS, audience: AUD, jwks: { keys: jwks }, ...extra });
}

async function refused(p: Promise<unknown>, code: Code, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.code, code, err.rawMessage);
    if (pattern) assert.match(err.rawMessage, pattern);
    return true;
  });
}

test('a valid operator token becomes a principal of this PSP', async () => {
  const v = await verifier();
  const p = await v(`Bearer ${await sign({ amr: ['pwd'] })}`);
  assert.deepEqual(p, { participant: ISPB, subject: 'ana', role: 'operator', amr: ['pwd'], secondFactor: false, via: 'jwt' });
});

test('a customer token carries the tax id; amr otp or a configured acr is a second factor', async () => {
  const v = await verifier({ secondFactor: { amr: ['otp'], acrValues: ['urn:level:2'] } });
  const c = await v(`Bearer ${await sign({ role: 'customer', sub: 'u1', tax_id: '11144477735', amr: ['pwd', 'otp'] })}`);
  assert.equal(c.taxIdNumber, '11144477735');
  assert.equal(c.secondFactor, true);
  const acr = await v(`Bearer ${await sign({ role: 'customer', sub: 'u1', tax_id: '11144477735', amr: ['pwd'], acr: 'urn:level:2' })}`);
  assert.equal(acr.secondFactor, true);
  const pwd = await v(`Bearer ${await sign({ role: 'customer', sub: 'u1', tax_id: '11144477735', amr: ['pwd'] })}`);
  assert.equal(pwd.secondFactor, false);
});

test('missing or malformed Authorization is Unauthenticated', async () => {
  const v = await verifier();
  await refused(v(undefined), Code.Unauthenticated, /missing/);
  await refused(v(''), Code.Unauthenticated);
  await refused(v('Basic abc'), Code.Unauthenticated);
  await refused(v('Bearer not-a-jwt'), Code.Unauthenticated);
});

test('alg none is refused', async () => {
  const v = await verifier();
  const now = Math.floor(Date.now() / 1000);
  const none = new UnsecuredJWT({ ispb: ISPB, role: 'operator' }).setSubject('ana').setIssuer(ISS).setAudience(AUD).setIssuedAt(now).setExpirationTime(now + 600).encode();
  await refused(v(`Bearer ${none}`), Code.Unauthenticated);
  // And it cannot even be configured.
  await assert.rejects(verifier({ algorithms: ['none'] }), /none/);
  await assert.rejects(verifier({ algorithms: ['HS256'] }), /symmetric/);
});

test('an HS256 token is refused when only asymmetric algorithms are allowed', async () => {
  const v = await verifier();
  const now = Math.floor(Date.now() / 1000);
  const hs = await new SignJWT({ ispb: ISPB, role: 'operator' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('ana').setIssuer(ISS).setAudience(AUD).setIssuedAt(now).setExpirationTime(now + 600).sign(new Uint8Array(32));
  await refused(v(`Bearer ${hs}`), Code.Unauthenticated, /algorithm/);
});

test('wrong issuer, wrong audience, expired, not yet valid and badly signed tokens are Unauthenticated', async () => {
  const v = await verifier({ clockToleranceSeconds: 30 });
  const now = Math.floor(Date.now() / 1000);
  await refused(v(`Bearer ${await sign({}, { iss: 'https://evil.example' })}`), Code.Unauthenticated, /"iss"/);
  await refused(v(`Bearer ${await sign({}, { aud: 'someone-else' })}`), Code.Unauthenticated, /"aud"/);
  await refused(v(`Bearer ${await sign({}, { iat: now - 3600, nbf: now - 3600, exp: now - 120 })}`), Code.Unauthenticated, /expired/);
  await refused(v(`Bearer ${await sign({}, { nbf: now + 600 })}`), Code.Unauthenticated, /"nbf"/);
  const { other } = await k;
  await refused(v(`Bearer ${await sign({}, { key: other.privateKey })}`), Code.Unauthenticated, /signature/);
  const token = await sign({});
  const [h, p, s] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'operator', sub: 'mallory' })).toString('base64url');
  await refused(v(`Bearer ${h}.${forged}.${s}`), Code.Unauthenticated, /signature/);
  await refused(v(`Bearer ${await sign({}, { kid: 'unknown' })}`), Code.Unauthenticated);
});

test('small clock skew is tolerated', async () => {
  const v = await verifier({ clockToleranceSeconds: 30 });
  const now = Math.floor(Date.now() / 1000);
  await v(`Bearer ${await sign({}, { iat: now - 600, nbf: now - 600, exp: now - 10 })}`);
  await v(`Bearer ${await sign({}, { nbf: now + 10 })}`);
});

test('another PSP is PermissionDenied; bad role, ISPB or tax id claims are Unauthenticated', async () => {
  const v = await verifier();
  await refused(v(`Bearer ${await sign({ ispb: '87654321' })}`), Code.PermissionDenied, /87654321/);
  await refused(v(`Bearer ${await sign({ ispb: 12345678 })}`), Code.Unauthenticated, /ispb/);
  await refused(v(`Bearer ${await sign({ role: 'admin' })}`), Code.Unauthenticated, /role/);
  await refused(v(`Bearer ${await sign({ role: 'customer' })}`), Code.Unauthenticated, /tax_id/);
  await refused(v(`Bearer ${await sign({ role: 'customer', tax_id: '123' })}`), Code.Unauthenticated, /tax_id/);
});

test('keys from a JWKS URL (jose remote set)', async () => {
  const { jwks } = await k;
  let fetched = 0;
  const server = createServer((_req, res) => {
    fetched++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const v = createVerifier({ participant: ISPB, issuer: ISS, audience: AUD, jwks: { url } });
    await v(`Bearer ${await sign({})}`);
    await v(`Bearer ${await sign({})}`);
    assert.equal(fetched, 1, 'the key set is cached');
  } finally {
    server.close();
  }
});

test('the JWKS URL failing is UNAVAILABLE with a fixed text (not the caller\'s fault), reported, and recovers by itself', async () => {
  const { jwks } = await k;
  let mode: 'error' | 'not-json' | 'hang' | 'ok' = 'error';
  const server = createServer((_req, res) => {
    if (mode === 'hang') return; // never answers: jose's timeout
    if (mode === 'error') return void res.writeHead(503).end('upstream 10.9.8.7 down');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(mode === 'ok' ? JSON.stringify(jwks) : '<html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const reported: unknown[] = [];
  const port = (server.address() as AddressInfo).port;
  try {
    const url = `http://127.0.0.1:${port}/jwks`;
    const v = createVerifier({ participant: ISPB, issuer: ISS, audience: AUD, jwks: { url, timeoutMs: 200 }, onKeySourceError: (e) => reported.push(e) });
    const token = `Bearer ${await sign({})}`;
    for (const m of ['error', 'not-json', 'hang'] as const) {
      mode = m;
      await assert.rejects(v(token), (err: unknown) => {
        assert.ok(err instanceof ConnectError, String(err));
        assert.equal(err.code, Code.Unavailable, `${m}: ${err.rawMessage}`);
        assert.equal(err.rawMessage, 'identity provider keys unavailable; retry later', m);
        return true;
      });
    }
    assert.equal(reported.length, 3, 'each failure reported to the operator hook');
    mode = 'ok';
    assert.equal((await v(token)).subject, 'ana', 'the next call after the IdP is back verifies');
    // A token-level failure of the remote set stays the token's: an unknown kid is UNAUTHENTICATED.
    await refused(v(`Bearer ${await sign({}, { kid: 'nobody' })}`), Code.Unauthenticated, /unknown key/);
    assert.equal(reported.length, 3);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  // Nothing listening now (connection refused): no address or errno reaches the caller.
  const v2 = createVerifier({ participant: ISPB, issuer: ISS, audience: AUD, jwks: { url: `http://127.0.0.1:${port}/jwks`, timeoutMs: 200 } });
  await refused(v2(`Bearer ${await sign({})}`), Code.Unavailable, /^identity provider keys unavailable; retry later$/);
});

test('during an IdP outage a token naming a key our fresh set lacks is still UNAUTHENTICATED (counted), and known keys keep working', async () => {
  const { jwks } = await k;
  let up = true;
  const server = createServer((_req, res) => {
    if (!up) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const reported: unknown[] = [];
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    // No cooldown: every unknown kid makes jose refetch.
    const v = createVerifier({ participant: ISPB, issuer: ISS, audience: AUD, jwks: { url, timeoutMs: 200, cooldownMs: 0 }, onKeySourceError: (e) => reported.push(e) });
    assert.equal((await v(`Bearer ${await sign({})}`)).subject, 'ana');
    up = false;
    await refused(v(`Bearer ${await sign({ sub: 'mallory' }, { kid: 'made-up' })}`), Code.Unauthenticated, /unknown key/);
    assert.equal(reported.length, 1, 'the failed refetch is still reported to the operator');
    assert.equal((await v(`Bearer ${await sign({ sub: 'bea' })}`)).subject, 'bea', 'a token of a key we hold verifies while the IdP is down');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a JWKS URL answering JSON that is not a key set is UNAVAILABLE', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const v = createVerifier({ participant: ISPB, issuer: ISS, audience: AUD, jwks: { url, timeoutMs: 200 } });
    await refused(v(`Bearer ${await sign({})}`), Code.Unavailable, /^identity provider keys unavailable; retry later$/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('an error of a key resolver that is not jose\'s is not echoed to the caller', async () => {
  const v = await verifier({ jwks: { getKey: () => Promise.reject(new Error('ECONNREFUSED 10.1.2.3:8443')) } });
  await refused(v(`Bearer ${await sign({})}`), Code.Unavailable, /^identity provider keys unavailable; retry later$/);
});

test('configuration: exactly one of AUTH_JWKS_FILE and AUTH_JWKS_URL', () => {
  assert.throws(() => authOptionsFromConfig(loadApiConfig({})), /exactly one/);
  assert.throws(() => authOptionsFromConfig(loadApiConfig({ AUTH_JWKS_FILE: '/x', AUTH_JWKS_URL: 'http://x/jwks' })), /exactly one/);
  const o = authOptionsFromConfig(loadApiConfig({ AUTH_JWKS_URL: 'http://x/jwks', AUTH_ALGORITHMS: 'ES256, RS256' }));
  assert.deepEqual(o.algorithms, ['ES256', 'RS256']);
  assert.deepEqual(o.claims, { ispb: 'ispb', taxId: 'tax_id', role: 'role' });
});

test('verifyBearer uses the process verifier; requireOperator refuses customers', async () => {
  await refused(verifyBearer('Bearer a.b.c'), Code.Unauthenticated, /not configured/);
  setVerifier(await verifier());
  const op = await verifyBearer(`Bearer ${await sign({})}`);
  requireOperator(op, '/codec');
  const cust = await verifyBearer(`Bearer ${await sign({ role: 'customer', tax_id: '11144477735' })}`);
  assert.throws(() => requireOperator(cust, '/codec'), (err: unknown) => err instanceof ConnectError && err.code === Code.PermissionDenied);
});

test('a verified token is remembered until the earliest of the cache TTL and its own expiry; failures never are', async () => {
  const { jwks } = await k;
  let clock = Date.now();
  let keyLookups = 0;
  const local = createLocalJWKSet(jwks);
  const v = createVerifier({
    participant: ISPB,
    issuer: ISS,
    audience: AUD,
    clockToleranceSeconds: 0,
    jwks: { getKey: (h, t) => (keyLookups++, local(h, t)) },
    tokenCache: { max: 100, ttlSeconds: 60 },
    now: () => clock,
  });
  const now = Math.floor(clock / 1000);
  const long = `Bearer ${await sign({}, { iat: now, nbf: now, exp: now + 3600 })}`;
  const first = await v(long);
  const again = await v(long);
  assert.equal(keyLookups, 1, 'the second call is answered from the cache');
  assert.equal(again, first);
  assert.ok(Object.isFrozen(first), 'a shared principal cannot be changed by one call');
  // Past the cache TTL the token is verified again (a withdrawn signing key counts from here).
  clock += 61_000;
  await v(long);
  assert.equal(keyLookups, 2);

  // A token expiring before the TTL is not accepted from the cache once expired.
  const shortExp = Math.floor(clock / 1000) + 5;
  const short = `Bearer ${await sign({}, { iat: shortExp - 5, nbf: shortExp - 5, exp: shortExp })}`;
  await v(short);
  await v(short);
  assert.equal(keyLookups, 3);
  clock += 6_000;
  await refused(v(short), Code.Unauthenticated, /expired/);
  assert.equal(keyLookups, 4, 'the expired token went back to jose, which refused it');

  // Refusals are not remembered: each one is verified (and refused) again.
  const { other } = await k;
  const forged = `Bearer ${await sign({}, { key: other.privateKey, iat: Math.floor(clock / 1000), nbf: Math.floor(clock / 1000), exp: Math.floor(clock / 1000) + 600 })}`;
  await refused(v(forged), Code.Unauthenticated, /signature/);
  await refused(v(forged), Code.Unauthenticated, /signature/);
  assert.equal(keyLookups, 6);
});

test('with the token cache off every call is verified', async () => {
  const { jwks } = await k;
  let keyLookups = 0;
  const local = createLocalJWKSet(jwks);
  const v = createVerifier({ participant: ISPB, issuer: ISS, audience: AUD, jwks: { getKey: (h, t) => (keyLookups++, local(h, t)) }, tokenCache: { max: 100, ttlSeconds: 0 } });
  const token = `Bearer ${await sign({})}`;
  await v(token);
  await v(token);
  assert.equal(keyLookups, 2);
});
