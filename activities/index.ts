// Every activity the worker registers, grouped by how workflows must call them: Postgres steps
// (local activities, workflows/activities.ts postgresSteps) and DICT calls (regular activities,
// workflows/activities.ts dictCalls). Claim activities join the same two groups.
import type { Logger } from 'pino';
import type { DictApi } from '../bridge/types.js';
import type { Sql } from '../store/db.js';
import type { LookupCache } from '../store/lookup-cache.js';
import { createEntryDictActivities, createEntryStoreActivities } from './entries.js';

export interface ActivityDeps {
  sql: Sql;
  dict: DictApi;
  cache: LookupCache;
  log: Logger;
}

export function createPostgresActivities(deps: ActivityDeps) {
  return { ...createEntryStoreActivities(deps) };
}

export function createDictActivities(deps: ActivityDeps) {
  return { ...createEntryDictActivities(deps) };
}

/** Every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return { ...createPostgresActivities(deps), ...createDictActivities(deps) };
}

/** Postgres steps: workflows call them only through proxyLocalActivities. */
export type PostgresActivities = ReturnType<typeof createPostgresActivities>;
/** DICT calls: workflows call them only through proxyActivities. */
export type DictActivities = ReturnType<typeof createDictActivities>;
export type Activities = ReturnType<typeof createActivities>;
