// Activities of the claim workflows, in three groups so a DICT call cannot become a local
// activity by accident: Postgres steps (local), DICT calls, and the poller/hand-over (DICT's
// listClaims and Temporal's signal-with-start). Factories over their dependencies.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { DictProblemError, type DictApi, type DictClaimsApi } from '../bridge/types.js';
import type { ClaimPeriods } from '../domain/claims.js';
import type { Claim, ClaimOperationReason, ClaimRole, ExtendedClaim } from '../domain/types.js';
import * as claims from '../store/claims.js';
import type { Sql } from '../store/db.js';
import { stableUuid } from '../store/ids.js';
import type { LookupCache } from '../store/lookup-cache.js';
import { finishOperation } from '../store/operations.js';
import { claimWorkflowId, dictClaimChangedSignal, type ClaimWorkflowInput } from '../workflows/claim-messages.js';
import type { FailureDetail } from '../domain/errors.js';
import { claimSearchAttributes } from '../workflows/search-attributes.js';
import { activitySignal, translated } from './errors.js';

export interface ClaimActivityDeps {
  sql: Sql;
  dict: DictApi & DictClaimsApi;
  cache: LookupCache;
  temporal: Client;
  taskQueue: string;
  claimPeriods: ClaimPeriods;
  log: Logger;
}

const NON_FINAL = ['OPEN', 'WAITING_RESOLUTION', 'CONFIRMED'] as const;
/** Pages per poll round: bounds one round's use of CLAIMS_LIST_WITH_ROLE. */
const MAX_PAGES_PER_ROUND = 5;
const PAGE = 200;

