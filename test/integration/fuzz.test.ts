// Every RPC driven with generated input (test/support/fuzz.ts): well-shaped messages with wrong
// values (test/support/fuzz-values.ts: near-valid BCB identifiers, keys of the wrong type, edge
// timestamps, another customer's key and ids) and random bytes, on every protocol in turn.
// FUZZ_CI_RUNS (default 120) cases of each kind per RPC — 240 per RPC — and the number that
// reached the server is asserted per RPC, kind and protocol, so a generator that silently runs
// nothing fails the test. bench/fuzz.ts runs 10,000 per RPC.
// No Internal/Unknown/DataLoss answer and no HTTP 5xx, the server stays ready, and nothing is
// half-written (HALF_WRITTEN_SQL, and every accepted request's workflow exists in Temporal).
// The API logs at debug level here, so its per-call lines ("rpc failed" with the reason, which
// echoes hostile keys and tax ids) are in the suite's log scan (test/support/log-scan.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { EntryStatus, KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { createKeyRequest, naturalPerson, newCpf, newPhone } from '../support/fixtures.js';
import { FUZZED_METHODS, fuzzClients, fuzzMethod, HALF_WRITTEN_SQL, PROTOCOLS, ready, summarize, type Finding, type FuzzRun } from '../support/fuzz.js';
import { customer, OTHER_ISPB, OUR_ISPB, startStack, THIRD_ISPB, type Stack } from '../support/stack.js';

const RUNS = Number(process.env.FUZZ_CI_RUNS ?? 120);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261204;
// A safety bound per RPC, far above what a run takes: hitting it fails the count assertion.
const LIMIT_MS = Number(process.env.FUZZ_CI_LIMIT_MS ?? 60_000);
// Each protocol's share of a kind; generated messages a client cannot encode (a Timestamp beyond
// JSON's range) are not sent, so at least half of a message share must reach the server.
const SHARE = Math.ceil(RUNS / PROTOCOLS.length);

let s: Stack;
let startedAt: Date;
before(async () => {
  // Per-call log lines are debug: this file's API writes them into the scanned logs.
  process.env.TEST_LOG_LEVEL = 'debug';
  s = await startStack();
  startedAt = new Date(Date.now() - 1000);
});
after(async () => {
  await s?.stop();
});

test('every RPC survives generated messages and random bytes on every protocol', { timeout: 30 * 60_000 }, async () => {
  // Alice's key exists; the fuzzer sends it (and its entry and request ids) as the operator and as Bob.
  const alice = naturalPerson(newCpf());
  const aliceKey = newPhone();
  const req = createKeyRequest({ keyType: KeyType.PHONE, key: aliceKey, owner: alice });
  const created = await s.client.createKey(req);
  assert.equal(created.entry?.status, EntryStatus.ACTIVE);
  const bob = await s.token(customer(newCpf()));
  const target = {
    ...s.urls,
    token: await s.token(),
    otherTokens: [bob],
    known: { keys: [aliceKey, alice.taxIdNumber], taxIds: [alice.taxIdNumber], ids: [req.requestId, created.entry!.entryId], ispbs: [OUR_ISPB, OTHER_ISPB, THIRD_ISPB] },
  };
  const tr = fuzzClients(target);
  const findings: Finding[] = [];
  const runs: Record<string, FuzzRun> = {};
  for (const method of FUZZED_METHODS) {
    const run = await fuzzMethod(target, tr, method, { runs: RUNS, seed: SEED, timeLimitMs: LIMIT_MS });
    runs[method.name] = run;
    findings.push(...run.findings);
    assert.ok(await ready(target.httpUrl), `/readyz after ${method.name}`);
  }
  assert.deepEqual(summarize(findings), [], `${findings.length} findings`);
  // The case minimum, per RPC, kind and protocol.
  const short: string[] = [];
  for (const method of FUZZED_METHODS) {
    const r = runs[method.name]!;
    if (r.interrupted) short.push(`${method.name}: stopped after ${LIMIT_MS} ms`);
    for (const p of PROTOCOLS) {
      if (r.sent.bytes[p] !== SHARE) short.push(`${method.name} bytes ${p}: ${r.sent.bytes[p]} of ${SHARE}`);
      if (r.sent.message[p] < SHARE / 2) short.push(`${method.name} messages ${p}: ${r.sent.message[p]} of ${SHARE}`);
    }
    assert.ok(r.cases >= 2 * RUNS * 0.9, `${method.name}: ${r.cases} cases`);
  }
  assert.deepEqual(short, [], 'cases that reached the server, per RPC, kind and protocol');
  const total = Object.values(runs).reduce((n, r) => n + r.cases, 0);
  const answers: Record<string, number> = {};
  for (const r of Object.values(runs)) for (const [k, n] of Object.entries(r.answers)) answers[k] = (answers[k] ?? 0) + n;
  // Not a tautology: generated messages must get past decoding to the handlers' own checks.
  assert.ok((answers.InvalidArgument ?? 0) > 0 && (answers.NotFound ?? 0) + (answers.PermissionDenied ?? 0) + (answers.FailedPrecondition ?? 0) > 0, JSON.stringify(answers));
  console.log(`fuzz: ${total} cases over ${FUZZED_METHODS.length} RPCs, answers ${JSON.stringify(answers)}`);
});

test('nothing half-written: entry and claim rows have their request, accepted requests their rows and workflow', { timeout: 5 * 60_000 }, async () => {
  const orphans = await s.sql.unsafe(HALF_WRITTEN_SQL, [startedAt]);
  assert.deepEqual([...orphans], []);
  const ops = await s.sql<{ workflow_id: string }[]>`select workflow_id from operations where created_at >= ${startedAt}`;
  assert.ok(ops.length > 0, 'the fuzzer got some requests accepted');
  const missing: string[] = [];
  for (const o of ops) {
    try {
      await s.temporal.workflow.getHandle(o.workflow_id).describe();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) missing.push(o.workflow_id);
      else throw e;
    }
  }
  assert.deepEqual(missing, []);
});
