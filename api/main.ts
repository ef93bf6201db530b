// The API process: Connect-RPC handler in front of Temporal, Postgres, Redis and (for
// lookups) the Bacen bridge. With API_WORKERS ≠ 1 (default 0 = one per core) a node:cluster
// primary forks that many workers that listen on the same ports, each with its own Postgres
// pool, Redis client, Temporal connection and DICT agent (they share nothing but those
// servers); the primary only hands out connections, restarts a worker that dies, and on
// SIGTERM/SIGINT asks every worker to drain and waits for them. Prometheus /metrics is served on
// API_METRICS_PORT (api/metrics-server.ts) by the single process, or by the primary for the
// whole cluster; never on the public ports.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { claimPeriodsFromConfig, loadApiConfig, readApiTls, readDictMaterial, type ApiConfig } from '../config/index.js';
import { dictClientFromConfig } from '../config/dict-client.js';
import { resilientLookups } from '../bridge/resilience.js';
import type { Logger } from 'pino';
import { createLogger } from '../config/logger.js';
import { setupTracing, tracing, workflowClientInterceptors } from '../config/tracing.js';
import { installStacklessAbortErrors } from '../config/abort-errors.js';
import { clusterExposition, collectProcessMetrics, joinClusterMetrics, watchCircuit, watchDatabase, watchDependency } from '../config/metrics.js';
import { startApiMetricsServer, type ApiMetricsServer } from './metrics-server.js';
import { createSql } from '../store/db.js';
import { createOwnEntryCache } from '../store/own-entries.js';
import { createAntiscanLimiter, createPoliciesRound } from '../store/antiscan.js';
import { createLookupCache, redisFailFastOptions } from '../store/lookup-cache.js';
import { startAntiscanReconciler } from './antiscan.js';
import { AesGcmPayloadCodec, dataConverter, readPayloadKeys } from '../config/payload-codec.js';
import { leasedLimiter } from './rate-limit-lease.js';
import { authOptionsFromConfig, createVerifier, setVerifier } from './auth.js';
import { callContextOf } from './call-context.js';
import { codecAuthorizer } from './codec-server.js';
import { healthChecker } from './health.js';
import { parseOrigins } from './cors.js';
import { rateLimiter } from './rate-limit.js';
import { build } from './server.js';

const VERSION = process.env.npm_package_version ?? '0.1.0';
// A worker that has not drained by then (its grace time plus this) is killed.
const WORKER_STOP_SLACK_MS = 5_000;

