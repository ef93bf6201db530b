// DICT simulator against BCB's DICT API v2 entries contract: real HTTP, real Postgres, real
// XMLDSig. Requests are built with the bridge codec and signed with the dev PKI's participant keys.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import https from 'node:https';
import postgres from 'postgres';
import { after, before, describe, test } from 'node:test';
import { createDictClient } from '../../bridge/client.js';
import { DictProblemError } from '../../bridge/types.js';
import {
  decodeCheckKeysResponse,
  decodeCreateEntryResponse,
  decodeDeleteEntryResponse,
  decodeGetEntryResponse,
  decodeProblem,
  decodeUpdateEntryResponse,
  encodeCheckKeysRequest,
  encodeCreateEntryRequest,
  encodeDeleteEntryRequest,
  encodeUpdateEntryRequest,
} from '../../bridge/xml.js';
import { signXml, verifyXml } from '../../bridge/xmldsig.js';
import { isEvp } from '../../domain/keys.js';
import { cnpjCheckDigits, cpfCheckDigits } from '../../domain/taxid.js';
import type { BrazilianAccount, Entry, EntryOperationReason, ExtendedEntry, Person } from '../../domain/types.js';
import { ensureDevPki } from '../../scripts/pki.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator/server.js';

const DB = process.env.SIM_DATABASE_URL ?? 'postgres://coredict@127.0.0.1:25432/dict_simulator_test';
const US = '12345678';
const THEM = '87654321';
/** In the PKI but not registered with the simulator: its signatures must not be accepted. */
const STRANGER = '11223344';
const pki = ensureDevPki(process.env.PKI_DIR ?? '.data/test/pki', [US, THEM, STRANGER]);
const CLOCK = new Date('2024-05-02T12:00:00.000Z');

// ----- data builders (random, so runs never collide on keys or accounts) -----
const digits = (n: number): string => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
const cpf = (): string => {
  const base = `1${digits(8)}`;
  return base + cpfCheckDigits(base);
};
const cnpj = (): string => {
  const base = `2${digits(7)}0001`;
  return base + cnpjCheckDigits(base);
};
const phone = (): string => `+55619${digits(8)}`;
const email = (): string => `sim.${randomBytes(5).toString('hex')}@example.com`;
const account = (participant = US): BrazilianAccount => ({
  participant,
  branch: '0001',
  accountNumber: `7${digits(9)}`,
  accountType: 'CACC',
  openingDate: '2010-01-10T03:00:00Z',
});
const natural = (taxIdNumber = cpf()): Person => ({ type: 'NATURAL_PERSON', taxIdNumber, name: 'Joao da Silva' });
const legal = (taxIdNumber = cnpj()): Person => ({ type: 'LEGAL_PERSON', taxIdNumber, name: 'Padaria Tres Irmaos Ltda', tradeName: 'Padaria 3 Irmaos' });
/** A valid SPI end-to-end id for PI-EndToEndId. */
const e2e = (): string => `E${US}202405021200${randomBytes(8).toString('hex').slice(0, 11)}`;

// ----- raw HTTP helpers -----
interface Raw {
  status: number;
  headers: Headers;
  body: string;
}

type Signer = string | 'unsigned' | ((xml: string) => string);

function sign(xml: string, signer: Signer): string {
  if (signer === 'unsigned') return xml;
  if (typeof signer === 'function') return signer(xml);
  const p = pki.participants[signer]!;
  return signXml(xml, { keyPem: p.keyPem, certPem: p.certPem });
}

async function call(sim: RunningSimulator, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<Raw> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'content-type': 'application/xml', ...(opts.headers ?? {}) },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const body = await res.text();
  // Every DICT answer, problems included, must be signed by the DICT certificate.
  if (path.startsWith('/')) verifyXml(body, [pki.dict.certPem]);
  return { status: res.status, headers: res.headers, body };
}

function problemOf(r: Raw): { bcbError: string; status: number; violations: { property?: string }[] } {
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+xml/);
  const p = decodeProblem(r.body);
  assert.equal(p.status, r.status, 'problem status matches HTTP status');
  return { bcbError: p.bcbError, status: p.status, violations: p.violations ?? [] };
}

async function create(sim: RunningSimulator, entry: Entry, o: { requestId?: string; reason?: EntryOperationReason; signer?: Signer } = {}): Promise<Raw & { requestId: string }> {
  const requestId = o.requestId ?? randomUUID();
  const xml = encodeCreateEntryRequest({ entry, reason: o.reason ?? 'USER_REQUESTED', requestId });
  const r = await call(sim, 'POST', '/entries/', { body: sign(xml, o.signer ?? entry.account.participant), headers: { 'PI-RequestingParticipant': US } });
  return { ...r, requestId };
}

