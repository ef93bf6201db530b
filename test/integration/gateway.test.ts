// The workflow gateway's Update paths (api/gateway.ts) against the real Temporal dev server and
// Postgres, with a workflow shaped like a claim's (test/support/gateway-workflows.ts): update-
// with-start, Update on a running workflow, a validator's refusal answered synchronously and
// replayed from the operations row, request-id reuse with another body refused; between the
// gateway's calls the client's call context is switched off (api/call-context.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Code } from '@connectrpc/connect';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { WorkflowGateway } from '../../api/gateway.js';
import type { Principal } from '../../api/principal.js';
import { getOperation } from '../../store/operations.js';
import { decideUpdate, decisionWorkflow } from '../support/gateway-workflows.js';
import { rpcError } from '../support/errors.js';
import { ClaimRoleAttr, ClaimStatusAttr, claimSearchAttributes } from '../../workflows/search-attributes.js';
import { dataConverter, failureConverterPath } from '../../config/payload-codec.js';
import { env, OUR_ISPB, startStack, type Stack } from '../support/stack.js';

let s: Stack;
let worker: Worker;
let run: Promise<void>;
let native: NativeConnection;
let gateway: WorkflowGateway;
const taskQueue = `gateway-${randomUUID()}`;

before(async () => {
  s = await startStack();
  native = await NativeConnection.connect({ address: env.temporalAddress });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../support/gateway-workflows.js'),
    failureConverterPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  worker = await Worker.create({ connection: native, namespace: env.namespace, taskQueue, workflowBundle, dataConverter: dataConverter(s.codec) });
  run = worker.run();
  gateway = new WorkflowGateway({ sql: s.sql, temporal: s.temporal, taskQueue, maxWaitMs: 15_000 });
});
after(async () => {
  worker?.shutdown();
  await run;
  await native?.close();
  await s?.stop();
});

const principal: Principal = { participant: OUR_ISPB } as Principal;
/** Whether the Temporal client's AsyncLocalStorage is on (Node 20's `enabled`; api/call-context.ts); off where Node has no such field. */
const callContextOn = (): boolean => (s.temporal.connection as unknown as { callContextStorage: { enabled?: boolean } }).callContextStorage.enabled ?? false;

test('update-with-start, Update, validator refusal and replays, all by request id', async () => {
  const workflowId = `gateway-test/${randomUUID()}`;
  const decide = (requestId: string, decision: 'CONFIRM' | 'CANCEL' | 'BOGUS') =>
    gateway.update({ principal, requestId, kind: 'UPDATE_ENTRY', body: { decision }, workflowId, update: decideUpdate, args: [{ decision }] });

  // Start the workflow and apply the first decision in one round trip.
  const first = randomUUID();
  const withStart = () =>
    gateway.updateWithStart({
      principal,
      requestId: first,
      kind: 'UPDATE_ENTRY',
      body: { decision: 'CONFIRM' },
      workflowId,
      workflow: decisionWorkflow,
      args: () => [{ expect: 2 }],
      searchAttributes: claimSearchAttributes({ claimType: 'OWNERSHIP', role: 'DONOR', status: 'OPEN', keyType: 'PHONE' }),
      update: decideUpdate,
      updateArgs: [{ decision: 'CONFIRM' }],
    });
  const started = await withStart();
  assert.deepEqual(started.result, { decision: 'CONFIRM', count: 1 });
  assert.equal(started.done, true);
  assert.equal(started.replayed, false);
  // Between calls the client's call context (and Node's promise hooks with it) is off again.
  assert.equal(callContextOn(), false);
  // Same request again: the same Update to Temporal (update id from the request), same answer.
  const again = await withStart();
  assert.deepEqual(again.result, { decision: 'CONFIRM', count: 1 });
  assert.equal(again.replayed, true);
  assert.equal((await getOperation(s.sql, OUR_ISPB, first))?.status, 'COMPLETED');

  // The validator refuses: answered synchronously with the BCB name, stored, replayed as stored.
  const bogus = randomUUID();
  const refused = await rpcError(() => decide(bogus, 'BOGUS'));
  assert.equal(refused.code, Code.FailedPrecondition);
  assert.equal(refused.bcbError, 'ClaimOperationInvalid');
  const stored = await getOperation(s.sql, OUR_ISPB, bogus);
  assert.equal(stored?.status, 'FAILED');
  assert.equal(stored?.failure?.bcbError, 'ClaimOperationInvalid');
  assert.equal((await rpcError(() => decide(bogus, 'BOGUS'))).bcbError, 'ClaimOperationInvalid');
  // The same request id with another body.
  const reused = await rpcError(() => decide(bogus, 'CANCEL'));
  assert.equal(reused.code, Code.AlreadyExists);
  assert.equal(reused.bcbError, 'RequestIdAlreadyUsed');

  // A second decision on the running workflow ends it; the refused one never reached it.
  const secondId = randomUUID();
  const second = await decide(secondId, 'CANCEL');
  assert.deepEqual(second.result, { decision: 'CANCEL', count: 2 });
  assert.deepEqual(await s.temporal.workflow.getHandle<typeof decisionWorkflow>(workflowId).result(), ['CONFIRM', 'CANCEL']);
  // Search attributes: set at start by the gateway, upserted by the workflow with the typed key.
  const described = await s.temporal.workflow.getHandle(workflowId).describe();
  assert.equal(described.typedSearchAttributes.get(ClaimRoleAttr), 'DONOR');
  assert.equal(described.typedSearchAttributes.get(ClaimStatusAttr), 'CANCELLED');

  // Replayed after the workflow closed: still done, from the operations row.
  const late = await decide(secondId, 'CANCEL');
  assert.equal(late.done, true);
  assert.equal(late.replayed, true);

  // An Update for a workflow that does not exist: NotFound, and nothing is recorded as failed.
  const nowhere = randomUUID();
  const missing = await rpcError(() =>
    gateway.update({ principal, requestId: nowhere, kind: 'UPDATE_ENTRY', body: {}, workflowId: `gateway-test/${randomUUID()}`, update: decideUpdate, args: [{ decision: 'CONFIRM' }] }),
  );
  assert.equal(missing.code, Code.NotFound);
  assert.equal((await getOperation(s.sql, OUR_ISPB, nowhere))?.status, 'ACCEPTED');
  // The ungoverned describe() above switched it on; the gateway's calls since switched it off.
  assert.equal(callContextOn(), false);
});
