// Bad input, BCB business errors, idempotency and DICT faults, through the real stack.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { AccountType, EntryOperationReason, EntryStatus, KeyType, PersonType } from '../../gen/dict/core/v1/types_pb.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, legalPerson, naturalPerson, newCpf, newEmail, newPhone } from '../support/fixtures.js';
import { OTHER_ISPB, startStack, type Stack } from '../support/stack.js';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});
beforeEach(async () => {
  await s.simAdmin('faults', 'DELETE');
});

const wait = { seconds: 15n, nanos: 0 };
const rowsFor = async (requestId: string) => (await s.sql`select 1 from entries where request_id = ${requestId}`).length;

describe('validation: InvalidArgument with one violation per bad field, nothing recorded', () => {
  const cases: { name: string; req: () => ReturnType<typeof createKeyRequest>; fields: string[]; bcbError?: string }[] = [
    { name: 'CPF with wrong check digits', req: () => { const o = naturalPerson('11122233300'); return createKeyRequest({ owner: o, key: o.taxIdNumber }); }, fields: ['key', 'owner.tax_id_number'] },
    { name: 'CPF key differs from the owner tax id', req: () => createKeyRequest({ key: newCpf() }), fields: ['key'], bcbError: 'EntryTaxIdNumberByDifferentOwner' },
    { name: 'CNPJ key for a natural person', req: () => { const l = legalPerson(); return createKeyRequest({ keyType: KeyType.CNPJ, key: l.taxIdNumber }); }, fields: ['key'], bcbError: 'EntryTaxIdNumberByDifferentOwner' },
    { name: 'phone not E.164 +55 mobile', req: () => createKeyRequest({ keyType: KeyType.PHONE, key: '61988880000' }), fields: ['key'] },
    { name: 'upper-case e-mail', req: () => createKeyRequest({ keyType: KeyType.EMAIL, key: 'Fulano@Example.com' }), fields: ['key'] },
    { name: 'e-mail over 77 characters', req: () => createKeyRequest({ keyType: KeyType.EMAIL, key: `${'a'.repeat(70)}@example.com` }), fields: ['key'] },
    { name: 'EVP supplied by the client', req: () => createKeyRequest({ keyType: KeyType.EVP, key: randomUUID() }), fields: ['key'] },
    { name: 'missing key type', req: () => createKeyRequest({ keyType: KeyType.UNSPECIFIED }), fields: ['key_type'] },
    { name: 'request id not a UUID', req: () => createKeyRequest({ requestId: 'abc' }), fields: ['request_id'] },
    { name: 'reason not allowed for creation', req: () => createKeyRequest({ reason: EntryOperationReason.FRAUD }), fields: ['reason'], bcbError: 'InvalidReason' },
    { name: 'natural person name with digits', req: () => { const o = naturalPerson(newCpf(), 'Maria 2'); return createKeyRequest({ owner: o, key: o.taxIdNumber }); }, fields: ['owner.name'] },
    { name: 'trade name on a natural person', req: () => { const o = naturalPerson(); o.tradeName = 'Loja'; return createKeyRequest({ owner: o, key: o.taxIdNumber }); }, fields: ['owner.trade_name'] },
    { name: 'account of another participant', req: () => createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), account: account(OTHER_ISPB) }), fields: ['account.participant'] },
    { name: 'account number with letters, branch too long', req: () => { const a = account(); a.accountNumber = '12A4'; a.branch = '12345'; return createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), account: a }); }, fields: ['account.account_number', 'account.branch'] },
    { name: 'opening date in the future', req: () => { const a = account(); a.openingDate = timestampFromDate(new Date(Date.now() + 86_400_000)); return createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), account: a }); }, fields: ['account.opening_date'] },
    { name: 'owner missing', req: () => { const r = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }); r.owner = undefined; return r; }, fields: ['owner'] },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const req = c.req();
      const e = await rpcError(() => s.client.createKey(req));
      assert.equal(e.code, Code.InvalidArgument, e.err.message);
      assert.equal(e.bcbError, c.bcbError ?? 'EntryInvalid');
      for (const f of c.fields) assert.ok(e.fields.some((x) => x === f || x.startsWith(`${f}.`)), `violation on ${f}; got ${e.fields.join(', ')}`);
      assert.equal(await rowsFor(req.requestId), 0);
    });
  }

  test('update and delete reasons are checked per operation', async () => {
    const upd = await rpcError(() => s.client.updateKey({ requestId: randomUUID(), key: newEmail(), account: account(), owner: naturalPerson(), reason: EntryOperationReason.ACCOUNT_CLOSURE }));
    assert.deepEqual(upd.fields, ['reason']);
    const del = await rpcError(() => s.client.deleteKey({ requestId: randomUUID(), key: newEmail(), reason: EntryOperationReason.BRANCH_TRANSFER }));
    assert.deepEqual(del.fields, ['reason']);
    // DICT's name for a bad reason (2.6.1 error table), not EntryInvalid.
    assert.equal(upd.bcbError, 'InvalidReason');
    assert.equal(del.bcbError, 'InvalidReason');
  });

  test('lookups need a valid payer id and end-to-end id', async () => {
    const e = await rpcError(() => s.client.lookupKey({ key: newEmail(), payerId: '123', endToEndId: 'x' }));
    assert.equal(e.code, Code.InvalidArgument);
    assert.ok(e.fields.includes('payer_id') && e.fields.includes('end_to_end_id'), e.fields.join(','));
  });
});

