// Our records of Pix keys. Every state change writes its outbox event in the same transaction.
import type { BrazilianAccount, Entry, ExtendedEntry, KeyType, Person } from '../domain/types.js';
import type { BcbErrorName } from '../domain/errors.js';
import { maxKeysPerAccount } from '../domain/limits.js';
import type { Db, Sql, Tx } from './db.js';
import { iso, pgCode } from './db.js';
import { BusinessRuleError } from './errors.js';
import { finishOperation } from './operations.js';
import { writeEvent } from './outbox.js';

export type EntryStatus = 'PENDING' | 'ACTIVE' | 'DELETING' | 'DELETED' | 'FAILED';
export const LIVE_STATUSES: readonly EntryStatus[] = ['PENDING', 'ACTIVE', 'DELETING'];

/** An entry as we hold it; plain JSON so it crosses Temporal payloads. */
export interface EntryRecord extends Entry {
  entryId: string;
  status: EntryStatus;
  creationDate?: string;
  keyOwnershipDate?: string;
  openClaimCreationDate?: string;
  requestId: string;
  dictRequestId: string;
  errorName?: string;
  errorDetail?: string;
  createdAt: string;
  updatedAt: string;
}

interface EntryRow {
  entry_id: string;
  seq: string;
  key: string | null;
  key_type: KeyType;
  status: EntryStatus;
  participant: string;
  branch: string | null;
  account_number: string;
  account_type: BrazilianAccount['accountType'];
  opening_date: Date;
  owner_type: Person['type'];
  tax_id_number: string;
  owner_name: string;
  trade_name: string | null;
  creation_date: Date | null;
  key_ownership_date: Date | null;
  open_claim_creation_date: Date | null;
  request_id: string;
  dict_request_id: string;
  error_name: string | null;
  error_detail: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toEntryRecord(r: EntryRow): EntryRecord {
  return {
    entryId: r.entry_id,
    key: r.key ?? undefined,
    keyType: r.key_type,
    status: r.status,
    account: {
      participant: r.participant,
      branch: r.branch ?? undefined,
      accountNumber: r.account_number,
      accountType: r.account_type,
      openingDate: iso(r.opening_date)!,
    },
    owner: {
      type: r.owner_type,
      taxIdNumber: r.tax_id_number,
      name: r.owner_name,
      tradeName: r.trade_name ?? undefined,
    },
    creationDate: iso(r.creation_date),
    keyOwnershipDate: iso(r.key_ownership_date),
    openClaimCreationDate: iso(r.open_claim_creation_date),
    requestId: r.request_id,
    dictRequestId: r.dict_request_id,
    errorName: r.error_name ?? undefined,
    errorDetail: r.error_detail ?? undefined,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

/** Event payloads carry the entry without our bookkeeping fields. */
const eventPayload = (e: EntryRecord): Record<string, unknown> => ({
  entryId: e.entryId,
  key: e.key,
  keyType: e.keyType,
  status: e.status,
  account: e.account,
  owner: e.owner,
  creationDate: e.creationDate,
  keyOwnershipDate: e.keyOwnershipDate,
  requestId: e.requestId,
  errorName: e.errorName,
});

export interface ReserveInput {
  entryId: string;
  requestId: string;
  dictRequestId: string;
  entry: Entry;
}

/**
 * Record a key registration as PENDING, enforcing what our own records can already tell: the
 * key is not live here, and the account is under BCB's key limit. Both run under the account's
 * lock and the live-key unique index, so concurrent registrations cannot both pass.
 */
async function insertPendingEntry(tx: Tx, input: ReserveInput): Promise<EntryRecord> {
  const { entry } = input;
  const acc = entry.account;
  if (entry.key) {
    const live = await tx<EntryRow[]>`
      select * from entries where key = ${entry.key} and status in ('PENDING', 'ACTIVE', 'DELETING')`;
    if (live[0]) throw liveKeyError(toEntryRecord(live[0]), entry.owner);
  }
  await assertAccountHasRoom(tx, acc, entry.owner.type);
  const [row] = await tx<EntryRow[]>`
    insert into entries (entry_id, key, key_type, status, participant, branch, account_number, account_type,
                         opening_date, owner_type, tax_id_number, owner_name, trade_name, request_id, dict_request_id)
    values (${input.entryId}, ${entry.key ?? null}, ${entry.keyType}, 'PENDING', ${acc.participant}, ${acc.branch ?? null},
            ${acc.accountNumber}, ${acc.accountType}, ${acc.openingDate}, ${entry.owner.type}, ${entry.owner.taxIdNumber},
            ${entry.owner.name}, ${entry.owner.tradeName ?? null}, ${input.requestId}, ${input.dictRequestId})
    returning *`;
  const rec = toEntryRecord(row!);
  await writeEvent(tx, { aggregateType: 'entry', aggregateId: rec.entryId, eventType: 'EntryRequested', payload: eventPayload(rec) });
  return rec;
}

/**
 * The API's half of "accepted means visible": inside the transaction that records the request
 * id (operations row), record the PENDING entry with its fixed entry id, so GetKey/ListKeys show
 * it at once, worker or not. Throws BusinessRuleError (EntryAlreadyExists,
 * EntryKeyOwnedByDifferentPerson, EntryLimitExceeded) when our records already refuse it; the
 * transaction stays usable (the insert runs in a savepoint).
 */
export async function recordPendingEntry(tx: Tx, input: ReserveInput): Promise<EntryRecord> {
  try {
    return await tx.savepoint((sp) => insertPendingEntry(sp, input));
  } catch (err) {
    // Two registrations racing for the same key: the unique index decides.
    if (pgCode(err) === '23505' && input.entry.key) {
      const live = await getLiveEntryByKey(tx, input.entry.key);
      if (live) throw liveKeyError(live, input.entry.owner);
    }
    throw err;
  }
}

/**
 * The workflow's reserve step. The API has normally recorded the PENDING entry already (then
 * this finds it: idempotent on entryId); a request accepted before that existed (a workflow
 * started by an older API) is recorded here with the same checks.
 */
export async function reservePendingEntry(sql: Sql, input: ReserveInput): Promise<EntryRecord> {
  try {
    return await sql.begin(async (tx) => {
      const mine = await tx<EntryRow[]>`select * from entries where entry_id = ${input.entryId}`;
      if (mine[0]) return toEntryRecord(mine[0]);
      return insertPendingEntry(tx, input);
    });
  } catch (err) {
    // Two accounts racing for the same key: the unique index decides.
    if (pgCode(err) === '23505' && input.entry.key) {
      const live = await getLiveEntryByKey(sql, input.entry.key);
      if (live) throw liveKeyError(live, input.entry.owner);
    }
    throw err;
  }
}

/**
 * BCB's key limit per account (5 natural / 20 legal person), counted over live entries. Takes a
 * transaction-scoped lock on the account so the count and the write that follows are atomic
 * with every other registration or move into the same account.
 */
async function assertAccountHasRoom(tx: Tx, acc: BrazilianAccount, ownerType: Person['type'], excludingEntryId?: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext(${`${acc.participant}/${acc.branch ?? ''}/${acc.accountNumber}/${acc.accountType}`}))`;
  const [counted] = await tx<{ count: number }[]>`
    select count(*)::int as count from entries
     where participant = ${acc.participant} and account_number = ${acc.accountNumber}
       and branch is not distinct from ${acc.branch ?? null} and account_type = ${acc.accountType}
       and status in ('PENDING', 'ACTIVE', 'DELETING')
       ${excludingEntryId ? tx`and entry_id <> ${excludingEntryId}` : tx``}`;
  const count = counted?.count ?? 0;
  const limit = maxKeysPerAccount(ownerType);
  if (count >= limit) {
    throw new BusinessRuleError('EntryLimitExceeded', `account already has ${count} keys (limit ${limit} for ${ownerType})`);
  }
}

/**
 * Before an update moves a key to another account, check that account has room (DICT checks
 * too; ours answers without a DICT round trip and covers our own concurrent registrations).
 */
export async function assertRoomForMove(sql: Sql, current: EntryRecord, target: BrazilianAccount): Promise<void> {
  const a = current.account;
  const same = a.participant === target.participant && (a.branch ?? '') === (target.branch ?? '') && a.accountNumber === target.accountNumber && a.accountType === target.accountType;
  if (same) return;
  await sql.begin((tx) => assertAccountHasRoom(tx, target, current.owner.type, current.entryId));
}

function liveKeyError(live: EntryRecord, owner: Person): BusinessRuleError {
  return live.owner.taxIdNumber === owner.taxIdNumber
    ? new BusinessRuleError('EntryAlreadyExists', 'the key is already registered for this owner')
    : new BusinessRuleError('EntryKeyOwnedByDifferentPerson', 'the key is registered to another person');
}

/** DICT accepted the registration: the entry becomes ACTIVE with DICT's data. */
export async function activateEntry(sql: Sql, entryId: string, dict: ExtendedEntry): Promise<EntryRecord> {
  return sql.begin(async (tx) => {
    const [row] = await tx<EntryRow[]>`
      update entries
         set status = 'ACTIVE', key = ${dict.key}, creation_date = ${dict.creationDate},
             key_ownership_date = ${dict.keyOwnershipDate}, open_claim_creation_date = ${dict.openClaimCreationDate ?? null},
             error_name = null, error_detail = null, updated_at = now()
       where entry_id = ${entryId}
       returning *`;
    if (!row) throw new Error(`entry ${entryId} not found`);
    const rec = toEntryRecord(row);
    await finishOperation(tx, rec.account.participant, rec.requestId, 'COMPLETED', undefined, rec.entryId);
    await writeEvent(tx, { aggregateType: 'entry', aggregateId: rec.entryId, eventType: 'EntryActivated', payload: eventPayload(rec) });
    return rec;
  });
}

/** DICT (or our own records) refused the registration. */
export async function failEntry(sql: Sql, entryId: string, errorName: BcbErrorName, errorDetail: string): Promise<EntryRecord | undefined> {
  return sql.begin(async (tx) => {
    const [row] = await tx<EntryRow[]>`
      update entries set status = 'FAILED', error_name = ${errorName}, error_detail = ${errorDetail}, updated_at = now()
       where entry_id = ${entryId} and status = 'PENDING'
       returning *`;
    if (!row) return undefined;
    const rec = toEntryRecord(row);
    await writeEvent(tx, { aggregateType: 'entry', aggregateId: rec.entryId, eventType: 'EntryRegistrationFailed', payload: eventPayload(rec) });
    return rec;
  });
}

export async function getLiveEntryByKey(db: Db, key: string): Promise<EntryRecord | undefined> {
  const rows = await db<EntryRow[]>`
    select * from entries where key = ${key} and status in ('PENDING', 'ACTIVE', 'DELETING')`;
  return rows[0] ? toEntryRecord(rows[0]) : undefined;
}

/** The newest entry for a key, live or not (GetKey shows deleted/failed history too). */
export async function getLatestEntryByKey(db: Db, key: string): Promise<EntryRecord | undefined> {
  const rows = await db<EntryRow[]>`
    select * from entries where key = ${key} order by (status in ('PENDING', 'ACTIVE', 'DELETING')) desc, created_at desc limit 1`;
  return rows[0] ? toEntryRecord(rows[0]) : undefined;
}

export async function getEntryById(db: Db, entryId: string): Promise<EntryRecord | undefined> {
  const rows = await db<EntryRow[]>`select * from entries where entry_id = ${entryId}`;
  return rows[0] ? toEntryRecord(rows[0]) : undefined;
}

export async function getEntryByRequestId(db: Db, participant: string, requestId: string): Promise<EntryRecord | undefined> {
  const rows = await db<EntryRow[]>`select * from entries where participant = ${participant} and request_id = ${requestId}`;
  return rows[0] ? toEntryRecord(rows[0]) : undefined;
}

/**
 * DICT accepted an update of account/owner data. Applied only to a live entry and only if no
 * later DICT answer (by DICT's ResponseTime) was applied already; otherwise the stored row is
 * returned unchanged and no event is written. The operation completes either way.
 */
export async function applyEntryUpdate(
  sql: Sql,
  entryId: string,
  dict: ExtendedEntry,
  op: { participant: string; requestId: string; dictResponseTime?: string },
): Promise<EntryRecord> {
  return sql.begin(async (tx) => {
    const a = dict.account;
    const o = dict.owner;
    const at = op.dictResponseTime ?? null;
    const [row] = await tx<EntryRow[]>`
      update entries
         set branch = ${a.branch ?? null}, account_number = ${a.accountNumber}, account_type = ${a.accountType},
             opening_date = ${a.openingDate}, owner_name = ${o.name}, trade_name = ${o.tradeName ?? null},
             key_ownership_date = ${dict.keyOwnershipDate}, dict_synced_at = coalesce(${at}::timestamptz, dict_synced_at),
             updated_at = now()
       where entry_id = ${entryId} and status in ('ACTIVE', 'DELETING')
         and (${at}::timestamptz is null or dict_synced_at is null or dict_synced_at <= ${at}::timestamptz)
       returning *`;
    await finishOperation(tx, op.participant, op.requestId, 'COMPLETED', undefined, entryId);
    if (!row) {
      const current = await getEntryById(tx, entryId);
      if (!current) throw new Error(`entry ${entryId} not found`);
      return current;
    }
    const rec = toEntryRecord(row);
    await writeEvent(tx, { aggregateType: 'entry', aggregateId: rec.entryId, eventType: 'EntryUpdated', payload: eventPayload(rec) });
    return rec;
  });
}

/** Mark a live entry as being removed; idempotent for the same entry. */
export async function markDeleting(sql: Sql, entryId: string): Promise<EntryRecord> {
  const [row] = await sql<EntryRow[]>`
    update entries set status = 'DELETING', updated_at = now()
     where entry_id = ${entryId} and status in ('ACTIVE', 'DELETING')
     returning *`;
  if (!row) throw new BusinessRuleError('NotFound', 'the key is not active');
  return toEntryRecord(row);
}

/** DICT removed the entry (or had already: a retried delete). */
export async function markDeleted(
  sql: Sql,
  entryId: string,
  reason: string,
  op: { participant: string; requestId: string },
): Promise<EntryRecord> {
  return sql.begin(async (tx) => {
    const [row] = await tx<EntryRow[]>`
      update entries set status = 'DELETED', updated_at = now() where entry_id = ${entryId} returning *`;
    if (!row) throw new Error(`entry ${entryId} not found`);
    const rec = toEntryRecord(row);
    await finishOperation(tx, op.participant, op.requestId, 'COMPLETED', undefined, rec.entryId);
    await writeEvent(tx, {
      aggregateType: 'entry',
      aggregateId: rec.entryId,
      eventType: 'EntryDeleted',
      payload: { ...eventPayload(rec), reason },
    });
    return rec;
  });
}

/** Back to ACTIVE when DICT refused a removal. */
export async function revertDeleting(sql: Sql, entryId: string): Promise<void> {
  await sql`update entries set status = 'ACTIVE', updated_at = now() where entry_id = ${entryId} and status = 'DELETING'`;
}

export interface ListFilter {
  participant: string;
  taxIdNumber?: string;
  branch?: string;
  accountNumber?: string;
  keyType?: KeyType;
  status?: EntryStatus;
}

/** Position after which the next page starts (the last row's seq). */
export type PageCursor = string;

/** Keyset pagination on seq: stable under concurrent inserts. */
export async function listEntries(db: Db, f: ListFilter, pageSize: number, after?: PageCursor): Promise<{ entries: EntryRecord[]; next?: PageCursor }> {
  const rows = await db<EntryRow[]>`
    select * from entries
     where participant = ${f.participant}
       ${f.taxIdNumber ? db`and tax_id_number = ${f.taxIdNumber}` : db``}
       ${f.branch ? db`and branch = ${f.branch}` : db``}
       ${f.accountNumber ? db`and account_number = ${f.accountNumber}` : db``}
       ${f.keyType ? db`and key_type = ${f.keyType}` : db``}
       ${f.status ? db`and status = ${f.status}` : db``}
       ${after ? db`and seq > ${after}::bigint` : db``}
     order by seq
     limit ${pageSize + 1}`;
  const page = rows.slice(0, pageSize);
  const last = page[page.length - 1];
  return { entries: page.map(toEntryRecord), next: rows.length > pageSize && last ? String(last.seq) : undefined };
}

// ---- Effects of claims on our entries (called inside the claim projection's transaction) ----

/** A claim opened on one of our live keys (we are donor): mark it, as DICT does (OpenClaimCreationDate). */
export async function markEntryClaimed(tx: Tx, participant: string, key: string, openedAt: string): Promise<EntryRecord | undefined> {
  const [row] = await tx<EntryRow[]>`
    update entries set open_claim_creation_date = ${openedAt}, updated_at = now()
     where key = ${key} and participant = ${participant} and status in ('ACTIVE', 'DELETING')
       and open_claim_creation_date is distinct from ${openedAt}::timestamptz
     returning *`;
  return row ? toEntryRecord(row) : undefined;
}

/**
 * Our live entry for a key a claim is about (we are donor), never the claimer's entry
 * (`excludingEntryId`: in an ownership claim between two of our users, the entry its completion
 * created). Its owner is the donor's customer, recorded once on the claim (store/claims.ts).
 */
export async function liveEntryForDonorClaim(tx: Tx, participant: string, key: string, excludingEntryId?: string): Promise<EntryRecord | undefined> {
  const [row] = await tx<EntryRow[]>`
    select * from entries
     where key = ${key} and participant = ${participant} and status in ('PENDING', 'ACTIVE', 'DELETING')
       ${excludingEntryId ? tx`and entry_id <> ${excludingEntryId}` : tx``}
     limit 1`;
  return row ? toEntryRecord(row) : undefined;
}

/** The claim ended without taking the key from us: the mark goes. */
export async function clearEntryClaim(tx: Tx, participant: string, key: string): Promise<void> {
  await tx`
    update entries set open_claim_creation_date = null, updated_at = now()
     where key = ${key} and participant = ${participant} and status in ('ACTIVE', 'DELETING')
       and open_claim_creation_date is not null`;
}

/**
 * We confirmed a claim as donor: DICT unlinked the key from us, so our entry is removed here in
 * the same transaction (BCB: the donor removes the key from its base). Not given back if the
 * claim is later cancelled: the user registers the key again.
 */
export async function removeEntryForClaim(tx: Tx, participant: string, key: string, claimId: string, reason: string, keepEntryId?: string): Promise<EntryRecord | undefined> {
  const [row] = await tx<EntryRow[]>`
    update entries set status = 'DELETED', open_claim_creation_date = null, updated_at = now()
     where key = ${key} and participant = ${participant} and status in ('PENDING', 'ACTIVE', 'DELETING')
       ${keepEntryId ? tx`and entry_id <> ${keepEntryId}` : tx``}
     returning *`;
  if (!row) return undefined;
  const rec = toEntryRecord(row);
  await writeEvent(tx, {
    aggregateType: 'entry',
    aggregateId: rec.entryId,
    eventType: 'EntryDeleted',
    payload: { ...eventPayload(rec), reason, claimId },
  });
  return rec;
}

export interface ClaimedEntryInput {
  entryId: string;
  /** Request id the entry is filed under: the claim's StartClaim request id, or `claim:<claimId>`. */
  requestId: string;
  /** BCB RequestId sent with completeClaim. */
  dictRequestId: string;
  entry: Entry & { key: string };
  creationDate: string;
  keyOwnershipDate: string;
  claimId: string;
}

/** We completed a claim as claimer: the key is ours and ACTIVE (idempotent on dictRequestId). */
export async function insertClaimedEntry(tx: Tx, input: ClaimedEntryInput): Promise<EntryRecord> {
  const existing = await tx<EntryRow[]>`select * from entries where dict_request_id = ${input.dictRequestId}`;
  if (existing[0]) return toEntryRecord(existing[0]);
  const { entry } = input;
  const acc = entry.account;
  const [row] = await tx<EntryRow[]>`
    insert into entries (entry_id, key, key_type, status, participant, branch, account_number, account_type,
                         opening_date, owner_type, tax_id_number, owner_name, trade_name, creation_date,
                         key_ownership_date, request_id, dict_request_id)
    values (${input.entryId}, ${entry.key}, ${entry.keyType}, 'ACTIVE', ${acc.participant}, ${acc.branch ?? null},
            ${acc.accountNumber}, ${acc.accountType}, ${acc.openingDate}, ${entry.owner.type}, ${entry.owner.taxIdNumber},
            ${entry.owner.name}, ${entry.owner.tradeName ?? null}, ${input.creationDate}, ${input.keyOwnershipDate},
            ${input.requestId}, ${input.dictRequestId})
    returning *`;
  const rec = toEntryRecord(row!);
  await writeEvent(tx, {
    aggregateType: 'entry',
    aggregateId: rec.entryId,
    eventType: 'EntryActivated',
    payload: { ...eventPayload(rec), claimId: input.claimId },
  });
  return rec;
}
