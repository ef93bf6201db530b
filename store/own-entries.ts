// A short in-memory copy of our own live entries, for LookupKey: a payment's lookup of one of our
// keys is answered without a Postgres round trip while the copy is fresh. Postgres stays the
// source of truth; the copy is only ever as old as the change Postgres has not yet announced:
//
// - every committed change to a key's entries is announced on a Postgres channel by triggers
//   (migrations/20261207000001_entries_key_notify.sql), whoever made it (API, worker, an
//   operator's SQL); this module listens on its own connection and drops the key at once (an
//   empty payload, from TRUNCATE or a bulk statement, drops everything);
// - the copy is used only while that connection is listening, the triggers are there and
//   enabled, and a heartbeat sent on the channel every `heartbeatMs` comes back (a half-open
//   connection or a pooler that drops NOTIFY delivers nothing): otherwise no copy answers and
//   every lookup reads Postgres until a new connection listens (after `relistenMs`), which drops
//   every copy (announcements may have been missed);
// - a write this process waited for drops its key here at once (`drop`), so its caller's next
//   lookup does not depend on the announcement's delay;
// - a read that overlapped an announcement or the return of the channel is not kept (an epoch
//   counts them): it may have seen the row from before the change;
// - lookups of one key that miss together share one Postgres read (one that started after the
//   last announcement), so an expiring copy under load costs one read, not one per lookup;
// - each copy lives at most `ttlMs` anyway (a listener that is connected but stalled is
//   bounded by it), and at most `max` keys are held (least recently used go first).
// The records handed out are shared by every lookup that gets them: callers only read them.
import { boundedCache } from '../config/bounded-cache.js';
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
  /** How often a heartbeat is sent on the change channel; three intervals without one turn the copies off (default 2 s). */
  heartbeatMs?: number;
  /** The listening connection's application_name (default core-dict-entry-listener). */
  applicationName?: string;
}

export interface OwnEntryStats {
  hits: number;
  /** Reads answered by a read of the same key already running (no Postgres read of their own). */
  shared: number;
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
  /**
   * Drops `key` here at once: for a write this process waited for, so its caller's next lookup
   * through this process cannot see the copy from before, whatever the announcement's delay.
   */
  drop(key: string): void;
  /** Whether announcements are being received (the copy is in use). */
  listening(): boolean;
  stats(): OwnEntryStats;
  close(): Promise<void>;
}

/** The triggers of migrations/20261207000001_entries_key_notify.sql; copies are used only when all are there and enabled. */
const TRIGGERS = ['entries_key_inserted', 'entries_key_updated', 'entries_key_deleted', 'entries_key_truncated'];
/** The heartbeat's payload on the channel (no key starts with a control character). */
const HEARTBEAT = '\u0001heartbeat';

