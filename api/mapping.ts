// Proto messages <-> BCB domain values. Proto enum value names equal BCB's names once the
// type prefix is stripped (KEY_TYPE_CPF -> CPF), so mapping goes by name.
import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import * as pb from '../gen/dict/core/v1/types_pb.js';
import type { BrazilianAccount, Person } from '../domain/types.js';
import type { EntryRecord } from '../store/entries.js';

type ProtoEnum = Record<string | number, string | number>;

/** BCB name of a proto enum value; undefined for UNSPECIFIED or unknown numbers. */
export function enumName<N extends string>(e: ProtoEnum, value: number): N | undefined {
  const name = e[value];
  return typeof name === 'string' && name !== 'UNSPECIFIED' ? (name as N) : undefined;
}

export function enumValue<T extends number>(e: ProtoEnum, name: string | undefined): T {
  const v = name === undefined ? undefined : e[name];
  return (typeof v === 'number' ? v : 0) as T;
}

/** ISO string of a Timestamp; one outside Date's range stays visibly invalid, for validation to report (not a RangeError). */
const tsToIso = (t: Timestamp | undefined): string | undefined => {
  if (!t) return undefined;
  const d = timestampDate(t);
  return Number.isNaN(d.getTime()) ? `invalid timestamp (${t.seconds}s)` : d.toISOString();
};
const isoToTs = (s: string | undefined): Timestamp | undefined => (s ? timestampFromDate(new Date(s)) : undefined);

/** Loose domain shapes: validation (domain/validation) reports what is missing or wrong. */
export function accountFromProto(a: pb.BrazilianAccount | undefined): Partial<BrazilianAccount> | undefined {
  if (!a) return undefined;
  return {
    participant: a.participant || undefined,
    branch: a.branch || undefined,
    accountNumber: a.accountNumber || undefined,
    accountType: enumName(pb.AccountType, a.accountType),
    openingDate: tsToIso(a.openingDate),
  };
}

export function personFromProto(p: pb.Person | undefined): Partial<Person> | undefined {
  if (!p) return undefined;
  return {
    type: enumName(pb.PersonType, p.type),
    taxIdNumber: p.taxIdNumber || undefined,
    name: p.name || undefined,
    tradeName: p.tradeName || undefined,
  };
}

export function accountToProto(a: BrazilianAccount): pb.BrazilianAccount {
  return create(pb.BrazilianAccountSchema, {
    participant: a.participant,
    branch: a.branch ?? '',
    accountNumber: a.accountNumber,
    accountType: enumValue(pb.AccountType, a.accountType),
    openingDate: isoToTs(a.openingDate),
  });
}

export function personToProto(p: Person): pb.Person {
  return create(pb.PersonSchema, {
    type: enumValue(pb.PersonType, p.type),
    taxIdNumber: p.taxIdNumber,
    name: p.name,
    tradeName: p.tradeName ?? '',
  });
}

export function entryToProto(e: EntryRecord): pb.Entry {
  return create(pb.EntrySchema, {
    entryId: e.entryId,
    key: e.key ?? '',
    keyType: enumValue(pb.KeyType, e.keyType),
    account: accountToProto(e.account),
    owner: personToProto(e.owner),
    status: enumValue(pb.EntryStatus, e.status),
    creationDate: isoToTs(e.creationDate),
    keyOwnershipDate: isoToTs(e.keyOwnershipDate),
    openClaimCreationDate: isoToTs(e.openClaimCreationDate),
    requestId: e.requestId,
    errorName: e.errorName ?? '',
    errorDetail: e.errorDetail ?? '',
    updatedAt: isoToTs(e.updatedAt),
  });
}

/** A DICT entry of another participant (lookups): no bookkeeping fields of ours. */
export function dictEntryToProto(e: {
  key: string;
  keyType: EntryRecord['keyType'];
  account: BrazilianAccount;
  owner: Person;
  creationDate?: string;
  keyOwnershipDate?: string;
  openClaimCreationDate?: string;
}): pb.Entry {
  return create(pb.EntrySchema, {
    key: e.key,
    keyType: enumValue(pb.KeyType, e.keyType),
    account: accountToProto(e.account),
    owner: personToProto(e.owner),
    status: pb.EntryStatus.ACTIVE,
    creationDate: isoToTs(e.creationDate),
    keyOwnershipDate: isoToTs(e.keyOwnershipDate),
    openClaimCreationDate: isoToTs(e.openClaimCreationDate),
  });
}
