// Accepted means visible: a CreateKey the API has accepted is readable at once — by request id,
// by key, in ListKeys — with its fixed entry id, even while no worker runs; our own records'
// refusals (live key) are answered synchronously. Then a worker starts and the key goes ACTIVE.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Code } from '@connectrpc/connect';
import { EntryStatus } from '../../gen/dict/core/v1/types_pb.js';
import { entryCreateWorkflowId } from '../../workflows/ids.js';
import { rpcError } from '../support/errors.js';
import { createKeyRequest, naturalPerson } from '../support/fixtures.js';
import { OUR_ISPB, startStack, type Stack } from '../support/stack.js';

let s: Stack;
before(async () => {
  s = await startStack({ worker: false });
});
after(async () => {
  await s?.stop();
});

test('with no worker running, an accepted CreateKey is PENDING with its entry id everywhere; a worker then makes it ACTIVE', async () => {
  const owner = naturalPerson();
  const req = createKeyRequest({ owner, key: owner.taxIdNumber, waitTimeout: { seconds: 0n, nanos: 0 } });
  const res = await s.client.createKey(req);
  assert.equal(res.entry?.status, EntryStatus.PENDING);
  assert.match(res.entry?.entryId ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(res.operation?.done, false);
  const entryId = res.entry!.entryId;

  const byRequest = await s.client.getKey({ by: { case: 'requestId', value: req.requestId } });
  const byKey = await s.client.getKey({ by: { case: 'key', value: owner.taxIdNumber } });
  const byId = await s.client.getKey({ by: { case: 'entryId', value: entryId } });
  for (const got of [byRequest, byKey, byId]) {
    assert.equal(got.entry?.status, EntryStatus.PENDING);
    assert.equal(got.entry?.entryId, entryId);
  }
  const listed = await s.client.listKeys({ taxIdNumber: owner.taxIdNumber });
  assert.deepEqual(listed.entries.map((e) => [e.entryId, e.status]), [[entryId, EntryStatus.PENDING]]);

  // A replay of the accepted request answers the same entry.
  const replay = await s.client.createKey(req);
  assert.equal(replay.entry?.entryId, entryId);
  assert.equal(replay.operation?.replayed, true);

  // Our records refuse the same key for the same owner at once (no worker needed), and no
  // workflow is started for the refused request.
  const dup = createKeyRequest({ owner, key: owner.taxIdNumber, waitTimeout: { seconds: 0n, nanos: 0 } });
  const refused = await rpcError(() => s.client.createKey(dup));
  assert.equal(refused.code, Code.AlreadyExists);
  assert.equal(refused.bcbError, 'EntryAlreadyExists');
  assert.equal(refused.metadata.source, 'CORE');
  await assert.rejects(s.temporal.workflow.getHandle(entryCreateWorkflowId(OUR_ISPB, dup.requestId)).describe(), /not found/i);

  await s.startWorker();
  const deadline = Date.now() + 20_000;
  let status = EntryStatus.PENDING;
  while (Date.now() < deadline) {
    status = (await s.client.getKey({ by: { case: 'requestId', value: req.requestId } })).entry!.status;
    if (status === EntryStatus.ACTIVE) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, EntryStatus.ACTIVE);
  const done = await s.client.getKey({ by: { case: 'key', value: owner.taxIdNumber } });
  assert.equal(done.entry?.entryId, entryId);
  assert.equal((await s.simStats()).writes.createEntry, 1);
});
