// Store rules that need a real Postgres but no workflow: ordering of DICT answers, limits, whose
// claim a donor claim is.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Entry, ExtendedClaim, ExtendedEntry } from '../../domain/types.js';
import * as claims from '../../store/claims.js';
import { createSql, type Sql } from '../../store/db.js';
import * as entries from '../../store/entries.js';
import { BusinessRuleError } from '../../store/errors.js';
import { newCpf, newEmail } from '../support/fixtures.js';
import { env, OTHER_ISPB, OUR_ISPB } from '../support/stack.js';

let sql: Sql;
before(() => {
  sql = createSql(env.databaseUrl, { max: 4 });
});
after(async () => {
  await sql?.end({ timeout: 5 });
});

function newEntry(accountNumber = String(Date.now())): Entry {
  return {
    key: newEmail(),
    keyType: 'EMAIL',
    account: { participant: OUR_ISPB, branch: '0001', accountNumber, accountType: 'CACC', openingDate: '2020-01-10T03:00:00.000Z' },
    owner: { type: 'NATURAL_PERSON', taxIdNumber: newCpf(), name: 'Ana Lima' },
  };
}

async function activeEntry(entry = newEntry()) {
  const entryId = randomUUID();
  await entries.reservePendingEntry(sql, { entryId, requestId: randomUUID(), dictRequestId: randomUUID(), entry });
  const dict: ExtendedEntry = { ...entry, key: entry.key!, creationDate: '2026-01-01T00:00:00.000Z', keyOwnershipDate: '2026-01-01T00:00:00.000Z' };
  return { rec: await entries.activateEntry(sql, entryId, dict), dict };
}

const events = async (entryId: string) =>
  (await sql<{ event_type: string }[]>`select event_type from outbox where aggregate_id = ${entryId} order by id`).map((r) => r.event_type);

test("a late answer to an earlier update never overwrites a later one (DICT's ResponseTime)", async () => {
  const { rec, dict } = await activeEntry();
  const op = { participant: OUR_ISPB, requestId: randomUUID() };
  const later = { ...dict, account: { ...dict.account, branch: '0002' } };
  const earlier = { ...dict, account: { ...dict.account, branch: '0003' } };
  await entries.applyEntryUpdate(sql, rec.entryId, later, { ...op, dictResponseTime: '2026-01-02T10:00:01.000Z' });
  const kept = await entries.applyEntryUpdate(sql, rec.entryId, earlier, { ...op, dictResponseTime: '2026-01-02T10:00:00.000Z' });
  assert.equal(kept.account.branch, '0002');
  assert.equal((await entries.getEntryById(sql, rec.entryId))!.account.branch, '0002');
  assert.deepEqual(await events(rec.entryId), ['EntryRequested', 'EntryActivated', 'EntryUpdated']);
});

test('an update answer arriving after the key was deleted changes nothing', async () => {
  const { rec, dict } = await activeEntry();
  const op = { participant: OUR_ISPB, requestId: randomUUID() };
  await entries.markDeleting(sql, rec.entryId);
  await entries.markDeleted(sql, rec.entryId, 'USER_REQUESTED', op);
  const after = await entries.applyEntryUpdate(sql, rec.entryId, { ...dict, account: { ...dict.account, branch: '0009' } }, { ...op, dictResponseTime: '2030-01-01T00:00:00.000Z' });
  assert.equal(after.status, 'DELETED');
  assert.equal(after.account.branch, '0001');
  assert.deepEqual(await events(rec.entryId), ['EntryRequested', 'EntryActivated', 'EntryDeleted']);
});

test('the key limit is checked for a move into another account', async () => {
  const full = String(Date.now() + 7);
  for (let i = 0; i < 5; i++) await activeEntry(newEntry(full));
  const { rec } = await activeEntry();
  const target = { ...rec.account, accountNumber: full };
  await assert.rejects(entries.assertRoomForMove(sql, rec, target), (e: unknown) => e instanceof BusinessRuleError && e.bcbError === 'EntryLimitExceeded');
  // Staying on its own account needs no room.
  await entries.assertRoomForMove(sql, rec, rec.account);
});

