// Every activity the worker registers: entry activities, and the claim groups (Postgres, DICT,
// poller/hand-over) flattened into one registry.
import { createClaimActivities, type ClaimActivityDeps } from './claims.js';
import { createEntryActivities, type EntryActivityDeps } from './entries.js';

export type ActivityDeps = EntryActivityDeps & ClaimActivityDeps;

export function createActivities(deps: ActivityDeps) {
  const claims = createClaimActivities(deps);
  return { ...createEntryActivities(deps), ...claims.db, ...claims.dict, ...claims.poll };
}

export type Activities = ReturnType<typeof createActivities>;
