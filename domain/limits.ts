// Manual Operacional section 1: up to 5 keys per transactional account for CPF holders, 20 for
// CNPJ holders, counted per account regardless of how many holders it has.

import type { PersonType } from './types.js';

export const MAX_KEYS_PER_ACCOUNT: Readonly<Record<PersonType, number>> = {
  NATURAL_PERSON: 5,
  LEGAL_PERSON: 20,
};

export function maxKeysPerAccount(personType: PersonType): number {
  return MAX_KEYS_PER_ACCOUNT[personType];
}
