// The simulator's own Postgres storage (tables prefixed sim_, created on start): entries, createEntry
// RequestIds, claims. Writes run in transactions that first take advisory locks on the names they
// touch (key, account, RequestId, claim), in sorted order so two writers can never deadlock;
// primary keys and the one-open-claim-per-key index are the backstop.
import postgres from 'postgres';
import type { AccountType, BrazilianAccount, ClaimStatus, ClaimType, ExtendedClaim, ExtendedEntry, KeyType, Person, PersonType } from '../domain/types.js';

const DDL = `
create table if not exists sim_entries (
  key                text primary key,
  key_type           text not null,
  participant        text not null,
  branch             text,
  account_number     text not null,
  account_type       text not null,
  opening_date       timestamptz not null,
  owner_type         text not null,
  tax_id_number      text not null,
  name               text not null,
  trade_name         text,
  creation_date      timestamptz not null,
  key_ownership_date timestamptz not null,
  request_id         text not null,
  updated_at         timestamptz not null
);
-- Entry side of an open claim (createClaim sets it; admin can too); added by ALTER so databases
-- created by older simulators upgrade in place.
alter table sim_entries add column if not exists open_claim_creation_date timestamptz;
create index if not exists sim_entries_account_idx
  on sim_entries (participant, account_number, account_type, (coalesce(branch, '')));
-- One row per createEntry RequestId that created an entry: replays answer with the snapshot.
create table if not exists sim_create_requests (
  participant  text not null,
  request_id   text not null,
  fingerprint  text not null,
  entry        jsonb not null,
  created_at   timestamptz not null,
  primary key (participant, request_id)
);
-- Claims: the ExtendedClaim as DICT answers it, plus the columns listClaims filters and sorts on.
create table if not exists sim_claims (
  id                  uuid primary key,
  key                 text not null,
  type                text not null,
  status              text not null,
  donor_participant   text not null,
  claimer_participant text not null,
  last_modified       timestamptz not null,
  opened_at           timestamptz not null,
  -- The donor entry's KeyOwnershipDate: a portability keeps it on completion.
  key_ownership_date  timestamptz not null,
  -- completeClaim: the RequestId that completed it and the entry it created.
  complete_request_id text,
  entry_creation_date timestamptz,
  entry_key_ownership_date timestamptz,
  claim               jsonb not null
);
-- At most one claim per key that is neither COMPLETED nor CANCELLED.
create unique index if not exists sim_claims_open_key_idx on sim_claims (key) where status not in ('COMPLETED', 'CANCELLED');
create index if not exists sim_claims_last_modified_idx on sim_claims (last_modified, id);
`;

// Arbitrary constant: serializes concurrent schema creation by several simulator processes.
const DDL_LOCK = 7_305_118_001;

interface EntryRow {
  key: string;
  key_type: string;
  participant: string;
  branch: string | null;
  account_number: string;
  account_type: string;
  opening_date: Date;
  owner_type: string;
  tax_id_number: string;
  name: string;
  trade_name: string | null;
  creation_date: Date;
  key_ownership_date: Date;
  request_id: string;
  open_claim_creation_date: Date | null;
}

function toEntry(r: EntryRow): ExtendedEntry {
  const account: BrazilianAccount = {
    participant: r.participant,
    ...(r.branch !== null ? { branch: r.branch } : {}),
    accountNumber: r.account_number,
    accountType: r.account_type as AccountType,
    openingDate: r.opening_date.toISOString(),
  };
  const owner: Person = {
    type: r.owner_type as PersonType,
    taxIdNumber: r.tax_id_number,
    name: r.name,
    ...(r.trade_name !== null ? { tradeName: r.trade_name } : {}),
  };
  return {
    key: r.key,
    keyType: r.key_type as KeyType,
    account,
    owner,
    creationDate: r.creation_date.toISOString(),
    keyOwnershipDate: r.key_ownership_date.toISOString(),
    ...(r.open_claim_creation_date !== null ? { openClaimCreationDate: r.open_claim_creation_date.toISOString() } : {}),
  };
}

/** Lock name of a transactional account (key limit is per account). */
export function accountLockName(a: BrazilianAccount): string {
  return `acct:${a.participant}:${a.branch ?? ''}:${a.accountNumber}:${a.accountType}`;
}

export interface CreateRequestRecord {
  fingerprint: string;
  entry: ExtendedEntry;
}

/** A stored claim with what DICT keeps beside it. */
export interface ClaimRecord {
  claim: ExtendedClaim;
  openedAt: string;
  /** The donor entry's KeyOwnershipDate when the claim was opened. */
  keyOwnershipDate: string;
  completion?: { requestId: string; entryCreationDate: string; keyOwnershipDate: string };
}

interface ClaimRow {
  claim: ExtendedClaim;
  opened_at: Date;
  key_ownership_date: Date;
  complete_request_id: string | null;
  entry_creation_date: Date | null;
  entry_key_ownership_date: Date | null;
}