async function created(sim: RunningSimulator, entry: Entry, o: { requestId?: string; signer?: Signer } = {}): Promise<ExtendedEntry> {
  const r = await create(sim, entry, o);
  assert.equal(r.status, 201, r.body);
  return decodeCreateEntryResponse(r.body).entry;
}

function getEntry(sim: RunningSimulator, key: string, requester = THEM, headers: Record<string, string> = {}): Promise<Raw> {
  return call(sim, 'GET', `/entries/${encodeURIComponent(key)}`, {
    headers: { 'PI-RequestingParticipant': requester, 'PI-PayerId': cpf(), 'PI-EndToEndId': e2e(), ...headers },
  });
}

function update(sim: RunningSimulator, key: string, a: BrazilianAccount, owner: Person, reason: EntryOperationReason = 'USER_REQUESTED', signer: Signer = US): Promise<Raw> {
  return call(sim, 'PUT', `/entries/${encodeURIComponent(key)}`, { body: sign(encodeUpdateEntryRequest({ key, account: a, owner, reason }), signer) });
}

function del(sim: RunningSimulator, key: string, participant = US, reason: EntryOperationReason = 'USER_REQUESTED', signer: Signer = participant): Promise<Raw> {
  return call(sim, 'POST', `/entries/${encodeURIComponent(key)}/delete`, { body: sign(encodeDeleteEntryRequest({ key, participant, reason }), signer) });
}

function checkKeys(sim: RunningSimulator, keys: string[]): Promise<Raw> {
  return call(sim, 'POST', '/keys/check', { body: encodeCheckKeysRequest({ keys }), headers: { 'PI-RequestingParticipant': US } });
}

async function admin(sim: RunningSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.origin}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const writes = async (sim: RunningSimulator): Promise<{ createEntry: number; updateEntry: number; deleteEntry: number }> => (await admin(sim, 'GET', '/admin/stats')).json.writes;

function options(extra: Partial<SimulatorOptions> = {}): SimulatorOptions {
  return {
    port: 0,
    databaseUrl: DB,
    signing: { keyPem: pki.dict.keyPem, certPem: pki.dict.certPem },
    participants: { [US]: pki.participants[US]!.certPem, [THEM]: pki.participants[THEM]!.certPem },
    now: () => CLOCK,
    ...extra,
  };
}

