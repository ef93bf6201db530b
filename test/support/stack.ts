// The whole system for integration tests, on the servers scripts/test.sh started (Postgres,
// Redis, Temporal dev server) plus, in this process, the DICT simulator, a worker on its own
// task queue and the API on ephemeral ports. Nothing is mocked. startStack takes the PSP
// (ISPB) it runs for; a second stack `beside` the first is another PSP's instance of our
// service (own schema, Redis db, task queue, worker, API) on the same simulator and Temporal.
import { randomUUID } from 'node:crypto';
import { createClient, type Client as RpcClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { join } from 'node:path';
import { createLogger } from '../../config/logger.js';
import { createDictClient, type DictClient } from '../../bridge/client.js';
import { createVerifier, readJwksFile } from '../../api/auth.js';
import { healthChecker } from '../../api/health.js';
import { rateLimiter, type RateLimitOptions } from '../../api/rate-limit.js';
import { build, type ApiServer, type BuildOptions } from '../../api/server.js';
import { codecAuthorizer, type AuthorizeCodec } from '../../api/codec-server.js';
import { AesGcmPayloadCodec, dataConverter, failureConverterPath, readPayloadKeys } from '../../config/payload-codec.js';
import { workflowClientInterceptors } from '../../config/tracing.js';
import { CoreDictService } from '../../gen/dict/core/v1/service_pb.js';
import { ensureDevPki, type DevPki } from '../../scripts/pki.js';
import { DEV_AUDIENCE, DEV_ISSUER, mintToken, type MintOptions } from '../../scripts/token.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator/server.js';
import { BCB_CLAIM_PERIODS, type ClaimPeriods } from '../../domain/claims.js';
import { createSql, type Sql } from '../../store/db.js';
import { createOwnEntryCache, type OwnEntryCache } from '../../store/own-entries.js';
import { createLookupCache, type LookupCache } from '../../store/lookup-cache.js';
import { createWorker, ensureClaimPoller, workflowInterceptorModules, workflowsPath } from '../../worker/worker.js';
import { claimPollerWorkflowId } from '../../workflows/claim-poller.js';
import { bearer } from './bearer.js';

export { bearer };

export const OUR_ISPB = '12345678';
export const OTHER_ISPB = '87654321';
export const THIRD_ISPB = '11223344';

export const env = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://coredict@127.0.0.1:25432/core_dict_test',
  simDatabaseUrl: process.env.SIM_DATABASE_URL ?? 'postgres://coredict@127.0.0.1:25432/dict_simulator_test',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:26379/0',
  temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:27233',
  natsUrl: process.env.NATS_URL ?? `nats://127.0.0.1:${process.env.TEST_NATS_PORT ?? '24222'}`,
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'core-dict',
  pkiDir: process.env.PKI_DIR ?? '.data/test/pki',
};

export interface StackOptions {
  /** The PSP this instance of our service runs for (ISPB). Default OUR_ISPB. */
  participant?: string;
  lookupCacheTtlSeconds?: number;
  /**
   * A running stack to stand beside: this one shares its simulator and Temporal, and gets its
   * own Postgres schema, Redis database, task queue, worker and API — a second PSP.
   */
  beside?: Stack;
  /** false: start without a worker (startWorker() later). Default true. */
  worker?: boolean;
  /** Claim periods our workflows assume (match the simulator's). Default BCB's. */
  claimPeriods?: ClaimPeriods;
  /** Run this PSP's claims poller, every `intervalMs` (default: no poller). */
  claimPoller?: { intervalMs: number; overlapMs?: number };
  /** Simulator options when this stack starts the simulator (not `beside`). */
  simulator?: Partial<SimulatorOptions>;
  /** API surface options: per-client rate limit (on this stack's Redis), TLS with the dev PKI's server pair, body cap. */
  api?: { rateLimit?: RateLimitOptions; tls?: boolean; readMaxBytes?: number; corsOrigins?: string[]; httpPort?: number };
  /** The codec server on the API's HTTP/1.1 listener: allowed origins (default TEST_UI_ORIGIN), body cap, authorization (default: operators' tokens). */
  codec?: { corsOrigins?: string[]; maxBodyBytes?: number; authorize?: AuthorizeCodec };
}