function toClaimRecord(r: ClaimRow): ClaimRecord {
  return {
    claim: r.claim,
    openedAt: r.opened_at.toISOString(),
    keyOwnershipDate: r.key_ownership_date.toISOString(),
    ...(r.complete_request_id !== null && r.entry_creation_date !== null && r.entry_key_ownership_date !== null
      ? { completion: { requestId: r.complete_request_id, entryCreationDate: r.entry_creation_date.toISOString(), keyOwnershipDate: r.entry_key_ownership_date.toISOString() } }
      : {}),
  };
}

/** listClaims filters, decoded. `role`: whose claims (the participant's side), EITHER = donor or claimer. */
export interface ClaimQuery {
  participant: string;
  role: 'DONOR' | 'CLAIMER' | 'EITHER';
  statuses: ClaimStatus[];
  type?: ClaimType;
  modifiedAfter?: Date;
  modifiedBefore?: Date;
  limit: number;
}

/** Claims' data access inside one transaction (or autocommit for reads). */
export class ClaimRepo {
  constructor(private readonly sql: postgres.Sql | postgres.TransactionSql) {}

  async find(id: string, forUpdate = false): Promise<ClaimRecord | undefined> {
    const rows = forUpdate
      ? await this.sql<ClaimRow[]>`select * from sim_claims where id = ${id} for update`
      : await this.sql<ClaimRow[]>`select * from sim_claims where id = ${id}`;
    return rows[0] ? toClaimRecord(rows[0]) : undefined;
  }

  /** The key's claim that is neither COMPLETED nor CANCELLED, if any. */
  async findOpenByKey(key: string): Promise<ClaimRecord | undefined> {
    const rows = await this.sql<ClaimRow[]>`select * from sim_claims where key = ${key} and status not in ('COMPLETED', 'CANCELLED')`;
    return rows[0] ? toClaimRecord(rows[0]) : undefined;
  }

  async insert(c: ExtendedClaim, openedAt: string, keyOwnershipDate: string): Promise<void> {
    await this.sql`
      insert into sim_claims (id, key, type, status, donor_participant, claimer_participant, last_modified, opened_at, key_ownership_date, claim)
      values (${c.id}, ${c.key}, ${c.type}, ${c.status}, ${c.donorParticipant}, ${c.claimerAccount.participant}, ${c.lastModified},
        ${openedAt}, ${keyOwnershipDate}, ${this.sql.json(c as unknown as postgres.JSONValue)})`;
  }

  async update(c: ExtendedClaim, completion?: ClaimRecord['completion']): Promise<void> {
    await this.sql`
      update sim_claims set status = ${c.status}, last_modified = ${c.lastModified}, claim = ${this.sql.json(c as unknown as postgres.JSONValue)},
        complete_request_id = coalesce(${completion?.requestId ?? null}, complete_request_id),
        entry_creation_date = coalesce(${completion?.entryCreationDate ?? null}::timestamptz, entry_creation_date),
        entry_key_ownership_date = coalesce(${completion?.keyOwnershipDate ?? null}::timestamptz, entry_key_ownership_date)
      where id = ${c.id}`;
  }

  /** Ascending LastModified (then id); one row more than `limit` tells whether more exist. */
  async list(q: ClaimQuery): Promise<{ claims: ExtendedClaim[]; hasMore: boolean }> {
    const sql = this.sql;
    const role =
      q.role === 'DONOR'
        ? sql`donor_participant = ${q.participant}`
        : q.role === 'CLAIMER'
          ? sql`claimer_participant = ${q.participant}`
          : sql`(donor_participant = ${q.participant} or claimer_participant = ${q.participant})`;
    const rows = await sql<{ claim: ExtendedClaim }[]>`
      select claim from sim_claims
      where ${role}
        ${q.statuses.length > 0 ? sql`and status = any(${q.statuses})` : sql``}
        ${q.type !== undefined ? sql`and type = ${q.type}` : sql``}
        ${q.modifiedAfter !== undefined ? sql`and last_modified >= ${q.modifiedAfter}` : sql``}
        ${q.modifiedBefore !== undefined ? sql`and last_modified <= ${q.modifiedBefore}` : sql``}
      order by last_modified, id
      limit ${q.limit + 1}`;
    return { claims: rows.slice(0, q.limit).map((r) => r.claim), hasMore: rows.length > q.limit };
  }
}

/** Data access inside one transaction (or autocommit for reads). */
export class EntryRepo {
  readonly claims: ClaimRepo;
  constructor(private readonly sql: postgres.Sql | postgres.TransactionSql) {
    this.claims = new ClaimRepo(sql);
  }

