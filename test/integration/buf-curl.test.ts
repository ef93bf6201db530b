// Smoke test with the tool operators use: buf curl over gRPC, gRPC-web and Connect.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createKeyRequest, newEmail } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';
import { KeyType } from '../../gen/dict/core/v1/types_pb.js';

const run = promisify(execFile);
const buf = require.resolve('@bufbuild/buf/bin/buf');

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s?.stop();
});

async function bufCurl(protocol: 'grpc' | 'grpcweb' | 'connect', method: string, body: unknown): Promise<{ code: number; out: string; err: string }> {
  const h2 = protocol === 'grpc';
  const base = h2 ? s.urls.grpcUrl : s.urls.httpUrl;
  const args = ['curl', '--schema', 'proto', '--protocol', protocol, ...(h2 ? ['--http2-prior-knowledge'] : []), '-H', `Authorization: Bearer ${await s.token()}`, '--data', JSON.stringify(body), `${base}/dict.core.v1.CoreDictService/${method}`];
  try {
    const { stdout, stderr } = await run(buf, args, { cwd: process.cwd(), timeout: 60_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

for (const protocol of ['grpc', 'grpcweb', 'connect'] as const) {
  test(`buf curl --protocol ${protocol}`, async () => {
    const key = newEmail();
    const req = createKeyRequest({ keyType: KeyType.EMAIL, key });
    const created = await bufCurl(protocol, 'CreateKey', {
      requestId: req.requestId,
      keyType: 'KEY_TYPE_EMAIL',
      key,
      account: { participant: req.account!.participant, branch: '0001', accountNumber: req.account!.accountNumber, accountType: 'ACCOUNT_TYPE_CACC', openingDate: '2020-01-10T03:00:00Z' },
      owner: { type: 'PERSON_TYPE_NATURAL_PERSON', taxIdNumber: req.owner!.taxIdNumber, name: req.owner!.name },
      reason: 'ENTRY_OPERATION_REASON_USER_REQUESTED',
      waitTimeout: '15s',
    });
    assert.equal(created.code, 0, created.err);
    const json = JSON.parse(created.out) as { entry: { key: string; status: string } };
    assert.equal(json.entry.key, key);
    assert.equal(json.entry.status, 'ENTRY_STATUS_ACTIVE');

    const bad = await bufCurl(protocol, 'GetKey', { entryId: 'nope' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /invalid_argument/);
  });
}
