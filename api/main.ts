// The API process: Connect-RPC handler in front of Temporal, Postgres, Redis and (for
// lookups) the Bacen bridge.
import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { claimPeriodsFromConfig, loadApiConfig, readDictMaterial } from '../config/index.js';
import { dictClientFromConfig } from '../config/dict-client.js';
import { createLogger } from '../config/logger.js';
import { createSql } from '../store/db.js';
import { createLookupCache } from '../store/lookup-cache.js';
import { healthChecker } from './health.js';
import { build } from './server.js';

const VERSION = process.env.npm_package_version ?? '0.1.0';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const log = createLogger('core-dict-api', config.LOG_LEVEL);
  const sql = createSql(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  // Lookups sit on a payment's critical path: fail fast rather than hold the payer.
  const dict = dictClientFromConfig(config, config.LOOKUP_TIMEOUT_MS);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });

  const server = build({
    participant: config.PSP_ISPB,
    log,
    version: VERSION,
    sql,
    temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    maxWaitMs: config.API_MAX_WAIT_MS,
    claimPeriods: claimPeriodsFromConfig(config),
    dict,
    cache: createLookupCache(redis),
    lookupCacheTtlSeconds: config.LOOKUP_CACHE_TTL_SECONDS,
    health: healthChecker({ temporal, sql, redis, dictBaseUrl: config.DICT_BASE_URL, dictTls: readDictMaterial(config).tls }),
  });
  const urls = await server.listen({ host: config.API_HOST, httpPort: config.API_PORT, grpcPort: config.API_GRPC_PORT });
  log.info(urls, 'api listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await server.close();
    await connection.close();
    dict.close();
    redis.disconnect();
    await sql.end({ timeout: 5 });
    log.info('api stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
