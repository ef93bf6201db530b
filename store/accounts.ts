// The account registry (table `accounts`): our PSP's accounts as core banking knows them, one
// row per account and holder (joint accounts have several), each open or closed. Core banking
// feeds it (scripts/accounts.ts upserts a file); the API reads it to check that an account a
// customer names is theirs (api/authorization.ts requireOwnAccount).
import type { AccountType, PersonType } from '../domain/types.js';
import type { Db } from './db.js';
import { iso } from './db.js';

/** BCB's account identity: participant (ISPB), branch (absent: none), number and type. */
export interface AccountId {
  participant: string;
  branch?: string;
  accountNumber: string;
  accountType: AccountType;
}

/** One account of our PSP as the registry holds it; plain JSON. */
export interface RegistryAccount extends AccountId {
  holder: { type: PersonType; taxIdNumber: string };
  /** ISO-8601 date-time. */
  openingDate: string;
  /** ISO-8601 date-time; absent while the account is open. */
  closedAt?: string;
}

export interface RegistryAccountRecord extends RegistryAccount {
  updatedAt: string;
}

interface AccountRow {
  participant: string;
  branch: string;
  account_number: string;
  account_type: AccountType;
  tax_id_number: string;
  person_type: PersonType;
  opening_date: Date;
  closed_at: Date | null;
  updated_at: Date;
}

/** The table keeps '' for "no branch" (it is part of the primary key); our records, undefined. */
const branchColumn = (branch: string | undefined): string => branch ?? '';

function toRecord(r: AccountRow): RegistryAccountRecord {
  return {
    participant: r.participant,
    branch: r.branch === '' ? undefined : r.branch,
    accountNumber: r.account_number,
    accountType: r.account_type,
    holder: { type: r.person_type, taxIdNumber: r.tax_id_number },
    openingDate: iso(r.opening_date)!,
    closedAt: iso(r.closed_at),
    updatedAt: iso(r.updated_at)!,
  };
}

/** The registry's row for this account and holder (open or closed), or undefined. */
export async function getAccount(db: Db, id: AccountId, holderTaxId: string): Promise<RegistryAccountRecord | undefined> {
  const [row] = await db<AccountRow[]>`
    select * from accounts
     where participant = ${id.participant} and branch = ${branchColumn(id.branch)}
       and account_number = ${id.accountNumber} and account_type = ${id.accountType}
       and tax_id_number = ${holderTaxId}`;
  return row ? toRecord(row) : undefined;
}

/** Every holder's row of this account (a joint account has several), open or closed. */
export async function getAccountHolders(db: Db, id: AccountId): Promise<RegistryAccountRecord[]> {
  const rows = await db<AccountRow[]>`
    select * from accounts
     where participant = ${id.participant} and branch = ${branchColumn(id.branch)}
       and account_number = ${id.accountNumber} and account_type = ${id.accountType}
     order by tax_id_number`;
  return rows.map(toRecord);
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

const COLUMNS = ['participant', 'branch', 'account_number', 'account_type', 'tax_id_number', 'person_type', 'opening_date', 'closed_at'] as const;

/** Rows per INSERT: 8 parameters each, far below Postgres's 65,535 per statement. */
const BATCH = 1_000;

/**
 * Insert or update accounts by primary key (account and holder), in batches, on the caller's connection or transaction
 * (a file is loaded in one transaction: all of it or nothing). A row equal to the stored one is
 * left alone (updated_at unchanged), so loading the same file again changes nothing. The same
 * account and holder twice in one call is the caller's error (Postgres refuses it within a batch).
 */
export async function upsertAccounts(db: Db, accounts: readonly RegistryAccount[]): Promise<UpsertCounts> {
  const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
  for (let i = 0; i < accounts.length; i += BATCH) {
    const rows = accounts.slice(i, i + BATCH).map((a) => ({
      participant: a.participant,
      branch: branchColumn(a.branch),
      account_number: a.accountNumber,
      account_type: a.accountType,
      tax_id_number: a.holder.taxIdNumber,
      person_type: a.holder.type,
      opening_date: a.openingDate,
      closed_at: a.closedAt ?? null,
    }));
    const changed = await db<{ inserted: boolean }[]>`
      insert into accounts ${db(rows, [...COLUMNS])}
      on conflict (participant, branch, account_number, account_type, tax_id_number) do update
         set person_type = excluded.person_type, opening_date = excluded.opening_date, closed_at = excluded.closed_at, updated_at = now()
       where (accounts.person_type, accounts.opening_date, accounts.closed_at)
             is distinct from (excluded.person_type, excluded.opening_date, excluded.closed_at)
      returning (xmax = 0) as inserted`;
    const inserted = changed.filter((r) => r.inserted).length;
    counts.inserted += inserted;
    counts.updated += changed.length - inserted;
    counts.unchanged += rows.length - changed.length;
  }
  return counts;
}
