// Authentication and authorization end to end: every RPC refuses calls without a valid token
// (Unauthenticated) and tokens of another PSP (PermissionDenied); a customer reaches only their
// own keys and claims, and decides on a claim only with a second factor; the PSP's operator acts
// on everything of the PSP. A claim where we are the donor stays with the customer whose key it
// was, after the key has left them and another customer of ours registered it.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Code, createClient, type Client as RpcClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { ClaimOperationReason, ClaimRole, ClaimStatus, EntryOperationReason, EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { mintToken } from '../../scripts/token.js';
import { dictClaim, startClaimRequest, untilStatus, wait } from '../support/claims.js';
import { accountOf } from '../support/accounts.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, naturalPerson, newCpf, newEndToEndId, newPhone } from '../support/fixtures.js';
import { bearer, customer, OTHER_ISPB, OUR_ISPB, startStack, type Stack } from '../support/stack.js';

let s: Stack;
const alice = naturalPerson(newCpf(), 'Alice Souza');
const bob = naturalPerson(newCpf(), 'Bruno Lima');
/** Alice's phone key at our PSP, claimed by another PSP's user (we are donor). */
let aliceKey = '';
let donorClaimId = '';
/** Alice's own claim of a phone key held at the other PSP (we are claimer). */
let claimerClaimId = '';
let asAlice: RpcClient<typeof CoreDictService>;
let asAliceNo2fa: RpcClient<typeof CoreDictService>;
let asBob: RpcClient<typeof CoreDictService>;

before(async () => {
  s = await startStack({ claimPoller: { intervalMs: 1_500 } });
  asAlice = s.clientAs(await s.token(customer(alice.taxIdNumber)));
  asAliceNo2fa = s.clientAs(await s.token(customer(alice.taxIdNumber, ['pwd'])));
  asBob = s.clientAs(await s.token(customer(bob.taxIdNumber)));

  // Alice registers her own key (a customer may, for herself).
  aliceKey = newPhone();
  // (on an account of hers in our account registry, as core banking feeds it)
  const created = await asAlice.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: aliceKey, owner: alice, account: await accountOf(s, alice) }));
  assert.equal(created.entry?.status, EntryStatus.ACTIVE);
  // Another PSP's customer claims it.
  const opened = await s.otherPsp.createClaim({ claim: dictClaim('OWNERSHIP', aliceKey, 'PHONE', account(OTHER_ISPB), naturalPerson()) });
  donorClaimId = opened.claim.id;
  await untilStatus('donor claim', async () => (await s.client.getClaimStatus({ by: { case: 'claimId', value: donorClaimId } }).catch(() => undefined))?.claim, ClaimStatus.WAITING_RESOLUTION);

  // Alice claims a phone key someone holds at the other PSP.
  const theirs = newPhone();
  await s.registerInDict(s.otherPsp, { key: theirs, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: newCpf(), name: 'Carla Dias' } });
  const started = await asAlice.startClaim(startClaimRequest(theirs, await accountOf(s, alice), alice));
  claimerClaimId = started.claim?.claimId ?? '';
  assert.ok(claimerClaimId, `claim opened: ${ClaimStatus[started.claim?.status ?? 0]} ${started.claim?.errorName}`);
});
after(async () => {
  await s?.stop();
});

const methods = CoreDictService.methods.map((m) => m.localName as keyof RpcClient<typeof CoreDictService>);
const clientWith = (authorization?: string) =>
  createClient(CoreDictService, createConnectTransport({ baseUrl: s.urls.httpUrl, httpVersion: '1.1', interceptors: authorization ? [(next) => (req) => (req.header.set('authorization', authorization), next(req))] : [] }));
const call = (c: RpcClient<typeof CoreDictService>, m: keyof RpcClient<typeof CoreDictService>) => (c[m] as (req: object) => Promise<unknown>)({});

async function everyRpc(c: RpcClient<typeof CoreDictService>, code: Code, pattern?: RegExp): Promise<void> {
  for (const m of methods) {
    const e = await rpcError(() => call(c, m));
    assert.equal(e.codeName, Code[code], `${m}: ${e.err.rawMessage}`);
    if (pattern) assert.match(e.err.rawMessage, pattern, m);
  }
}

