// Our side of a claim when we are the claimer (our user wants a key held elsewhere). Lives as
// long as the claim: portability completes as soon as the donor confirms; ownership waits for the
// closing period, then for our user's possession validation (CompleteClaim), and cancels on the
// 30th day without it. Users' decisions arrive as Updates, refused synchronously when DICT's
// rules forbid them.
import { defineUpdate, setHandler } from '@temporalio/workflow';
import { ClaimRunner, refuseUnless } from './claim-common.js';
import type { ClaimDecision, ClaimWorkflowInput, ClaimWorkflowState } from './claim-messages.js';

/** Cancel as claimer (CancelClaim / CancelPortability). */
export const claimerCancelUpdate = defineUpdate<ClaimWorkflowState, [ClaimDecision]>('claimerCancel');
/** Our user validated possession (ownership) — complete in DICT. */
export const claimerCompleteUpdate = defineUpdate<ClaimWorkflowState, [ClaimDecision]>('claimerComplete');

export async function claimerClaimWorkflow(input: ClaimWorkflowInput): Promise<ClaimWorkflowState> {
  const runner = new ClaimRunner({ ...input, role: 'CLAIMER' });
  setHandler(claimerCancelUpdate, (d) => runner.decide({ kind: 'CANCEL', reason: d.reason! }), {
    validator: (d) => {
      refuseUnless(runner.check({ op: 'cancel', reason: d.reason }));
    },
  });
  setHandler(claimerCompleteUpdate, (_d) => runner.decide({ kind: 'COMPLETE' }), {
    validator: (_d) => {
      refuseUnless(runner.check({ op: 'complete' }));
    },
  });
  return runner.run();
}