describe('DICT simulator (entries, API v2)', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator(options());
  });
  after(async () => {
    await sim.close();
  });

  test('createEntry registers every key type; EVP key is generated as a v4 UUID', async () => {
    const owner = natural();
    const cases: Entry[] = [
      { key: owner.taxIdNumber, keyType: 'CPF', account: account(), owner },
      { key: phone(), keyType: 'PHONE', account: account(), owner: natural() },
      { key: email(), keyType: 'EMAIL', account: account(), owner: natural() },
      { keyType: 'EVP', account: account(), owner: natural() },
    ];
    const company = legal();
    cases.push({ key: company.taxIdNumber, keyType: 'CNPJ', account: account(), owner: company });
    for (const e of cases) {
      const r = await create(sim, e);
      assert.equal(r.status, 201, r.body);
      assert.match(r.headers.get('content-type') ?? '', /^application\/xml/);
      const got = decodeCreateEntryResponse(r.body);
      assert.equal(got.entry.keyType, e.keyType);
      if (e.keyType === 'EVP') {
        assert.ok(isEvp(got.entry.key), `generated EVP ${got.entry.key}`);
        assert.match(got.entry.key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      } else assert.equal(got.entry.key, e.key);
      assert.deepEqual(got.entry.owner, e.owner);
      assert.equal(got.entry.account.accountNumber, e.account.accountNumber);
      assert.equal(got.entry.creationDate, CLOCK.toISOString());
      assert.equal(got.entry.keyOwnershipDate, CLOCK.toISOString());
      assert.match(got.correlationId ?? '', /^[0-9a-f]{32}$/);
      const stored = await admin(sim, 'GET', `/admin/entries/${encodeURIComponent(got.entry.key)}`);
      assert.equal(stored.status, 200);
      assert.deepEqual(stored.json, got.entry);
    }
  });

  test('responses are signed by the DICT key and by nothing else', async () => {
    const r = await getEntry(sim, cpf());
    assert.doesNotThrow(() => verifyXml(r.body, [pki.dict.certPem]));
    assert.throws(() => verifyXml(r.body, [pki.participants[US]!.certPem]));
    assert.throws(() => verifyXml(r.body.replace('Entry associated', 'Entry tampered'), [pki.dict.certPem]));
  });

  test('same RequestId and content replays the original entry without a new write', async () => {
    const e: Entry = { keyType: 'EVP', account: account(), owner: natural() };
    const before = await writes(sim);
    const first = await create(sim, e);
    const again = await create(sim, e, { requestId: first.requestId });
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    const a = decodeCreateEntryResponse(first.body).entry;
    const b = decodeCreateEntryResponse(again.body).entry;
    assert.deepEqual(b, a, 'a second EVP would carry a different generated key');
    assert.equal((await writes(sim)).createEntry - before.createEntry, 1);
  });

  test('concurrent requests with one RequestId create exactly one entry', async () => {
    const e: Entry = { keyType: 'EVP', account: account(), owner: natural() };
    const requestId = randomUUID();
    const before = await writes(sim);
    const rs = await Promise.all(Array.from({ length: 8 }, () => create(sim, e, { requestId })));
    const keys = new Set(rs.map((r) => (assert.equal(r.status, 201, r.body), decodeCreateEntryResponse(r.body).entry.key)));
    assert.equal(keys.size, 1);
    assert.equal((await writes(sim)).createEntry - before.createEntry, 1);
  });

  test('same RequestId with different content is RequestIdAlreadyUsed', async () => {
    const e: Entry = { key: email(), keyType: 'EMAIL', account: account(), owner: natural() };
    const first = await create(sim, e);
    assert.equal(first.status, 201);
    const r = await create(sim, { ...e, account: { ...e.account, accountNumber: '1234' } }, { requestId: first.requestId });
    assert.equal(r.status, 400);
    assert.equal(problemOf(r).bcbError, 'RequestIdAlreadyUsed');
  });

  test('key conflicts: EntryAlreadyExists, EntryKeyOwnedByDifferentPerson, EntryKeyInCustodyOfDifferentParticipant', async () => {
    const owner = natural();
    const key = phone();
    await created(sim, { key, keyType: 'PHONE', account: account(THEM), owner });

    const sameEverything = await create(sim, { key, keyType: 'PHONE', account: account(THEM), owner });
    assert.equal(problemOf(sameEverything).bcbError, 'EntryAlreadyExists');

    const otherPerson = await create(sim, { key, keyType: 'PHONE', account: account(US), owner: natural() });
    assert.equal(problemOf(otherPerson).bcbError, 'EntryKeyOwnedByDifferentPerson');

    const otherPsp = await create(sim, { key, keyType: 'PHONE', account: account(US), owner });
    assert.equal(otherPsp.status, 400);
    assert.equal(problemOf(otherPsp).bcbError, 'EntryKeyInCustodyOfDifferentParticipant');

    // CPF keys can only be owned by their holder: the conflict is always about custody.
    const holder = natural();
    await created(sim, { key: holder.taxIdNumber, keyType: 'CPF', account: account(THEM), owner: holder });
    const port = await create(sim, { key: holder.taxIdNumber, keyType: 'CPF', account: account(US), owner: holder });
    assert.equal(problemOf(port).bcbError, 'EntryKeyInCustodyOfDifferentParticipant');
  });

  test('EntryLimitExceeded: 5 keys per account for natural persons, 20 for legal persons', async () => {
    const acc = account();
    const owner = natural();
    for (let i = 0; i < 5; i++) await created(sim, { keyType: 'EVP', account: acc, owner });
    const sixth = await create(sim, { keyType: 'EVP', account: acc, owner });
    assert.equal(problemOf(sixth).bcbError, 'EntryLimitExceeded');
    // Another account of the same person is unaffected.
    await created(sim, { keyType: 'EVP', account: account(), owner });

    const lacc = account();
    const company = legal();
    for (let i = 0; i < 20; i++) await created(sim, { keyType: 'EVP', account: lacc, owner: company });
    const extra = await create(sim, { keyType: 'EVP', account: lacc, owner: company });
    assert.equal(problemOf(extra).bcbError, 'EntryLimitExceeded');
  });

  test('validation: EntryInvalid with violations, EntryTaxIdNumberByDifferentOwner, InvalidReason, BadRequest', async () => {
    const badPhone = await create(sim, { key: '61988887777', keyType: 'PHONE', account: account(), owner: natural() });
    const p = problemOf(badPhone);
    assert.equal(p.bcbError, 'EntryInvalid');
    assert.ok(p.violations.some((v) => v.property === 'Key'), JSON.stringify(p.violations));

    const evpWithKey = await create(sim, { key: randomUUID(), keyType: 'EVP', account: account(), owner: natural() });
    assert.equal(problemOf(evpWithKey).bcbError, 'EntryInvalid');

    const badCpfOwner = await create(sim, { keyType: 'EVP', account: account(), owner: natural('12345678900') });
    assert.equal(problemOf(badCpfOwner).bcbError, 'EntryInvalid');

    const notHolder = await create(sim, { key: cpf(), keyType: 'CPF', account: account(), owner: natural() });
    assert.equal(problemOf(notHolder).bcbError, 'EntryTaxIdNumberByDifferentOwner');

    const reason = await create(sim, { keyType: 'EVP', account: account(), owner: natural() }, { reason: 'FRAUD' });
    assert.equal(problemOf(reason).bcbError, 'InvalidReason');

    const notXml = await call(sim, 'POST', '/entries/', { body: 'hello' });
    assert.equal(problemOf(notXml).bcbError, 'BadRequest');

    const garbage = await call(sim, 'POST', '/entries/', { body: sign('<?xml version="1.0"?><CreateEntryRequest><Signature></Signature></CreateEntryRequest>', US) });
    assert.equal(problemOf(garbage).bcbError, 'BadRequest');
  });

  test('only the account participant may create; unsigned, tampered or unknown-signer bodies are RequestSignatureInvalid', async () => {
    const forbidden = await create(sim, { keyType: 'EVP', account: account(US), owner: natural() }, { signer: THEM });
    assert.equal(forbidden.status, 403);
    assert.equal(problemOf(forbidden).bcbError, 'Forbidden');

    const e: Entry = { key: email(), keyType: 'EMAIL', account: account(), owner: natural() };
    const unsigned = await create(sim, e, { signer: 'unsigned' });
    assert.equal(unsigned.status, 400);
    assert.equal(problemOf(unsigned).bcbError, 'RequestSignatureInvalid');

    const tampered = await create(sim, e, { signer: (xml) => sign(xml, US).replace('Joao da Silva', 'Maria da Silva') });
    assert.equal(problemOf(tampered).bcbError, 'RequestSignatureInvalid');

    const stranger = await create(sim, e, { signer: STRANGER });
    assert.equal(problemOf(stranger).bcbError, 'RequestSignatureInvalid');

    assert.equal((await admin(sim, 'GET', `/admin/entries/${encodeURIComponent(e.key!)}`)).status, 404, 'nothing was written');
  });

  test('getEntry: 404, headers, book transfer, Cache-Control', async () => {
    const missing = await getEntry(sim, email());
    assert.equal(missing.status, 404);
    assert.equal(problemOf(missing).bcbError, 'NotFound');

    const e = await created(sim, { key: email(), keyType: 'EMAIL', account: account(US), owner: natural() });
    const ok = await getEntry(sim, e.key, THEM);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.headers.get('cache-control'), 'max-age=180');
    assert.deepEqual(decodeGetEntryResponse(ok.body).entry, e);

    const own = await getEntry(sim, e.key, US);
    assert.equal(problemOf(own).bcbError, 'EntryCannotBeQueriedForBookTransfer');

    const noPayer = await call(sim, 'GET', `/entries/${encodeURIComponent(e.key)}`, { headers: { 'PI-RequestingParticipant': THEM, 'PI-EndToEndId': e2e() } });
    assert.equal(problemOf(noPayer).bcbError, 'BadRequest');
    const badE2e = await getEntry(sim, e.key, THEM, { 'PI-EndToEndId': 'not-an-e2e' });
    assert.equal(problemOf(badE2e).bcbError, 'BadRequest');
    const unknown = await getEntry(sim, e.key, STRANGER);
    assert.equal(problemOf(unknown).bcbError, 'Forbidden');
    const noRequester = await call(sim, 'GET', `/entries/${encodeURIComponent(e.key)}`, { headers: { 'PI-PayerId': cpf(), 'PI-EndToEndId': e2e() } });
    assert.equal(problemOf(noRequester).bcbError, 'BadRequest');
  });

  test('updateEntry: owner only, tax id fixed, reasons per key type', async () => {
    const owner = natural();
    const e = await created(sim, { key: phone(), keyType: 'PHONE', account: account(US), owner });
    const newAccount: BrazilianAccount = { ...account(US), branch: '0042', accountType: 'SVGS' };
    const renamed: Person = { ...owner, name: 'Joao da Silva Sauro' };
    const before = await writes(sim);
    const r = await update(sim, e.key, newAccount, renamed);
    assert.equal(r.status, 200, r.body);
    const got = decodeUpdateEntryResponse(r.body).entry;
    assert.equal(got.account.branch, '0042');
    assert.equal(got.account.accountType, 'SVGS');
    assert.equal(got.owner.name, 'Joao da Silva Sauro');
    assert.equal(got.creationDate, e.creationDate);
    assert.equal(got.keyOwnershipDate, e.keyOwnershipDate);
    assert.deepEqual((await admin(sim, 'GET', `/admin/entries/${encodeURIComponent(e.key)}`)).json, got);
    // Retrying the same update changes nothing and is not counted as a write.
    assert.equal((await update(sim, e.key, newAccount, renamed)).status, 200);
    assert.equal((await writes(sim)).updateEntry - before.updateEntry, 1);

    const otherOwner = await update(sim, e.key, newAccount, natural());
    assert.equal(problemOf(otherOwner).bcbError, 'EntryTaxIdNumberByDifferentOwner');
    const byThem = await update(sim, e.key, newAccount, renamed, 'USER_REQUESTED', THEM);
    assert.equal(problemOf(byThem).bcbError, 'Forbidden');
    const moveAway = await update(sim, e.key, account(THEM), renamed);
    assert.equal(problemOf(moveAway).bcbError, 'Forbidden');
    const badReason = await update(sim, e.key, newAccount, renamed, 'FRAUD');
    assert.equal(problemOf(badReason).bcbError, 'InvalidReason');
    const missing = await update(sim, email(), newAccount, renamed);
    assert.equal(problemOf(missing).bcbError, 'NotFound');

    const evp = await created(sim, { keyType: 'EVP', account: account(US), owner: natural() });
    const evpUser = await update(sim, evp.key, evp.account, { ...evp.owner, name: 'Outro Nome' }, 'USER_REQUESTED');
    assert.equal(problemOf(evpUser).bcbError, 'InvalidReason');
    const evpRfb = await update(sim, evp.key, evp.account, { ...evp.owner, name: 'Outro Nome' }, 'RFB_VALIDATION');
    assert.equal(evpRfb.status, 200, evpRfb.body);
  });

  test('deleteEntry: owner only, then 404; checkKeys reflects it', async () => {
    const e = await created(sim, { key: email(), keyType: 'EMAIL', account: account(US), owner: natural() });
    const byThem = await del(sim, e.key, THEM);
    assert.equal(problemOf(byThem).bcbError, 'Forbidden');
    const wrongParticipant = await del(sim, e.key, THEM, 'USER_REQUESTED', US);
    assert.equal(problemOf(wrongParticipant).bcbError, 'Forbidden');
    const badReason = await del(sim, e.key, US, 'BRANCH_TRANSFER');
    assert.equal(problemOf(badReason).bcbError, 'InvalidReason');

    const before = await checkKeys(sim, [e.key]);
    assert.deepEqual(decodeCheckKeysResponse(before.body).keys, [{ key: e.key, hasEntry: true }]);

    const r = await del(sim, e.key, US, 'ACCOUNT_CLOSURE');
    assert.equal(r.status, 200, r.body);
    assert.equal(decodeDeleteEntryResponse(r.body).key, e.key);
    assert.equal(problemOf(await getEntry(sim, e.key)).bcbError, 'NotFound');
    assert.equal(problemOf(await del(sim, e.key)).bcbError, 'NotFound');
    const afterCheck = await checkKeys(sim, [e.key]);
    assert.deepEqual(decodeCheckKeysResponse(afterCheck.body).keys, [{ key: e.key, hasEntry: false }]);
  });

  test('open claim: delete is EntryLockedByClaim, update still allowed, getEntry shows OpenClaimCreationDate', async () => {
    const owner = natural();
    const e = await created(sim, { key: phone(), keyType: 'PHONE', account: account(US), owner });
    const path = `/admin/entries/${encodeURIComponent(e.key)}/open-claim`;
    assert.equal((await admin(sim, 'POST', `/admin/entries/${encodeURIComponent(email())}/open-claim`)).status, 404);
    assert.equal((await admin(sim, 'POST', path, { claimCreationDate: 'yesterday' })).status, 400);
    assert.equal((await admin(sim, 'POST', path, { claimCreationDate: '2024-05-01T09:30:00Z', extra: 1 })).status, 400);

    // Default date is the simulator's clock.
    const marked = await admin(sim, 'POST', path);
    assert.equal(marked.status, 200);
    assert.equal(marked.json.openClaimCreationDate, CLOCK.toISOString());
    const opened = await admin(sim, 'POST', path, { claimCreationDate: '2024-05-01T09:30:00Z' });
    assert.equal(opened.status, 200);
    const since = '2024-05-01T09:30:00.000Z';
    assert.equal((await admin(sim, 'GET', `/admin/entries/${encodeURIComponent(e.key)}`)).json.openClaimCreationDate, since);

    const got = await getEntry(sim, e.key, THEM);
    assert.equal(got.status, 200, got.body);
    assert.deepEqual(decodeGetEntryResponse(got.body).entry, { ...e, openClaimCreationDate: since });
    assert.match(got.body, /<OpenClaimCreationDate>2024-05-01T09:30:00.000Z<\/OpenClaimCreationDate>/);

    const before = await writes(sim);
    const locked = await del(sim, e.key, US, 'USER_REQUESTED');
    assert.equal(locked.status, 400);
    assert.equal(problemOf(locked).bcbError, 'EntryLockedByClaim');
    assert.equal(problemOf(await del(sim, e.key, US, 'ACCOUNT_CLOSURE')).bcbError, 'EntryLockedByClaim');
    // Authorization comes first: another participant is still Forbidden.
    assert.equal(problemOf(await del(sim, e.key, THEM)).bcbError, 'Forbidden');
    assert.equal((await getEntry(sim, e.key, THEM)).status, 200, 'entry survives the refused delete');

    // Manual Operacional 5 and 6 (footnotes 4, 5): the donor may still update account data.
    const upd = await update(sim, e.key, { ...account(US), branch: '0042' }, { ...owner, name: 'Joao da Silva Sauro' });
    assert.equal(upd.status, 200, upd.body);
    const updated = decodeUpdateEntryResponse(upd.body).entry;
    assert.equal(updated.account.branch, '0042');
    assert.equal(updated.openClaimCreationDate, since, 'update keeps the open claim');
    assert.deepEqual(await writes(sim), { ...before, updateEntry: before.updateEntry + 1 });

    // Claim concluded or cancelled: the lock and the date go away.
    const cleared = await admin(sim, 'DELETE', path);
    assert.equal(cleared.status, 200);
    assert.equal(cleared.json.openClaimCreationDate, undefined);
    assert.equal(decodeGetEntryResponse((await getEntry(sim, e.key, THEM)).body).entry.openClaimCreationDate, undefined);
    assert.doesNotMatch((await getEntry(sim, e.key, THEM)).body, /OpenClaimCreationDate/);
    const r = await del(sim, e.key);
    assert.equal(r.status, 200, r.body);
    assert.equal((await admin(sim, 'DELETE', path)).status, 404);
  });

  test('checkKeys answers hasEntry per key and enforces 1..200 keys', async () => {
    const a = await created(sim, { key: phone(), keyType: 'PHONE', account: account(), owner: natural() });
    const b = await created(sim, { keyType: 'EVP', account: account(), owner: natural() });
    const absent = [email(), cpf(), randomUUID()];
    const r = await checkKeys(sim, [absent[0]!, a.key, absent[1]!, b.key, absent[2]!]);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(decodeCheckKeysResponse(r.body).keys, [
      { key: absent[0], hasEntry: false },
      { key: a.key, hasEntry: true },
      { key: absent[1], hasEntry: false },
      { key: b.key, hasEntry: true },
      { key: absent[2], hasEntry: false },
    ]);
    const tooMany = `<?xml version="1.0"?><CheckKeysRequest><Keys>${Array.from({ length: 201 }, () => `<Key>${email()}</Key>`).join('')}</Keys></CheckKeysRequest>`;
    assert.equal(problemOf(await call(sim, 'POST', '/keys/check', { body: tooMany, headers: { 'PI-RequestingParticipant': US } })).bcbError, 'BadRequest');
    // A signed checkKeys identifies the caller by its signature; a forged one is refused.
    const signed = await call(sim, 'POST', '/keys/check', { body: sign(encodeCheckKeysRequest({ keys: [a.key] }), US) });
    assert.equal(signed.status, 200);
    const forged = await call(sim, 'POST', '/keys/check', { body: sign(encodeCheckKeysRequest({ keys: [a.key] }), STRANGER) });
    assert.equal(problemOf(forged).bcbError, 'RequestSignatureInvalid');
  });

  describe('faults', () => {
    test('5xx answers ServiceUnavailable with Retry-After, once', async () => {
      assert.equal((await admin(sim, 'POST', '/admin/faults', { operation: 'getEntry', kind: '5xx' })).status, 201);
      const key = email();
      const r = await getEntry(sim, key);
      assert.equal(r.status, 503);
      assert.equal(problemOf(r).bcbError, 'ServiceUnavailable');
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal((await getEntry(sim, key)).status, 404, 'fault consumed');
    });

    test('429 answers RateLimited with Retry-After; faults only hit their operation', async () => {
      await admin(sim, 'POST', '/admin/faults', { operation: 'checkKeys', kind: '429', count: 2 });
      assert.equal((await getEntry(sim, email())).status, 404, 'other operations unaffected');
      for (let i = 0; i < 2; i++) {
        const r = await checkKeys(sim, [email()]);
        assert.equal(r.status, 429);
        assert.equal(problemOf(r).bcbError, 'RateLimited');
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
      assert.equal((await checkKeys(sim, [email()])).status, 200);
    });

    test('latency delays the answer', async () => {
      await admin(sim, 'POST', '/admin/faults', { operation: '*', kind: 'latency', latencyMs: 300 });
      const t0 = Date.now();
      assert.equal((await checkKeys(sim, [email()])).status, 200);
      assert.ok(Date.now() - t0 >= 290, `took ${Date.now() - t0} ms`);
      const t1 = Date.now();
      await checkKeys(sim, [email()]);
      assert.ok(Date.now() - t1 < 290, 'only once');
    });

    test('lost-response applies the write; a retry with the same RequestId gets the same entry', async () => {
      const e: Entry = { keyType: 'EVP', account: account(), owner: natural() };
      const before = await writes(sim);
      await admin(sim, 'POST', '/admin/faults', { operation: 'createEntry', kind: 'lost-response' });
      const lost = await create(sim, e);
      assert.equal(lost.status, 503);
      assert.equal(problemOf(lost).bcbError, 'ServiceUnavailable');
      const retry = await create(sim, e, { requestId: lost.requestId });
      assert.equal(retry.status, 201);
      const entry = decodeCreateEntryResponse(retry.body).entry;
      assert.equal((await admin(sim, 'GET', `/admin/entries/${entry.key}`)).status, 200);
      assert.equal((await writes(sim)).createEntry - before.createEntry, 1, 'one entry, written once');
    });

    test('lost-response with dropConnection closes the socket after applying', async () => {
      const e: Entry = { key: email(), keyType: 'EMAIL', account: account(), owner: natural() };
      await admin(sim, 'POST', '/admin/faults', { operation: 'createEntry', kind: 'lost-response', dropConnection: true });
      await assert.rejects(create(sim, e));
      assert.equal((await admin(sim, 'GET', `/admin/entries/${encodeURIComponent(e.key!)}`)).status, 200);
    });

    test('fault admin validates, lists and clears', async () => {
      assert.equal((await admin(sim, 'POST', '/admin/faults', { kind: 'explode' })).status, 400);
      assert.equal((await admin(sim, 'POST', '/admin/faults', { kind: 'latency' })).status, 400, 'latencyMs required');
      await admin(sim, 'POST', '/admin/faults', { operation: 'deleteEntry', kind: '5xx', count: 3 });
      assert.equal((await admin(sim, 'GET', '/admin/faults')).json.faults.length, 1);
      assert.equal((await admin(sim, 'DELETE', '/admin/faults')).status, 204);
      assert.equal((await admin(sim, 'GET', '/admin/faults')).json.faults.length, 0);
    });
  });

  test('stats count requests per operation', async () => {
    const s0 = (await admin(sim, 'GET', '/admin/stats')).json;
    await getEntry(sim, email());
    await checkKeys(sim, [email()]);
    const s1 = (await admin(sim, 'GET', '/admin/stats')).json;
    assert.equal(s1.requests.getEntry - s0.requests.getEntry, 1);
    assert.equal(s1.requests.checkKeys - s0.requests.checkKeys, 1);
    assert.equal(s1.requests.createEntry - s0.requests.createEntry, 0);
    assert.equal((await admin(sim, 'GET', '/healthz')).json.status, 'ok');
  });

  test('state persists across a restart on the same database', async () => {
    const e: Entry = { keyType: 'EVP', account: account(US), owner: natural() };
    const first = await create(sim, e);
    const entry = decodeCreateEntryResponse(first.body).entry;
    await sim.close();
    sim = await startSimulator(options());
    const got = await getEntry(sim, entry.key, THEM);
    assert.equal(got.status, 200, got.body);
    assert.deepEqual(decodeGetEntryResponse(got.body).entry, entry);
    const replay = await create(sim, e, { requestId: first.requestId });
    assert.deepEqual(decodeCreateEntryResponse(replay.body).entry, entry, 'RequestId remembered');
    assert.equal((await writes(sim)).createEntry, 0);
  });
});

