// Custom search attributes, typed: workflows upsert them, the API sets them at start, operators
// filter by them in the Web UI and the temporal CLI. The set-up scripts register the same names.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DICT_KEY_TYPE = defineSearchAttributeKey('DictKeyType', SearchAttributeType.KEYWORD);
export const DICT_OPERATION = defineSearchAttributeKey('DictOperation', SearchAttributeType.KEYWORD);
export const CLAIM_STATUS = defineSearchAttributeKey('ClaimStatus', SearchAttributeType.KEYWORD);
export const CLAIM_TYPE = defineSearchAttributeKey('ClaimType', SearchAttributeType.KEYWORD);
export const CLAIM_ROLE = defineSearchAttributeKey('ClaimRole', SearchAttributeType.KEYWORD);
export const NEXT_DEADLINE = defineSearchAttributeKey('NextDeadline', SearchAttributeType.DATETIME);
