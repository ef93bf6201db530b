// The account registry end to end (issue 11): a customer names only an open account of their
// own at our PSP — CreateKey's account, UpdateKey's new account, StartClaim's and
// StartPortability's claimer account — else PermissionDenied, with one message whatever the
// reason and nothing written (no entry or claim row, no operation, no workflow); the PSP's
// operator is not checked; ACCOUNT_REGISTRY=off does not check (and the API process warns at
// start); the dev accounts make the README's customer example work. And the loader
// (scripts/accounts.ts): a good file loads, loading it again changes nothing, a file with one bad
// row loads nothing and names the line (the library function and the command both).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { createClient, type Client as RpcClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { AccountType, BrazilianAccountSchema, EntryOperationReason, EntryStatus, KeyType, type BrazilianAccount } from '../../gen/dict/core/v1/types_pb.js';
import { openClaimWorkflowId } from '../../api/claims.js';
import { loadAccountsFile } from '../../scripts/accounts.js';
import { getAccountHolders } from '../../store/accounts.js';
import { entryCreateWorkflowId, entryUpdateWorkflowId } from '../../workflows/ids.js';
import { accountOf, registerAccount } from '../support/accounts.js';
import { startClaimRequest, startPortabilityRequest, waitFor } from '../support/claims.js';
import { freePort, Programs } from '../support/processes.js';
import { rpcError } from '../support/errors.js';
import { account, createKeyRequest, legalPerson, naturalPerson, newCpf, newEmail, newPhone } from '../support/fixtures.js';
import { bearer, customer, env, extraApi, OUR_ISPB, programEnv, startStack, type Stack } from '../support/stack.js';

const ROOT = join(__dirname, '..', '..', '..');

let s: Stack;
const alice = naturalPerson(newCpf(), 'Alice Souza');
const bob = naturalPerson(newCpf(), 'Bruno Lima');
let asAlice: RpcClient<typeof CoreDictService>;
/** Alice's open account; Bob's open account; one of ours nobody registered; Alice's closed one. */
let aliceAccount: BrazilianAccount;
let bobAccount: BrazilianAccount;
let unknownAccount: BrazilianAccount;
let closedAccount: BrazilianAccount;

before(async () => {
  s = await startStack();
  asAlice = s.clientAs(await s.token(customer(alice.taxIdNumber)));
  aliceAccount = await accountOf(s, alice);
  bobAccount = await accountOf(s, bob);
  unknownAccount = account(OUR_ISPB);
  closedAccount = await registerAccount(s, account(OUR_ISPB), alice, { closedAt: '2024-05-02T12:00:00Z' });
});
after(async () => {
  await s?.stop();
});

/** The refusals a customer gets for each account that is not an open one of theirs. */
const notHers = () =>
  [
    ['another customer\'s account', bobAccount],
    ['an unknown account', unknownAccount],
    ['a closed account of hers', closedAccount],
  ] as const;

async function refused(what: string, fn: () => Promise<unknown>): Promise<string> {
  const e = await rpcError(fn);
  assert.equal(e.codeName, 'PermissionDenied', `${what}: ${e.err.rawMessage}`);
  assert.match(e.err.rawMessage, /open account of their own/, what);
  // Nothing about whose it is.
  assert.doesNotMatch(e.err.rawMessage, new RegExp(`${bob.taxIdNumber}|${alice.taxIdNumber}|Bruno|Alice`), what);
  return e.err.rawMessage;
}

const count = async (table: 'entries' | 'claims' | 'operations', requestId: string) =>
  (await s.sql`select 1 from ${s.sql(table)} where participant = ${OUR_ISPB} and request_id = ${requestId}`).length;

async function nothingWritten(what: string, requestId: string, workflowId: string): Promise<void> {
  for (const table of ['entries', 'claims', 'operations'] as const) assert.equal(await count(table, requestId), 0, `${what}: a ${table} row`);
  await assert.rejects(s.temporal.workflow.getHandle(workflowId).describe(), /not found/i, `${what}: a workflow`);
}