describe('DICT simulator admin reset', () => {
  // Reset truncates everything, so it runs against its own database, never the shared one.
  test('POST /admin/reset clears entries, RequestIds and counters', async (t) => {
    const url = new URL(DB);
    const name = `${url.pathname.slice(1)}_reset`;
    const adminSql = postgres(DB, { max: 1, onnotice: () => {} });
    try {
      const exists = await adminSql`select 1 from pg_database where datname = ${name}`;
      if (exists.length === 0) await adminSql.unsafe(`create database "${name}"`);
    } catch (e) {
      t.skip(`cannot create database ${name}: ${(e as Error).message}`);
      return;
    } finally {
      await adminSql.end();
    }
    url.pathname = `/${name}`;
    const sim = await startSimulator(options({ databaseUrl: url.toString() }));
    try {
      const e: Entry = { keyType: 'EVP', account: account(), owner: natural() };
      const first = await create(sim, e);
      const key = decodeCreateEntryResponse(first.body).entry.key;
      assert.equal((await writes(sim)).createEntry, 1);
      assert.equal((await admin(sim, 'POST', '/admin/reset')).status, 204);
      assert.equal((await admin(sim, 'GET', `/admin/entries/${key}`)).status, 404);
      const zeroed = (await admin(sim, 'GET', '/admin/stats')).json.writes as Record<string, number>;
      assert.deepEqual(Object.values(zeroed).filter((n) => n !== 0), []);
      assert.equal(zeroed['createEntry'], 0);
      // The RequestId is forgotten too: the same request now creates a new EVP.
      const again = await create(sim, e, { requestId: first.requestId });
      assert.equal(again.status, 201);
      assert.notEqual(decodeCreateEntryResponse(again.body).entry.key, key);
    } finally {
      await sim.close();
    }
  });
});