  async findByKey(key: string): Promise<ExtendedEntry | undefined> {
    const rows = await this.sql<EntryRow[]>`select * from sim_entries where key = ${key}`;
    return rows[0] ? toEntry(rows[0]) : undefined;
  }

  async countByAccount(a: BrazilianAccount): Promise<number> {
    const rows = await this.sql<{ n: number }[]>`
      select count(*)::int as n from sim_entries
      where participant = ${a.participant} and account_number = ${a.accountNumber}
        and account_type = ${a.accountType} and coalesce(branch, '') = ${a.branch ?? ''}`;
    return rows[0]?.n ?? 0;
  }

  async existingKeys(keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.sql<{ key: string }[]>`select key from sim_entries where key = any(${keys})`;
    return new Set(rows.map((r) => r.key));
  }

  async findCreateRequest(participant: string, requestId: string): Promise<CreateRequestRecord | undefined> {
    const rows = await this.sql<{ fingerprint: string; entry: ExtendedEntry }[]>`
      select fingerprint, entry from sim_create_requests
      where participant = ${participant} and request_id = ${requestId}`;
    return rows[0];
  }

  async insertEntry(e: ExtendedEntry, requestId: string, now: Date): Promise<void> {
    await this.sql`
      insert into sim_entries (key, key_type, participant, branch, account_number, account_type, opening_date,
        owner_type, tax_id_number, name, trade_name, creation_date, key_ownership_date, request_id, updated_at)
      values (${e.key}, ${e.keyType}, ${e.account.participant}, ${e.account.branch ?? null}, ${e.account.accountNumber},
        ${e.account.accountType}, ${e.account.openingDate}, ${e.owner.type}, ${e.owner.taxIdNumber}, ${e.owner.name},
        ${e.owner.tradeName ?? null}, ${e.creationDate}, ${e.keyOwnershipDate}, ${requestId}, ${now})`;
  }

  async insertCreateRequest(participant: string, requestId: string, fingerprint: string, entry: ExtendedEntry, now: Date): Promise<void> {
    await this.sql`
      insert into sim_create_requests (participant, request_id, fingerprint, entry, created_at)
      values (${participant}, ${requestId}, ${fingerprint}, ${this.sql.json(entry as unknown as postgres.JSONValue)}, ${now})`;
  }

  /** Replaces account and owner data; returns the updated entry (undefined when absent). */
  async updateEntry(key: string, account: BrazilianAccount, owner: Person, now: Date): Promise<ExtendedEntry | undefined> {
    const rows = await this.sql<EntryRow[]>`
      update sim_entries set participant = ${account.participant}, branch = ${account.branch ?? null},
        account_number = ${account.accountNumber}, account_type = ${account.accountType},
        opening_date = ${account.openingDate}, owner_type = ${owner.type}, tax_id_number = ${owner.taxIdNumber},
        name = ${owner.name}, trade_name = ${owner.tradeName ?? null}, updated_at = ${now}
      where key = ${key} returning *`;
    return rows[0] ? toEntry(rows[0]) : undefined;
  }

  /** Sets (a date) or clears (null) the entry's open-claim creation date; undefined when absent. */
  async setOpenClaim(key: string, openClaimCreationDate: Date | null): Promise<ExtendedEntry | undefined> {
    const rows = await this.sql<EntryRow[]>`
      update sim_entries set open_claim_creation_date = ${openClaimCreationDate}
      where key = ${key} returning *`;
    return rows[0] ? toEntry(rows[0]) : undefined;
  }

  async deleteEntry(key: string): Promise<boolean> {
    const rows = await this.sql`delete from sim_entries where key = ${key} returning key`;
    return rows.length > 0;
  }
}

export class SimStore {
  private constructor(private readonly sql: postgres.Sql) {}

  static async open(databaseUrl: string): Promise<SimStore> {
    const sql = postgres(databaseUrl, { max: 10, onnotice: () => {}, connection: { application_name: 'dict-simulator' } });
    try {
      await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${DDL_LOCK})`;
        await tx.unsafe(DDL);
      });
    } catch (e) {
      await sql.end({ timeout: 1 });
      throw e;
    }
    return new SimStore(sql);
  }

  /** Autocommit reads. */
  get read(): EntryRepo {
    return new EntryRepo(this.sql);
  }

  /** Runs `fn` in a transaction holding advisory locks on `lockNames`. */
  async write<T>(lockNames: string[], fn: (repo: EntryRepo) => Promise<T>): Promise<T> {
    const names = [...new Set(lockNames)].sort();
    return (await this.sql.begin(async (tx) => {
      for (const n of names) await tx`select pg_advisory_xact_lock(hashtextextended(${n}, 0))`;
      return fn(new EntryRepo(tx));
    })) as T;
  }

  async reset(): Promise<void> {
    await this.sql`truncate sim_entries, sim_create_requests, sim_claims`;
  }

  async ping(): Promise<void> {
    await this.sql`select 1`;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
