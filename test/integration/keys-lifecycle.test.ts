// A key's life through the real path: Connect API -> Temporal workflow (worker) -> activities
// -> Postgres and the bridge -> DICT simulator.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Code } from '@connectrpc/connect';
import { isEvp } from '../../domain/keys.js';
import { AccountType, EntryOperationReason, EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, legalPerson, naturalPerson, newEmail, newEndToEndId, newPhone } from '../support/fixtures.js';
import { OUR_ISPB, startStack, type Stack } from '../support/stack.js';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

const wait = { seconds: 15n, nanos: 0 };

describe('CreateKey reaches ACTIVE for every key type', () => {
  const cases: [string, () => Parameters<typeof createKeyRequest>[0]][] = [
    ['CPF', () => { const owner = naturalPerson(); return { keyType: KeyType.CPF, key: owner.taxIdNumber, owner }; }],
    ['CNPJ', () => { const owner = legalPerson(); return { keyType: KeyType.CNPJ, key: owner.taxIdNumber, owner }; }],
    ['PHONE', () => ({ keyType: KeyType.PHONE, key: newPhone() })],
    ['EMAIL', () => ({ keyType: KeyType.EMAIL, key: newEmail() })],
    ['EVP', () => ({ keyType: KeyType.EVP, key: '' })],
  ];
  for (const [name, make] of cases) {
    test(name, async () => {
      const req = createKeyRequest(make());
      const res = await s.client.createKey(req);
      assert.equal(res.operation?.done, true);
      assert.equal(res.operation?.replayed, false);
      assert.equal(res.operation?.workflowId, `entry-create/${OUR_ISPB}/${req.requestId}`);
      const e = res.entry!;
      assert.equal(e.status, EntryStatus.ACTIVE);
      assert.equal(e.keyType, req.keyType);
      if (req.keyType === KeyType.EVP) assert.ok(isEvp(e.key), `DICT-generated EVP, got ${e.key}`);
      else assert.equal(e.key, req.key);
      assert.ok(e.creationDate && e.keyOwnershipDate, 'DICT dates recorded');

      // DICT has it, for the same account and owner.
      const inDict = await s.otherPsp.getEntry({ key: e.key, payerId: naturalPerson().taxIdNumber, endToEndId: newEndToEndId() });
      assert.equal(inDict.entry.account.accountNumber, req.account!.accountNumber);
      assert.equal(inDict.entry.owner.taxIdNumber, req.owner!.taxIdNumber);

      // Our records agree, and the outbox has the events of the same transactions.
      const got = await s.client.getKey({ by: { case: 'key', value: e.key } });
      assert.equal(got.entry?.entryId, e.entryId);
      assert.equal(got.entry?.status, EntryStatus.ACTIVE);
      const events = await s.sql<{ event_type: string }[]>`
        select event_type from outbox where aggregate_id = ${e.entryId} order by id`;
      assert.deepEqual(events.map((r) => r.event_type), ['EntryRequested', 'EntryActivated']);
    });
  }
});

test('CreateKey without waiting answers PENDING, then the entry becomes ACTIVE', async () => {
  const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), waitTimeout: undefined });
  const res = await s.client.createKey(req);
  assert.equal(res.operation?.done, false);
  assert.ok([EntryStatus.PENDING, EntryStatus.ACTIVE].includes(res.entry!.status));
  await s.temporal.workflow.getHandle(res.operation!.workflowId).result();
  const got = await s.client.getKey({ by: { case: 'requestId', value: req.requestId } });
  assert.equal(got.entry?.status, EntryStatus.ACTIVE);
  assert.equal(got.entry?.key, req.key);
});