/** The origin the codec server allows in tests (a stand-in for the Web UI's). */
export const TEST_UI_ORIGIN = 'http://ui.core-dict.test';

/** The payload codec of the test PKI's keys (PAYLOAD_KEYS_FILE from scripts/test.sh, else the PKI's file). */
/**
 * The environment our programs (api/main.js, worker/main.js) need to run as `participant` on the
 * test databases and Temporal, on `taskQueue`, against DICT at `dictBaseUrl` (the simulator) with
 * the participant's signing certificate and DICT's trusted one.
 */
export function programEnv(o: { pki: DevPki; taskQueue: string; dictBaseUrl: string; participant?: string }): Record<string, string> {
  const p = o.pki.participants[o.participant ?? OUR_ISPB]!;
  return {
    PSP_ISPB: o.participant ?? OUR_ISPB,
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.namespace,
    TEMPORAL_TASK_QUEUE: o.taskQueue,
    DICT_BASE_URL: o.dictBaseUrl,
    DICT_SIGNING_KEY_FILE: p.keyFile,
    DICT_SIGNING_CERT_FILE: p.certFile,
    DICT_TRUSTED_CERT_FILE: o.pki.dict.certFile,
  };
}

export const testPayloadCodec = (pki: DevPki = testPki()): AesGcmPayloadCodec =>
  new AesGcmPayloadCodec(readPayloadKeys(process.env.PAYLOAD_KEYS_FILE || pki.payloadKeysFile, process.env.PAYLOAD_KEY_ID || undefined));

export interface Stack {
  /** The API's in-memory copy of our own entries (its TTL is long here: only announcements drop copies). */
  ownEntries: OwnEntryCache;
  /** ISPB of the PSP this stack is. */
  participant: string;
  pki: DevPki;
  sql: Sql;
  redis: Redis;
  cache: LookupCache;
  /** The API's health checker (rounds(): how often its dependencies were actually probed). */
  health: ReturnType<typeof healthChecker>;
  simulator: RunningSimulator;
  /** Our bridge (this stack's participant), as the worker uses it. */
  dict: DictClient;
  /** The bridge of another participant, to play another PSP in DICT. */
  otherPsp: DictClient;
  /** A client with the payload codec, as the API's and the worker's. */
  temporal: Client;
  /** The payload codec both use. */
  codec: AesGcmPayloadCodec;
  taskQueue: string;
  api: ApiServer;
  urls: { httpUrl: string; grpcUrl: string };
  /** Connect protocol over HTTP/1.1 (JSON), as this PSP's operator (OPERATOR token). */
  client: RpcClient<typeof CoreDictService>;
  /** Transports that send the operator's token. */
  transports: { connect: Transport; grpc: Transport; grpcWeb: Transport };
  /** A token of this PSP's dev identity provider (default: an operator's). */
  token(o?: Partial<TestTokenOptions>): Promise<string>;
  /** A client (Connect over HTTP/1.1) sending this token: e.g. a customer's, `await s.clientAs(await s.token(customer(...)))`. */
  clientAs(token: string): RpcClient<typeof CoreDictService>;
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
  /** Start this stack's worker (when started with worker: false, or after stopWorker). */
  startWorker(): Promise<void>;
  /** Stop this stack's worker, letting running tasks finish. */
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** Temporal's worker runtime, once per process, quiet. */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
  runtimeInstalled = true;
}

/**
 * The logger of in-process services in tests: our production logger (masking included) at info,
 * appending to $LOG_DIR/test-<pid>.log (.data/test/logs/) for the suite-level log scan; silent
 * when no LOG_DIR is set (a test run outside scripts/test.sh).
 */
export const testLogger = (): Logger =>
  process.env.LOG_DIR
    ? createLogger('test', process.env.TEST_LOG_LEVEL ?? 'info', { file: join(process.env.LOG_DIR, `test-${process.pid}.log`) })
    : pino({ level: 'silent' });

export type TestTokenOptions = Omit<MintOptions, 'keyPem'>;