describe('DICT simulator with the bridge client over mTLS', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator(
      options({ tls: { keyPem: pki.dict.keyPem, certPem: pki.dict.certPem, caPem: pki.caCertPem, requestCert: true }, now: undefined }),
    );
  });
  after(async () => {
    await sim.close();
  });

  const client = (ispb: string) =>
    createDictClient({
      baseUrl: sim.url,
      participant: ispb,
      signing: { keyPem: pki.participants[ispb]!.keyPem, certPem: pki.participants[ispb]!.certPem },
      trustedDictCertsPem: [pki.dict.certPem],
      tls: { caPem: pki.caCertPem, certPem: pki.participants[ispb]!.certPem, keyPem: pki.participants[ispb]!.keyPem },
    });

  test('full entry lifecycle through createDictClient', async () => {
    const us = client(US);
    const them = client(THEM);
    try {
      const evpInput = { entry: { keyType: 'EVP' as const, account: account(US), owner: natural() }, reason: 'USER_REQUESTED' as const, requestId: randomUUID() };
      const { entry: evp } = await us.createEntry(evpInput);
      assert.ok(isEvp(evp.key));
      assert.deepEqual((await us.createEntry(evpInput)).entry, evp, 'replay by RequestId');
      await assert.rejects(
        us.createEntry({ ...evpInput, entry: { ...evpInput.entry, account: account(US) } }),
        (e: unknown) => e instanceof DictProblemError && e.bcbError === 'RequestIdAlreadyUsed',
      );

      const owner = natural();
      const acc = account(US);
      const input = { entry: { key: email(), keyType: 'EMAIL' as const, account: acc, owner }, reason: 'USER_REQUESTED' as const, requestId: randomUUID() };
      const { entry } = await us.createEntry(input);
      assert.deepEqual((await us.createEntry(input)).entry, entry);

      const looked = await them.getEntry({ key: entry.key, payerId: cpf(), endToEndId: e2e() });
      assert.deepEqual(looked.entry, entry);
      assert.equal(looked.cacheMaxAgeSeconds, 180);
      await assert.rejects(us.getEntry({ key: entry.key, payerId: cpf(), endToEndId: e2e() }), (e: unknown) => e instanceof DictProblemError && e.bcbError === 'EntryCannotBeQueriedForBookTransfer');

      const up = await us.updateEntry({ key: entry.key, account: { ...acc, accountNumber: '55555' }, owner, reason: 'USER_REQUESTED' });
      assert.equal(up.entry.account.accountNumber, '55555');
      await assert.rejects(them.deleteEntry({ key: entry.key, participant: THEM, reason: 'USER_REQUESTED' }), (e: unknown) => e instanceof DictProblemError && e.status === 403);
      assert.deepEqual((await them.checkKeys([entry.key])).keys, [{ key: entry.key, hasEntry: true }]);
      assert.equal((await us.deleteEntry({ key: entry.key, participant: US, reason: 'USER_REQUESTED' })).key, entry.key);
      await assert.rejects(them.getEntry({ key: entry.key, payerId: cpf(), endToEndId: e2e() }), (e: unknown) => e instanceof DictProblemError && e.bcbError === 'NotFound');
    } finally {
      us.close();
      them.close();
    }
  });

  test('a client without a certificate is refused', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = https.request(`${sim.url}/entries/${encodeURIComponent(email())}`, { ca: pki.caCertPem, headers: { 'PI-RequestingParticipant': THEM, 'PI-PayerId': cpf(), 'PI-EndToEndId': e2e() } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res, 403);
  });
});
