// Opening a claim we were asked for (StartClaim / StartPortability): create it in DICT, record
// DICT's answer on the row the API made PENDING at acceptance, and hand the claim to its
// long-lived claimer workflow (claim/<ispb>/<claimId>/CLAIMER). Short: its result is the
// opened claim, which the API waits for. The poller would start the claimer workflow too if this
// one stopped between the two steps: both use signal-with-start on the same id.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { ClaimPeriods } from '../domain/claims.js';
import type { Claim } from '../domain/types.js';
import type { ClaimRecord } from '../store/claims.js';
import { dictCalls, postgresSteps } from './activities.js';
import { findBusinessFailure } from './failures.js';

export interface OpenClaimWorkflowInput {
  participant: string;
  requestId: string;
  requestedBy: string;
  /** Our projection row id, fixed at acceptance. */
  id: string;
  claim: Claim;
  periods: ClaimPeriods;
}

const db = postgresSteps();
const dict = dictCalls();

export async function openClaimWorkflow(input: OpenClaimWorkflowInput): Promise<ClaimRecord> {
  const op = { participant: input.participant, requestId: input.requestId };
  let opened;
  try {
    opened = await dict.createClaimInDict({ participant: input.participant, claim: input.claim, requestedAt: new Date(Date.now()).toISOString() });
  } catch (err) {
    const f = err instanceof ActivityFailure ? findBusinessFailure(err) : undefined;
    if (!f) throw err;
    await db.failClaimRequest({ ...op, id: input.id, failure: f });
    throw ApplicationFailure.create({ type: f.bcbError, message: f.detail ?? f.bcbError, nonRetryable: true, details: [f] });
  }
  const rec = await db.recordOpenedClaim({ ...op, id: input.id, claim: opened });
  await dict.handOverClaim({ participant: input.participant, role: 'CLAIMER', claim: opened, id: input.id, requestId: input.requestId });
  return rec;
}
