// Which key types can be claimed (DICT API v2, createClaim table): ownership only for PHONE
// (v2 dropped EMAIL, which API 1.8 allowed); portability for every type but EVP.

import type { ClaimType, KeyType } from './types.js';

export const CLAIMABLE_KEY_TYPES: Readonly<Record<ClaimType, readonly KeyType[]>> = {
  OWNERSHIP: ['PHONE'],
  PORTABILITY: ['CPF', 'CNPJ', 'PHONE', 'EMAIL'],
};

export function isClaimAllowed(claimType: ClaimType, keyType: KeyType): boolean {
  return CLAIMABLE_KEY_TYPES[claimType].includes(keyType);
}
