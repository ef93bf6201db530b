import { createEntryActivities, type EntryActivityDeps } from './entries.js';

export type ActivityDeps = EntryActivityDeps;

/** Every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return { ...createEntryActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
