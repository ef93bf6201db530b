// Two PSPs side by side: two instances of our service (own schema, Redis db, task queue,
// worker and API) for two participants, on one DICT simulator and one Temporal. What one PSP
// holds, DICT — not the other PSP's database — tells the other.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Code } from '@connectrpc/connect';
import { EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, naturalPerson, newPhone } from '../support/fixtures.js';
import { OTHER_ISPB, OUR_ISPB, startStack, type Stack } from '../support/stack.js';

let a: Stack;
let b: Stack;
before(async () => {
  a = await startStack({ participant: OUR_ISPB });
  b = await startStack({ participant: OTHER_ISPB, beside: a });
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

test("PSP B cannot register PSP A's customer's phone for another person; each PSP lists only its own keys", async () => {
  const phone = newPhone();
  const maria = naturalPerson();
  const joao = naturalPerson(undefined, 'Joao Souza');

  const created = await a.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: phone, owner: maria, account: account(OUR_ISPB) }));
  assert.equal(created.entry?.status, EntryStatus.ACTIVE);

  // B's own records know nothing of the phone: DICT refuses, and names the claim to open.
  const refused = await rpcError(() => b.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: phone, owner: joao, account: account(OTHER_ISPB) })));
  assert.equal(refused.code, Code.AlreadyExists);
  assert.equal(refused.bcbError, 'EntryKeyOwnedByDifferentPerson');
  assert.equal(refused.metadata.source, 'DICT');
  assert.equal(refused.metadata.suggested_action, 'START_OWNERSHIP_CLAIM');

  // B registers a key of its own customer.
  const bOwn = naturalPerson();
  const bKey = await b.client.createKey(createKeyRequest({ owner: bOwn, key: bOwn.taxIdNumber, account: account(OTHER_ISPB) }));
  assert.equal(bKey.entry?.status, EntryStatus.ACTIVE);

  const listA = await a.client.listKeys({});
  const listB = await b.client.listKeys({});
  assert.deepEqual(listA.entries.map((e) => e.key), [phone]);
  assert.ok(listA.entries.every((e) => e.account?.participant === OUR_ISPB));
  // B's list: its refused attempt (FAILED, kept as history) and its own active key, never A's.
  assert.deepEqual(listB.entries.map((e) => [e.key || '', EntryStatus[e.status]]).sort(), [[bOwn.taxIdNumber, 'ACTIVE'], [phone, 'FAILED']].sort());
  assert.ok(listB.entries.every((e) => e.account?.participant === OTHER_ISPB));

  // Each API answers for its own participant only.
  assert.equal((await b.client.getKey({ by: { case: 'key', value: bOwn.taxIdNumber } })).entry?.status, EntryStatus.ACTIVE);
  assert.equal((await rpcError(() => a.client.getKey({ by: { case: 'key', value: bOwn.taxIdNumber } }))).code, Code.NotFound);

  // DICT holds each key at its own participant.
  const held = async (key: string) => ((await (await a.simAdmin(`entries/${encodeURIComponent(key)}`)).json()) as { account: { participant: string } }).account.participant;
  assert.equal(await held(phone), OUR_ISPB);
  assert.equal(await held(bOwn.taxIdNumber), OTHER_ISPB);
});
