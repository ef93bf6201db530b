// Our side of a claim when we are the donor (a key of ours is claimed by another participant).
// Started by the claims poller on a new claim: acknowledges it, tells our user (outbox event),
// and waits for the user's decision until DICT's ResolutionPeriodEnd; silent user → cancel
// (portability) or confirm (ownership) with DEFAULT_OPERATION. On confirmation our entry is
// removed; in an ownership claim's closing period our user may still prove possession (FRAUD
// cancel). Users' decisions arrive as Updates, refused synchronously when DICT's rules forbid them.
import { defineUpdate, setHandler } from '@temporalio/workflow';
import { ClaimRunner, refuseUnless } from './claim-common.js';
import type { ClaimDecision, ClaimWorkflowInput, ClaimWorkflowState } from './claim-messages.js';

/** Donor's user gives the key up (RespondToClaim confirm=true / ConfirmPortability). */
export const donorConfirmUpdate = defineUpdate<ClaimWorkflowState, [ClaimDecision]>('donorConfirm');
/** Donor's user keeps the key (RespondToClaim confirm=false / CancelPortability / CancelClaim). */
export const donorCancelUpdate = defineUpdate<ClaimWorkflowState, [ClaimDecision]>('donorCancel');

export async function donorClaimWorkflow(input: ClaimWorkflowInput): Promise<ClaimWorkflowState> {
  const runner = new ClaimRunner({ ...input, role: 'DONOR' });
  setHandler(donorConfirmUpdate, (d) => runner.decide({ kind: 'CONFIRM', reason: d.reason! }), {
    validator: (d) => {
      refuseUnless(runner.check({ op: 'confirm', reason: d.reason }));
    },
  });
  setHandler(donorCancelUpdate, (d) => runner.decide({ kind: 'CANCEL', reason: d.reason! }), {
    validator: (d) => {
      refuseUnless(runner.check({ op: 'cancel', reason: d.reason }));
    },
  });
  return runner.run();
}