describe("a customer names only an open account of their own", () => {
  test('CreateKey: her account accepted; another customer\'s, an unknown or a closed account refused with nothing written', async () => {
    const ok = await asAlice.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: aliceAccount }));
    assert.equal(ok.entry?.status, EntryStatus.ACTIVE);
    const messages = new Set<string>();
    for (const [what, acc] of notHers()) {
      const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: acc });
      messages.add(await refused(`CreateKey on ${what}`, () => asAlice.createKey(req)));
      await nothingWritten(`CreateKey on ${what}`, req.requestId, entryCreateWorkflowId(OUR_ISPB, req.requestId));
    }
    assert.equal(messages.size, 1, 'one answer whatever the reason');
  });

  test('a retry of an accepted CreateKey gets its first answer even after the account has closed', async () => {
    const acc = await accountOf(s, alice);
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: acc });
    const first = await asAlice.createKey(req);
    assert.equal(first.entry?.status, EntryStatus.ACTIVE);
    await registerAccount(s, acc, alice, { closedAt: new Date().toISOString() });
    const again = await asAlice.createKey(req);
    assert.equal(again.entry?.entryId, first.entry?.entryId);
    // A new request on the closed account is refused.
    await refused('CreateKey on her closed account', () => asAlice.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: acc })));
    // Her accepted request id does not carry another account through: a different body is refused, nothing is written for it.
    const foreign = { ...req, account: bobAccount };
    const e = await rpcError(() => asAlice.createKey(foreign));
    assert.ok(['PermissionDenied', 'AlreadyExists'].includes(e.codeName), `${e.codeName}: ${e.err.rawMessage}`);
    const rows = await s.sql<{ account_number: string }[]>`select account_number from entries where participant = ${OUR_ISPB} and request_id = ${req.requestId}`;
    assert.deepEqual(rows.map((r) => r.account_number), [acc.accountNumber]);
    // Nor does somebody else's: Bob's accepted request id, with Bob's account, from Alice is refused by the account check.
    const asBob = s.clientAs(await s.token(customer(bob.taxIdNumber)));
    const bobReq = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: bob, account: bobAccount });
    assert.equal((await asBob.createKey(bobReq)).entry?.status, EntryStatus.ACTIVE);
    await refused("Alice with Bob's request id and account", () => asAlice.createKey({ ...bobReq, owner: alice }));
  });

  test('a joint account: each open holder registers keys on it; a holder whose row is closed cannot; nobody else can', async () => {
    const joint = await accountOf(s, alice);
    await registerAccount(s, joint, bob);
    const asBob = s.clientAs(await s.token(customer(bob.taxIdNumber)));
    assert.equal((await asAlice.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: joint }))).entry?.status, EntryStatus.ACTIVE);
    assert.equal((await asBob.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: bob, account: joint }))).entry?.status, EntryStatus.ACTIVE);
    const carol = naturalPerson(newCpf(), 'Carolina Dias');
    const asCarol = s.clientAs(await s.token(customer(carol.taxIdNumber)));
    await refused('a third person on the joint account', () => asCarol.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: carol, account: joint })));
    // Bob leaves the account: his row closes, Alice's stays open.
    await registerAccount(s, joint, bob, { closedAt: new Date().toISOString() });
    await refused('a holder who left the joint account', () => asBob.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: bob, account: joint })));
    assert.equal((await asAlice.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: joint }))).entry?.status, EntryStatus.ACTIVE);
  });

  test("her own account with another opening date than core banking's is InvalidArgument on account.opening_date", async () => {
    const wrongDate = { ...aliceAccount, openingDate: timestampFromDate(new Date('2001-01-01T00:00:00Z')) };
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: wrongDate });
    const e = await rpcError(() => asAlice.createKey(req));
    assert.equal(e.codeName, 'InvalidArgument', e.err.rawMessage);
    assert.match(e.err.rawMessage, /account\.opening_date/);
    await nothingWritten('CreateKey with a wrong opening date', req.requestId, entryCreateWorkflowId(OUR_ISPB, req.requestId));
  });

  test("UpdateKey: her key moves to her other account; not to another customer's, an unknown or a closed one", async () => {
    const key = newPhone();
    assert.equal((await asAlice.createKey(createKeyRequest({ keyType: KeyType.PHONE, key, owner: alice, account: aliceAccount }))).entry?.status, EntryStatus.ACTIVE);
    const update = (acc: BrazilianAccount) => ({ requestId: randomUUID(), key, account: acc, owner: alice, reason: EntryOperationReason.BRANCH_TRANSFER, waitTimeout: { seconds: 15n, nanos: 0 } });
    for (const [what, acc] of notHers()) {
      const req = update(acc);
      await refused(`UpdateKey to ${what}`, () => asAlice.updateKey(req));
      await nothingWritten(`UpdateKey to ${what}`, req.requestId, entryUpdateWorkflowId(OUR_ISPB, req.requestId));
    }
    const other = await accountOf(s, alice);
    const moved = await asAlice.updateKey(update(other));
    assert.equal(moved.entry?.account?.accountNumber, other.accountNumber);
    assert.equal(moved.operation?.done, true);
  });

  test("StartClaim and StartPortability: her account as claimer account accepted; the others refused with nothing written", async () => {
    // A phone someone else holds at the other PSP (ownership), and Alice's e-mail there (portability).
    const phone = newPhone();
    const email = newEmail();
    await s.registerInDict(s.otherPsp, { key: phone, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: newCpf(), name: 'Carla Dias' } });
    await s.registerInDict(s.otherPsp, { key: email, keyType: 'EMAIL', owner: { type: 'NATURAL_PERSON', taxIdNumber: alice.taxIdNumber, name: alice.name } });
    for (const [what, acc] of notHers()) {
      const claim = startClaimRequest(phone, acc, alice);
      await refused(`StartClaim on ${what}`, () => asAlice.startClaim(claim));
      await nothingWritten(`StartClaim on ${what}`, claim.requestId, openClaimWorkflowId(OUR_ISPB, claim.requestId));
      const port = startPortabilityRequest(email, KeyType.EMAIL, acc, alice);
      await refused(`StartPortability on ${what}`, () => asAlice.startPortability(port));
      await nothingWritten(`StartPortability on ${what}`, port.requestId, openClaimWorkflowId(OUR_ISPB, port.requestId));
    }
    const claimed = await asAlice.startClaim(startClaimRequest(phone, aliceAccount, alice));
    assert.ok(claimed.claim?.claimId, `claim opened: ${claimed.claim?.errorName}`);
    const ported = await asAlice.startPortability(startPortabilityRequest(email, KeyType.EMAIL, aliceAccount, alice));
    assert.ok(ported.claim?.claimId, `portability opened: ${ported.claim?.errorName}`);
  });

  test("the PSP's operator is not checked against the registry", async () => {
    const owner = naturalPerson();
    const created = await s.client.createKey(createKeyRequest({ owner, key: owner.taxIdNumber, account: account(OUR_ISPB) }));
    assert.equal(created.entry?.status, EntryStatus.ACTIVE);
    const moved = await s.client.updateKey({ requestId: randomUUID(), key: owner.taxIdNumber, account: bobAccount, owner, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: { seconds: 15n, nanos: 0 } });
    assert.equal(moved.entry?.account?.accountNumber, bobAccount.accountNumber);
  });

  test("the README's customer example: the dev accounts (scripts/dev-accounts.csv) load, and CPF 11144477735 registers a key on 0001/123456", async () => {
    const r = await loadAccountsFile(s.sql, join(ROOT, 'scripts', 'dev-accounts.csv'), { ourIspb: OUR_ISPB });
    assert.ok(r.ok && r.rows > 0, JSON.stringify(r));
    const maria = naturalPerson('11144477735', 'Maria da Silva');
    const asMaria = s.clientAs(await s.token(customer(maria.taxIdNumber)));
    const readme = create(BrazilianAccountSchema, { participant: OUR_ISPB, branch: '0001', accountNumber: '123456', accountType: AccountType.CACC, openingDate: timestampFromDate(new Date('2020-01-10T03:00:00Z')) });
    const created = await asMaria.createKey(createKeyRequest({ keyType: KeyType.EVP, key: '', owner: maria, account: readme }));
    assert.equal(created.entry?.status, EntryStatus.ACTIVE);
    await refused('the dev stack\'s closed account', () => asMaria.createKey(createKeyRequest({ keyType: KeyType.EVP, key: '', owner: maria, account: { ...readme, accountNumber: '999999' } })));
  });

  test('ACCOUNT_REGISTRY=off: the API process warns at start', async () => {
    const programs = new Programs();
    try {
      const api = programs.start('api/main.js', {
        ...programEnv({ pki: s.pki, taskQueue: s.taskQueue, dictBaseUrl: s.simulator.url }),
        AUTH_JWKS_FILE: s.pki.auth.jwksFile,
        API_HOST: '127.0.0.1',
        API_PORT: String(await freePort()),
        API_GRPC_PORT: String(await freePort()),
        API_WORKERS: '1',
        ACCOUNT_REGISTRY: 'off',
      });
      await waitFor('the warning', async () => (/customers' accounts are not verified/.test(programs.log(api)) ? true : undefined), 20_000);
      assert.match(programs.log(api), /"level":40/);
    } finally {
      programs.killAll();
    }
  });

  test('ACCOUNT_REGISTRY=off: a customer\'s account is not checked', async () => {
    const off = await extraApi(s, { accountRegistry: 'off' });
    try {
      const asAliceOff = createClient(CoreDictService, createConnectTransport({ baseUrl: off.urls.httpUrl, httpVersion: '1.1', interceptors: [bearer(await s.token(customer(alice.taxIdNumber)))] }));
      const r = await asAliceOff.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: alice, account: account(OUR_ISPB) }));
      assert.ok(r.entry?.entryId);
    } finally {
      await off.api.close();
    }
  });
});

