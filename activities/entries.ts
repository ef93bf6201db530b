// Activities of the key (entry) workflows, in two factories over their dependencies: Postgres
// steps (run as local activities) and DICT calls (run as regular activities, retried until DICT
// answers). Split so that a workflow cannot proxy a DICT call as a local activity: the local
// proxy's type only has the Postgres steps. The worker wires real dependencies; tests may wire
// their own servers.
import type { Logger } from 'pino';
import type { DictApi } from '../bridge/types.js';
import { DictProblemError } from '../bridge/types.js';
import type { Entry, EntryOperationReason, ExtendedEntry, Person, BrazilianAccount } from '../domain/types.js';
import type { Sql } from '../store/db.js';
import * as entries from '../store/entries.js';
import type { EntryRecord } from '../store/entries.js';
import { BusinessRuleError } from '../store/errors.js';
import type { LookupCache } from '../store/lookup-cache.js';
import { finishOperation } from '../store/operations.js';
import type { BcbErrorName, FailureDetail } from '../domain/errors.js';
import { activitySignal, translated } from './errors.js';

export interface EntryStoreActivityDeps {
  sql: Sql;
  cache: LookupCache;
  log: Logger;
}

export interface EntryDictActivityDeps {
  dict: DictApi;
  log: Logger;
}

export interface OperationRef {
  participant: string;
  requestId: string;
}

/** Postgres steps (and the lookup-cache invalidation that follows them): local activities. */
export function createEntryStoreActivities({ sql, cache, log }: EntryStoreActivityDeps) {
  /** Best effort: a stale cache entry only lives until its TTL (≤180 s) anyway. */
  const invalidate = async (key: string | undefined): Promise<void> => {
    if (!key) return;
    await cache.invalidate(key).catch((err: unknown) => log.warn({ err }, 'lookup cache invalidation failed'));
  };

  return {
    async reserveEntry(input: entries.ReserveInput): Promise<EntryRecord> {
      return translated(() => entries.reservePendingEntry(sql, input));
    },

    async activateEntry(input: { entryId: string; dictEntry: ExtendedEntry }): Promise<EntryRecord> {
      const rec = await entries.activateEntry(sql, input.entryId, input.dictEntry);
      await invalidate(rec.key);
      return rec;
    },

    async failEntry(input: { entryId: string; errorName: BcbErrorName; errorDetail: string }): Promise<void> {
      await entries.failEntry(sql, input.entryId, input.errorName, input.errorDetail);
    },

    async failOperation(input: OperationRef & { failure: FailureDetail }): Promise<void> {
      await finishOperation(sql, input.participant, input.requestId, 'FAILED', input.failure);
    },

    /**
     * The entry an update or delete applies to: live, ours, and for the same owner; an update
     * that moves it to another account needs room there (BCB's key limit).
     */
    async loadActiveEntry(input: { participant: string; key: string; owner?: Person; moveTo?: BrazilianAccount }): Promise<EntryRecord> {
      return translated(async () => {
        const rec = await entries.getLiveEntryByKey(sql, input.key);
        if (!rec || rec.account.participant !== input.participant || rec.status !== 'ACTIVE') {
          throw new BusinessRuleError('NotFound', 'no active key with this value at this participant');
        }
        if (input.owner && (input.owner.taxIdNumber !== rec.owner.taxIdNumber || input.owner.type !== rec.owner.type)) {
          // DICT's name for an entry whose owner tax id is not the key owner's.
          throw new BusinessRuleError('EntryTaxIdNumberByDifferentOwner', "an update cannot change the owner's type or tax id");
        }
        if (input.moveTo) await entries.assertRoomForMove(sql, rec, input.moveTo);
        return rec;
      });
    },

    async applyEntryUpdate(input: OperationRef & { entryId: string; dictEntry: ExtendedEntry; dictResponseTime?: string }): Promise<EntryRecord> {
      const rec = await entries.applyEntryUpdate(sql, input.entryId, input.dictEntry, input);
      await invalidate(rec.key);
      return rec;
    },

    async beginDelete(input: { entryId: string }): Promise<EntryRecord> {
      return translated(() => entries.markDeleting(sql, input.entryId));
    },

    async markDeleted(input: OperationRef & { entryId: string; reason: EntryOperationReason }): Promise<EntryRecord> {
      const rec = await entries.markDeleted(sql, input.entryId, input.reason, input);
      await invalidate(rec.key);
      return rec;
    },

    async revertDelete(input: { entryId: string }): Promise<void> {
      await entries.revertDeleting(sql, input.entryId);
    },
  };
}

/** DICT calls: regular activities, retried with backoff until DICT answers. */
export function createEntryDictActivities({ dict, log }: EntryDictActivityDeps) {
  return {
    /** createEntry with a RequestId fixed by the workflow: a retry after a lost answer gets the same entry back. */
    async registerEntryInDict(input: { dictRequestId: string; entry: Entry; reason: EntryOperationReason }): Promise<ExtendedEntry> {
      return translated(async () => {
        const res = await dict.createEntry({ entry: input.entry, reason: input.reason, requestId: input.dictRequestId, signal: activitySignal() });
        log.info({ correlationId: res.correlationId, keyType: res.entry.keyType }, 'DICT createEntry accepted');
        return res.entry;
      });
    },

    async updateEntryInDict(input: { key: string; account: BrazilianAccount; owner: Person; reason: EntryOperationReason }): Promise<{ entry: ExtendedEntry; responseTime?: string }> {
      return translated(async () => {
        const res = await dict.updateEntry({ ...input, signal: activitySignal() });
        return { entry: res.entry, responseTime: res.responseTime };
      });
    },

    /** deleteEntry; NotFound means DICT no longer has it (e.g. our earlier attempt was applied). */
    async deleteEntryInDict(input: { key: string; participant: string; reason: EntryOperationReason }): Promise<void> {
      return translated(async () => {
        try {
          await dict.deleteEntry({ ...input, signal: activitySignal() });
        } catch (err) {
          if (err instanceof DictProblemError && err.bcbError === 'NotFound') {
            log.warn({ keyType: 'deleted' }, 'DICT had no entry to delete; treating as deleted');
            return;
          }
          throw err;
        }
      });
    },
  };
}

export type EntryStoreActivities = ReturnType<typeof createEntryStoreActivities>;
export type EntryDictActivities = ReturnType<typeof createEntryDictActivities>;
