// Custom search attributes of Core DICT's workflows: one typed key each, used by the API when it
// starts a workflow and by workflow code when it upserts. Registered with the namespace by the
// set-up scripts (scripts/env.sh TEMPORAL_SEARCH_ATTRIBUTES, docker-compose.yml) with these
// names and types. Pure: @temporalio/common's search-attribute helpers only.
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { ClaimStatus, ClaimType, KeyType } from '../domain/types.js';

export const DictKeyType = defineSearchAttributeKey('DictKeyType', SearchAttributeType.KEYWORD);
export const DictOperation = defineSearchAttributeKey('DictOperation', SearchAttributeType.KEYWORD);
export const ClaimStatusAttr = defineSearchAttributeKey('ClaimStatus', SearchAttributeType.KEYWORD);
export const ClaimTypeAttr = defineSearchAttributeKey('ClaimType', SearchAttributeType.KEYWORD);
export const ClaimRoleAttr = defineSearchAttributeKey('ClaimRole', SearchAttributeType.KEYWORD);
/** The next timer a claim workflow waits for (resolution / completion period end). */
export const NextDeadline = defineSearchAttributeKey('NextDeadline', SearchAttributeType.DATETIME);

/** Every key, by its registered name (what the set-up scripts must register). */
export const SEARCH_ATTRIBUTE_KEYS = [DictKeyType, DictOperation, ClaimStatusAttr, ClaimTypeAttr, ClaimRoleAttr, NextDeadline] as const;

/** What a DictOperation value may be. */
export type DictOperationValue = 'CREATE_ENTRY' | 'UPDATE_ENTRY' | 'DELETE_ENTRY';
/** Which side of a claim a workflow plays. */
export type ClaimRole = 'CLAIMER' | 'DONOR';

/** What operators filter entry workflows by in the Web UI / temporal CLI. */
export const entrySearchAttributes = (keyType: KeyType | 'UNKNOWN', operation: DictOperationValue): SearchAttributePair[] => [
  { key: DictKeyType, value: keyType },
  { key: DictOperation, value: operation },
];

/** What operators filter claim workflows by (set at start; status and deadline upserted as they change). */
export const claimSearchAttributes = (c: { claimType: ClaimType; role: ClaimRole; status: ClaimStatus; keyType: KeyType; nextDeadline?: Date }): SearchAttributePair[] => [
  { key: ClaimTypeAttr, value: c.claimType },
  { key: ClaimRoleAttr, value: c.role },
  { key: ClaimStatusAttr, value: c.status },
  { key: DictKeyType, value: c.keyType },
  ...(c.nextDeadline ? [{ key: NextDeadline, value: c.nextDeadline }] : []),
];