/** A token from the dev identity provider of the test PKI (default: an operator of OUR_ISPB, valid 1 h). */
export function testToken(pki: DevPki, o: Partial<TestTokenOptions> = {}): Promise<string> {
  return mintToken({ keyPem: pki.auth.keyPem, kid: pki.auth.kid, ispb: OUR_ISPB, role: 'operator', sub: 'test-operator', ttlSeconds: 3 * 3600, ...o });
}

/** Options of a customer's token: the end user with this CPF/CNPJ, with a second factor unless `amr` says otherwise. */
export const customer = (taxId: string, amr: string[] = ['pwd', 'otp']): Partial<TestTokenOptions> => ({ role: 'customer', sub: `customer-${taxId}`, taxId, amr });

/** The API's verifier for a PSP, trusting the test PKI's dev identity provider. */
export const testVerifier = (pki: DevPki, participant: string) =>
  createVerifier({ participant, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: { keys: readJwksFile(pki.auth.jwksFile) } });

export const testPki = (): DevPki => ensureDevPki(env.pkiDir, [OUR_ISPB, OTHER_ISPB, THIRD_ISPB]);

/** The DICT simulator on an ephemeral port, its state reset. */
export async function startTestSimulator(pki: DevPki, log: Logger, extra: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const simulator = await startSimulator({
    ...extra,
    port: 0,
    databaseUrl: env.simDatabaseUrl,
    signing: { keyPem: pki.dict.keyPem, certPem: pki.dict.certPem },
    participants: Object.fromEntries(Object.entries(pki.participants).map(([ispb, p]) => [ispb, p.certPem])),
    logger: log,
  });
  const reset = await fetch(`${simulator.origin}/admin/reset`, { method: 'POST' });
  if (!reset.ok) throw new Error(`simulator reset failed: ${reset.status}`);
  return simulator;
}

/** A participant's bridge to the simulator, as the worker builds it. */
export function testBridge(simulator: RunningSimulator, pki: DevPki, ispb: string): DictClient {
  return createDictClient({
    baseUrl: simulator.url,
    participant: ispb,
    signing: { keyPem: pki.participants[ispb]!.keyPem, certPem: pki.participants[ispb]!.certPem },
    trustedDictCertsPem: [pki.dict.certPem],
    timeoutMs: 5_000,
  });
}

/** Our tables (every migrated table but dbmate's own), in the database's public schema. */
async function ourTables(sql: Sql): Promise<string[]> {
  const rows = await sql<{ table_name: string }[]>`
    select table_name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'schema_migrations'
     order by table_name`;
  return rows.map((r) => r.table_name);
}

/**
 * A fresh schema for a second PSP's instance: every migrated table of public copied with its
 * columns, defaults, checks and indexes (foreign keys are not copied by LIKE), and its triggers
 * (the entries' change announcements, store/own-entries.ts) calling the same functions.
 */
async function freshSchema(admin: Sql, schema: string): Promise<void> {
  await admin.unsafe(`drop schema if exists ${schema} cascade`);
  await admin.unsafe(`create schema ${schema}`);
  for (const t of await ourTables(admin)) {
    await admin.unsafe(`create table ${schema}.${t} (like public.${t} including all)`);
    const triggers = await admin<{ def: string }[]>`
      select pg_get_triggerdef(oid) as def from pg_trigger where tgrelid = ${`public.${t}`}::regclass and not tgisinternal`;
    for (const { def } of triggers) await admin.unsafe(def.replace(` ON public.${t} `, ` ON ${schema}.${t} `));
  }
}