/** Starts listening on `databaseUrl` (one connection of its own); lookups read Postgres until it listens. */
export function createOwnEntryCache(databaseUrl: string, o: OwnEntryCacheOptions): OwnEntryCache {
  if (!(o.ttlMs > 0)) throw new Error('own-entry copies need a positive ttlMs (leave them out to read Postgres every time)');
  const copies = boundedCache<string, EntryRecord>(o.max, { ttl: o.ttlMs, ttlAutopurge: false, updateAgeOnGet: false });
  const relistenMs = o.relistenMs ?? 1_000;
  const heartbeatMs = o.heartbeatMs ?? 2_000;
  let live = false;
  let closed = false;
  let epoch = 0;
  let retry: NodeJS.Timeout | undefined;
  /** This attempt's connection (a new one each time: postgres.js's own reconnect backs off up to 20 s). */
  let conn: postgres.Sql | undefined;
  let lastHeartbeat = 0;
  /** What kept copies off the last time, so a lasting cause is logged once, not every retry. */
  let lastCause = '';
  const counts = { hits: 0, shared: 0, misses: 0, announcements: 0, discarded: 0 };
  /** Reads of Postgres in flight, by key, with the epoch they started in. */
  const loading = new Map<string, { epoch: number; result: Promise<EntryRecord | undefined> }>();
  // Metric children bound once (no label lookup per lookup).
  const reads = { hit: ownEntryReads.labels({ result: 'hit' }), shared: ownEntryReads.labels({ result: 'shared' }), miss: ownEntryReads.labels({ result: 'miss' }), off: ownEntryReads.labels({ result: 'off' }) };

  const forget = (key: string) => {
    epoch++;
    counts.announcements++;
    if (key) copies.delete(key);
    else copies.clear();
  };
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void listen();
    }, relistenMs);
    retry.unref();
  };
  // Copies stop answering at once (they are cleared, and reads in flight not kept, when LISTEN is
  // back); the connection is dropped and a new one listens after relistenMs.
  const lost = (c: postgres.Sql, cause: string, err?: unknown) => {
    if (conn !== c) return;
    conn = undefined;
    if (live || cause !== lastCause) o.log.warn({ channel: ENTRY_KEY_CHANNEL, cause, err, retryMs: relistenMs }, 'own-entry copies off; lookups read Postgres until the change channel is back');
    live = false;
    lastCause = cause;
    c.end({ timeout: 0 }).catch(() => undefined);
    schedule();
  };
  // Our own connection (not postgres.js's listen(): it re-listens once after a close and drops
  // the listener if that fails, without telling us). NOTIFY messages reach `onnotify`, the option
  // postgres.js's own listen() is built on (not in its types; the integration test shows it works).
  const connect = (): postgres.Sql => {
    const options: postgres.Options<Record<string, never>> & { onnotify: (channel: string, payload: string) => void } = {
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      connect_timeout: 5,
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: o.applicationName ?? 'core-dict-entry-listener' },
      onnotify: (channel, payload) => {
        if (channel !== ENTRY_KEY_CHANNEL) return;
        if (payload === HEARTBEAT) lastHeartbeat = performance.now();
        else forget(payload);
      },
      onclose: () => lost(c, 'connection closed'),
    };
    const c = postgres(databaseUrl, options);
    return c;
  };
  const listen = async () => {
    if (closed) return;
    const c = (conn = connect());
    try {
      await c.unsafe(`listen ${ENTRY_KEY_CHANNEL}`);
      // LISTEN alone proves nothing if no trigger announces (migration not applied yet, triggers disabled).
      const [t] = await c<{ n: number }[]>`
        select count(*)::int as n from pg_trigger where tgrelid = to_regclass('entries') and tgname = any(string_to_array(${TRIGGERS.join(',')}, ',')) and tgenabled <> 'D'`;
      if ((t?.n ?? 0) < TRIGGERS.length) return lost(c, 'the entries triggers that announce changes are missing or disabled (migrations not applied?)');
      if (closed || conn !== c) return;
      // Nothing was kept while not listening; anything announced before this point is in the past.
      epoch++;
      copies.clear();
      lastHeartbeat = performance.now();
      live = true;
      lastCause = '';
      o.log.info({ channel: ENTRY_KEY_CHANNEL, ttlMs: o.ttlMs, max: o.max }, 'own-entry copies on: listening for changed keys');
    } catch (err) {
      lost(c, 'LISTEN failed', err);
    }
  };
  // A connection can look open and deliver nothing (a half-open TCP connection, a pooler that does
  // not forward NOTIFY): every heartbeatMs a notification is sent on the channel, and if none has
  // come back for three intervals the copies go off and a new connection listens.
  const heartbeat = setInterval(() => {
    const c = conn;
    if (!live || !c) return;
    if (performance.now() - lastHeartbeat > 3 * heartbeatMs) return lost(c, 'no heartbeat received on the change channel');
    c`select pg_notify(${ENTRY_KEY_CHANNEL}, ${HEARTBEAT})`.catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  // Expired copies are let go of (not only pushed out by newer ones).
  const purge = setInterval(() => copies.purgeStale(), Math.max(o.ttlMs, 1_000));
  purge.unref();
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
        // A read of this key already running, started since the last announcement, answers for
        // us too (when a copy expires under load, one read instead of one per lookup in flight).
        // Its failure (the first reader's cancel or admission refusal) is not ours: we read then.
        const running = loading.get(key);
        if (running && running.epoch === epoch) {
          counts.shared++;
          reads.shared.inc();
          return running.result.catch(() => load());
        }
      }
      counts.misses++;
      (live ? reads.miss : reads.off).inc();
      const started = epoch;
      const mine = { epoch: started, result: load() };
      if (live) loading.set(key, mine);
      let rec: EntryRecord | undefined;
      try {
        rec = await mine.result;
      } finally {
        if (loading.get(key) === mine) loading.delete(key);
      }
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
    drop: (key) => {
      epoch++;
      copies.delete(key);
    },
    listening: () => live,
    stats: () => ({ ...counts, listening: live }),
    async close() {
      closed = true;
      live = false;
      if (retry) clearTimeout(retry);
      clearInterval(heartbeat);
      clearInterval(purge);
      copies.clear();
      const c = conn;
      conn = undefined;
      await c?.end({ timeout: 1 });
    },
  };
}
