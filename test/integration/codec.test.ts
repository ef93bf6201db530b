// Workflow data encrypted at rest in Temporal: after entry writes (create, update, delete) and
// claims (we the donor, we the claimer), no CPF/CNPJ, name, phone or e-mail of the test data
// appears in plain text anywhere in the workflow histories Temporal returns — while the same
// histories decoded with the codec show them (so the search would have found them). And the
// codec server on the API's HTTP/1.1 listener: round trip, CORS preflight, 401/403, namespace,
// 413, tampered ciphertext.
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { mapPayloads, payloadToJson, type JsonPayload } from '../../config/payload-codec.js';
import { ClaimStatus, EntryOperationReason, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { SHORT_PERIODS, dictClaim, startClaimRequest, untilStatus, wait, waitFor } from '../support/claims.js';
import { account, createKeyRequest, legalPerson, naturalPerson, newEmail, newPhone } from '../support/fixtures.js';
import { OTHER_ISPB, OUR_ISPB, TEST_UI_ORIGIN, customer, env, startStack, type Stack } from '../support/stack.js';

let s: Stack;
const MAX_BODY = 65_536;
before(async () => {
  s = await startStack({ claimPeriods: SHORT_PERIODS, claimPoller: { intervalMs: 1_500 }, simulator: { claimPeriods: SHORT_PERIODS }, codec: { maxBodyBytes: MAX_BODY } });
});
after(async () => {
  await s?.stop();
});

/** A name no other test uses (letters only, as BCB's names). */
const uniqueName = (first: string) => `${first} ${Array.from({ length: 8 }, () => String.fromCharCode(97 + randomInt(26))).join('')} Sigilo`;

/** Every string and every byte field of a message, as text (bytes read as latin1 and utf-8). */
function allText(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('latin1'), Buffer.from(v).toString('utf8'));
  else if (Array.isArray(v)) for (const x of v) allText(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) allText(x, out);
  return out;
}

describe('workflow histories hold no personal data in plain text', () => {
  test('entries created, updated and deleted; claims as donor and as claimer', async () => {
    const secrets: string[] = [];
    const keep = (...xs: string[]) => secrets.push(...xs);

    // Entries: a CPF key, an e-mail key (legal person: CNPJ, name and trade name), a phone key.
    const cpfOwner = naturalPerson(undefined, uniqueName('Joana'));
    keep(cpfOwner.taxIdNumber, cpfOwner.name);
    const cpfKey = await s.client.createKey(createKeyRequest({ keyType: KeyType.CPF, key: cpfOwner.taxIdNumber, owner: cpfOwner }));
    const company = legalPerson(undefined, uniqueName('Padaria'), uniqueName('Doces'));
    const email = newEmail();
    keep(company.taxIdNumber, company.name, company.tradeName!, email);
    const emailKey = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: email, owner: company }));
    const renamed = { ...company, name: uniqueName('Confeitaria') };
    keep(renamed.name);
    const updated = await s.client.updateKey({ requestId: randomUUID(), key: email, account: account(), owner: renamed, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait(15) });
    const phoneOwner = naturalPerson(undefined, uniqueName('Pedro'));
    const phone = newPhone();
    keep(phone, phoneOwner.taxIdNumber, phoneOwner.name);
    const phoneKey = await s.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: phone, owner: phoneOwner }));
    const deleted = await s.client.deleteKey({ requestId: randomUUID(), key: phone, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait(15) });

    // We are the donor: another PSP's customer claims a phone key of ours; our user keeps it.
    const donorPhone = newPhone();
    const donorOwner = naturalPerson(undefined, uniqueName('Carla'));
    const claimer = naturalPerson(undefined, uniqueName('Bruno'));
    keep(donorPhone, donorOwner.taxIdNumber, donorOwner.name, claimer.taxIdNumber, claimer.name);
    await s.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: donorPhone, owner: donorOwner, account: account(OUR_ISPB) }));
    const opened = await s.otherPsp.createClaim({ claim: dictClaim('OWNERSHIP', donorPhone, 'PHONE', account(OTHER_ISPB), claimer) });
    const ours = async () => (await s.client.getClaimStatus({ by: { case: 'claimId', value: opened.claim.id } })).claim;
    await untilStatus('our donor view', ours, ClaimStatus.WAITING_RESOLUTION, 15_000);
    const responded = await s.client.respondToClaim({ requestId: randomUUID(), claimId: opened.claim.id, confirm: false, waitTimeout: wait(10) });
    assert.equal(responded.claim?.status, ClaimStatus.CANCELLED);

    // We are the claimer: our customer claims a phone key another PSP holds.
    const theirPhone = newPhone();
    const theirOwner = naturalPerson(undefined, uniqueName('Dora'));
    const ourClaimer = naturalPerson(undefined, uniqueName('Elias'));
    // (The current owner at the other PSP never reaches our workflows: not searched for.)
    keep(theirPhone, ourClaimer.taxIdNumber, ourClaimer.name);
    await s.registerInDict(s.otherPsp, { key: theirPhone, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: theirOwner.taxIdNumber, name: theirOwner.name } });
    const claimReq = startClaimRequest(theirPhone, account(OUR_ISPB), ourClaimer);
    await s.client.startClaim(claimReq);
    await waitFor('our claim opened in DICT', async () => {
      const c = (await s.client.getClaimStatus({ by: { case: 'requestId', value: claimReq.requestId } })).claim;
      return c?.status === ClaimStatus.OPEN || c?.status === ClaimStatus.WAITING_RESOLUTION ? c : undefined;
    });

    // Every workflow of this stack's task queue, as Temporal stores it.
    const ids = new Set<string>([cpfKey, emailKey, updated, phoneKey, deleted].map((r) => r.operation!.workflowId));
    for await (const w of s.temporal.workflow.list({ query: `TaskQueue = "${s.taskQueue}"` })) ids.add(w.workflowId);
    assert.ok(ids.size >= 8, `workflows found: ${[...ids].join(', ')}`);
    const stored: string[] = [];
    const decoded: string[] = [];
    for (const id of ids) {
      const history = await s.temporal.workflow.getHandle(id).fetchHistory();
      stored.push(...allText(history));
      decoded.push(...allText(await mapPayloads(history, async (p) => (await s.codec.decode([p]))[0]!)));
    }
    const storedText = stored.join('\n');
    const decodedText = decoded.join('\n');
    const leaked = secrets.filter((x) => storedText.includes(x));
    assert.deepEqual(leaked, [], 'personal data in plain text in a stored history');
    // The same histories decoded show every one of them: the search above would have found them.
    assert.deepEqual(secrets.filter((x) => !decodedText.includes(x)), []);
  });
});

