// Records one history per entry-workflow path from a running dev stack (bash scripts/run.sh),
// as replay fixtures for test/unit/workflow-replay.test.ts. Re-run only when a NEW history
// shape must be guarded; existing fixtures are the compatibility contract with workflows that
// are already running in production — changing workflow code that breaks them needs patched().
//   node dist/test/histories/capture.js [--url http://127.0.0.1:8080]
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { devBearer } from '../../scripts/token.js';
import { Client, Connection } from '@temporalio/client';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { EntryOperationReason, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { createDictClient } from '../../bridge/client.js';
import { ensureDevPki } from '../../scripts/pki.js';
import { account, createKeyRequest, naturalPerson, newEmail, newPhone } from '../support/fixtures.js';

const url = process.argv.includes('--url') ? process.argv[process.argv.indexOf('--url') + 1]! : 'http://127.0.0.1:8080';
const out = join(__dirname, '..', '..', '..', 'test', 'histories');
const wait = { seconds: 10n, nanos: 0 };

async function main(): Promise<void> {
  const api = createClient(CoreDictService, createConnectTransport({ baseUrl: url, httpVersion: '1.1', interceptors: [devBearer()] }));
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'core-dict';
  const connection = await Connection.connect({ address });
  const temporal = new Client({ connection, namespace });
  // The temporal CLI's JSON is what historyFromJSON reads back (and what operators export).
  const save = async (name: string, workflowId: string) => {
    await temporal.workflow.getHandle(workflowId).result().catch(() => undefined);
    const json = execFileSync(process.env.TEMPORAL_BIN ?? 'temporal', ['workflow', 'show', '--address', address, '--namespace', namespace, '--workflow-id', workflowId, '--output', 'json']);
    writeFileSync(join(out, `${name}.json`), json);
    console.log(`${name}: ${workflowId}`);
  };

  const owner = naturalPerson();
  const key = newEmail();
  const created = await api.createKey(createKeyRequest({ keyType: KeyType.EMAIL, key, owner }));
  await save('create-entry-active', created.operation!.workflowId);

  const updated = await api.updateKey({ requestId: randomUUID(), key, account: account(), owner, reason: EntryOperationReason.BRANCH_TRANSFER, waitTimeout: wait });
  await save('update-entry-done', updated.operation!.workflowId);

  // create-entry-refused-locally.json (reserveEntry refusing: the key is live here) is kept from
  // before the API refused such requests itself, synchronously, without starting a workflow;
  // the path stays for requests accepted by an older API, so its fixture is not re-recorded.

  // Refused by DICT: the phone is another person's at another participant.
  const pki = ensureDevPki(process.env.PKI_DIR ?? '.data/dev/pki', ['12345678', '87654321', '11223344']);
  const other = createDictClient({
    baseUrl: process.env.DICT_BASE_URL ?? 'http://127.0.0.1:8090/api/v2',
    participant: '87654321',
    signing: pki.participants['87654321']!,
    trustedDictCertsPem: [pki.dict.certPem],
  });
  const phone = newPhone();
  const stranger = naturalPerson();
  await other.createEntry({
    requestId: randomUUID(),
    reason: 'USER_REQUESTED',
    entry: { key: phone, keyType: 'PHONE', account: { participant: '87654321', accountNumber: '1', accountType: 'CACC', openingDate: '2020-01-10T03:00:00.000Z' }, owner: { type: 'NATURAL_PERSON', taxIdNumber: stranger.taxIdNumber, name: stranger.name } },
  });
  other.close();
  const refused = createKeyRequest({ keyType: KeyType.PHONE, key: phone });
  await api.createKey(refused).catch(() => undefined);
  await save('create-entry-refused-by-dict', `entry-create/12345678/${refused.requestId}`);

  const deleted = await api.deleteKey({ requestId: randomUUID(), key, reason: EntryOperationReason.USER_REQUESTED, waitTimeout: wait });
  await save('delete-entry-done', deleted.operation!.workflowId);

  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
