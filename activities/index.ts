// Every activity the worker registers, grouped by how workflows must call them: Postgres steps
// (local activities, workflows/activities.ts postgresSteps) and calls out of the process — DICT,
// and the claims poller's hand-over to Temporal (regular activities, workflows/activities.ts
// dictCalls). Entry and claim activities join the same two groups.
import { createClaimActivities, type ClaimActivityDeps } from './claims.js';
import { createEntryDictActivities, createEntryStoreActivities } from './entries.js';

export type ActivityDeps = ClaimActivityDeps;

export function createPostgresActivities(deps: ActivityDeps) {
  return { ...createEntryStoreActivities(deps), ...createClaimActivities(deps).db };
}

export function createDictActivities(deps: ActivityDeps) {
  const claims = createClaimActivities(deps);
  return { ...createEntryDictActivities(deps), ...claims.dict, ...claims.poll };
}

export function createActivities(deps: ActivityDeps) {
  return { ...createPostgresActivities(deps), ...createDictActivities(deps) };
}

/** Postgres steps: workflows call them only through proxyLocalActivities. */
export type PostgresActivities = ReturnType<typeof createPostgresActivities>;
/** DICT calls: workflows call them only through proxyActivities. */
export type DictActivities = ReturnType<typeof createDictActivities>;
export type Activities = ReturnType<typeof createActivities>;