export function createClaimActivities(d: ClaimActivityDeps) {
  const sameAccount = (a: Claim['claimerAccount'], b: Claim['claimerAccount']): boolean =>
    a.participant === b.participant && (a.branch ?? '') === (b.branch ?? '') && a.accountNumber === b.accountNumber && a.accountType === b.accountType;

  /**
   * A decision whose answer was lost may be refused on retry (the claim moved on). If DICT's claim
   * shows our decision applied, it was ours: answer with it.
   */
  async function decided(ref: { claimId: string }, applied: (c: ExtendedClaim) => boolean, call: () => Promise<{ claim: ExtendedClaim }>): Promise<ExtendedClaim> {
    return translated(async () => {
      try {
        return (await call()).claim;
      } catch (err) {
        if (err instanceof DictProblemError && !err.retryable) {
          const now = await d.dict.getClaim(ref.claimId);
          if (applied(now.claim)) return now.claim;
        }
        throw err;
      }
    });
  }

  const db = {
    async recordClaim(input: claims.RecordClaimInput): Promise<claims.ClaimRecord> {
      const rec = await claims.recordClaim(d.sql, {
        ...input,
        ...(input.role === 'DONOR' && input.claim.id ? { claimerEntryId: stableUuid('entry', input.participant, input.claim.id) } : {}),
      });
      // A key changing hands: forget any cached lookup of it (best effort: a stale entry lives ≤ its TTL).
      if (rec.status === 'CONFIRMED' || rec.status === 'COMPLETED') {
        await d.cache.invalidate(rec.key).catch((err: unknown) => d.log.warn({ err, claimId: rec.claimId }, 'lookup cache invalidation failed'));
      }
      return rec;
    },

    /** DICT created the claim we asked for: the accepted row gets DICT's view; the request is done. */
    async recordOpenedClaim(input: { participant: string; requestId: string; id: string; claim: ExtendedClaim }): Promise<claims.ClaimRecord> {
      const rec = await claims.recordClaim(d.sql, {
        id: input.id,
        participant: input.participant,
        role: 'CLAIMER',
        claim: input.claim,
        requestId: input.requestId,
        workflowId: claimWorkflowId(input.participant, input.claim.id, 'CLAIMER'),
      });
      await finishOperation(d.sql, input.participant, input.requestId, 'COMPLETED');
      return rec;
    },

    /** An outbox event about the claim (ours, no DICT transition), e.g. ClaimPossessionValidationRequested. */
    async recordClaimEvent(input: { id: string; eventType: string }): Promise<void> {
      await claims.recordClaimEvent(d.sql, input.id, input.eventType);
    },

    async failClaimRequest(input: { participant: string; requestId: string; id: string; failure: FailureDetail }): Promise<void> {
      await claims.failClaimRequest(d.sql, input.id, input.failure.bcbError, input.failure.detail ?? '');
      await finishOperation(d.sql, input.participant, input.requestId, 'FAILED', input.failure);
    },
  };

  const dict = {
    /**
     * createClaim carries no RequestId in DICT API v2: a retry after a lost answer is refused with
     * ClaimAlreadyExistsForKey. Then the open claim for this key at our claimer account, created
     * since we first asked, is ours.
     */
    async createClaimInDict(input: { participant: string; claim: Claim; requestedAt: string }): Promise<ExtendedClaim> {
      return translated(async () => {
        try {
          const res = await d.dict.createClaim({ claim: input.claim, signal: activitySignal() });
          d.log.info({ claimId: res.claim.id, type: res.claim.type, correlationId: res.correlationId }, 'DICT createClaim accepted');
          return res.claim;
        } catch (err) {
          if (!(err instanceof DictProblemError) || err.bcbError !== 'ClaimAlreadyExistsForKey') throw err;
          const since = new Date(Date.parse(input.requestedAt) - 5 * 60_000).toISOString();
          const found = await d.dict.listClaims({
            participant: input.participant,
            isClaimer: true,
            status: [...NON_FINAL],
            type: input.claim.type,
            modifiedAfter: since,
            limit: PAGE,
          });
          const mine = found.claims.find(
            (c) => c.key === input.claim.key && sameAccount(c.claimerAccount, input.claim.claimerAccount) && c.claimer.taxIdNumber === input.claim.claimer.taxIdNumber,
          );
          if (mine) return mine;
          throw err;
        }
      });
    },

    async acknowledgeClaimInDict(input: { claimId: string; participant: string }): Promise<ExtendedClaim> {
      return decided(input, (c) => c.status !== 'OPEN', () => d.dict.acknowledgeClaim({ ...input, signal: activitySignal() }));
    },

    async confirmClaimInDict(input: { claimId: string; participant: string; reason: ClaimOperationReason }): Promise<ExtendedClaim> {
      return decided(
        input,
        (c) => (c.status === 'CONFIRMED' || c.status === 'COMPLETED') && c.confirmReason === input.reason,
        () => d.dict.confirmClaim({ ...input, signal: activitySignal() }),
      );
    },

    async cancelClaimInDict(input: { claimId: string; participant: string; reason: ClaimOperationReason; role: ClaimRole }): Promise<ExtendedClaim> {
      return decided(
        input,
        (c) => c.status === 'CANCELLED' && c.cancelReason === input.reason && c.cancelledBy === input.role,
        () => d.dict.cancelClaim({ claimId: input.claimId, participant: input.participant, reason: input.reason, signal: activitySignal() }),
      );
    },

    /** completeClaim with a RequestId (and our entry id) derived from the claim: retries and new runs send the same. */
    async completeClaimInDict(input: { claimId: string; participant: string }): Promise<{
      claim: ExtendedClaim;
      entryCreationDate: string;
      keyOwnershipDate: string;
      entryId: string;
      dictRequestId: string;
    }> {
      const dictRequestId = stableUuid('completeClaim', input.participant, input.claimId);
      const entryId = stableUuid('entry', input.participant, input.claimId);
      return translated(async () => {
        const res = await d.dict.completeClaim({ ...input, requestId: dictRequestId, signal: activitySignal() });
        return { claim: res.claim, entryCreationDate: res.entryCreationDate, keyOwnershipDate: res.keyOwnershipDate, entryId, dictRequestId };
      });
    },

    async getClaimFromDict(input: { claimId: string }): Promise<ExtendedClaim> {
      return translated(async () => (await d.dict.getClaim(input.claimId)).claim);
    },
  };

  /** Start (or signal) the claim's workflow for one role with DICT's view of it. */
  async function handOver(input: { participant: string; role: ClaimRole; claim: ExtendedClaim; id?: string; requestId?: string }): Promise<void> {
    const args: ClaimWorkflowInput = {
      participant: input.participant,
      role: input.role,
      claim: input.claim,
      periods: d.claimPeriods,
      ...(input.id ? { id: input.id } : {}),
      ...(input.requestId ? { requestId: input.requestId } : {}),
    };
    await d.temporal.workflow.signalWithStart(input.role === 'DONOR' ? 'donorClaimWorkflow' : 'claimerClaimWorkflow', {
      workflowId: claimWorkflowId(input.participant, input.claim.id, input.role),
      taskQueue: d.taskQueue,
      args: [args],
      signal: dictClaimChangedSignal,
      signalArgs: [input.claim],
      typedSearchAttributes: claimSearchAttributes({ claimType: input.claim.type, role: input.role, status: input.claim.status, keyType: input.claim.keyType }),
    });
  }

  const poll = {
    handOverClaim: handOver,

    /**
     * One poll round: list claims where we are donor or claimer (one call: DICT ORs IsDonor and
     * IsClaimer when both are given) modified since the last round minus an overlap, page by page
     * (ascending LastModified, the last one repeated: ModifiedAfter is inclusive), and hand each new
     * state to its workflow.
     */
    async pollClaims(input: { participant: string; since?: string; overlapMs: number; seen: Record<string, string> }): Promise<{ cursor: string; seen: Record<string, string>; handedOver: number }> {
      return translated(async () => {
        const seen = { ...input.seen };
        // No cursor (first run, or a poller restarted): from the oldest claim still open here, so
        // what ended while nobody polled reaches its workflow too.
        const since = input.since ?? (await claims.oldestOpenClaimModified(d.sql, input.participant));
        let modifiedAfter = since ? new Date(Date.parse(since) - input.overlapMs).toISOString() : undefined;
        let cursor: string | undefined;
        let handedOver = 0;
        for (let page = 0; page < MAX_PAGES_PER_ROUND; page++) {
          const res = await d.dict.listClaims({
            participant: input.participant,
            isDonor: true,
            isClaimer: true,
            ...(modifiedAfter ? { modifiedAfter } : { status: [...NON_FINAL] }),
            limit: PAGE,
          });
          cursor ??= res.responseTime;
          for (const c of res.claims) {
            if (seen[c.id] === c.lastModified) continue;
            if (c.donorParticipant === input.participant) await handOver({ participant: input.participant, role: 'DONOR', claim: c });
            if (c.claimerAccount.participant === input.participant) {
              // A claim we opened goes to its workflow under our row and request id, whoever gets there first.
              const ours = await claims.findOpenedRequest(d.sql, input.participant, c);
              await handOver({ participant: input.participant, role: 'CLAIMER', claim: c, ...(ours ? { id: ours.id, ...(ours.requestId ? { requestId: ours.requestId } : {}) } : {}) });
            }
            seen[c.id] = c.lastModified;
            handedOver++;
          }
          const last = res.claims[res.claims.length - 1];
          if (!res.hasMoreElements || !last) break;
          modifiedAfter = last.lastModified;
          // Out of pages for this round: the next window must start where this one stopped.
          if (page === MAX_PAGES_PER_ROUND - 1) cursor = new Date(Date.parse(last.lastModified) + input.overlapMs).toISOString();
        }
        const end = cursor ?? since ?? new Date().toISOString();
        // Only what the next window can return again needs remembering.
        const horizon = Date.parse(end) - input.overlapMs - 60_000;
        const kept = Object.fromEntries(Object.entries(seen).filter(([, lm]) => Date.parse(lm) >= horizon));
        if (handedOver) d.log.info({ handedOver }, 'claims poll: handed over');
        return { cursor: end, seen: kept, handedOver };
      });
    },
  };

  return { db, dict, poll };
}

type Groups = ReturnType<typeof createClaimActivities>;
export type ClaimDbActivities = Groups['db'];
export type ClaimDictActivities = Groups['dict'];
export type ClaimPollActivities = Groups['poll'];
