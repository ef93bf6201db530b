// Outbox pruning: the relay deletes rows that were published longer ago than the retention
// (OUTBOX_RETENTION_HOURS), oldest first, at most `batchSize` per statement, every
// `intervalMs`. Rows not yet published are never deleted, whatever their age: the outbox is
// the events' only copy until JetStream has acked them. Several relays may prune at once
// (SKIP LOCKED: each takes other rows).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Sql } from '../store/db.js';

export interface PruneOptions {
  /** Published rows older than this are deleted. */
  retentionMs: number;
  /** Rows deleted per statement (bounded: a short transaction and lock set). */
  batchSize: number;
  /** Wait between pruning rounds. */
  intervalMs: number;
  /** Most statements per round: a huge backlog is worked off over several rounds. */
  maxBatchesPerRound?: number;
  log: Logger;
  /** Called with the rows each statement deleted (metrics). */
  onPruned?: (rows: number) => void;
}

/** Deletes up to `batchSize` rows published before now − retention; returns how many. */
export async function pruneOutboxBatch(sql: Sql, o: { retentionMs: number; batchSize: number }): Promise<number> {
  const rows = await sql`
    delete from outbox where id in (
      select id from outbox
       where published_at is not null and published_at < now() - make_interval(secs => ${o.retentionMs / 1000})
       order by published_at
       limit ${o.batchSize}
         for update skip locked)`;
  return rows.count;
}

/** Runs pruning rounds every intervalMs until stop(). */
export class OutboxPruner {
  private stopping = false;
  private wake?: AbortController;
  private loop?: Promise<void>;
  /** Rows deleted since start. */
  pruned = 0;

  constructor(
    private readonly sql: Sql,
    private readonly o: PruneOptions,
  ) {}

  /** One round: batches back to back until one is short (or maxBatchesPerRound). */
  async round(): Promise<number> {
    let total = 0;
    for (let i = 0; i < (this.o.maxBatchesPerRound ?? 100) && !this.stopping; i++) {
      const n = await pruneOutboxBatch(this.sql, this.o);
      total += n;
      this.pruned += n;
      if (n) this.o.onPruned?.(n);
      if (n < this.o.batchSize) break;
    }
    if (total) this.o.log.info({ rows: total, retentionHours: this.o.retentionMs / 3_600_000 }, 'outbox pruned');
    return total;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.round();
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'outbox pruning failed; next round retries');
      }
      if (this.stopping) break;
      this.wake = new AbortController();
      await sleep(this.o.intervalMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }
}