test('UpdateKey changes the account in DICT and in our records', async () => {
  const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: newPhone() }));
  const key = created.entry!.key;
  const newAccount = account();
  newAccount.accountType = AccountType.SVGS;
  newAccount.branch = '0042';
  const res = await s.client.updateKey({
    requestId: randomUUID(),
    key,
    account: newAccount,
    owner: { ...created.entry!.owner!, name: 'Maria da Silva Souza' },
    reason: EntryOperationReason.BRANCH_TRANSFER,
    waitTimeout: wait,
  });
  assert.equal(res.operation?.done, true);
  assert.equal(res.entry?.account?.branch, '0042');
  assert.equal(res.entry?.account?.accountNumber, newAccount.accountNumber);
  assert.equal(res.entry?.owner?.name, 'Maria da Silva Souza');
  const inDict = await s.otherPsp.getEntry({ key, payerId: naturalPerson().taxIdNumber, endToEndId: newEndToEndId() });
  assert.equal(inDict.entry.account.branch, '0042');
  assert.equal(inDict.entry.account.accountType, 'SVGS');
  assert.equal(inDict.entry.owner.name, 'Maria da Silva Souza');
});

test("UpdateKey cannot change the owner's tax id", async () => {
  const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  const e = await rpcError(() =>
    s.client.updateKey({
      requestId: randomUUID(),
      key: created.entry!.key,
      account: created.entry!.account,
      owner: naturalPerson(),
      reason: EntryOperationReason.USER_REQUESTED,
      waitTimeout: wait,
    }),
  );
  assert.equal(e.code, Code.FailedPrecondition);
  assert.equal(e.bcbError, 'EntryTaxIdNumberByDifferentOwner');
});

test('DeleteKey removes the key from DICT and marks it DELETED', async () => {
  const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
  const key = created.entry!.key;
  const res = await s.client.deleteKey({ requestId: randomUUID(), key, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait });
  assert.equal(res.operation?.done, true);
  assert.equal(res.entry?.status, EntryStatus.DELETED);
  const gone = await s.otherPsp.getEntry({ key, payerId: naturalPerson().taxIdNumber, endToEndId: newEndToEndId() }).then(
    () => 'found',
    (err: { bcbError?: string }) => err.bcbError,
  );
  assert.equal(gone, 'NotFound');
  // Deleting again: the key is no longer active here.
  const again = await rpcError(() => s.client.deleteKey({ requestId: randomUUID(), key, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait }));
  assert.equal(again.code, Code.NotFound);
  // The key can be registered again afterwards.
  const re = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key }));
  assert.equal(re.entry?.status, EntryStatus.ACTIVE);
});

test('ListKeys filters and pages with opaque tokens', async () => {
  const owner = naturalPerson();
  const acc = account();
  const keys = [newEmail(), newEmail(), newPhone()];
  for (const [i, key] of keys.entries()) {
    await s.client.createKey(createKeyRequest({ keyType: i < 2 ? KeyType.EMAIL : KeyType.PHONE, key, owner, account: acc }));
  }
  const seen: string[] = [];
  let pageToken = '';
  do {
    const page = await s.client.listKeys({ taxIdNumber: owner.taxIdNumber, pageSize: 2, pageToken });
    assert.ok(page.entries.length <= 2);
    seen.push(...page.entries.map((e) => e.key));
    pageToken = page.nextPageToken;
  } while (pageToken);
  assert.deepEqual([...seen].sort(), [...keys].sort());

  const emails = await s.client.listKeys({ taxIdNumber: owner.taxIdNumber, keyType: KeyType.EMAIL });
  assert.deepEqual(emails.entries.map((e) => e.key).sort(), keys.slice(0, 2).sort());

  const first = await s.client.listKeys({ taxIdNumber: owner.taxIdNumber, pageSize: 1 });
  const misuse = await rpcError(() => s.client.listKeys({ keyType: KeyType.PHONE, pageSize: 1, pageToken: first.nextPageToken }));
  assert.equal(misuse.code, Code.InvalidArgument);
  assert.deepEqual(misuse.fields, ['page_token']);
});

test('GetKey by entry id and by request id; unknown keys are NotFound', async () => {
  const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() });
  const created = await s.client.createKey(req);
  const byId = await s.client.getKey({ by: { case: 'entryId', value: created.entry!.entryId } });
  assert.equal(byId.entry?.key, req.key);
  const byRequest = await s.client.getKey({ by: { case: 'requestId', value: req.requestId } });
  assert.equal(byRequest.entry?.entryId, created.entry!.entryId);
  const missing = await rpcError(() => s.client.getKey({ by: { case: 'key', value: newEmail() } }));
  assert.equal(missing.code, Code.NotFound);
});