describe('BCB business errors reach the caller with a precise code and the BCB name', () => {
  test('EntryAlreadyExists: the same owner registers a live key again', async () => {
    const first = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
    const again = createKeyRequest({ keyType: KeyType.EMAIL, key: first.entry!.key, owner: first.entry!.owner });
    const e = await rpcError(() => s.client.createKey(again));
    assert.equal(e.code, Code.AlreadyExists);
    assert.equal(e.bcbError, 'EntryAlreadyExists');
  });

  test('EntryAlreadyExists from DICT when our records do not know the key', async () => {
    const owner = naturalPerson();
    const key = newEmail();
    // Registered in DICT by us, but outside this service (e.g. before a migration).
    await s.registerInDict(s.dict, { key, keyType: 'EMAIL', owner: { type: 'NATURAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name }, accountNumber: '55555' });
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key, owner });
    const e = await rpcError(() => s.client.createKey(req));
    assert.equal(e.bcbError, 'EntryAlreadyExists');
    assert.equal(e.metadata.source, 'DICT');
    const got = await s.client.getKey({ by: { case: 'requestId', value: req.requestId } });
    assert.equal(got.entry?.status, EntryStatus.FAILED);
    assert.equal(got.entry?.errorName, 'EntryAlreadyExists');
  });

  test('EntryKeyOwnedByDifferentPerson suggests an ownership claim', async () => {
    const key = newPhone();
    const other = naturalPerson();
    await s.registerInDict(s.otherPsp, { key, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: other.taxIdNumber, name: other.name } });
    const e = await rpcError(() => s.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key })));
    assert.equal(e.code, Code.AlreadyExists);
    assert.equal(e.bcbError, 'EntryKeyOwnedByDifferentPerson');
    assert.equal(e.metadata.suggested_action, 'START_OWNERSHIP_CLAIM');
  });

  test('EntryKeyInCustodyOfDifferentParticipant suggests portability', async () => {
    const owner = naturalPerson();
    const key = newEmail();
    await s.registerInDict(s.otherPsp, { key, keyType: 'EMAIL', owner: { type: 'NATURAL_PERSON', taxIdNumber: owner.taxIdNumber, name: owner.name } });
    const e = await rpcError(() => s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key, owner })));
    assert.equal(e.bcbError, 'EntryKeyInCustodyOfDifferentParticipant');
    assert.equal(e.metadata.suggested_action, 'START_PORTABILITY');
  });

  test('EntryLimitExceeded: a natural person has at most 5 keys per account', async () => {
    const owner = naturalPerson();
    const acc = account();
    for (let i = 0; i < 5; i++) await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner, account: acc }));
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner, account: acc });
    const e = await rpcError(() => s.client.createKey(req));
    assert.equal(e.code, Code.FailedPrecondition);
    assert.equal(e.bcbError, 'EntryLimitExceeded');
    assert.equal(await rowsFor(req.requestId), 0, 'refused before any row or DICT call');
  });

  test('EntryLimitExceeded holds under concurrency: 8 parallel keys for a fresh account, 5 succeed', async () => {
    const owner = naturalPerson();
    const acc = account();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner, account: acc }))),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
    const [{ n }] = (await s.sql<{ n: number }[]>`
      select count(*)::int as n from entries where account_number = ${acc.accountNumber} and status = 'ACTIVE'`) as unknown as [{ n: number }];
    assert.equal(n, 5);
  });

  test('the limit is per account: same number, another account type, has its own room', async () => {
    const owner = naturalPerson();
    const acc = account();
    for (let i = 0; i < 5; i++) await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner, account: acc }));
    const savings = account(acc.participant, acc.accountNumber);
    savings.accountType = AccountType.SVGS;
    const res = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner, account: savings }));
    assert.equal(res.entry?.status, EntryStatus.ACTIVE);
  });

  test('UpdateKey cannot move a key into a full account; nothing changes in DICT', async () => {
    const owner = naturalPerson();
    const full = account();
    for (let i = 0; i < 5; i++) await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner, account: full }));
    const moving = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner }));
    const writesBefore = (await s.simStats()).writes.updateEntry ?? 0;
    const e = await rpcError(() =>
      s.client.updateKey({ requestId: randomUUID(), key: moving.entry!.key, account: full, owner, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait }),
    );
    assert.equal(e.code, Code.FailedPrecondition);
    assert.equal(e.bcbError, 'EntryLimitExceeded');
    assert.equal((await s.simStats()).writes.updateEntry ?? 0, writesBefore);
    const still = await s.client.getKey({ by: { case: 'key', value: moving.entry!.key } });
    assert.equal(still.entry?.account?.accountNumber, moving.entry!.account!.accountNumber);
  });

  test('a legal person may have 20 keys on one account', async () => {
    const owner = legalPerson();
    const acc = account();
    const all = await Promise.all(Array.from({ length: 20 }, () => s.client.createKey(createKeyRequest({ keyType: KeyType.EVP, key: '', owner, account: acc }))));
    assert.ok(all.every((r) => r.entry?.status === EntryStatus.ACTIVE));
    assert.equal(owner.type, PersonType.LEGAL_PERSON);
    const e = await rpcError(() => s.client.createKey(createKeyRequest({ keyType: KeyType.EVP, key: '', owner, account: acc })));
    assert.equal(e.bcbError, 'EntryLimitExceeded');
  });
});

