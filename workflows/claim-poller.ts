// The claims poller: one per participant (claim-poller/<ispb>). BCB requires PSPs to list
// claims at least once a minute, as donor and as claimer, and to pick up a new incoming claim
// within a minute. Each round lists what changed since the last round (windows overlap: DICT's
// ModifiedAfter is inclusive and clocks differ; claims are deduplicated by id and LastModified)
// and hands each claim to its workflow with signal-with-start. Continues as new to keep its
// history short.
import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { DictActivities } from '../activities/index.js';

export interface ClaimPollerInput {
  participant: string;
  /** Between rounds (default 3 s: 20 of CLAIMS_LIST_WITH_ROLE's 40 requests a minute). */
  intervalMs?: number;
  /** How far back each window starts before the last one's end (default 10 s: clock skew and commit lag). */
  overlapMs?: number;
  /** Rounds per run before continuing as new (default 200). */
  roundsPerRun?: number;
  /** Where the last round ended (DICT's ResponseTime of its last page). */
  cursor?: string;
  /** Claims already handed over inside the overlap (id → LastModified), so they are not signalled twice. */
  seen?: Record<string, string>;
}

// A round is one listClaims page walk plus hand-overs: its own timeout, short retries.
const poll = proxyActivities<Pick<DictActivities, 'pollClaims'>>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export const claimPollerWorkflowId = (participant: string): string => `claim-poller/${participant}`;

export async function claimPollerWorkflow(input: ClaimPollerInput): Promise<void> {
  let cursor = input.cursor;
  let seen = input.seen ?? {};
  const rounds = input.roundsPerRun ?? 200;
  for (let i = 0; i < rounds; i++) {
    const r = await poll.pollClaims({ participant: input.participant, since: cursor, overlapMs: input.overlapMs ?? 10_000, seen });
    cursor = r.cursor;
    seen = r.seen;
    await sleep(input.intervalMs ?? 3_000);
  }
  await continueAsNew<typeof claimPollerWorkflow>({ ...input, cursor, seen });
}
