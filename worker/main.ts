// The worker process: runs every workflow and activity of Core DICT.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { claimPeriodsFromConfig, loadWorkerConfig } from '../config/index.js';
import { dictClientFromConfig } from '../config/dict-client.js';
import { createLogger } from '../config/logger.js';
import { setupTracing, workflowClientInterceptors } from '../config/tracing.js';
import { createSql } from '../store/db.js';
import { createLookupCache } from '../store/lookup-cache.js';
import { AesGcmPayloadCodec, dataConverter, readPayloadKeys } from '../config/payload-codec.js';
import { createWorker, ensureClaimPoller } from './worker.js';
import { startWorkerMetricsServer } from './metrics.js';
import { collectProcessMetrics, watchDatabase, watchDependency } from '../config/metrics.js';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const log = createLogger('core-dict-worker', config.LOG_LEVEL);
  const traces = await setupTracing({ serviceName: 'core-dict-worker', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  // Temporal Core's own metrics (polls, task latencies, slots, sticky cache) on a loopback port,
  // appended to our /metrics by the worker's metrics server.
  const coreMetricsAddress = config.TEMPORAL_METRICS_PORT ? `127.0.0.1:${config.TEMPORAL_METRICS_PORT}` : undefined;
  Runtime.install({
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(coreMetricsAddress ? { metrics: { prometheus: { bindAddress: coreMetricsAddress, useSecondsForDurations: true } } } : {}),
    },
  });

  const sql = createSql(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX });
  const redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const dict = dictClientFromConfig(config, config.DICT_TIMEOUT_MS);
  // Workflow data is encrypted before it reaches Temporal (the same keys as the API's).
  const converter = dataConverter(new AesGcmPayloadCodec(readPayloadKeys(config.PAYLOAD_KEYS_FILE, config.PAYLOAD_KEY_ID)));
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  // Activities that hand claims to their workflows (signal-with-start) need a client.
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: converter, interceptors: { workflow: await workflowClientInterceptors() } });
  const claimPeriods = claimPeriodsFromConfig(config);
  collectProcessMetrics();
  watchDatabase(sql, config.METRICS_DB_MIN_INTERVAL_MS);
  watchDependency('postgres', async () => (await sql`select 1`, true));
  watchDependency('redis', async () => (await redis.ping()) === 'PONG');
  let running = true;
  const metricsServer = config.WORKER_METRICS_PORT
    ? await startWorkerMetricsServer({
        host: config.WORKER_METRICS_HOST,
        port: config.WORKER_METRICS_PORT,
        temporalCoreMetricsUrl: coreMetricsAddress && `http://${coreMetricsAddress}/metrics`,
        healthy: () => running,
      })
    : undefined;
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    dataConverter: converter,
    deps: { sql, dict, cache: createLookupCache(redis), log, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, claimPeriods },
    maxConcurrentActivities: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS,
    log,
  });

  // SIGINT/SIGTERM: stop polling, let running tasks finish (within WORKER_SHUTDOWN_GRACE_MS),
  // then close connections and pools.
  const stop = (signal: string): void => {
    log.info({ signal, graceMs: config.WORKER_SHUTDOWN_GRACE_MS }, 'shutting down');
    worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  if (config.CLAIM_POLLER_ENABLED) {
    await ensureClaimPoller(temporal, config.TEMPORAL_TASK_QUEUE, {
      participant: config.PSP_ISPB,
      intervalMs: config.CLAIM_POLL_INTERVAL_MS,
      overlapMs: config.CLAIM_POLL_OVERLAP_MS,
    });
  }
  log.info({ temporal: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker running');
  if (metricsServer) log.info({ url: metricsServer.url }, 'worker metrics listening');
  await worker.run();
  running = false;
  await metricsServer?.close();
  await traces?.shutdown();
  await connection.close();
  await clientConnection.close();
  dict.close();
  redis.disconnect();
  await sql.end({ timeout: 5 });
  log.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