describe('EntryLockedByClaim', () => {
  test('a key with an open claim cannot be deleted; it stays ACTIVE', async () => {
    const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.PHONE, key: newPhone() }));
    const key = created.entry!.key;
    // Another participant opened a claim on the key (DICT's side of it).
    const lock = await s.simAdmin(`entries/${encodeURIComponent(key)}/open-claim`, 'POST', {});
    assert.equal(lock.status, 200);
    const e = await rpcError(() => s.client.deleteKey({ requestId: randomUUID(), key, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait }));
    assert.equal(e.code, Code.FailedPrecondition);
    assert.equal(e.bcbError, 'EntryLockedByClaim');
    const after = await s.client.getKey({ by: { case: 'key', value: key } });
    assert.equal(after.entry?.status, EntryStatus.ACTIVE);
  });
});

describe('idempotency by request id', () => {
  test('concurrent duplicates: one row, one workflow, one DICT write, the same answer', async () => {
    const before = (await s.simStats()).writes.createEntry ?? 0;
    const req = createKeyRequest({ keyType: KeyType.EVP, key: '' });
    const answers = await Promise.all(Array.from({ length: 10 }, () => s.client.createKey(req)));
    const ids = new Set(answers.map((a) => a.entry?.entryId));
    assert.equal(ids.size, 1);
    assert.ok(answers.every((a) => a.entry?.status === EntryStatus.ACTIVE));
    assert.equal(answers.filter((a) => !a.operation?.replayed).length, 1, 'exactly one call was the first');
    assert.equal(await rowsFor(req.requestId), 1);
    assert.equal(((await s.simStats()).writes.createEntry ?? 0) - before, 1);
  });

  test('a retry after completion returns the same entry without a new write', async () => {
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() });
    const first = await s.client.createKey(req);
    const before = (await s.simStats()).writes.createEntry ?? 0;
    const second = await s.client.createKey(req);
    assert.equal(second.operation?.replayed, true);
    assert.equal(second.entry?.entryId, first.entry?.entryId);
    assert.equal((await s.simStats()).writes.createEntry ?? 0, before);
  });

  test('the same request id with another body is rejected', async () => {
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() });
    await s.client.createKey(req);
    const changed = createKeyRequest({ requestId: req.requestId, keyType: KeyType.EMAIL, key: newEmail() });
    const e = await rpcError(() => s.client.createKey(changed));
    assert.equal(e.code, Code.AlreadyExists);
    assert.equal(e.bcbError, 'RequestIdAlreadyUsed');
  });

  test('a request DICT refused replays the same failure, details included', async () => {
    const key = newPhone();
    const stranger = naturalPerson();
    await s.registerInDict(s.otherPsp, { key, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: stranger.taxIdNumber, name: stranger.name } });
    const req = createKeyRequest({ keyType: KeyType.PHONE, key });
    const first = await rpcError(() => s.client.createKey(req));
    const second = await rpcError(() => s.client.createKey(req));
    assert.equal(first.bcbError, 'EntryKeyOwnedByDifferentPerson');
    assert.deepEqual(
      { code: second.code, bcbError: second.bcbError, metadata: second.metadata },
      { code: first.code, bcbError: first.bcbError, metadata: first.metadata },
    );
    assert.equal(second.metadata.source, 'DICT');
  });

  test('a failed request replays its failure', async () => {
    const owner = naturalPerson();
    const key = newEmail();
    await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key, owner }));
    const dup = createKeyRequest({ keyType: KeyType.EMAIL, key, owner });
    const first = await rpcError(() => s.client.createKey(dup));
    const second = await rpcError(() => s.client.createKey(dup));
    assert.equal(first.bcbError, 'EntryAlreadyExists');
    assert.equal(second.bcbError, 'EntryAlreadyExists');
  });
});

