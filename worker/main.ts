// The worker process: runs every workflow and activity of Core DICT.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { claimPeriodsFromConfig, loadWorkerConfig } from '../config/index.js';
import { dictClientFromConfig } from '../config/dict-client.js';
import { createLogger } from '../config/logger.js';
import { createSql } from '../store/db.js';
import { createLookupCache } from '../store/lookup-cache.js';
import { createWorker, ensureClaimPoller } from './worker.js';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const log = createLogger('core-dict-worker', config.LOG_LEVEL);
  Runtime.install({
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });

  const sql = createSql(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX });
  const redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const dict = dictClientFromConfig(config, config.DICT_TIMEOUT_MS);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  // Activities that hand claims to their workflows (signal-with-start) need a client.
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  const claimPeriods = claimPeriodsFromConfig(config);
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
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
  await worker.run();
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