describe('codec server (/codec on the HTTP/1.1 listener)', () => {
  const url = (op: string) => `${s.urls.httpUrl}/codec/${op}`;
  const post = async (op: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url(op), { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': env.namespace, ...headers }, body: JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: (await res.json().catch(() => undefined)) as { payloads?: JsonPayload[]; error?: string } | undefined };
  };
  let operator: Record<string, string>;
  before(async () => {
    operator = { authorization: `Bearer ${await s.token()}` };
  });
  const value = { taxIdNumber: '11144477735', name: 'Maria Sigilosa' };
  const jsonPayload = payloadToJson(defaultPayloadConverter.toPayload(value));

  test('encode then decode round-trips; encoded payloads are encrypted; CORS headers for the UI origin', async () => {
    const enc = await post('encode', { payloads: [jsonPayload] }, { ...operator, origin: TEST_UI_ORIGIN });
    assert.equal(enc.status, 200);
    assert.equal(enc.headers.get('access-control-allow-origin'), TEST_UI_ORIGIN);
    const sealed = enc.body!.payloads![0]!;
    assert.equal(Buffer.from(sealed.metadata!.encoding!, 'base64').toString(), 'binary/encrypted');
    assert.equal(Buffer.from(sealed.metadata!['encryption-key-id']!, 'base64').toString(), s.codec.currentKeyId);
    assert.ok(!Buffer.from(sealed.data!, 'base64').toString('latin1').includes(value.name));
    const dec = await post('decode', { payloads: [sealed, jsonPayload] }, operator);
    assert.equal(dec.status, 200);
    assert.deepEqual(dec.body!.payloads, [jsonPayload, jsonPayload]);
  });

  test('CORS preflight: the UI origin gets POST and the codec headers; another origin is refused', async () => {
    const pre = await fetch(url('decode'), { method: 'OPTIONS', headers: { origin: TEST_UI_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), TEST_UI_ORIGIN);
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match((pre.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /x-namespace/);
    const other = await fetch(url('decode'), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('without a token 401; a bad token 401; a customer 403; another namespace 403', async () => {
    const none = await post('decode', { payloads: [jsonPayload] });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await post('decode', { payloads: [jsonPayload] }, { authorization: 'Bearer not.a.jwt' })).status, 401);
    const cust = { authorization: `Bearer ${await s.token(customer(value.taxIdNumber))}` };
    assert.equal((await post('decode', { payloads: [jsonPayload] }, cust)).status, 403);
    assert.equal((await post('decode', { payloads: [jsonPayload] }, { ...operator, 'x-namespace': 'someone-else' })).status, 403);
  });

  test('a body over the cap is 413; malformed bodies 400; tampered ciphertext 400', async () => {
    const big = JSON.stringify({ payloads: [{ metadata: {}, data: Buffer.alloc(MAX_BODY).toString('base64') }] });
    const res = await fetch(url('decode'), { method: 'POST', headers: { 'content-type': 'application/json', ...operator }, body: big });
    assert.equal(res.status, 413);
    assert.equal((await post('decode', { nope: 1 }, operator)).status, 400);
    // proto3 JSON leaves out an empty list: the temporal CLI sends {} for a query without arguments.
    const empty = await post('encode', {}, operator);
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body!.payloads, []);
    const sealed = (await post('encode', { payloads: [jsonPayload] }, operator)).body!.payloads![0]!;
    const data = Buffer.from(sealed.data!, 'base64');
    data[data.length - 5] = data[data.length - 5]! ^ 0xff;
    const tampered = await post('decode', { payloads: [{ ...sealed, data: data.toString('base64') }] }, operator);
    assert.equal(tampered.status, 400);
    assert.match(tampered.body!.error!, /failed authentication/);
  });
});
