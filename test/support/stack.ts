// The whole system for integration tests, on the servers scripts/test.sh started (Postgres,
// Redis, Temporal dev server) plus, in this process, the DICT simulator, a worker on its own
// task queue and the API on ephemeral ports. Nothing is mocked.
import { randomUUID } from 'node:crypto';
import { createClient, type Client as RpcClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createDictClient, type DictClient } from '../../bridge/client.js';
import { healthChecker } from '../../api/health.js';
import { build, type ApiServer } from '../../api/server.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { ensureDevPki, type DevPki } from '../../scripts/pki.js';
import { startSimulator, type RunningSimulator } from '../../simulator/server.js';
import { createSql, type Sql } from '../../store/db.js';
import { createLookupCache, type LookupCache } from '../../store/lookup-cache.js';
import { createWorker, workflowsPath } from '../../worker/worker.js';

export const OUR_ISPB = '12345678';
export const OTHER_ISPB = '87654321';
export const THIRD_ISPB = '11223344';

export const env = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://coredict@127.0.0.1:55432/core_dict_test',
  simDatabaseUrl: process.env.SIM_DATABASE_URL ?? 'postgres://coredict@127.0.0.1:55432/dict_simulator_test',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:56379/0',
  temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:57233',
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'core-dict',
  pkiDir: process.env.PKI_DIR ?? '.data/test/pki',
};

export interface Stack {
  pki: DevPki;
  sql: Sql;
  redis: Redis;
  cache: LookupCache;
  simulator: RunningSimulator;
  /** Our bridge (participant 12345678), as the worker uses it. */
  dict: DictClient;
  /** The bridge of another participant, to play another PSP in DICT. */
  otherPsp: DictClient;
  temporal: Client;
  taskQueue: string;
  api: ApiServer;
  urls: { httpUrl: string; grpcUrl: string };
  /** Connect protocol over HTTP/1.1 (JSON). */
  client: RpcClient<typeof CoreDictService>;
  transports: { connect: Transport; grpc: Transport; grpcWeb: Transport };
  /**
   * Register a key directly in DICT through a participant's bridge, bypassing our service
   * (another PSP's customer, or one of ours registered before this service existed).
   */
  registerInDict(
    via: DictClient,
    e: { key: string; keyType: 'CPF' | 'CNPJ' | 'PHONE' | 'EMAIL'; owner: { type: 'NATURAL_PERSON' | 'LEGAL_PERSON'; taxIdNumber: string; name: string }; accountNumber?: string },
  ): Promise<void>;
  /** Applied-write counters of the simulator. */
  simStats(): Promise<{ writes: Record<string, number>; requests: Record<string, number> }>;
  simAdmin(path: string, method?: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startStack(o: { lookupCacheTtlSeconds?: number } = {}): Promise<Stack> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
    runtimeInstalled = true;
  }
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const pki = ensureDevPki(env.pkiDir, [OUR_ISPB, OTHER_ISPB, THIRD_ISPB]);

  const sql = createSql(env.databaseUrl, { max: 10 });
  await sql`truncate entries, operations, outbox`;
  const redis = new Redis(env.redisUrl);
  await redis.flushdb();
  const cache = createLookupCache(redis);

  const simulator = await startSimulator({
    port: 0,
    databaseUrl: env.simDatabaseUrl,
    signing: { keyPem: pki.dict.keyPem, certPem: pki.dict.certPem },
    participants: Object.fromEntries(Object.entries(pki.participants).map(([ispb, p]) => [ispb, p.certPem])),
    logger: log,
  });
  const simAdmin = (path: string, method = 'GET', body?: unknown) =>
    fetch(`${simulator.origin}/admin/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const reset = await simAdmin('reset', 'POST');
  if (!reset.ok) throw new Error(`simulator reset failed: ${reset.status}`);

  const bridgeFor = (ispb: string): DictClient =>
    createDictClient({
      baseUrl: simulator.url,
      participant: ispb,
      signing: { keyPem: pki.participants[ispb]!.keyPem, certPem: pki.participants[ispb]!.certPem },
      trustedDictCertsPem: [pki.dict.certPem],
      timeoutMs: 5_000,
    });
  const dict = bridgeFor(OUR_ISPB);
  const otherPsp = bridgeFor(OTHER_ISPB);

  const taskQueue = `test-${randomUUID()}`;
  const connection = await Connection.connect({ address: env.temporalAddress });
  const temporal = new Client({ connection, namespace: env.namespace });
  const nativeConnection = await NativeConnection.connect({ address: env.temporalAddress });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  const worker: Worker = await createWorker({
    connection: nativeConnection,
    namespace: env.namespace,
    taskQueue,
    deps: { sql, dict, cache, log },
    workflowBundle,
  });
  const workerRun = worker.run();

  const api = build({
    participant: OUR_ISPB,
    log,
    version: 'test',
    sql,
    temporal,
    taskQueue,
    maxWaitMs: 20_000,
    dict,
    cache,
    lookupCacheTtlSeconds: o.lookupCacheTtlSeconds ?? 180,
    health: healthChecker({ temporal, sql, redis, dictBaseUrl: simulator.url }),
  });
  const urls = await api.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  const transports = {
    connect: createConnectTransport({ baseUrl: urls.httpUrl, httpVersion: '1.1' }),
    grpc: createGrpcTransport({ baseUrl: urls.grpcUrl }),
    grpcWeb: createGrpcWebTransport({ baseUrl: urls.httpUrl, httpVersion: '1.1' }),
  };

  return {
    pki,
    sql,
    redis,
    cache,
    simulator,
    dict,
    otherPsp,
    temporal,
    taskQueue,
    api,
    urls,
    client: createClient(CoreDictService, transports.connect),
    transports,
    simAdmin,
    async registerInDict(via, e) {
      await via.createEntry({
        requestId: randomUUID(),
        reason: 'USER_REQUESTED',
        entry: {
          key: e.key,
          keyType: e.keyType,
          account: { participant: via === dict ? OUR_ISPB : OTHER_ISPB, branch: '0001', accountNumber: e.accountNumber ?? '4242', accountType: 'CACC', openingDate: '2020-01-10T03:00:00.000Z' },
          owner: { type: e.owner.type, taxIdNumber: e.owner.taxIdNumber, name: e.owner.name },
        },
      });
    },
    async simStats() {
      const res = await simAdmin('stats');
      return (await res.json()) as { writes: Record<string, number>; requests: Record<string, number> };
    },
    async stop() {
      await api.close();
      worker.shutdown();
      await workerRun;
      await nativeConnection.close();
      await connection.close();
      dict.close();
      otherPsp.close();
      await simulator.close();
      redis.disconnect();
      await sql.end({ timeout: 5 });
    },
  };
}
