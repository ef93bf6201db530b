// A short in-memory copy of our own live entries, for LookupKey: a payment's lookup of one of our
// keys is answered without a Postgres round trip while the copy is fresh. Postgres stays the
// source of truth; the copy is only ever as old as the change Postgres has not yet announced:
//
// - every committed change to a key's entries is announced on a Postgres channel by triggers
//   (migrations/20261207000001_entries_key_notify.sql), whoever made it (API, worker, an
//   operator's SQL); this module listens on its own connection and drops the key at once (an
//   empty payload, from TRUNCATE or a bulk statement, drops everything);
// - the copy is used only while that connection is listening: when it closes, no copy answers
//   and every lookup reads Postgres until LISTEN is back (retried every `relistenMs`), which
//   drops every copy (announcements may have been missed);
// - a read that overlapped an announcement or the return of the channel is not kept (an epoch
//   counts them): it may have seen the row from before the change;
// - each copy lives at most `ttlMs` anyway (a listener that is connected but stalled is
//   bounded by it), and at most `max` keys are held (least recently used go first).
// The records handed out are shared by every lookup that gets them: callers only read them.
import { LRUCache } from 'lru-cache';
import postgres from 'postgres';
import type { Logger } from 'pino';
import { ownEntryReads } from '../config/metrics.js';
import type { EntryRecord } from './entries.js';

/** The channel the entries triggers announce changed keys on (the payload is the key; empty = all). */
export const ENTRY_KEY_CHANNEL = 'core_dict_entry_key';

export interface OwnEntryCacheOptions {
  /** How long a copy may answer (ms); the bound on staleness if an announcement were lost. */
  ttlMs: number;
  /** Keys held at most. */
  max: number;
  log: Logger;
  /** Delay before listening again after the connection closed or LISTEN failed (default 1 s). */
  relistenMs?: number;
  /** The listening connection's application_name (default core-dict-entry-listener). */
  applicationName?: string;
}

export interface OwnEntryStats {
  hits: number;
  /** Reads that went to Postgres (not held, expired, or not listening). */
  misses: number;
  /** Announcements received (each drops one key, or all). */
  announcements: number;
  /** Reads not kept because an announcement arrived while they ran. */
  discarded: number;
  listening: boolean;
}

export interface OwnEntryCache {
  /**
   * The live entry of `key`: the copy when fresh, else `load()`'s answer (kept when it is an
   * entry and no announcement arrived meanwhile). `load` must read Postgres after this is called.
   */
  read(key: string, load: () => Promise<EntryRecord | undefined>): Promise<EntryRecord | undefined>;
  /** Whether announcements are being received (the copy is in use). */
  listening(): boolean;
  stats(): OwnEntryStats;
  close(): Promise<void>;
}

/** Starts listening on `databaseUrl` (one connection of its own); lookups read Postgres until it listens. */
export function createOwnEntryCache(databaseUrl: string, o: OwnEntryCacheOptions): OwnEntryCache {
  const copies = new LRUCache<string, EntryRecord>({ max: o.max, ttl: o.ttlMs, ttlAutopurge: false, updateAgeOnGet: false });
  const relistenMs = o.relistenMs ?? 1_000;
  let live = false;
  let closed = false;
  let epoch = 0;
  let retry: NodeJS.Timeout | undefined;
  const counts = { hits: 0, misses: 0, announcements: 0, discarded: 0 };
  // Metric children bound once (no label lookup per lookup).
  const reads = { hit: ownEntryReads.labels({ result: 'hit' }), miss: ownEntryReads.labels({ result: 'miss' }), off: ownEntryReads.labels({ result: 'off' }) };

  const forget = (key: string) => {
    epoch++;
    counts.announcements++;
    if (key) copies.delete(key);
    else copies.clear();
  };
  // Copies stop answering at once; they are cleared (and reads in flight not kept) when LISTEN is back.
  const down = () => {
    if (live) o.log.warn({ channel: ENTRY_KEY_CHANNEL }, 'own-entry copies off: the change channel closed; lookups read Postgres until it is back');
    live = false;
  };
  // Our own connection (not postgres.js's listen(): it re-listens once after a close and drops
  // the listener if that fails, without telling us). NOTIFY messages reach `onnotify`, the option
  // postgres.js's own listen() is built on (not in its types; the integration test shows it works).
  const options: postgres.Options<Record<string, never>> & { onnotify: (channel: string, payload: string) => void } = {
    max: 1,
    idle_timeout: 0,
    max_lifetime: 0,
    connect_timeout: 5,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: o.applicationName ?? 'core-dict-entry-listener' },
    onnotify: (channel, payload) => {
      if (channel === ENTRY_KEY_CHANNEL) forget(payload);
    },
    onclose: () => {
      down();
      schedule();
    },
  };
  const conn = postgres(databaseUrl, options);
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void listen();
    }, relistenMs);
    retry.unref();
  };
  const listen = async () => {
    try {
      await conn.unsafe(`listen ${ENTRY_KEY_CHANNEL}`);
      if (closed) return;
      // Nothing was kept while not listening; anything announced before this point is in the past.
      epoch++;
      copies.clear();
      live = true;
      o.log.info({ channel: ENTRY_KEY_CHANNEL, ttlMs: o.ttlMs, max: o.max }, 'own-entry copies on: listening for changed keys');
    } catch (err) {
      if (closed) return;
      down();
      o.log.warn({ err, retryMs: relistenMs }, 'own-entry copies off: LISTEN failed; lookups read Postgres');
      schedule();
    }
  };
  void listen();

  return {
    async read(key, load) {
      if (live) {
        const held = copies.get(key);
        if (held) {
          counts.hits++;
          reads.hit.inc();
          return held;
        }
      }
      counts.misses++;
      (live ? reads.miss : reads.off).inc();
      const started = epoch;
      const rec = await load();
      if (!rec) return rec;
      // Kept only when no announcement (or loss or return of the channel) came while it ran; a
      // copy kept while not listening is never answered (and is cleared when listening resumes).
      if (epoch !== started) {
        counts.discarded++;
        return rec;
      }
      copies.set(key, rec);
      return rec;
    },
    listening: () => live,
    stats: () => ({ ...counts, listening: live }),
    async close() {
      closed = true;
      live = false;
      if (retry) clearTimeout(retry);
      copies.clear();
      await conn.end({ timeout: 1 });
    },
  };
}
