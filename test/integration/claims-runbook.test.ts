// The operators' runbook (README.md, "Claims runbook") is executable: every `temporal` command
// of its table runs here, with the CLI, against live claims, and does what the table says.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { ClaimStatus, KeyType, type Claim } from '../../gen/dict/core/v1/types_pb.js';
import { dictClaim, newAccountNumber, startClaimRequest, untilStatus } from '../support/claims.js';
import { account, createKeyRequest, naturalPerson, newPhone } from '../support/fixtures.js';
import { env, OTHER_ISPB, OUR_ISPB, startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);
// Long enough that no claim resolves by itself while the commands run.
const PERIODS = { resolutionMs: 60_000, closingMs: 3_000, claimerDeadlineMs: 120_000 };

/** The `temporal …` commands of the runbook table, as written. */
function runbookCommands(): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Claims runbook'), readme.indexOf('\n## ', readme.indexOf('## Claims runbook') + 5));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .map((l) => /\| `(temporal [^`]+)` \|/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined);
}

let s: Stack;
before(async () => {
  s = await startStack({ claimPeriods: PERIODS, claimPoller: { intervalMs: 1_500 }, simulator: { claimPeriods: PERIODS } });
});
after(async () => {
  await s?.stop();
});

const statusOf = (claimId: string) => async (): Promise<Claim | undefined> => (await s.client.getClaimStatus({ by: { case: 'claimId', value: claimId } })).claim;

async function donorClaim(type: 'OWNERSHIP' | 'PORTABILITY'): Promise<string> {
  const owner = naturalPerson();
  const key = type === 'OWNERSHIP' ? newPhone() : owner.taxIdNumber;
  await s.client.createKey(createKeyRequest({ keyType: type === 'OWNERSHIP' ? KeyType.PHONE : KeyType.CPF, key, owner, account: account(OUR_ISPB) }));
  const { claim } = await s.otherPsp.createClaim({ claim: dictClaim(type, key, type === 'OWNERSHIP' ? 'PHONE' : 'CPF', account(OTHER_ISPB), type === 'OWNERSHIP' ? naturalPerson() : owner) });
  await untilStatus('acknowledged', statusOf(claim.id), ClaimStatus.WAITING_RESOLUTION, 15_000);
  return claim.id;
}

async function claimerClaim(): Promise<string> {
  const key = newPhone();
  const holder = naturalPerson();
  await s.registerInDict(s.otherPsp, { key, keyType: 'PHONE', owner: { type: 'NATURAL_PERSON', taxIdNumber: holder.taxIdNumber, name: holder.name }, accountNumber: newAccountNumber() });
  const started = await s.client.startClaim(startClaimRequest(key, account(OUR_ISPB), naturalPerson()));
  const claimId = started.claim!.claimId;
  await s.otherPsp.acknowledgeClaim({ claimId, participant: OTHER_ISPB });
  await untilStatus('waiting', statusOf(claimId), ClaimStatus.WAITING_RESOLUTION);
  return claimId;
}

async function temporalCli(command: string, claimId: string): Promise<string> {
  const filled = command
    .replaceAll('<claim id>', claimId)
    .replaceAll('<uuid>', randomUUID())
    .replaceAll('<you>', 'runbook-test')
    .replaceAll('<ExtendedClaim JSON>', JSON.stringify((await s.otherPsp.getClaim(claimId)).claim));
  assert.ok(!/<[a-zA-Z ]+>/.test(filled), `unfilled placeholder in: ${filled}`);
  const bin = process.env.TEMPORAL_BIN ?? 'temporal';
  const { stdout } = await run('bash', ['-c', filled.replace(/^temporal /, `"${bin}" `)], {
    // Workflow data is encrypted: the CLI encodes and decodes through the API's codec endpoint
    // with an operator's token, as the runbook says.
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.temporalAddress,
      TEMPORAL_NAMESPACE: env.namespace,
      TEMPORAL_CODEC_ENDPOINT: `${s.urls.httpUrl}/codec`,
      TEMPORAL_CODEC_AUTH: `Bearer ${await s.token()}`,
    },
  });
  return stdout;
}

test('every temporal command of the claims runbook works against live claims', async () => {
  const commands = runbookCommands();
  assert.ok(commands.length >= 10, `runbook commands found: ${commands.length}`);
  const donor = await donorClaim('OWNERSHIP');
  const portability = await donorClaim('PORTABILITY');
  const claimer = await claimerClaim();
  const completing = await claimerClaim();
  await s.otherPsp.confirmClaim({ claimId: completing, participant: OTHER_ISPB, reason: 'USER_REQUESTED' });
  await untilStatus('confirmed', statusOf(completing), ClaimStatus.CONFIRMED);

  // Reads first, the decisions last (each on its own claim).
  const order = (c: string) => (/update execute/.test(c) ? 1 : 0);
  for (const command of [...commands].sort((x, y) => order(x) - order(y))) {
    const claimId = command.includes('donorCancel') ? portability : command.includes('claimerCancel') ? claimer : command.includes('claimerComplete') ? completing : donor;
    const out = await temporalCli(command, claimId).catch((err: { stderr?: string; message: string }) => assert.fail(`${command}\n${err.stderr ?? err.message}`));
    if (command.includes('workflow list')) assert.match(out, new RegExp(`claim/${OUR_ISPB}/`), command);
    if (command.includes('workflow count')) assert.match(out, /[1-9]/, command);
    if (command.includes('--name claimState')) assert.match(out, /WAITING_RESOLUTION/, command);
    if (command.includes('claim-poller')) assert.match(out, /Type\s+claimPollerWorkflow/, command);
  }

  const confirmed = await untilStatus('donorConfirm applied', statusOf(donor), ClaimStatus.CONFIRMED);
  assert.equal((await s.otherPsp.getClaim(donor)).claim.confirmReason, 'USER_REQUESTED');
  assert.ok(confirmed);
  await untilStatus('donorCancel applied', statusOf(portability), ClaimStatus.CANCELLED);
  await untilStatus('claimerCancel applied', statusOf(claimer), ClaimStatus.CANCELLED);
  await untilStatus('claimerComplete applied', statusOf(completing), ClaimStatus.COMPLETED);
});
