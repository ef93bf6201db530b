// A workflow bundle for the gateway's own test (test/integration/gateway.test.ts): the shape a
// claim workflow has — a long-running workflow taking decisions as Temporal Updates, refused
// synchronously by a validator with a BCB error name, upserting a typed search attribute.
// Workflow code: @temporalio/workflow and pure modules only.
import { ApplicationFailure, condition, defineUpdate, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { ClaimStatusAttr } from '../../workflows/search-attributes.js';

export type Decision = 'CONFIRM' | 'CANCEL' | 'BOGUS';

export const decideUpdate = defineUpdate<{ decision: Decision; count: number }, [{ decision: Decision }]>('decide');

export async function decisionWorkflow(input: { expect: number }): Promise<Decision[]> {
  const decisions: Decision[] = [];
  setHandler(
    decideUpdate,
    ({ decision }) => {
      decisions.push(decision);
      // The typed keys work from workflow code (claims upsert their status the same way).
      upsertSearchAttributes([{ key: ClaimStatusAttr, value: decision === 'CONFIRM' ? 'CONFIRMED' : 'CANCELLED' }]);
      return { decision, count: decisions.length };
    },
    {
      validator: ({ decision }) => {
        if (decision === 'BOGUS') {
          throw ApplicationFailure.create({
            type: 'ClaimOperationInvalid',
            message: 'decision not allowed now',
            nonRetryable: true,
            details: [{ bcbError: 'ClaimOperationInvalid', detail: 'decision not allowed now', source: 'CORE' }],
          });
        }
      },
    },
  );
  await condition(() => decisions.length >= input.expect);
  return decisions;
}
