// DICT simulator's claims (ownership and portability) through the real bridge client: real HTTP,
// real Postgres, real XMLDSig, each participant with its own signing key. Periods run on the
// simulator's admin clock; the other side of a claim is played either by a second client or by
// the admin "act as participant" calls.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createDictClient, type DictClient } from '../../bridge/client.js';
import { DictProblemError } from '../../bridge/types.js';
import { cpfCheckDigits } from '../../domain/taxid.js';
import type { BrazilianAccount, Claim, ClaimType, ExtendedClaim, KeyType, Person } from '../../domain/types.js';
import { startSimulator, type RunningSimulator } from '../../simulator/server.js';
import { testPki } from '../support/pki.js';

const DB = process.env.SIM_DATABASE_URL ?? 'postgres://coredict@127.0.0.1:25432/dict_simulator_test';
const US = '12345678';
const THEM = '87654321';
const THIRD = '11223344';
const pki = testPki();
const CLOCK = new Date('2024-06-03T12:00:00.000Z');
const DAY = 86_400_000;

const digits = (n: number): string => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
const cpf = (): string => {
  const base = `1${digits(8)}`;
  return base + cpfCheckDigits(base);
};
const phone = (): string => `+55619${digits(8)}`;
const email = (): string => `claim.${randomBytes(5).toString('hex')}@example.com`;
const account = (participant: string): BrazilianAccount => ({ participant, branch: '0001', accountNumber: `7${digits(9)}`, accountType: 'CACC', openingDate: '2010-01-10T03:00:00.000Z' });
const person = (taxIdNumber = cpf()): Person => ({ type: 'NATURAL_PERSON', taxIdNumber, name: 'Maria da Silva' });
const e2e = (): string => `E${US}202406031200${randomBytes(8).toString('hex').slice(0, 11)}`;

let sim: RunningSimulator;
let us: DictClient;
let them: DictClient;
let third: DictClient;

function client(participant: string): DictClient {
  return createDictClient({ baseUrl: sim.url, participant, signing: pki.participants[participant]!, trustedDictCertsPem: [pki.dict.certPem], timeoutMs: 5000 });
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.origin}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const now = async (): Promise<string> => (await admin('GET', '/admin/clock')).json.now;
const advance = async (ms: number): Promise<string> => (await admin('POST', '/admin/clock/advance', { ms })).json.now;
const plus = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

async function bcbError(p: Promise<unknown>, name: string, status?: number): Promise<DictProblemError> {
  let caught: DictProblemError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DictProblemError, `expected DictProblemError ${name}, got ${String(e)}`);
    assert.equal(e.bcbError, name, e.message);
    if (status !== undefined) assert.equal(e.status, status);
    caught = e;
    return true;
  });
  return caught!;
}

/** A key registered by `holder` for `owner`. */
async function registered(holder: DictClient, participant: string, keyType: KeyType, owner = person(), key = keyType === 'PHONE' ? phone() : keyType === 'EMAIL' ? email() : keyType === 'EVP' ? undefined : owner.taxIdNumber) {
  const { entry } = await holder.createEntry({ entry: { ...(key !== undefined ? { key } : {}), keyType, account: account(participant), owner }, reason: 'USER_REQUESTED', requestId: randomUUID() });
  return entry;
}

function claimOf(type: ClaimType, key: string, keyType: KeyType, claimer: Person, participant = US): Claim {
  return { type, key, keyType, claimerAccount: account(participant), claimer };
}

const lookup = (c: DictClient, key: string) => c.getEntry({ key, payerId: cpf(), endToEndId: e2e() });

function start(databaseUrl: string): Promise<RunningSimulator> {
  return startSimulator({
    port: 0,
    databaseUrl,
    signing: { keyPem: pki.dict.keyPem, certPem: pki.dict.certPem },
    participants: { [US]: pki.participants[US]!.certPem, [THEM]: pki.participants[THEM]!.certPem, [THIRD]: pki.participants[THIRD]!.certPem },
    now: () => CLOCK,
  });
}

function connect(): void {
  us = client(US);
  them = client(THEM);
  third = client(THIRD);
}

before(async () => {
  sim = await start(DB);
  connect();
});
after(async () => {
  us.close();
  them.close();
  third.close();
  await sim.close();
});

