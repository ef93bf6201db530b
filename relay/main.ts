// The outbox relay process: publishes the outbox's events to NATS JetStream (relay/relay.ts),
// configured by the environment (config/index.ts, loadRelayConfig). Waits for NATS at start
// (bounded backoff, never gives up), keeps reconnecting while it runs; SIGINT/SIGTERM end the
// round in flight and exit. It also prunes the outbox (relay/prune.ts) and serves /healthz,
// /readyz and /metrics on RELAY_HTTP_PORT (relay/http.ts) from the start, so Kubernetes sees it
// alive but not ready while NATS is still coming up.
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadRelayConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { collectProcessMetrics, relayPruned, relayPublished, watchDatabase } from '../config/metrics.js';
import { createSql } from '../store/db.js';
import { startRelayHttpServer, type RelayHttpServer } from './http.js';
import { OutboxPruner } from './prune.js';
import { ensureStream, OutboxRelay } from './relay.js';

/** Exit code of a RELAY_FAULT exit (tests tell it from a crash). */
export const FAULT_EXIT_CODE = 86;

async function main(): Promise<void> {
  const config = loadRelayConfig();
  const log = createLogger('core-dict-relay', config.LOG_LEVEL);
  let stopping = false;
  let relay: OutboxRelay | undefined;
  let pruner: OutboxPruner | undefined;
  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    stopping = true;
    void relay?.stop();
    void pruner?.stop();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  const sql = createSql(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX });
  let nc: NatsConnection | undefined;
  let natsUp = false;
  collectProcessMetrics();
  // Outbox lag and backlog gauges, read from Postgres on scrape (at most every 5 s).
  watchDatabase(sql, 5_000);
  let httpServer: RelayHttpServer | undefined;
  if (config.RELAY_HTTP_PORT) {
    httpServer = await startRelayHttpServer({
      host: config.RELAY_HTTP_HOST,
      port: config.RELAY_HTTP_PORT,
      probes: {
        database: async () => {
          await Promise.race([sql`select 1`, sleep(2_000).then(() => Promise.reject(new Error('timeout')))]);
          return true;
        },
        nats: () => natsUp && !!nc && !nc.isClosed(),
      },
    });
    log.info({ url: httpServer.url }, 'relay http server (/healthz /readyz /metrics)');
  }
  for (let wait = config.OUTBOX_BACKOFF_MIN_MS; !stopping; wait = Math.min(wait * 2, config.OUTBOX_BACKOFF_MAX_MS)) {
    try {
      nc = await connect({ servers: config.NATS_URL, name: 'core-dict-relay', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
      await ensureStream(await jetstreamManager(nc), {
        name: config.NATS_STREAM,
        subjectPrefix: config.NATS_SUBJECT_PREFIX,
        duplicateWindowMs: config.NATS_DUPLICATE_WINDOW_SECONDS * 1000,
        maxAgeMs: config.NATS_STREAM_MAX_AGE_HOURS * 3_600_000,
      });
      natsUp = true;
      const conn = nc;
      void (async () => {
        for await (const st of conn.status()) {
          if (st.type === 'disconnect') natsUp = false;
          else if (st.type === 'reconnect') natsUp = true;
        }
      })().catch(() => undefined);
      break;
    } catch (err) {
      await nc?.close().catch(() => undefined);
      nc = undefined;
      log.warn({ err: (err as Error).message, nats: config.NATS_URL, retryInMs: wait }, 'NATS not ready; the outbox keeps the events');
      await sleep(wait);
    }
  }
  if (nc && !stopping) {
    const fault = (when: string) => () => {
      log.warn({ fault: when }, 'RELAY_FAULT: exiting on purpose');
      process.exit(FAULT_EXIT_CODE);
    };
    relay = new OutboxRelay(sql, jetstream(nc), {
      participant: config.PSP_ISPB,
      subjectPrefix: config.NATS_SUBJECT_PREFIX,
      batchSize: config.OUTBOX_BATCH_SIZE,
      pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      backoffMinMs: config.OUTBOX_BACKOFF_MIN_MS,
      backoffMaxMs: config.OUTBOX_BACKOFF_MAX_MS,
      publishTimeoutMs: config.OUTBOX_PUBLISH_TIMEOUT_MS,
      onPublished: (n) => relayPublished.inc(n),
      log,
      hooks: {
        beforePublish: config.RELAY_FAULT === 'exit-before-publish' ? fault('exit-before-publish') : undefined,
        afterPublish: config.RELAY_FAULT === 'exit-after-publish' ? fault('exit-after-publish') : undefined,
      },
    });
    log.info({ nats: config.NATS_URL, stream: config.NATS_STREAM, participant: config.PSP_ISPB }, 'relay running');
    relay.start();
    pruner = new OutboxPruner(sql, {
      retentionMs: config.OUTBOX_RETENTION_HOURS * 3_600_000,
      batchSize: config.OUTBOX_PRUNE_BATCH_SIZE,
      intervalMs: config.OUTBOX_PRUNE_INTERVAL_MS,
      log,
      onPruned: (n) => relayPruned.inc(n),
    });
    pruner.start();
    await relay.done();
    await pruner.stop();
    log.info({ published: relay.published }, 'relay stopped');
  }
  await nc?.drain().catch(() => undefined);
  await httpServer?.close();
  await sql.end({ timeout: 5 });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
