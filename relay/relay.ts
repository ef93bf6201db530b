// The outbox relay: moves the events store/ writes to the outbox (in the transaction of each
// state change) onto NATS JetStream, at least once. Each round claims a bounded batch of
// unpublished rows in id order (FOR UPDATE SKIP LOCKED, so several relays share the work without
// publishing the same row at once), publishes every row with its event_id as Nats-Msg-Id, waits
// for JetStream's acks, and only then marks the rows published, in the same transaction. A relay
// that dies between the acks and the commit publishes those rows again on its next round: the
// stream drops the repeats inside its duplicate window and consumers dedupe by event_id beyond it.
// While NATS is away the rows stay in the outbox; rounds back off (bounded) until it answers.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Sql } from '../store/db.js';
import { encodeEvent, subjectFor, toEvent, type OutboxRow } from './events.js';

export interface StreamOptions {
  /** JetStream stream name, e.g. DICT_EVENTS. */
  name: string;
  /** Subjects are <prefix>.<participant>.<entry|claim>.<EventName>. */
  subjectPrefix: string;
  duplicateWindowMs: number;
  maxAgeMs: number;
}

export interface RelayOptions {
  /** ISPB of the PSP whose outbox this is (the events' participant and subject token). */
  participant: string;
  subjectPrefix: string;
  /** Rows claimed per round (bounded). */
  batchSize: number;
  /** Wait between rounds when the outbox is drained. */
  pollIntervalMs: number;
  /** First and longest wait after a failed round (doubling in between). */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Longest wait for one JetStream ack. */
  publishTimeoutMs: number;
  log: Logger;
  /** Called with the rows each round published and marked (metrics). */
  onPublished?: (rows: number) => void;
  /** Test hooks (RELAY_FAULT in relay/main.ts): called with the claimed batch. */
  hooks?: { beforePublish?: (rows: OutboxRow[]) => void; afterPublish?: (rows: OutboxRow[]) => void };
}

const ns = (ms: number): number => ms * 1_000_000;

/** Creates the events stream, or brings its subjects, duplicate window and max age up to date. */
export async function ensureStream(jsm: JetStreamManager, s: StreamOptions): Promise<void> {
  const config = {
    subjects: [`${s.subjectPrefix}.>`],
    duplicate_window: ns(s.duplicateWindowMs),
    max_age: ns(s.maxAgeMs),
  };
  try {
    await jsm.streams.info(s.name);
    await jsm.streams.update(s.name, config);
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
    await jsm.streams.add({ name: s.name, retention: RetentionPolicy.Limits, storage: StorageType.File, ...config });
  }
}

interface Row {
  id: string;
  event_id: string;
  aggregate_type: string;
  aggregate_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

export class OutboxRelay {
  private stopping = false;
  private wake?: AbortController;
  private loop?: Promise<void>;
  /** Rows published and marked since start (for logs and tests). */
  published = 0;

  constructor(
    private readonly sql: Sql,
    private readonly js: JetStreamClient,
    private readonly o: RelayOptions,
  ) {}

  /**
   * One round: claim up to batchSize unpublished rows, publish them, await the acks, mark them.
   * Returns how many rows it published. Throws when NATS or Postgres failed (nothing is marked).
   */
  async publishBatch(): Promise<number> {
    return this.sql.begin(async (tx) => {
      const rows = await tx<Row[]>`
        select id::text as id, event_id::text as event_id, aggregate_type, aggregate_id, event_type, payload, created_at
          from outbox
         where published_at is null
         order by id
         limit ${this.o.batchSize}
           for update skip locked`;
      if (rows.length === 0) return 0;
      const batch: OutboxRow[] = rows.map((r) => ({
        id: r.id,
        eventId: r.event_id,
        aggregateType: r.aggregate_type,
        aggregateId: r.aggregate_id,
        eventType: r.event_type,
        payload: r.payload,
        createdAt: r.created_at,
      }));
      this.o.hooks?.beforePublish?.(batch);
      // Sent in id order on one connection, so the stream stores them in that order; the acks
      // are awaited together. Any failure leaves the whole batch unmarked (repeats are deduped).
      const acks = await Promise.all(
        batch.map((row) =>
          this.js.publish(subjectFor(this.o.subjectPrefix, this.o.participant, row), encodeEvent(toEvent(row, this.o.participant)), {
            msgID: row.eventId,
            timeout: this.o.publishTimeoutMs,
          }),
        ),
      );
      this.o.hooks?.afterPublish?.(batch);
      await tx`update outbox set published_at = now() where id = any(${batch.map((r) => r.id)}::bigint[])`;
      const dups = acks.filter((a) => a.duplicate).length;
      this.o.log.debug({ rows: batch.length, duplicates: dups, lastId: batch.at(-1)!.id }, 'outbox batch published');
      return batch.length;
    }) as Promise<number>;
  }

  /** Runs rounds until stop(): back to back while there is a backlog, then every pollIntervalMs. */
  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Ends the loop after the round in flight (its batch is marked or left for next time). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.abort();
    await this.loop;
  }

  /** Resolves when the loop has ended (after stop()). */
  async done(): Promise<void> {
    await this.loop;
  }

  /** Start the next round now instead of at the end of the poll interval. */
  poke(): void {
    this.wake?.abort();
  }

  private async pause(ms: number): Promise<void> {
    if (this.stopping) return;
    this.wake = new AbortController();
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      try {
        const n = await this.publishBatch();
        this.published += n;
        if (n) this.o.onPublished?.(n);
        if (backoff > 0) this.o.log.info('outbox relay recovered; publishing again');
        backoff = 0;
        if (n < this.o.batchSize) await this.pause(this.o.pollIntervalMs);
      } catch (err) {
        backoff = backoff === 0 ? this.o.backoffMinMs : Math.min(backoff * 2, this.o.backoffMaxMs);
        this.o.log.warn({ err: (err as Error).message, retryInMs: backoff }, 'outbox relay round failed; rows stay in the outbox');
        await this.pause(backoff);
      }
    }
  }
}
