// EntryOperationReason allowed per operation (DICT API v2: CreateEntryRequest, UpdateEntryRequest,
// DeleteEntryRequest "Valores válidos"; updateEntry restricts EVP keys to RFB_VALIDATION).

import type { EntryOperationReason, KeyType } from './types.js';

export type EntryOperation = 'create' | 'update' | 'delete';

export const ENTRY_REASONS: Readonly<Record<EntryOperation, readonly EntryOperationReason[]>> = {
  create: ['USER_REQUESTED', 'RECONCILIATION'],
  update: ['USER_REQUESTED', 'BRANCH_TRANSFER', 'RECONCILIATION', 'RFB_VALIDATION'],
  delete: ['USER_REQUESTED', 'ACCOUNT_CLOSURE', 'RECONCILIATION', 'FRAUD', 'RFB_VALIDATION'],
};

/** An EVP entry may only be updated for RFB_VALIDATION (v2 updateEntry "Restrições"). */
const EVP_UPDATE_REASONS: readonly EntryOperationReason[] = ['RFB_VALIDATION'];

/** Reasons valid for `op`; pass keyType where it is known, since it narrows updates of EVP keys. */
export function allowedEntryReasons(op: EntryOperation, keyType?: KeyType): readonly EntryOperationReason[] {
  return op === 'update' && keyType === 'EVP' ? EVP_UPDATE_REASONS : ENTRY_REASONS[op];
}

export function isReasonAllowed(op: EntryOperation, reason: string, keyType?: KeyType): boolean {
  return (allowedEntryReasons(op, keyType) as readonly string[]).includes(reason);
}