async function serve(config: ApiConfig): Promise<void> {
  const log = createLogger('core-dict-api', config.LOG_LEVEL);
  if (!config.API_ABORT_ERROR_STACKS) installStacklessAbortErrors();
  await setupTracing({ serviceName: 'core-dict-api', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  // Refuse to start without a usable verifier (bad JWKS, `none`/HS algorithms): never serve unauthenticated.
  // The IdP's keys unreachable: calls answer UNAVAILABLE; one warning per 10 s says how many.
  let keyFailures = 0;
  let keyFailureLoggedAt = 0;
  const onKeySourceError = (err: unknown): void => {
    keyFailures++;
    if (Date.now() - keyFailureLoggedAt < 10_000) return;
    log.warn({ err: err instanceof Error ? err.message : String(err), calls: keyFailures }, 'auth: identity provider keys unavailable (calls answered UNAVAILABLE)');
    keyFailureLoggedAt = Date.now();
    keyFailures = 0;
  };
  const verifyBearer = createVerifier({ ...authOptionsFromConfig(config), onKeySourceError });
  setVerifier(verifyBearer);
  const tls = readApiTls(config);
  if (config.ACCOUNT_REGISTRY === 'off') {
    log.warn({ ACCOUNT_REGISTRY: config.ACCOUNT_REGISTRY }, "ACCOUNT_REGISTRY=off: customers' accounts are not verified (any customer can name any account of this PSP in CreateKey, UpdateKey, StartClaim, StartPortability)");
  }
  const sql = createSql(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX });
  // LookupKey of our own keys: a short in-memory copy, dropped as Postgres announces changes (one more connection).
  const ownEntries = config.LOOKUP_OWN_ENTRY_TTL_MS
    ? createOwnEntryCache(config.DATABASE_URL, { ttlMs: config.LOOKUP_OWN_ENTRY_TTL_MS, max: config.LOOKUP_OWN_ENTRY_MAX, log })
    : undefined;
  // The lookup path never waits on Redis: no offline queue, a short command timeout, and a
  // circuit breaker in the cache; ioredis reconnects in the background.
  const redis = new Redis(config.REDIS_URL, redisFailFastOptions(config.REDIS_COMMAND_TIMEOUT_MS));
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis error'));
  // One setting for every Redis breaker on the request path (lookup cache, anti-scanning buckets).
  const redisBreaker = {
    threshold: config.REDIS_BREAKER_THRESHOLD,
    windowMs: config.REDIS_BREAKER_WINDOW_MS,
    minimumRps: config.REDIS_BREAKER_MIN_RPS,
    halfOpenAfterMs: config.REDIS_BREAKER_HALF_OPEN_MS,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  };
  const cache = createLookupCache(redis, {
    breaker: {
      ...redisBreaker,
      onStateChange: (state, cause) =>
        state === 'closed' ? log.info({ state }, 'lookup cache circuit closed') : log.warn({ state, cause: cause instanceof Error ? cause.message : undefined }, 'lookup cache circuit changed'),
    },
  });
  // Lookups sit on a payment's critical path: fail fast rather than hold the payer.
  const dictClient = dictClientFromConfig(config, config.LOOKUP_ATTEMPT_TIMEOUT_MS);
  const dict = resilientLookups(dictClient, {
    budgetMs: config.LOOKUP_TIMEOUT_MS,
    attemptTimeoutMs: config.LOOKUP_ATTEMPT_TIMEOUT_MS,
    maxAttempts: config.LOOKUP_MAX_ATTEMPTS,
    breaker: {
      threshold: config.LOOKUP_BREAKER_THRESHOLD,
      windowMs: config.LOOKUP_BREAKER_WINDOW_MS,
      minimumRps: config.LOOKUP_BREAKER_MIN_RPS,
      halfOpenAfterMs: config.LOOKUP_BREAKER_HALF_OPEN_MS,
    },
    onBreakerStateChange: (state) => (state === 'closed' ? log.info({ state }, 'DICT lookup circuit closed') : log.warn({ state }, 'DICT lookup circuit changed')),
  });

  // BCB's anti-scanning buckets, in Redis behind the same kind of breaker, with an in-process
  // fallback while Redis is away: ANTISCAN_FALLBACK_FRACTION of BCB's rates for this API
  // instance, shared among its cluster workers (each allows its part, so together they stay
  // within the fraction whatever API_WORKERS is).
  const processes = cluster.isWorker ? config.API_WORKERS || availableParallelism() : 1;
  const fallbackFraction = config.ANTISCAN_FALLBACK_FRACTION / processes;
  if (config.ANTISCAN_ENABLED) log.info({ fallbackFraction, processes }, 'antiscan fallback share of this process');
  const antiscan = config.ANTISCAN_ENABLED
    ? createAntiscanLimiter(redis, {
        category: config.ANTISCAN_PARTICIPANT_CATEGORY,
        fallbackFraction,
        breaker: redisBreaker,
      })
    : undefined;
  const reconciler = antiscan
    ? startAntiscanReconciler({
        limiter: antiscan,
        dict: dictClient,
        participant: config.PSP_ISPB,
        intervalMs: config.ANTISCAN_RECONCILE_INTERVAL_MS,
        // One process of the deployment asks DICT per round (POLICIES_LIST: 6 a minute).
        round: createPoliciesRound(redis, config.PSP_ISPB),
        log,
      })
    : undefined;
  // Per-client rate limit in Redis (same breaker settings), in memory while Redis is away.
  const clientLimiter = config.API_RATE_LIMIT_POINTS
    ? rateLimiter(redis, {
        points: config.API_RATE_LIMIT_POINTS,
        durationSeconds: config.API_RATE_LIMIT_DURATION_SECONDS,
        keyPrefix: `core-dict:rl:${config.PSP_ISPB}`,
        breaker: redisBreaker,
        onStateChange: (state) => (state === 'closed' ? log.info({ state }, 'rate limit circuit closed') : log.warn({ state }, 'rate limit circuit changed')),
      })
    : undefined;
  // Workflow data is encrypted before it reaches Temporal; a bad keys file stops the start.
  const codec = new AesGcmPayloadCodec(readPayloadKeys(config.PAYLOAD_KEYS_FILE, config.PAYLOAD_KEY_ID));
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  // With tracing set up: StartWorkflow spans, and the trace context handed to the workflow in its headers.
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverter(codec), interceptors: { workflow: await workflowClientInterceptors() } });
  // Connecting switched the client's call context (and Node's promise hooks) on: off until a write needs it.
  callContextOf(temporal).settle();

  const server = build({
    participant: config.PSP_ISPB,
    verifyBearer,
    log,
    version: VERSION,
    sql,
    temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    maxWaitMs: config.API_MAX_WAIT_MS,
    claimPeriods: claimPeriodsFromConfig(config),
    dict,
    cache,
    ...(antiscan ? { antiscan } : {}),
    lookupCacheTtlSeconds: config.LOOKUP_CACHE_TTL_SECONDS,
    ownKeyHintMax: config.LOOKUP_OWN_KEY_HINT_MAX,
    ...(ownEntries ? { ownEntries } : {}),
    accountRegistry: config.ACCOUNT_REGISTRY,
    health: healthChecker({ temporal, sql, redis, dictBaseUrl: config.DICT_BASE_URL, dictTls: readDictMaterial(config).tls, maxAgeMs: config.HEALTH_MAX_AGE_MS, log }),
    admission: {
      maxInFlightRpcs: config.API_MAX_IN_FLIGHT_RPCS,
      lookupDbMaxInFlight: Math.min(config.LOOKUP_DB_MAX_IN_FLIGHT || config.DATABASE_POOL_MAX, config.DATABASE_POOL_MAX),
      lookupDbMaxQueue: config.LOOKUP_DB_MAX_QUEUE,
    },
    statsIntervalMs: config.RPC_STATS_INTERVAL_MS,
    readMaxBytes: config.API_READ_MAX_BYTES,
    rateLimiter: clientLimiter
      ? leasedLimiter(clientLimiter, { lease: config.API_RATE_LIMIT_LEASE || Math.floor(config.API_RATE_LIMIT_POINTS / 100) })
      : undefined,
    authFailureLimit: { points: config.API_AUTH_FAILURE_LIMIT_POINTS, durationSeconds: config.API_AUTH_FAILURE_LIMIT_DURATION_SECONDS },
    trustProxyHops: config.API_TRUST_PROXY_HOPS,
    tls,
    reflection: config.API_REFLECTION,
    corsOrigins: parseOrigins(config.API_CORS_ORIGINS),
    codec: {
      codec,
      namespace: config.TEMPORAL_NAMESPACE,
      authorize: codecAuthorizer({ verifyBearer, allowLoopback: config.CODEC_ALLOW_LOOPBACK }),
      corsOrigins: parseOrigins(config.CODEC_CORS_ORIGINS),
      maxBodyBytes: config.CODEC_MAX_BODY_BYTES,
      log,
    },
  });
  if (config.RPC_STATS_INTERVAL_MS) {
    // Alongside the rpc stats: how lookups fared with Redis (calls, failures, waits over 100 ms)…
    logGrowth(log, 'lookup cache stats', config.RPC_STATS_INTERVAL_MS, () => cache.stats(), ['calls', 'failures', 'shortCircuited', 'over100ms'], ['calls'], (now) => ({
      maxMsEver: Number(now.maxMs.toFixed(2)),
      circuit: cache.state(),
    }));
    // …and how own-key lookups were answered: the in-memory copy (hits), another lookup's read (shared) or Postgres (misses).
    if (ownEntries) {
      logGrowth(log, 'own entry stats', config.RPC_STATS_INTERVAL_MS, () => ownEntries.stats(), ['hits', 'shared', 'misses', 'announcements', 'discarded'], ['hits', 'shared', 'misses'], (now) => ({ listening: now.listening }));
    }
  }
  collectProcessMetrics();
  if (cluster.isWorker) joinClusterMetrics();
  watchCircuit('lookup-cache', () => cache.state());
  if (clientLimiter) watchCircuit('rate-limit', () => clientLimiter.state());
  watchDatabase(sql, config.METRICS_DB_MIN_INTERVAL_MS);
  watchDependency('postgres', async () => (await sql`select 1`, true));
  watchDependency('redis', async () => (await redis.ping()) === 'PONG');
  const urls = await server.listen({ host: config.API_HOST, httpPort: config.API_PORT, grpcPort: config.API_GRPC_PORT });
  log.info({ ...urls, pid: process.pid, worker: cluster.isWorker ? cluster.worker?.id : undefined }, 'api listening');
  // One process: it serves its own metrics listener (in a cluster the primary does).
  const metricsServer = !cluster.isWorker && config.API_METRICS_PORT ? await startApiMetricsServer({ host: config.API_METRICS_HOST, port: config.API_METRICS_PORT }) : undefined;
  if (metricsServer) log.info({ url: `${metricsServer.url}/metrics` }, 'api metrics listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: config.API_SHUTDOWN_GRACE_MS, delayMs: config.API_SHUTDOWN_DELAY_MS }, 'shutting down: draining');
    // Not ready, no new connections; in-flight calls finish (each one's acknowledgement is
    // already durable: a workflow started or a row written) or are cut after the grace time.
    await server.close({ graceMs: config.API_SHUTDOWN_GRACE_MS, delayMs: config.API_SHUTDOWN_DELAY_MS });
    await metricsServer?.close();
    reconciler?.stop();
    await connection.close();
    dictClient.close();
    redis.disconnect();
    await ownEntries?.close();
    await sql.end({ timeout: 5 });
    await tracing()?.shutdown(); // flushes spans not yet exported
    log.info('api stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * Every `intervalMs`, one info line `msg` with how much each of `counters` grew since the last
 * line (and `extra` of the current stats), when one of `active` grew.
 */
function logGrowth<K extends string, S extends Record<K, number>>(log: Logger, msg: string, intervalMs: number, read: () => S, counters: K[], active: K[], extra: (now: S) => object): void {
  let last = read();
  setInterval(() => {
    const now = read();
    const grown = (k: K) => now[k] - last[k];
    if (active.every((k) => grown(k) === 0)) return;
    log.info({ ...Object.fromEntries(counters.map((k) => [k, grown(k)])), ...extra(now) }, msg);
    last = now;
  }, intervalMs).unref();
}

function primary(config: ApiConfig, n: number): void {
  const log = createLogger('core-dict-api', config.LOG_LEVEL);
  let stopping = false;
  const fork = () => cluster.fork();
  const listening = new Set<number>();
  cluster.on('listening', (w: Worker) => listening.add(w.id));
  cluster.on('exit', (w: Worker, code, signal) => {
    if (stopping) return;
    if (!listening.has(w.id)) {
      // It never came up (bad dependency, port taken): so would the next one. Fail like a single process.
      log.error({ worker: w.id, pid: w.process.pid, code, signal }, 'api worker failed to start');
      void stop('worker-failed', 1);
      return;
    }
    log.error({ worker: w.id, pid: w.process.pid, code, signal }, 'api worker died; starting another');
    setTimeout(fork, 1_000).unref();
  });
  for (let i = 0; i < n; i++) fork();
  log.info({ workers: n, pid: process.pid }, 'api primary started');
  let metricsServer: ApiMetricsServer | undefined;
  if (config.API_METRICS_PORT) {
    startApiMetricsServer({ host: config.API_METRICS_HOST, port: config.API_METRICS_PORT, text: clusterExposition() }).then(
      (m) => {
        metricsServer = m;
        log.info({ url: `${m.url}/metrics` }, 'api metrics listening (all workers)');
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message, port: config.API_METRICS_PORT }, 'api metrics listener failed');
        void stop('metrics-failed', 1);
      },
    );
  }

  const stop = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down workers');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => w.process.kill('SIGKILL'), config.API_SHUTDOWN_DELAY_MS + config.API_SHUTDOWN_GRACE_MS + WORKER_STOP_SLACK_MS);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            // A signal delivered to the whole group (Ctrl-C) reached the worker already; it ignores the second.
            w.process.kill('SIGTERM');
          }),
      ),
    );
    await metricsServer?.close();
    log.info('api stopped');
    process.exit(exitCode);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

function main(): void {
  const config = loadApiConfig();
  const n = config.API_WORKERS || availableParallelism();
  if (n > 1 && cluster.isPrimary) return primary(config, n);
  serve(config).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