let workflowBundle: { code: string } | undefined;
async function testWorkflowBundle(): Promise<{ code: string }> {
  workflowBundle ??= await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, failureConverterPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  return workflowBundle;
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  installTestRuntime();
  const participant = o.participant ?? OUR_ISPB;
  if (o.beside && o.beside.participant === participant) throw new Error(`a stack for ${participant} is already running`);
  const log = testLogger();
  const pki = testPki();

  let sql: Sql;
  let redisUrl = env.redisUrl;
  if (!o.beside) {
    sql = createSql(env.databaseUrl, { max: 10 });
    await sql.unsafe(`truncate ${(await ourTables(sql)).join(', ')}`);
  } else {
    const schema = `psp_${participant}`;
    await freshSchema(o.beside.sql, schema);
    sql = createSql(env.databaseUrl, { max: 10, searchPath: schema });
    // Its own Redis database: one PSP's lookup cache is not another's.
    const u = new URL(env.redisUrl);
    u.pathname = `/${Number(u.pathname.slice(1) || '0') + 1}`;
    redisUrl = u.toString();
  }
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  const cache = createLookupCache(redis);
  // As in the running API (LOOKUP_OWN_ENTRY_TTL_MS): own-key lookups answered from a copy that
  // Postgres' change announcements drop. Its lifetime is a minute here, not a second, so every
  // test that changes a key and then looks it up shows the announcement (not the expiry) at work.
  const ownEntries = createOwnEntryCache(env.databaseUrl, { ttlMs: 60_000, max: 10_000, log });

  const simulator = o.beside ? o.beside.simulator : await startTestSimulator(pki, log, o.simulator);
  const simAdmin = (path: string, method = 'GET', body?: unknown) =>
    fetch(`${simulator.origin}/admin/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const dict = testBridge(simulator, pki, participant);
  const otherIspb = participant === OTHER_ISPB ? THIRD_ISPB : OTHER_ISPB;
  const otherPsp = testBridge(simulator, pki, otherIspb);
  const ispbOf = new Map<DictClient, string>([
    [dict, participant],
    [otherPsp, otherIspb],
  ]);

  const taskQueue = `test-${participant}-${randomUUID()}`;
  const claimPeriods = o.claimPeriods ?? BCB_CLAIM_PERIODS;
  const codec = testPayloadCodec(pki);
  const converter = dataConverter(codec);
  const connection = await Connection.connect({ address: env.temporalAddress });
  const temporal = new Client({ connection, namespace: env.namespace, dataConverter: converter, interceptors: { workflow: await workflowClientInterceptors() } });
  const nativeConnection = await NativeConnection.connect({ address: env.temporalAddress });
  const bundle = await testWorkflowBundle();
  let running: { worker: Worker; run: Promise<void> } | undefined;
  const startWorker = async (): Promise<void> => {
    if (running) return;
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: env.namespace,
      taskQueue,
      deps: { sql, dict, cache, log, temporal, taskQueue, claimPeriods },
      workflowBundle: bundle,
      dataConverter: converter,
    });
    running = { worker, run: worker.run() };
  };
  const stopWorker = async (): Promise<void> => {
    if (!running) return;
    const r = running;
    running = undefined;
    r.worker.shutdown();
    await r.run;
  };
  if (o.worker !== false) await startWorker();
  if (o.claimPoller) {
    // One poller per participant: a stale one from an earlier test file is replaced.
    await ensureClaimPoller(temporal, taskQueue, { participant, intervalMs: o.claimPoller.intervalMs, overlapMs: o.claimPoller.overlapMs ?? 5_000 }, { replace: true });
  }

  const verifyBearer = testVerifier(pki, participant);
  const health = healthChecker({ temporal, sql, redis, dictBaseUrl: simulator.url });
  const api = build({
    participant,
    verifyBearer,
    log,
    version: 'test',
    sql,
    temporal,
    taskQueue,
    maxWaitMs: 20_000,
    claimPeriods,
    dict,
    cache,
    lookupCacheTtlSeconds: o.lookupCacheTtlSeconds ?? 180,
    ownEntries,
    health,
    rateLimiter: o.api?.rateLimit ? rateLimiter(redis, { keyPrefix: `core-dict:rl:${taskQueue}`, ...o.api.rateLimit }) : undefined,
    // The dev PKI's DICT server pair names localhost and 127.0.0.1: good for the API too.
    tls: o.api?.tls ? { certPem: pki.dict.certPem, keyPem: pki.dict.keyPem } : undefined,
    readMaxBytes: o.api?.readMaxBytes,
    corsOrigins: o.api?.corsOrigins,
    codec: {
      codec,
      namespace: env.namespace,
      authorize: o.codec?.authorize ?? codecAuthorizer({ verifyBearer }),
      corsOrigins: o.codec?.corsOrigins ?? [TEST_UI_ORIGIN],
      maxBodyBytes: o.codec?.maxBodyBytes,
      log,
    },
  });
  const urls = await api.listen({ host: '127.0.0.1', httpPort: o.api?.httpPort ?? 0, grpcPort: 0 });
  const nodeOptions = o.api?.tls ? { ca: pki.caCertPem } : undefined;
  const token = (t: Partial<TestTokenOptions> = {}) => testToken(pki, { ispb: participant, ...t });
  const operator = [bearer(await token())];
  const transports = {
    connect: createConnectTransport({ baseUrl: urls.httpUrl, httpVersion: '1.1', nodeOptions, interceptors: operator }),
    grpc: createGrpcTransport({ baseUrl: urls.grpcUrl, nodeOptions, interceptors: operator }),
    grpcWeb: createGrpcWebTransport({ baseUrl: urls.httpUrl, httpVersion: '1.1', nodeOptions, interceptors: operator }),
  };

  return {
    ownEntries,
    participant,
    pki,
    sql,
    redis,
    cache,
    health,
    simulator,
    dict,
    otherPsp,
    temporal,
    codec,
    taskQueue,
    api,
    urls,
    client: createClient(CoreDictService, transports.connect),
    transports,
    token,
    clientAs: (t) => createClient(CoreDictService, createConnectTransport({ baseUrl: urls.httpUrl, httpVersion: '1.1', nodeOptions, interceptors: [bearer(t)] })),
    simAdmin,
    async registerInDict(via, e) {
      const ispb = ispbOf.get(via);
      if (!ispb) throw new Error('registerInDict: a bridge of this stack is required');
      await via.createEntry({
        requestId: randomUUID(),
        reason: 'USER_REQUESTED',
        entry: {
          key: e.key,
          keyType: e.keyType,
          account: { participant: ispb, branch: '0001', accountNumber: e.accountNumber ?? '4242', accountType: 'CACC', openingDate: '2020-01-10T03:00:00.000Z' },
          owner: { type: e.owner.type, taxIdNumber: e.owner.taxIdNumber, name: e.owner.name },
        },
      });
    },
    async simStats() {
      const res = await simAdmin('stats');
      return (await res.json()) as { writes: Record<string, number>; requests: Record<string, number> };
    },
    startWorker,
    stopWorker,
    async stop() {
      if (o.claimPoller) await temporal.workflow.getHandle(claimPollerWorkflowId(participant)).terminate('test stack stopped').catch(() => undefined);
      await api.close();
      await stopWorker();
      await nativeConnection.close();
      await connection.close();
      dict.close();
      otherPsp.close();
      if (!o.beside) await simulator.close();
      redis.disconnect();
      await ownEntries.close();
      await sql.end({ timeout: 5 });
    },
  };
}

/**
 * A second API of our participant on the stack's database, Temporal, DICT client and cache, with
 * `over` replacing any of its options (an admission gate, a limiter, another cache…), listening on
 * free ports; the caller closes `api`. `client` speaks gRPC as this PSP's operator; `urls` are its listeners.
 */
export async function extraApi(s: Stack, over: Partial<BuildOptions>): Promise<{ api: ApiServer; client: RpcClient<typeof CoreDictService>; urls: { httpUrl: string; grpcUrl: string } }> {
  const api = build({
    participant: OUR_ISPB,
    verifyBearer: testVerifier(s.pki, OUR_ISPB),
    log: pino({ level: 'silent' }),
    version: 'test',
    sql: s.sql,
    temporal: s.temporal,
    taskQueue: s.taskQueue,
    maxWaitMs: 5_000,
    dict: s.dict,
    cache: s.cache,
    lookupCacheTtlSeconds: 180,
    health: async () => [],
    ...over,
  });
  const urls = await api.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  return { api, urls, client: createClient(CoreDictService, createGrpcTransport({ baseUrl: urls.grpcUrl, interceptors: [bearer(await s.token())] })) };
}