/** DICT's view of an ownership claim on `entry`'s key by another PSP's user, at a status. */
function donorClaim(entry: Entry, id: string, status: ExtendedClaim['status'], minute: number): ExtendedClaim {
  return {
    id,
    type: 'OWNERSHIP',
    key: entry.key!,
    keyType: entry.keyType,
    claimerAccount: { ...entry.account, participant: OTHER_ISPB, accountNumber: '777' },
    claimer: { type: 'NATURAL_PERSON', taxIdNumber: newCpf(), name: 'Caio Rocha' },
    donorParticipant: OUR_ISPB,
    status,
    resolutionPeriodEnd: '2026-02-08T00:00:00.000Z',
    lastModified: `2026-02-01T00:${String(minute).padStart(2, '0')}:00.000Z`,
  };
}

test("a donor claim records our entry's owner when first seen and keeps it through every later transition", async () => {
  const { rec: aliceEntry } = await activeEntry();
  const alice = aliceEntry.owner.taxIdNumber;
  const claimId = randomUUID();
  const record = (status: ExtendedClaim['status'], minute: number) =>
    claims.recordClaim(sql, { id: randomUUID(), participant: OUR_ISPB, role: 'DONOR', claim: donorClaim(aliceEntry, claimId, status, minute), workflowId: `claim/${OUR_ISPB}/${claimId}/DONOR`, claimerEntryId: randomUUID() });

  const opened = await record('OPEN', 0);
  assert.equal(opened.donorTaxIdNumber, alice);
  assert.equal((await record('WAITING_RESOLUTION', 1)).donorTaxIdNumber, alice);
  const confirmed = await record('CONFIRMED', 2);
  assert.equal((await entries.getEntryById(sql, aliceEntry.entryId))!.status, 'DELETED', 'the donor\'s entry left with the claim');
  assert.equal(confirmed.donorTaxIdNumber, alice);
  assert.equal((await record('COMPLETED', 3)).donorTaxIdNumber, alice);
  // Another customer of ours registers the same key afterwards; DICT's claim is seen again: still Alice's.
  const { rec: brunoEntry } = await activeEntry({ ...newEntry(), key: aliceEntry.key });
  assert.notEqual(brunoEntry.owner.taxIdNumber, alice);
  assert.equal((await record('COMPLETED', 3)).donorTaxIdNumber, alice);
  assert.equal((await entries.getEntryById(sql, brunoEntry.entryId))!.status, 'ACTIVE');
  assert.equal((await claims.getClaimById(sql, opened.id))!.donorTaxIdNumber, alice);
  const aliceList = await claims.listClaims(sql, { participant: OUR_ISPB, role: 'DONOR', partyTaxId: alice }, 50);
  assert.ok(aliceList.claims.some((c) => c.id === opened.id));
  const brunoList = await claims.listClaims(sql, { participant: OUR_ISPB, role: 'DONOR', partyTaxId: brunoEntry.owner.taxIdNumber }, 50);
  assert.ok(!brunoList.claims.some((c) => c.id === opened.id));
});

test("a donor claim first seen after its completion never takes the claimer's entry (two of our users) as the donor's", async () => {
  const { rec: claimerEntry } = await activeEntry();
  const claimId = randomUUID();
  const rec = await claims.recordClaim(sql, {
    id: randomUUID(),
    participant: OUR_ISPB,
    role: 'DONOR',
    claim: { ...donorClaim(claimerEntry, claimId, 'COMPLETED', 5), claimerAccount: claimerEntry.account, claimer: claimerEntry.owner },
    workflowId: `claim/${OUR_ISPB}/${claimId}/DONOR`,
    claimerEntryId: claimerEntry.entryId,
  });
  assert.equal(rec.donorTaxIdNumber, undefined);
  assert.equal((await entries.getEntryById(sql, claimerEntry.entryId))!.status, 'ACTIVE');
});

test('a donor claim row without its owner (written before the column, during a rolling deploy) gets it at its next recording while our entry is there', async () => {
  const { rec: entry } = await activeEntry();
  const claimId = randomUUID();
  const record = (status: ExtendedClaim['status'], minute: number) =>
    claims.recordClaim(sql, { id: randomUUID(), participant: OUR_ISPB, role: 'DONOR', claim: donorClaim(entry, claimId, status, minute), workflowId: `claim/${OUR_ISPB}/${claimId}/DONOR`, claimerEntryId: randomUUID() });
  const opened = await record('OPEN', 0);
  // As an older worker would have left it.
  await sql`update claims set donor_tax_id_number = null where id = ${opened.id}`;
  assert.equal((await claims.getClaimById(sql, opened.id))!.donorTaxIdNumber, undefined);
  assert.equal((await record('WAITING_RESOLUTION', 1)).donorTaxIdNumber, entry.owner.taxIdNumber);
});
