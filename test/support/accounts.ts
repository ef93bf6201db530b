// The account registry in tests: a stack's customers act only on accounts registered to them
// (api/authorization.ts requireOwnAccount), so a test that acts as a customer first registers
// the accounts it names, as core banking would, through the loader's own store function.
import { PersonType as PbPersonType, type BrazilianAccount, type Person } from '../../gen/dict/core/v1/types_pb.js';
import { accountFromProto, enumName } from '../../api/mapping.js';
import type { AccountType, PersonType } from '../../domain/types.js';
import { upsertAccounts, type RegistryAccount } from '../../store/accounts.js';
import type { Sql } from '../../store/db.js';
import { account as newAccount } from './fixtures.js';

/** The registry's form of a request's account and its holder. */
export function registryAccount(account: BrazilianAccount, holder: Pick<Person, 'type' | 'taxIdNumber'>, o: { closedAt?: string } = {}): RegistryAccount {
  const a = accountFromProto(account)!;
  return {
    participant: a.participant!,
    branch: a.branch,
    accountNumber: a.accountNumber!,
    accountType: a.accountType as AccountType,
    holder: { type: enumName<PersonType>(PbPersonType, holder.type)!, taxIdNumber: holder.taxIdNumber },
    openingDate: a.openingDate!,
    closedAt: o.closedAt,
  };
}

/** Register `account` (our PSP's) to `holder` in the stack's registry, open unless `closedAt`; returns the account. */
export async function registerAccount<A extends BrazilianAccount>(s: { sql: Sql }, account: A, holder: Pick<Person, 'type' | 'taxIdNumber'>, o: { closedAt?: string } = {}): Promise<A> {
  await upsertAccounts(s.sql, [registryAccount(account, holder, o)]);
  return account;
}

/** A new account of the stack's PSP registered to `holder`. */
export const accountOf = (s: { sql: Sql; participant: string }, holder: Pick<Person, 'type' | 'taxIdNumber'>): Promise<BrazilianAccount> =>
  registerAccount(s, newAccount(s.participant), holder);