describe('authentication', () => {
  test('every RPC without a token is Unauthenticated; gRPC health answers probes', async () => {
    await everyRpc(clientWith(), Code.Unauthenticated, /Bearer/);
    await everyRpc(clientWith('Basic dXNlcjpwdw=='), Code.Unauthenticated);
    const probe = await fetch(`${s.urls.httpUrl}/grpc.health.v1.Health/Check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(probe.status, 200);
  });

  test('alg none, wrong issuer or audience, expired, not yet valid and badly signed tokens are Unauthenticated', async () => {
    const now = Math.floor(Date.now() / 1000);
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: 'core-dict-dev-idp', aud: 'core-dict', sub: 'x', ispb: OUR_ISPB, role: 'operator', iat: now, exp: now + 600 })}.`;
    const strangerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const cases: [string, string][] = [
      ['alg none', none],
      ['wrong issuer', await s.token({ issuer: 'https://evil.example' })],
      ['wrong audience', await s.token({ audience: 'another-service' })],
      ['expired', await s.token({ issuedAtOffsetSeconds: -7_200, ttlSeconds: 3_600 })],
      ['not yet valid', await s.token({ notBeforeSeconds: 600 })],
      ['signed by another key', await mintToken({ keyPem: strangerKey, kid: s.pki.auth.kid, sub: 'x', ispb: OUR_ISPB, role: 'operator' })],
      ['tampered', (await s.token({ role: 'customer', taxId: bob.taxIdNumber })).replace(/\.([^.]+)\./, (_m, p: string) => `.${enc({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'operator' })}.`)],
    ];
    for (const [name, token] of cases) {
      await everyRpc(clientWith(`Bearer ${token}`), Code.Unauthenticated);
      const e = await rpcError(() => clientWith(`Bearer ${token}`).listKeys({}));
      assert.equal(e.codeName, 'Unauthenticated', name);
    }
  });

  test("another PSP's token is PermissionDenied on every RPC, operator or customer", async () => {
    await everyRpc(clientWith(`Bearer ${await s.token({ ispb: OTHER_ISPB })}`), Code.PermissionDenied, new RegExp(OTHER_ISPB));
    await everyRpc(clientWith(`Bearer ${await s.token({ ispb: OTHER_ISPB, ...customer(alice.taxIdNumber) })}`), Code.PermissionDenied);
  });
});

describe('a customer acting on another user\'s keys and claims is denied', () => {
  const denied = async (what: string, fn: () => Promise<unknown>, code: Code = Code.PermissionDenied) => {
    const e = await rpcError(fn);
    assert.equal(e.codeName, Code[code], `${what}: ${e.err.rawMessage}`);
  };

  test('keys', async () => {
    await denied('CreateKey for another owner', () => asBob.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: newPhone(), owner: alice })));
    await denied('UpdateKey', () => asBob.updateKey({ requestId: randomUUID(), key: aliceKey, account: account(), owner: alice, reason: EntryOperationReason.USER_REQUESTED }));
    await denied('UpdateKey naming himself', () => asBob.updateKey({ requestId: randomUUID(), key: aliceKey, account: account(), owner: bob, reason: EntryOperationReason.USER_REQUESTED }));
    await denied('DeleteKey', () => asBob.deleteKey({ requestId: randomUUID(), key: aliceKey, reason: EntryOperationReason.USER_REQUESTED }));
    await denied('GetKey', () => asBob.getKey({ by: { case: 'key', value: aliceKey } }), Code.NotFound);
    await denied('ListKeys of another tax id', () => asBob.listKeys({ taxIdNumber: alice.taxIdNumber }));
    assert.equal((await asBob.listKeys({})).entries.length, 0, 'Bob has no keys: none of Alice\'s are listed');
    await denied('LookupKey as another payer', () => asBob.lookupKey({ key: aliceKey, payerId: alice.taxIdNumber, endToEndId: newEndToEndId() }));
    // Alice herself: all of it works.
    assert.equal((await asAlice.getKey({ by: { case: 'key', value: aliceKey } })).entry?.key, aliceKey);
    assert.deepEqual((await asAlice.listKeys({})).entries.map((e) => e.key), [aliceKey]);
    assert.equal((await asAlice.lookupKey({ key: aliceKey, payerId: alice.taxIdNumber, endToEndId: newEndToEndId() })).source, 'LOCAL');
  });

  test('claims', async () => {
    await denied('StartClaim for another claimer', () => asBob.startClaim(startClaimRequest(newPhone(), account(OUR_ISPB), alice)));
    await denied('StartPortability for another claimer', () => asBob.startPortability({ requestId: randomUUID(), key: alice.taxIdNumber, keyType: KeyType.CPF, claimerAccount: account(OUR_ISPB), claimer: alice }));
    for (const id of [donorClaimId, claimerClaimId]) {
      await denied('GetClaimStatus', () => asBob.getClaimStatus({ by: { case: 'claimId', value: id } }), Code.NotFound);
    }
    assert.equal((await asBob.listIncomingClaims({})).claims.length, 0);
    assert.equal((await asBob.listOutgoingClaims({})).claims.length, 0);
    const decision = { requestId: randomUUID(), reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(5) };
    await denied('RespondToClaim', () => asBob.respondToClaim({ ...decision, claimId: donorClaimId, confirm: true }));
    await denied('CancelClaim', () => asBob.cancelClaim({ ...decision, claimId: claimerClaimId }));
    await denied('ConfirmPortability', () => asBob.confirmPortability({ ...decision, claimId: donorClaimId }));
    await denied('CancelPortability', () => asBob.cancelPortability({ ...decision, claimId: claimerClaimId }));
    await denied('CompleteClaim', () => asBob.completeClaim({ ...decision, claimId: claimerClaimId }));
    // Alice sees both of hers.
    assert.deepEqual((await asAlice.listIncomingClaims({})).claims.map((c) => c.claimId), [donorClaimId]);
    assert.deepEqual((await asAlice.listOutgoingClaims({})).claims.map((c) => c.claimId), [claimerClaimId]);
    assert.equal((await asAlice.getClaimStatus({ by: { case: 'claimId', value: donorClaimId } })).claim?.claimId, donorClaimId);
  });
});