describe('admin clock', () => {
  test('reads, sets, advances and resets the clock every rule uses', async () => {
    assert.equal((await admin('DELETE', '/admin/clock')).json.now, CLOCK.toISOString());
    assert.equal((await admin('PUT', '/admin/clock', { now: '2025-01-01T00:00:00Z' })).json.now, '2025-01-01T00:00:00.000Z');
    assert.equal((await admin('POST', '/admin/clock/advance', { days: 1, hours: 2, ms: 5 })).json.now, '2025-01-02T02:00:00.005Z');
    const e = await registered(them, THEM, 'EVP');
    assert.equal(e.creationDate, '2025-01-02T02:00:00.005Z', 'entries are dated by the admin clock');
    assert.equal((await admin('PUT', '/admin/clock', { now: 'tomorrow' })).status, 400);
    assert.equal((await admin('DELETE', '/admin/clock')).json.offsetMs, 0);
  });
});

describe('createClaim', () => {
  test('ownership claim of a PHONE: OPEN, DICT sets donor and periods; the entry is marked and locked', async () => {
    const t0 = await now();
    const entry = await registered(them, THEM, 'PHONE');
    const claimer = person();
    const { claim } = await us.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', claimer) });
    assert.match(claim.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(
      [claim.status, claim.donorParticipant, claim.lastModified, claim.resolutionPeriodEnd, claim.completionPeriodEnd],
      ['OPEN', THEM, t0, plus(t0, 7 * DAY), plus(t0, 14 * DAY)],
    );
    assert.deepEqual(claim.claimer, claimer);
    assert.deepEqual((await us.getClaim(claim.id)).claim, claim);
    assert.deepEqual((await them.getClaim(claim.id)).claim, claim);
    await bcbError(third.getClaim(claim.id), 'Forbidden', 403);
    await bcbError(us.getClaim(randomUUID()), 'NotFound', 404);
    // The entry keeps answering lookups, with the claim's date; it cannot be deleted; it can be updated.
    assert.equal((await lookup(us, entry.key)).entry.openClaimCreationDate, t0);
    await bcbError(them.deleteEntry({ key: entry.key, participant: THEM, reason: 'USER_REQUESTED' }), 'EntryLockedByClaim');
    const moved = account(THEM);
    assert.equal((await them.updateEntry({ key: entry.key, account: moved, owner: entry.owner, reason: 'USER_REQUESTED' })).entry.account.accountNumber, moved.accountNumber);
    // Registering it elsewhere is refused; a second claim too.
    await bcbError(us.createEntry({ entry: { key: entry.key, keyType: 'PHONE', account: account(US), owner: claimer }, reason: 'USER_REQUESTED', requestId: randomUUID() }), 'EntryKeyOwnedByDifferentPerson');
    await bcbError(third.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', person(), THIRD) }), 'ClaimAlreadyExistsForKey');
  });

  test('refusals: key types, ClaimTypeInconsistent, ClaimKeyNotFound, same participant, foreign account, invalid fields', async () => {
    const owner = person();
    const mail = await registered(them, THEM, 'EMAIL', owner);
    const tel = await registered(them, THEM, 'PHONE', owner);
    const cpfKey = await registered(them, THEM, 'CPF', owner);
    await bcbError(us.createClaim({ claim: claimOf('OWNERSHIP', mail.key, 'EMAIL', person()) }), 'ClaimInvalid');
    await bcbError(us.createClaim({ claim: claimOf('OWNERSHIP', cpfKey.key, 'CPF', person()) }), 'ClaimInvalid');
    const evp = await registered(them, THEM, 'EVP', owner);
    await bcbError(us.createClaim({ claim: claimOf('PORTABILITY', evp.key, 'EVP', owner) }), 'ClaimInvalid');
    const badPhone = await bcbError(us.createClaim({ claim: claimOf('OWNERSHIP', '61988887777', 'PHONE', person()) }), 'ClaimInvalid');
    assert.ok(badPhone.violations.some((v) => v.property === 'Claim.Key'), JSON.stringify(badPhone.violations));
    await bcbError(us.createClaim({ claim: claimOf('OWNERSHIP', tel.key, 'PHONE', owner) }), 'ClaimTypeInconsistent');
    await bcbError(us.createClaim({ claim: claimOf('PORTABILITY', tel.key, 'PHONE', person()) }), 'ClaimTypeInconsistent');
    await bcbError(us.createClaim({ claim: claimOf('PORTABILITY', cpfKey.key, 'CPF', person()) }), 'ClaimTypeInconsistent');
    await bcbError(us.createClaim({ claim: claimOf('OWNERSHIP', phone(), 'PHONE', person()) }), 'ClaimKeyNotFound', 404);
    await bcbError(us.createClaim({ claim: claimOf('PORTABILITY', mail.key, 'PHONE', owner) }), 'ClaimInvalid');
    await bcbError(them.createClaim({ claim: claimOf('PORTABILITY', mail.key, 'EMAIL', owner, THEM) }), 'ClaimResultingEntryAlreadyExists');
    await bcbError(us.createClaim({ claim: claimOf('PORTABILITY', mail.key, 'EMAIL', owner, THIRD) }), 'Forbidden', 403);
    // None of these opened a claim: the key is free to claim.
    assert.equal((await us.createClaim({ claim: claimOf('PORTABILITY', mail.key, 'EMAIL', owner) })).claim.status, 'OPEN');
  });
});

describe('ownership claim', () => {
  test('donor acknowledges, confirms by default after the resolution period; claimer completes after the closing period', async () => {
    await admin('DELETE', '/admin/clock');
    const t0 = await now();
    const entry = await registered(them, THEM, 'PHONE');
    const claimer = person();
    const { claim } = await us.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', claimer) });
    const act = { claimId: claim.id };

    await bcbError(us.acknowledgeClaim({ ...act, participant: US }), 'Forbidden');
    await bcbError(us.acknowledgeClaim({ ...act, participant: THEM }), 'Forbidden'); // signed by US, names THEM
    await bcbError(them.confirmClaim({ ...act, participant: THEM, reason: 'USER_REQUESTED' }), 'ClaimOperationInvalid'); // still OPEN
    await advance(60_000);
    const acked = (await them.acknowledgeClaim({ ...act, participant: THEM })).claim;
    assert.deepEqual([acked.status, acked.lastModified], ['WAITING_RESOLUTION', plus(t0, 60_000)]);
    await advance(60_000);
    assert.deepEqual((await them.acknowledgeClaim({ ...act, participant: THEM })).claim, acked, 'idempotent: equivalent answer');

    await bcbError(them.confirmClaim({ ...act, participant: THEM, reason: 'DEFAULT_OPERATION' }), 'ClaimResolutionPeriodNotEnded');
    await bcbError(them.confirmClaim({ ...act, participant: THEM, reason: 'ACCOUNT_CLOSURE' }), 'InvalidReason');
    await bcbError(us.confirmClaim({ ...act, participant: US, reason: 'USER_REQUESTED' }), 'Forbidden');
    await bcbError(us.completeClaim({ ...act, participant: US, requestId: randomUUID() }), 'ClaimOperationInvalid');

    await admin('PUT', '/admin/clock', { now: plus(t0, 7 * DAY) });
    const confirmed = (await them.confirmClaim({ ...act, participant: THEM, reason: 'DEFAULT_OPERATION' })).claim;
    assert.deepEqual([confirmed.status, confirmed.confirmReason, confirmed.completionPeriodEnd], ['CONFIRMED', 'DEFAULT_OPERATION', plus(t0, 14 * DAY)]);
    assert.deepEqual((await them.confirmClaim({ ...act, participant: THEM, reason: 'DEFAULT_OPERATION' })).claim, confirmed, 'idempotent');
    await bcbError(them.confirmClaim({ ...act, participant: THEM, reason: 'USER_REQUESTED' }), 'ClaimOperationInvalid');

    // Unlinked from the donor: lookups say NotFound, checkKeys says no entry; still locked.
    await bcbError(lookup(us, entry.key), 'NotFound', 404);
    assert.deepEqual((await us.checkKeys([entry.key])).keys, [{ key: entry.key, hasEntry: false }]);
    await bcbError(them.deleteEntry({ key: entry.key, participant: THEM, reason: 'USER_REQUESTED' }), 'NotFound');
    await bcbError(us.createEntry({ entry: { key: entry.key, keyType: 'PHONE', account: account(US), owner: claimer }, reason: 'USER_REQUESTED', requestId: randomUUID() }), 'EntryLockedByClaim');

    await bcbError(us.completeClaim({ ...act, participant: US, requestId: randomUUID() }), 'ClaimCompletionPeriodNotEnded');
    const tDone = await advance(7 * DAY);
    const requestId = randomUUID();
    const done = await us.completeClaim({ ...act, participant: US, requestId });
    assert.deepEqual([done.claim.status, done.claim.lastModified, done.entryCreationDate, done.keyOwnershipDate], ['COMPLETED', tDone, tDone, tDone]);
    await advance(1000);
    const again = await us.completeClaim({ ...act, participant: US, requestId });
    assert.deepEqual([again.claim, again.entryCreationDate, again.keyOwnershipDate], [done.claim, done.entryCreationDate, done.keyOwnershipDate], 'same RequestId: same answer');
    await bcbError(us.completeClaim({ ...act, participant: US, requestId: randomUUID() }), 'ClaimOperationInvalid');
    await bcbError(us.createEntry({ entry: { keyType: 'EVP', account: account(US), owner: claimer }, reason: 'USER_REQUESTED', requestId }), 'RequestIdAlreadyUsed');

    const now2 = (await lookup(them, entry.key)).entry;
    assert.deepEqual([now2.account.participant, now2.owner.taxIdNumber, now2.creationDate, now2.openClaimCreationDate], [US, claimer.taxIdNumber, tDone, undefined]);
    await bcbError(them.cancelClaim({ ...act, participant: THEM, reason: 'FRAUD' }), 'ClaimOperationInvalid');
    const writes = (await admin('GET', '/admin/stats')).json.writes;
    assert.ok(writes.completeClaim >= 1 && writes.confirmClaim >= 1 && writes.acknowledgeClaim >= 1 && writes.createClaim >= 1, JSON.stringify(writes));
  });

  test('USER_REQUESTED confirmation brings CompletionPeriodEnd forward: the claimer completes at once', async () => {
    await admin('DELETE', '/admin/clock');
    const entry = await registered(them, THEM, 'PHONE');
    const { claim } = await us.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', person()) });
    await them.acknowledgeClaim({ claimId: claim.id, participant: THEM });
    const t = await advance(DAY);
    const confirmed = (await them.confirmClaim({ claimId: claim.id, participant: THEM, reason: 'USER_REQUESTED' })).claim;
    assert.equal(confirmed.completionPeriodEnd, t);
    const done = await us.completeClaim({ claimId: claim.id, participant: US, requestId: randomUUID() });
    assert.equal(done.claim.status, 'COMPLETED');
    // Closing period over at once: no FRAUD cancel by the donor left (and the claim is final anyway).
    await bcbError(them.cancelClaim({ claimId: claim.id, participant: THEM, reason: 'FRAUD' }), 'ClaimOperationInvalid');
  });

  test('donor cancels with FRAUD in the closing period: key deleted and free; claimer cannot cancel by default before 30 days', async () => {
    await admin('DELETE', '/admin/clock');
    const t0 = await now();
    const owner = person();
    const entry = await registered(them, THEM, 'PHONE', owner);
    const { claim } = await us.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', person()) });
    const act = { claimId: claim.id };
    await bcbError(them.cancelClaim({ ...act, participant: THEM, reason: 'USER_REQUESTED' }), 'InvalidReason');
    await bcbError(us.cancelClaim({ ...act, participant: US, reason: 'DEFAULT_OPERATION' }), 'ClaimOperationInvalid');
    await them.acknowledgeClaim({ ...act, participant: THEM });
    await admin('PUT', '/admin/clock', { now: plus(t0, 8 * DAY) });
    await them.confirmClaim({ ...act, participant: THEM, reason: 'DEFAULT_OPERATION' });
    await advance(3 * DAY);
    const cancelled = (await them.cancelClaim({ ...act, participant: THEM, reason: 'FRAUD' })).claim;
    assert.deepEqual([cancelled.status, cancelled.cancelReason, cancelled.cancelledBy], ['CANCELLED', 'FRAUD', 'DONOR']);
    assert.deepEqual((await them.cancelClaim({ ...act, participant: THEM, reason: 'FRAUD' })).claim, cancelled, 'idempotent');
    await bcbError(us.cancelClaim({ ...act, participant: US, reason: 'FRAUD' }), 'ClaimOperationInvalid');
    // The donor's entry was removed at confirmation: the key can be registered again.
    assert.equal((await registered(them, THEM, 'PHONE', owner, entry.key)).key, entry.key);
  });

  test('claimer cancels with DEFAULT_OPERATION once 30 days have passed; closing period over stops the donor', async () => {
    await admin('DELETE', '/admin/clock');
    const t0 = await now();
    const entry = await registered(them, THEM, 'PHONE');
    const { claim } = await us.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', person()) });
    const act = { claimId: claim.id };
    // Donor played through admin, acting as THEM.
    assert.equal((await admin('POST', `/admin/claims/${claim.id}/acknowledge`, { participant: THEM })).json.claim.status, 'WAITING_RESOLUTION');
    await admin('PUT', '/admin/clock', { now: plus(t0, 7 * DAY) });
    assert.equal((await admin('POST', `/admin/claims/${claim.id}/confirm`, { participant: THEM, reason: 'DEFAULT_OPERATION' })).json.claim.status, 'CONFIRMED');
    await admin('PUT', '/admin/clock', { now: plus(t0, 14 * DAY) });
    const late = await admin('POST', `/admin/claims/${claim.id}/cancel`, { participant: THEM, reason: 'FRAUD' });
    assert.deepEqual([late.status, late.json.bcbError], [400, 'ClaimOperationInvalid']);
    await admin('PUT', '/admin/clock', { now: plus(t0, 30 * DAY - 1) });
    await bcbError(us.cancelClaim({ ...act, participant: US, reason: 'DEFAULT_OPERATION' }), 'ClaimOperationInvalid');
    await advance(1);
    const c = (await us.cancelClaim({ ...act, participant: US, reason: 'DEFAULT_OPERATION' })).claim;
    assert.deepEqual([c.status, c.cancelledBy, c.cancelReason], ['CANCELLED', 'CLAIMER', 'DEFAULT_OPERATION']);
    await bcbError(lookup(us, entry.key), 'NotFound');
  });
});

describe('portability', () => {
  test('donor (through admin) confirms; claimer completes; KeyOwnershipDate is kept', async () => {
    await admin('DELETE', '/admin/clock');
    const owner = person();
    const entry = await registered(them, THEM, 'EMAIL', owner);
    const t = await advance(DAY);
    const { claim } = await us.createClaim({ claim: claimOf('PORTABILITY', entry.key, 'EMAIL', owner) });
    assert.deepEqual([claim.resolutionPeriodEnd, claim.completionPeriodEnd], [plus(t, 7 * DAY), undefined]);
    const act = { claimId: claim.id };
    await bcbError(us.completeClaim({ ...act, participant: US, requestId: randomUUID() }), 'ClaimOperationInvalid');
    await admin('POST', `/admin/claims/${claim.id}/acknowledge`, { participant: THEM });
    const conf = await admin('POST', `/admin/claims/${claim.id}/confirm`, { participant: THEM, reason: 'ACCOUNT_CLOSURE' });
    assert.deepEqual([conf.status, conf.json.claim.status, conf.json.claim.confirmReason], [200, 'CONFIRMED', 'ACCOUNT_CLOSURE']);
    await bcbError(lookup(third, entry.key), 'NotFound');
    const tDone = await advance(60_000);
    const done = await us.completeClaim({ ...act, participant: US, requestId: randomUUID() });
    assert.deepEqual([done.claim.status, done.entryCreationDate, done.keyOwnershipDate], ['COMPLETED', tDone, entry.keyOwnershipDate]);
    const moved = (await lookup(them, entry.key)).entry;
    assert.deepEqual([moved.account.participant, moved.keyOwnershipDate, moved.creationDate], [US, entry.keyOwnershipDate, tDone]);
    // Now ours: a portability back to THEM is possible, and the key is our entry to delete once it ends.
    const back = (await admin('POST', '/admin/claims', { claim: claimOf('PORTABILITY', entry.key, 'EMAIL', owner, THEM) })).json;
    assert.deepEqual([back.claim.status, back.claim.donorParticipant], ['OPEN', US]);
  });

  test('cancel rules: donor by default only after ResolutionPeriodEnd (entry released); RECONCILIATION not while WAITING_RESOLUTION', async () => {
    await admin('DELETE', '/admin/clock');
    const t0 = await now();
    const owner = person();
    const entry = await registered(them, THEM, 'EMAIL', owner);
    const { claim } = await us.createClaim({ claim: claimOf('PORTABILITY', entry.key, 'EMAIL', owner) });
    const act = { claimId: claim.id };
    await bcbError(them.cancelClaim({ ...act, participant: THEM, reason: 'ACCOUNT_CLOSURE' }), 'InvalidReason');
    await bcbError(us.cancelClaim({ ...act, participant: US, reason: 'DEFAULT_OPERATION' }), 'InvalidReason');
    await them.acknowledgeClaim({ ...act, participant: THEM });
    await bcbError(us.cancelClaim({ ...act, participant: US, reason: 'RECONCILIATION' }), 'ClaimOperationInvalid');
    await bcbError(them.cancelClaim({ ...act, participant: THEM, reason: 'DEFAULT_OPERATION' }), 'ClaimResolutionPeriodNotEnded');
    await admin('PUT', '/admin/clock', { now: plus(t0, 7 * DAY) });
    const c = (await them.cancelClaim({ ...act, participant: THEM, reason: 'DEFAULT_OPERATION' })).claim;
    assert.deepEqual([c.status, c.cancelledBy], ['CANCELLED', 'DONOR']);
    // Cancelled before confirmation: the donor's entry is intact and no longer locked.
    const still = (await lookup(us, entry.key)).entry;
    assert.deepEqual([still.account.participant, still.openClaimCreationDate], [THEM, undefined]);
    assert.equal((await them.deleteEntry({ key: entry.key, participant: THEM, reason: 'USER_REQUESTED' })).key, entry.key);
  });

  test('claimer may cancel a CONFIRMED portability with FRAUD, RECONCILIATION or RFB_VALIDATION, not with USER_REQUESTED', async () => {
    await admin('DELETE', '/admin/clock');
    const owner = person();
    const entry = await registered(them, THEM, 'PHONE', owner);
    const { claim } = await us.createClaim({ claim: claimOf('PORTABILITY', entry.key, 'PHONE', owner) });
    const act = { claimId: claim.id };
    await them.acknowledgeClaim({ ...act, participant: THEM });
    await them.confirmClaim({ ...act, participant: THEM, reason: 'USER_REQUESTED' });
    await bcbError(us.cancelClaim({ ...act, participant: US, reason: 'USER_REQUESTED' }), 'ClaimOperationInvalid');
    await bcbError(them.cancelClaim({ ...act, participant: THEM, reason: 'FRAUD' }), 'ClaimOperationInvalid');
    const c = (await us.cancelClaim({ ...act, participant: US, reason: 'RFB_VALIDATION' })).claim;
    assert.deepEqual([c.status, c.cancelReason, c.cancelledBy, c.confirmReason], ['CANCELLED', 'RFB_VALIDATION', 'CLAIMER', 'USER_REQUESTED']);
    assert.equal((await registered(us, US, 'PHONE', owner, entry.key)).account.participant, US, 'key free again');
  });

  test('claimer cancels an OPEN portability; admin refusals come back as BCB problems', async () => {
    const owner = person();
    const entry = await registered(them, THEM, 'EMAIL', owner);
    const created = await admin('POST', '/admin/claims', { participant: THIRD, claim: claimOf('PORTABILITY', entry.key, 'EMAIL', owner, THIRD) });
    assert.equal(created.status, 201);
    const id = created.json.claim.id as string;
    assert.deepEqual((await admin('GET', `/admin/claims/${id}`)).json.claim, created.json.claim);
    const wrong = await admin('POST', `/admin/claims/${id}/confirm`, { participant: US, reason: 'USER_REQUESTED' });
    assert.deepEqual([wrong.status, wrong.json.bcbError], [403, 'Forbidden']);
    assert.equal((await admin('POST', `/admin/claims/${id}/cancel`, { participant: THIRD })).status, 400);
    const c = await admin('POST', `/admin/claims/${id}/cancel`, { participant: THIRD, reason: 'USER_REQUESTED' });
    assert.deepEqual([c.status, c.json.claim.status, c.json.claim.cancelledBy], [200, 'CANCELLED', 'CLAIMER']);
    const dup = await admin('POST', '/admin/claims', { claim: claimOf('PORTABILITY', phone(), 'PHONE', owner, THIRD) });
    assert.deepEqual([dup.status, dup.json.bcbError], [404, 'ClaimKeyNotFound']);
  });
});

describe('concurrency', () => {
  test('two claims for one key at once: one opens, the other is ClaimAlreadyExistsForKey', async () => {
    const entry = await registered(them, THEM, 'PHONE');
    const results = await Promise.allSettled([
      us.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', person()) }),
      third.createClaim({ claim: claimOf('OWNERSHIP', entry.key, 'PHONE', person(), THIRD) }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((failed.reason as DictProblemError).bcbError, 'ClaimAlreadyExistsForKey');
  });

  test('one completion sent three times at once creates one entry and answers alike', async () => {
    await admin('DELETE', '/admin/clock');
    const owner = person();
    const entry = await registered(them, THEM, 'EMAIL', owner);
    const { claim } = await us.createClaim({ claim: claimOf('PORTABILITY', entry.key, 'EMAIL', owner) });
    await them.acknowledgeClaim({ claimId: claim.id, participant: THEM });
    await them.confirmClaim({ claimId: claim.id, participant: THEM, reason: 'USER_REQUESTED' });
    const before = (await admin('GET', '/admin/stats')).json.writes.completeClaim as number;
    const requestId = randomUUID();
    const all = await Promise.all([1, 2, 3].map(() => us.completeClaim({ claimId: claim.id, participant: US, requestId })));
    for (const r of all) assert.deepEqual([r.claim, r.entryCreationDate, r.keyOwnershipDate], [all[0]!.claim, all[0]!.entryCreationDate, all[0]!.keyOwnershipDate]);
    assert.equal((await admin('GET', '/admin/stats')).json.writes.completeClaim - before, 1);
    assert.equal((await lookup(them, entry.key)).entry.account.participant, US);
  });
});

describe('listClaims', () => {
  let mine: ExtendedClaim[] = [];
  let t0 = '';
  // Listing needs a known set of claims: its own database (reset is never run on the shared one).
  before(async () => {
    const url = new URL(DB);
    const name = `${url.pathname.slice(1)}_claims`;
    const adminSql = postgres(DB, { max: 1, onnotice: () => {} });
    try {
      const exists = await adminSql`select 1 from pg_database where datname = ${name}`;
      if (exists.length === 0) await adminSql.unsafe(`create database "${name}"`);
    } finally {
      await adminSql.end();
    }
    url.pathname = `/${name}`;
    for (const c of [us, them, third]) c.close();
    await sim.close();
    sim = await start(url.toString());
    connect();
    await admin('POST', '/admin/reset');
    await admin('PUT', '/admin/clock', { now: '2024-07-01T00:00:00.000Z' });
    t0 = await now();
    mine = [];
    // US claims 3 keys of THEM's (ownership, portability, ownership), THEM claims 2 of ours, THIRD one of THEM's.
    for (const [holder, hp, claimer, cp, type] of [
      [them, THEM, us, US, 'OWNERSHIP'],
      [them, THEM, us, US, 'PORTABILITY'],
      [us, US, them, THEM, 'OWNERSHIP'],
      [them, THEM, us, US, 'OWNERSHIP'],
      [us, US, them, THEM, 'PORTABILITY'],
      [them, THEM, third, THIRD, 'PORTABILITY'],
    ] as const) {
      const owner = person();
      const e = await registered(holder, hp, 'PHONE', owner);
      mine.push((await claimer.createClaim({ claim: claimOf(type, e.key, 'PHONE', type === 'PORTABILITY' ? owner : person(), cp) })).claim);
      await advance(60_000);
    }
    // One status change moves a claim to the end of the LastModified order.
    await them.acknowledgeClaim({ claimId: mine[0]!.id, participant: THEM });
    mine[0] = (await us.getClaim(mine[0]!.id)).claim;
  });

  const ids = (cs: ExtendedClaim[]): string[] => cs.map((c) => c.id);

  test('filters: role (IsDonor/IsClaimer, disjunctive when equal), Status, Type; ascending LastModified', async () => {
    const [a, b, c, d, e] = mine;
    const all = await us.listClaims({ participant: US });
    assert.deepEqual(ids(all.claims), ids([b!, c!, d!, e!, a!]));
    assert.equal(all.hasMoreElements, false);
    for (let i = 1; i < all.claims.length; i++) assert.ok(all.claims[i - 1]!.lastModified <= all.claims[i]!.lastModified);
    assert.deepEqual(ids((await us.listClaims({ participant: US, isClaimer: true })).claims), ids([b!, d!, a!]));
    assert.deepEqual(ids((await us.listClaims({ participant: US, isDonor: true })).claims), ids([c!, e!]));
    assert.deepEqual(ids((await us.listClaims({ participant: US, isDonor: false })).claims), ids([b!, d!, a!]));
    assert.deepEqual(ids((await us.listClaims({ participant: US, isDonor: true, isClaimer: false })).claims), ids([c!, e!]));
    assert.deepEqual(ids((await us.listClaims({ participant: US, isDonor: true, isClaimer: true })).claims), ids(all.claims));
    assert.deepEqual(ids((await us.listClaims({ participant: US, isDonor: false, isClaimer: false })).claims), ids(all.claims));
    assert.deepEqual(ids((await us.listClaims({ participant: US, status: ['WAITING_RESOLUTION'] })).claims), ids([a!]));
    assert.deepEqual(ids((await us.listClaims({ participant: US, status: ['OPEN', 'WAITING_RESOLUTION'], type: 'PORTABILITY' })).claims), ids([b!, e!]));
    assert.deepEqual(ids((await us.listClaims({ participant: US, status: ['COMPLETED'] })).claims), []);
    assert.deepEqual(ids((await third.listClaims({ participant: THIRD })).claims), ids([mine[5]!]));
    await bcbError(us.listClaims({ participant: THEM }), 'Forbidden', 403);
  });

  test('ModifiedAfter/ModifiedBefore are inclusive; Limit pages with HasMoreElements (default 20, max 200)', async () => {
    const [, b, c, d] = mine;
    const window = await us.listClaims({ participant: US, modifiedAfter: b!.lastModified, modifiedBefore: d!.lastModified });
    assert.deepEqual(ids(window.claims), ids([b!, c!, d!]));
    const page1 = await us.listClaims({ participant: US, limit: 2 });
    assert.deepEqual([page1.claims.length, page1.hasMoreElements], [2, true]);
    // Next page: from the last LastModified seen, inclusive (so it repeats once, as BCB warns).
    const page2 = await us.listClaims({ participant: US, limit: 2, modifiedAfter: page1.claims[1]!.lastModified });
    assert.equal(page2.claims[0]!.id, page1.claims[1]!.id);
    assert.equal(page2.hasMoreElements, true);
    const rest = await us.listClaims({ participant: US, limit: 200, modifiedAfter: page2.claims[1]!.lastModified });
    assert.equal(rest.hasMoreElements, false);
    assert.deepEqual(new Set([...ids(page1.claims), ...ids(page2.claims), ...ids(rest.claims)]).size, 5);
    // Default limit 20: 21 claims where THEM is donor.
    for (let i = 0; i < 17; i++) {
      const owner = person();
      const e = await registered(them, THEM, 'EMAIL', owner);
      await us.createClaim({ claim: claimOf('PORTABILITY', e.key, 'EMAIL', owner) });
    }
    const first20 = await them.listClaims({ participant: THEM, isDonor: true });
    assert.deepEqual([first20.claims.length, first20.hasMoreElements], [20, true]);
    const all = await them.listClaims({ participant: THEM, isDonor: true, limit: 200 });
    assert.deepEqual([all.claims.length, all.hasMoreElements], [21, false]);
    // Raw query errors are BadRequest (the client refuses them before sending).
    const raw = await fetch(`${sim.url}/claims/?Participant=${US}&Limit=201&Status=LOST`, { headers: { 'PI-RequestingParticipant': US } });
    assert.equal(raw.status, 400);
    assert.match(await raw.text(), /BadRequest[\s\S]*Limit[\s\S]*Status|BadRequest[\s\S]*Status[\s\S]*Limit/);
    assert.ok(t0 < first20.claims[0]!.lastModified || t0 === first20.claims[0]!.lastModified);
  });

  test('rate limit: CLAIMS_LIST_WITH_ROLE / WITHOUT_ROLE buckets (BCB 40/min, 200; 10/min, 50), 429 with Retry-After, configurable and resettable', async () => {
    const limits = (await admin('GET', '/admin/rate-limits')).json;
    assert.deepEqual([limits.CLAIMS_LIST_WITH_ROLE.refillPerMinute, limits.CLAIMS_LIST_WITH_ROLE.bucketSize], [40, 200]);
    assert.deepEqual([limits.CLAIMS_LIST_WITHOUT_ROLE.refillPerMinute, limits.CLAIMS_LIST_WITHOUT_ROLE.bucketSize], [10, 50]);
    assert.equal((await admin('PUT', '/admin/rate-limits/CLAIMS_LIST_WITH_ROLE', { refillPerMinute: 30, bucketSize: 3 })).status, 200);
    for (let i = 0; i < 3; i++) await us.listClaims({ participant: US, isDonor: true, limit: 1 });
    const limited = await bcbError(us.listClaims({ participant: US, isClaimer: true, limit: 1 }), 'RateLimited', 429);
    assert.equal(limited.retryAfterSeconds, 2, '30/min: one token every 2 s');
    assert.equal(limited.retryable, true);
    // Other policy, other participant: their own buckets.
    await us.listClaims({ participant: US, limit: 1 });
    await them.listClaims({ participant: THEM, isDonor: true, limit: 1 });
    // Refill by the clock.
    await advance(1_000);
    await bcbError(us.listClaims({ participant: US, isDonor: true, limit: 1 }), 'RateLimited');
    await advance(1_000);
    await us.listClaims({ participant: US, isDonor: true, limit: 1 });
    await bcbError(us.listClaims({ participant: US, isDonor: true, limit: 1 }), 'RateLimited');
    // A refused request costs a token too (any status but 500).
    assert.equal((await admin('POST', '/admin/rate-limits/reset')).status, 200);
    assert.equal((await admin('PUT', '/admin/rate-limits/CLAIMS_LIST_WITHOUT_ROLE', { refillPerMinute: 0, bucketSize: 1 })).status, 200);
    await bcbError(us.listClaims({ participant: THEM }), 'Forbidden');
    await bcbError(us.listClaims({ participant: US }), 'RateLimited');
    // Reset: configured values (BCB's here) and full buckets.
    await admin('POST', '/admin/rate-limits/reset');
    const back = (await admin('GET', '/admin/rate-limits')).json;
    assert.deepEqual([back.CLAIMS_LIST_WITH_ROLE.bucketSize, back.CLAIMS_LIST_WITHOUT_ROLE.bucketSize], [200, 50]);
    await us.listClaims({ participant: US });
    assert.equal((await admin('PUT', '/admin/rate-limits/NOPE', { refillPerMinute: 1, bucketSize: 1 })).status, 404);
  });
});