describe('DICT faults: retried with the same BCB RequestId, never duplicated', () => {
  test('response lost after DICT applied the write', async () => {
    const before = (await s.simStats()).writes.createEntry ?? 0;
    await s.simAdmin('faults', 'POST', { operation: 'createEntry', kind: 'lost-response', count: 1 });
    const res = await s.client.createKey(createKeyRequest({ keyType: KeyType.EVP, key: '' }));
    assert.equal(res.entry?.status, EntryStatus.ACTIVE);
    assert.equal(((await s.simStats()).writes.createEntry ?? 0) - before, 1);
  });

  test('5xx and 429 are retried until DICT answers', async () => {
    await s.simAdmin('faults', 'POST', { operation: 'createEntry', kind: '5xx', count: 2 });
    await s.simAdmin('faults', 'POST', { operation: 'createEntry', kind: '429', count: 1 });
    const res = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
    assert.equal(res.entry?.status, EntryStatus.ACTIVE);
  });

  test('a lost delete answer still ends DELETED', async () => {
    const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail() }));
    await s.simAdmin('faults', 'POST', { operation: 'deleteEntry', kind: 'lost-response', count: 1 });
    const res = await s.client.deleteKey({ requestId: randomUUID(), key: created.entry!.key, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait });
    assert.equal(res.entry?.status, EntryStatus.DELETED);
  });
});