describe('second factor and operators', () => {
  test("a customer's claim decision without a second factor is refused", async () => {
    const decision = { requestId: randomUUID(), reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(5) };
    const calls: [string, () => Promise<unknown>][] = [
      ['RespondToClaim', () => asAliceNo2fa.respondToClaim({ ...decision, claimId: donorClaimId, confirm: true })],
      ['CancelClaim', () => asAliceNo2fa.cancelClaim({ ...decision, claimId: claimerClaimId })],
      ['ConfirmPortability', () => asAliceNo2fa.confirmPortability({ ...decision, claimId: donorClaimId })],
      ['CancelPortability', () => asAliceNo2fa.cancelPortability({ ...decision, claimId: claimerClaimId })],
      ['CompleteClaim', () => asAliceNo2fa.completeClaim({ ...decision, claimId: claimerClaimId })],
    ];
    for (const [name, fn] of calls) {
      const e = await rpcError(fn);
      assert.equal(e.codeName, 'PermissionDenied', name);
      assert.match(e.err.rawMessage, /second authentication factor/, name);
    }
    // Reads need none.
    assert.equal((await asAliceNo2fa.getClaimStatus({ by: { case: 'claimId', value: claimerClaimId } })).claim?.claimId, claimerClaimId);
  });

  test('with a second factor the customer decides on her own claim', async () => {
    const r = await asAlice.cancelClaim({ requestId: randomUUID(), claimId: claimerClaimId, reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CANCELLED);
  });

  test("the PSP's operator acts on any of the PSP's keys and claims", async () => {
    assert.equal((await s.client.getKey({ by: { case: 'key', value: aliceKey } })).entry?.key, aliceKey);
    assert.ok((await s.client.listKeys({ taxIdNumber: alice.taxIdNumber })).entries.some((e) => e.key === aliceKey));
    const r = await s.client.respondToClaim({ requestId: randomUUID(), claimId: donorClaimId, confirm: true, waitTimeout: wait(10) });
    assert.equal(r.claim?.status, ClaimStatus.CONFIRMED);
    // A token that is not a signed JWT is refused before anything else.
    const e = await rpcError(() => createClient(CoreDictService, createConnectTransport({ baseUrl: s.urls.httpUrl, httpVersion: '1.1', interceptors: [bearer('x.y.z')] })).listKeys({}));
    assert.equal(e.codeName, 'Unauthenticated');
  });
});

describe("a donor claim is the party's whose key it was, not the key's later owner's", () => {
  /** A new natural person of ours and a client acting as them. */
  const newCustomer = async (name: string) => {
    const person = naturalPerson(newCpf(), name);
    return [person, s.clientAs(await s.token(customer(person.taxIdNumber)))] as const;
  };
  /** A phone key the customer registers on an account of theirs; ACTIVE. */
  const phoneKeyOf = async (owner: ReturnType<typeof naturalPerson>, client: ReturnType<typeof s.clientAs>) => {
    const key = newPhone();
    assert.equal((await client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key, owner, account: await accountOf(s, owner) }))).entry?.status, EntryStatus.ACTIVE);
    return key;
  };

  test('after the key left Dora by a claim and Eva registered it at our PSP, only Dora sees the old claim', async () => {
    const [dora, asDora] = await newCustomer('Dora Ramos');
    const [eva, asEva] = await newCustomer('Eva Nunes');
    const key = await phoneKeyOf(dora, asDora);

    // Another PSP's user claims Dora's key; Dora gives it up; the claimer completes.
    const opened = await s.otherPsp.createClaim({ claim: dictClaim('OWNERSHIP', key, 'PHONE', account(OTHER_ISPB), naturalPerson()) });
    const claimId = opened.claim.id;
    const byOperator = async () => (await s.client.getClaimStatus({ by: { case: 'claimId', value: claimId } }).catch(() => undefined))?.claim;
    await untilStatus('donor claim', byOperator, ClaimStatus.WAITING_RESOLUTION);
    const confirmed = await asDora.respondToClaim({ requestId: randomUUID(), claimId, confirm: true, reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(confirmed.claim?.status, ClaimStatus.CONFIRMED);
    await s.otherPsp.completeClaim({ claimId, participant: OTHER_ISPB, requestId: randomUUID() });
    await untilStatus('donor claim', byOperator, ClaimStatus.COMPLETED);

    // The new owner lets the key go at the other PSP; Eva, another customer of ours, registers it here.
    await s.otherPsp.deleteEntry({ key, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
    assert.equal((await asEva.createKey(createKeyRequest({ keyType: KeyType.PHONE, key, owner: eva, account: await accountOf(s, eva) }))).entry?.status, EntryStatus.ACTIVE);

    // Eva is no party to the old claim: not shown, not listed, not hers to decide on.
    for (const role of [ClaimRole.UNSPECIFIED, ClaimRole.DONOR]) {
      const e = await rpcError(() => asEva.getClaimStatus({ by: { case: 'claimId', value: claimId }, role }));
      assert.equal(e.codeName, 'NotFound', e.err.rawMessage);
    }
    assert.ok(!(await asEva.listIncomingClaims({})).claims.some((c) => c.claimId === claimId), 'not in Eva\'s incoming claims');
    const act = await rpcError(() => asEva.respondToClaim({ requestId: randomUUID(), claimId, confirm: false, waitTimeout: wait(5) }));
    assert.equal(act.codeName, 'PermissionDenied', act.err.rawMessage);
    // Dora still is.
    assert.equal((await asDora.getClaimStatus({ by: { case: 'claimId', value: claimId }, role: ClaimRole.DONOR })).claim?.status, ClaimStatus.COMPLETED);
    assert.deepEqual((await asDora.listIncomingClaims({})).claims.map((c) => c.claimId), [claimId]);
  });

  test('an ownership claim between two of our customers: after completion the claimer is party only as claimer', async () => {
    const [fabio, asFabio] = await newCustomer('Fabio Teixeira');
    const [gil, asGil] = await newCustomer('Gil Barros');
    const key = await phoneKeyOf(fabio, asFabio);

    // Gil claims Fabio's key at our PSP: we are claimer and donor of the same claim.
    const started = await asGil.startClaim(startClaimRequest(key, await accountOf(s, gil), gil));
    const claimId = started.claim?.claimId ?? '';
    assert.ok(claimId, `claim opened: ${ClaimStatus[started.claim?.status ?? 0]} ${started.claim?.errorName}`);
    const asRole = (role: ClaimRole) => async () => (await s.client.getClaimStatus({ by: { case: 'claimId', value: claimId }, role }).catch(() => undefined))?.claim;
    await untilStatus('donor row', asRole(ClaimRole.DONOR), ClaimStatus.WAITING_RESOLUTION);
    const confirmed = await asFabio.respondToClaim({ requestId: randomUUID(), claimId, confirm: true, reason: ClaimOperationReason.USER_REQUESTED, waitTimeout: wait(10) });
    assert.equal(confirmed.claim?.status, ClaimStatus.CONFIRMED);
    await untilStatus('claimer row', asRole(ClaimRole.CLAIMER), ClaimStatus.CONFIRMED);
    const done = await asGil.completeClaim({ requestId: randomUUID(), claimId, waitTimeout: wait(10) });
    assert.equal(done.claim?.status, ClaimStatus.COMPLETED);
    await untilStatus('donor row', asRole(ClaimRole.DONOR), ClaimStatus.COMPLETED);
    assert.equal((await asGil.getKey({ by: { case: 'key', value: key } })).entry?.owner?.taxIdNumber, gil.taxIdNumber);

    // Gil now holds the key here, yet the donor's side of the claim stays Fabio's.
    const e = await rpcError(() => asGil.getClaimStatus({ by: { case: 'claimId', value: claimId }, role: ClaimRole.DONOR }));
    assert.equal(e.codeName, 'NotFound', e.err.rawMessage);
    assert.ok(!(await asGil.listIncomingClaims({})).claims.some((c) => c.claimId === claimId), 'not in Gil\'s incoming claims');
    assert.deepEqual((await asGil.listOutgoingClaims({})).claims.map((c) => c.claimId), [claimId]);
    assert.equal((await asFabio.getClaimStatus({ by: { case: 'claimId', value: claimId }, role: ClaimRole.DONOR })).claim?.role, ClaimRole.DONOR);
    assert.deepEqual((await asFabio.listIncomingClaims({})).claims.map((c) => c.claimId), [claimId]);
  });
});
