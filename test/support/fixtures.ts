// Valid BCB data for tests: tax ids with real check digits, computed, never hard-coded.
import { randomInt, randomUUID } from 'node:crypto';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { newEndToEndId as endToEndId } from '../../domain/ids.js';
import { cnpjCheckDigits, cpfCheckDigits } from '../../domain/taxid.js';
import { AccountType, BrazilianAccountSchema, EntryOperationReason, KeyType, PersonSchema, PersonType } from '../../gen/dict/core/v1/types_pb.js';
import { CreateKeyRequestSchema, type CreateKeyRequest } from '../../gen/dict/core/v1/service_pb.js';
import { OUR_ISPB } from './stack.js';

const digits = (n: number): string => Array.from({ length: n }, () => String(randomInt(10))).join('');

export function newCpf(): string {
  for (;;) {
    const base = digits(9);
    if (!/^(\d)\1+$/.test(base)) return base + cpfCheckDigits(base);
  }
}

export function newCnpj(): string {
  for (;;) {
    const base = digits(8) + '0001';
    if (!/^(\d)\1+$/.test(base)) return base + cnpjCheckDigits(base);
  }
}

/** A Brazilian mobile in E.164: +55, DDD 11-99 without zeros, 9 + 8 digits. */
export const newPhone = (): string => `+55${randomInt(1, 10)}${randomInt(1, 10)}9${digits(8)}`;
export const newEmail = (): string => `cliente.${randomUUID().slice(0, 8)}@example.com.br`;

export const naturalPerson = (cpf = newCpf(), name = 'Maria da Silva') =>
  create(PersonSchema, { type: PersonType.NATURAL_PERSON, taxIdNumber: cpf, name });

export const legalPerson = (cnpj = newCnpj(), name = 'Padaria Tres Irmaos Ltda', tradeName = 'Padaria 3 Irmaos') =>
  create(PersonSchema, { type: PersonType.LEGAL_PERSON, taxIdNumber: cnpj, name, tradeName });

export const account = (participant = OUR_ISPB, accountNumber = digits(10)) =>
  create(BrazilianAccountSchema, {
    participant,
    branch: '0001',
    accountNumber,
    accountType: AccountType.CACC,
    openingDate: timestampFromDate(new Date('2020-01-10T03:00:00Z')),
  });

export function createKeyRequest(over: MessageInitShape<typeof CreateKeyRequestSchema> = {}): CreateKeyRequest {
  const owner = create(PersonSchema, over.owner ?? naturalPerson());
  const init: MessageInitShape<typeof CreateKeyRequestSchema> = {
    requestId: randomUUID(),
    keyType: KeyType.CPF,
    key: owner.taxIdNumber,
    account: account(),
    owner,
    reason: EntryOperationReason.USER_REQUESTED,
    waitTimeout: { seconds: 15n, nanos: 0 },
    ...(over as object),
  };
  return create(CreateKeyRequestSchema, init);
}

/** BCB end-to-end id: E + payer's ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics (domain/ids.ts). */
export function newEndToEndId(ispb = OUR_ISPB, at = new Date()): string {
  return endToEndId(ispb, at, randomInt);
}