describe('the loader (scripts/accounts.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-'));
  const header = 'participant,branch,account_number,account_type,tax_id_number,person_type,opening_date,closed_at';
  const carla = naturalPerson(newCpf(), 'Carla Dias');
  const shop = legalPerson();
  const file = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  const n = () => String(Math.floor(Math.random() * 1e9) + 1e9);
  const [a1, a2, a3] = [n(), n(), n()];
  const good = [
    '# core banking export',
    header,
    `${OUR_ISPB},0001,${a1},CACC,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
    `${OUR_ISPB},,${a2},TRAN,${carla.taxIdNumber},NATURAL_PERSON,2021-02-01T00:00:00-03:00,`,
    `${OUR_ISPB},0002,${a3},CACC,${shop.taxIdNumber},LEGAL_PERSON,2019-06-03T03:00:00Z,2023-01-31T18:00:00Z`,
  ];
  const id = (accountNumber: string, branch: string | undefined = '0001', accountType: 'CACC' | 'TRAN' = 'CACC') => ({ participant: OUR_ISPB, branch, accountNumber, accountType } as const);
  /** The account's one holder row (these accounts are not joint), or undefined. */
  const onlyHolder = async (a: ReturnType<typeof id>) => {
    const rows = await getAccountHolders(s.sql, a);
    assert.ok(rows.length <= 1, `one holder: ${rows.length}`);
    return rows[0];
  };

  test('a good file loads; loading it again changes nothing; a changed row is updated', async () => {
    const path = file('good.csv', good);
    assert.deepEqual(await loadAccountsFile(s.sql, path, { ourIspb: OUR_ISPB }), { ok: true, rows: 3, inserted: 3, updated: 0, unchanged: 0 });
    const first = await onlyHolder(id(a1));
    assert.deepEqual(first?.holder, { type: 'NATURAL_PERSON', taxIdNumber: carla.taxIdNumber });
    assert.equal(first?.closedAt, undefined);
    assert.equal((await onlyHolder(id(a2, undefined, 'TRAN')))?.branch, undefined, 'an account without a branch');
    assert.equal((await onlyHolder({ ...id(a3), branch: '0002' }))?.closedAt, '2023-01-31T18:00:00.000Z');

    assert.deepEqual(await loadAccountsFile(s.sql, path, { ourIspb: OUR_ISPB }), { ok: true, rows: 3, inserted: 0, updated: 0, unchanged: 3 });
    assert.equal((await onlyHolder(id(a1)))?.updatedAt, first?.updatedAt, 'an unchanged row is not touched');

    // Core banking closes a1: the next export says so, and Carla can no longer name it.
    const closing = file('closing.csv', [header, good[2]!.replace(/,$/, ',2024-06-01T12:00:00Z')]);
    assert.deepEqual(await loadAccountsFile(s.sql, closing, { ourIspb: OUR_ISPB }), { ok: true, rows: 1, inserted: 0, updated: 1, unchanged: 0 });
    const asCarla = s.clientAs(await s.token(customer(carla.taxIdNumber)));
    const closed = account(OUR_ISPB, a1);
    await refused('CreateKey on an account closed by a reload', () => asCarla.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key: newEmail(), owner: carla, account: closed })));
  });

  test('a file with one bad row loads nothing and names the line; so does the command', async () => {
    const fresh = n();
    const lines = [
      header,
      `${OUR_ISPB},0001,${fresh},CACC,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
      `${OUR_ISPB},0001,${n()},CACC,11122233300,NATURAL_PERSON,2020-01-10T03:00:00Z,`,
    ];
    const path = file('bad.csv', lines);
    const r = await loadAccountsFile(s.sql, path, { ourIspb: OUR_ISPB });
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.errors, [{ line: 3, message: 'tax_id_number is not a valid CPF' }]);
    assert.equal(await onlyHolder(id(fresh)), undefined, 'the good row was not loaded either');

    // Other refusals: another PSP's account, a bad branch and type, a closing before the opening, the same account twice, a missing column, an oversize file.
    const more = file('more.csv', [
      header,
      `87654321,0001,${n()},CACC,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
      `${OUR_ISPB},00001,${n()},XXXX,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
      `${OUR_ISPB},0001,${fresh},CACC,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z,2019-01-01T00:00:00Z`,
      `${OUR_ISPB},0001,${fresh},CACC,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
      `${OUR_ISPB},0001,${fresh},CACC,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z,`,
    ]);
    const m = await loadAccountsFile(s.sql, more, { ourIspb: OUR_ISPB });
    const got = !m.ok ? m.errors.map((e) => `${e.line}: ${e.message}`) : [];
    const want = [/^2: participant must be our ISPB/, /^3: branch must be 1 to 4 digits/, /^3: account_type 'XXXX' is not one of/, /^4: closed_at cannot be before/, new RegExp(`^6: account ${OUR_ISPB}/0001/${fresh}/CACC with this holder is already on line 5$`)];
    assert.equal(got.length, want.length, got.join('\n'));
    want.forEach((re, i) => assert.match(got[i]!, re));
    const noColumn = await loadAccountsFile(s.sql, file('columns.csv', [header.replace(',closed_at', ''), `${OUR_ISPB},0001,${n()},CACC,${carla.taxIdNumber},NATURAL_PERSON,2020-01-10T03:00:00Z`]), { ourIspb: OUR_ISPB });
    assert.deepEqual(!noColumn.ok && noColumn.errors.map((e) => e.line), [1]);
    assert.match(!noColumn.ok ? noColumn.errors[0]!.message : '', /missing closed_at/);
    const big = await loadAccountsFile(s.sql, path, { ourIspb: OUR_ISPB, maxBytes: 100 });
    assert.match(!big.ok ? big.errors[0]!.message : '', /over the 100-byte bound/);

    // The command: FILE:LINE on stderr, exit 1, nothing loaded; a good file exits 0.
    const run = (f: string) =>
      promisify(execFile)(process.execPath, [join(__dirname, '..', '..', 'scripts', 'accounts.js'), 'load', f], { env: { ...process.env, DATABASE_URL: env.databaseUrl, PSP_ISPB: OUR_ISPB } }).then(
        (o) => ({ code: 0, ...o }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const bad = await run(path);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.csv:3: tax_id_number is not a valid CPF/);
    assert.match(bad.stderr, /nothing loaded \(1 error\)/);
    assert.equal(await onlyHolder(id(fresh)), undefined);
    const ok = await run(file('ok.csv', lines.slice(0, 2)));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /1 accounts: 1 inserted, 0 updated, 0 unchanged/);
    assert.ok(await onlyHolder(id(fresh)));
  });
});
