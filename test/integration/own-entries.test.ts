// The in-memory copy of our own entries (store/own-entries.ts) against a real Postgres and the
// migrated triggers: a fresh copy answers without a read; any committed change to the key, a
// bulk statement or TRUNCATE drops it; a read that overlapped a change is not kept; lookups in
// flight together share one read; copies expire; while the change channel is down (closed,
// half-open, triggers disabled) every read goes to Postgres, and the copy is used again once it
// listens. LookupKey's use of it is in lookup-health.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createSql, type Sql } from '../../store/db.js';
import * as entries from '../../store/entries.js';
import { createOwnEntryCache, type OwnEntryCache, type OwnEntryCacheOptions } from '../../store/own-entries.js';
import { newCpf, newEmail } from '../support/fixtures.js';
import { until } from '../support/poll.js';
import { env, OUR_ISPB } from '../support/stack.js';

let sql: Sql;
const made: OwnEntryCache[] = [];
before(async () => {
  sql = createSql(env.databaseUrl, { max: 4 });
});
after(async () => {
  for (const c of made) await c.close();
  await sql?.end({ timeout: 5 });
});

function make(o: Partial<OwnEntryCacheOptions> = {}, url = env.databaseUrl): { cache: OwnEntryCache; name: string } {
  const name = `own-entries-test-${randomUUID().slice(0, 8)}`;
  const cache = createOwnEntryCache(url, { ttlMs: 60_000, max: 1_000, log: pino({ level: 'silent' }), applicationName: name, relistenMs: 100, ...o });
  made.push(cache);
  return { cache, name };
}

/** Waits until `cache` has received more announcements than `before` (the change reached it). */
const announced = (cache: OwnEntryCache, before: number) => until('the announcement', () => cache.stats().announcements > before);

/**
 * One ACTIVE entry of ours, written as any other writer would (plain SQL); returns its key once
 * `cache` (when given) has received the insert's own announcement, so a read that follows is
 * not overlapped by it.
 */
async function insertEntry(cache?: OwnEntryCache, ownerName = 'Ana Lima'): Promise<string> {
  const seen = cache?.stats().announcements ?? 0;
  const key = newEmail();
  await sql`
    insert into entries (entry_id, key, key_type, status, participant, branch, account_number, account_type, opening_date,
                         owner_type, tax_id_number, owner_name, request_id, dict_request_id)
    values (${randomUUID()}, ${key}, 'EMAIL', 'ACTIVE', ${OUR_ISPB}, '0001', ${String(Date.now())}, 'CACC', '2020-01-10T03:00:00Z',
            'NATURAL_PERSON', ${newCpf()}, ${ownerName}, ${randomUUID()}, ${randomUUID()})`;
  if (cache) await announced(cache, seen);
  return key;
}

/** A loader that reads Postgres and counts its calls. */
function loader(key: string) {
  let calls = 0;
  return {
    load: async () => {
      calls++;
      return entries.getLiveEntryByKey(sql, key);
    },
    calls: () => calls,
  };
}

/** A cache (as make()) once it listens. */
async function listeningCache(o: Partial<OwnEntryCacheOptions> = {}, url = env.databaseUrl): Promise<{ cache: OwnEntryCache; name: string }> {
  const made = make(o, url);
  await until('listening', () => made.cache.listening());
  return made;
}

/** A fresh entry whose copy `cache` holds: its key, and the loader that read it once. */
async function heldEntry(cache: OwnEntryCache): Promise<{ key: string; l: ReturnType<typeof loader> }> {
  const key = await insertEntry(cache);
  const l = loader(key);
  await cache.read(key, l.load);
  return { key, l };
}

/** A TCP proxy to Postgres whose open connections can be frozen (nothing passes, nothing closes), like a half-open connection. */
async function freezableProxy(target: URL): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  const open = new Set<{ frozen: boolean; sockets: Socket[] }>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const link = { frozen: false, sockets: [client, upstream] };
    open.add(link);
    client.on('data', (d) => link.frozen || upstream.write(d));
    upstream.on('data', (d) => link.frozen || client.write(d));
    for (const sock of link.sockets) {
      sock.on('error', () => undefined);
      sock.on('close', () => {
        open.delete(link);
        for (const other of link.sockets) other.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      for (const link of open) link.frozen = true;
    },
    close: async () => {
      for (const link of open) for (const sock of link.sockets) sock.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('own entries in memory', () => {
  test('a fresh copy answers without reading Postgres; a committed change to the key drops it', async () => {
    const { cache } = await listeningCache();
    const key = await insertEntry(cache);
    const l = loader(key);
    const first = await cache.read(key, l.load);
    const second = await cache.read(key, l.load);
    assert.equal(l.calls(), 1);
    assert.deepEqual(second, first);
    assert.equal(first?.owner.name, 'Ana Lima');

    const seen = cache.stats().announcements;
    await sql`update entries set owner_name = 'Ana Lima Souza' where key = ${key}`;
    await announced(cache, seen);
    assert.equal((await cache.read(key, l.load))?.owner.name, 'Ana Lima Souza');
    assert.equal(l.calls(), 2);

    // Deleted (status): the next read finds no live entry, and nothing is kept.
    const seen2 = cache.stats().announcements;
    await sql`update entries set status = 'DELETED' where key = ${key}`;
    await announced(cache, seen2);
    assert.equal(await cache.read(key, l.load), undefined);
    assert.equal(await cache.read(key, l.load), undefined);
    assert.equal(l.calls(), 4);
  });

  test('a rolled-back change announces nothing; another key changing leaves the copy alone', async () => {
    const { cache } = await listeningCache();
    const { key, l } = await heldEntry(cache);
    await sql
      .begin(async (tx) => {
        await tx`update entries set owner_name = 'Never Committed' where key = ${key}`;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const seen = cache.stats().announcements;
    const other = await insertEntry(cache);
    await announced(cache, seen);
    assert.equal((await cache.read(key, l.load))?.owner.name, 'Ana Lima');
    assert.equal(l.calls(), 1, 'still the copy');
    assert.ok(other);
  });

  test('a read that overlapped a change to the key is answered but not kept', async () => {
    const { cache } = await listeningCache();
    const key = await insertEntry(cache);
    // The read sees the row from before the change; the change commits and is announced before the read returns.
    const stale = await cache.read(key, async () => {
      const before = await entries.getLiveEntryByKey(sql, key);
      const seen = cache.stats().announcements;
      await sql`update entries set owner_name = 'Changed Meanwhile' where key = ${key}`;
      await announced(cache, seen);
      return before;
    });
    assert.equal(stale?.owner.name, 'Ana Lima');
    assert.equal(cache.stats().discarded, 1);
    const l = loader(key);
    assert.equal((await cache.read(key, l.load))?.owner.name, 'Changed Meanwhile');
    assert.equal(l.calls(), 1, 'the overlapping read was not kept');
  });

  test('lookups of one key in flight together share one Postgres read, unless an announcement came after it started', async () => {
    const { cache } = await listeningCache();
    const key = await insertEntry(cache);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    const slow = async () => {
      calls++;
      await held;
      return entries.getLiveEntryByKey(sql, key);
    };
    const first = [cache.read(key, slow), cache.read(key, slow), cache.read(key, slow)];
    const seen = cache.stats().announcements;
    await sql`update entries set owner_name = 'Renamed While Reading' where key = ${key}`;
    await announced(cache, seen);
    // Started after the announcement: it must not take the answer of a read that started before it.
    const later = cache.read(key, slow);
    release();
    await Promise.all(first);
    assert.equal((await later)?.owner.name, 'Renamed While Reading');
    assert.equal(calls, 2, 'one read for the three, one for the later lookup');
    assert.equal(cache.stats().shared, 2);
    // The first read (from before the announcement) was not kept; the later one was.
    const l = loader(key);
    assert.equal((await cache.read(key, l.load))?.owner.name, 'Renamed While Reading');
    assert.equal(l.calls(), 0);
  });

  test("the shared read's failure (its caller's cancel) is not the others': they read for themselves", async () => {
    const { cache } = await listeningCache();
    const key = await insertEntry(cache);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const cancelled = cache.read(key, async () => {
      await held;
      throw new Error('the first caller cancelled');
    });
    const l = loader(key);
    const other = cache.read(key, l.load);
    release();
    await assert.rejects(cancelled, /cancelled/);
    assert.equal((await other)?.key, key);
    assert.equal(l.calls(), 1);
  });

  test('a statement over a few rows announces each of their keys (others keep their copies); a one-row DELETE drops its key', async () => {
    const { cache } = await listeningCache();
    const [a, b, c] = [await insertEntry(cache), await insertEntry(cache), await insertEntry(cache)];
    const la = loader(a);
    const lb = loader(b);
    const lc = loader(c);
    for (const [k, l] of [[a, la], [b, lb], [c, lc]] as const) await cache.read(k, l.load);
    const seen = cache.stats().announcements;
    await sql`update entries set owner_name = 'Two At Once' where key in (${a}, ${b})`;
    await until('both announcements', () => cache.stats().announcements >= seen + 2);
    for (const [k, l] of [[a, la], [b, lb], [c, lc]] as const) await cache.read(k, l.load);
    assert.deepEqual([la.calls(), lb.calls(), lc.calls()], [2, 2, 1]);
    const seen2 = cache.stats().announcements;
    await sql`delete from entries where key = ${c}`;
    await announced(cache, seen2);
    assert.equal(await cache.read(c, lc.load), undefined);
    assert.equal(lc.calls(), 2);
  });

  test('drop() forgets a key at once (a write this process waited for)', async () => {
    const { cache } = await listeningCache();
    const { key, l } = await heldEntry(cache);
    cache.drop(key);
    await cache.read(key, l.load);
    assert.equal(l.calls(), 2);
  });

  test('a statement over more than 1,000 rows, and TRUNCATE, drop every copy', async () => {
    const { cache } = await listeningCache();
    const { key, l } = await heldEntry(cache);
    const seen = cache.stats().announcements;
    const tag = randomUUID().slice(0, 8);
    await sql`
      insert into entries (entry_id, key, key_type, status, participant, branch, account_number, account_type, opening_date,
                           owner_type, tax_id_number, owner_name, request_id, dict_request_id)
      select gen_random_uuid(), ${tag} || '-' || i || '@bulk.example', 'EMAIL', 'ACTIVE', ${OUR_ISPB}, '0001', ${tag} || i, 'CACC', '2020-01-10T03:00:00Z',
             'NATURAL_PERSON', '52998224725', 'Bulk', ${tag} || '-' || i, gen_random_uuid()
        from generate_series(1, 1001) i`;
    await announced(cache, seen);
    assert.equal(cache.stats().announcements, seen + 1, 'one announcement for the whole statement');
    await cache.read(key, l.load);
    assert.equal(l.calls(), 2, 'dropped by the bulk insert (the key was not among its rows)');
    const seenUpdate = cache.stats().announcements;
    await sql`update entries set owner_name = 'Bulk Renamed' where request_id like ${tag + '-%'}`;
    await announced(cache, seenUpdate);
    assert.equal(cache.stats().announcements, seenUpdate + 1, 'one announcement for the whole update');
    await cache.read(key, l.load);
    assert.equal(l.calls(), 3, 'dropped by the bulk update');
    const seenDelete = cache.stats().announcements;
    await sql`delete from entries where request_id like ${tag + '-%'}`;
    await announced(cache, seenDelete);

    await cache.read(key, l.load);
    assert.equal(l.calls(), 4, 'dropped by the bulk delete');
    const seen2 = cache.stats().announcements;
    await sql`truncate entries`;
    await announced(cache, seen2);
    assert.equal(await cache.read(key, l.load), undefined);
    assert.equal(l.calls(), 5);
  });

  test('a copy answers for ttlMs at most', async () => {
    const { cache } = await listeningCache({ ttlMs: 150 });
    const { key, l } = await heldEntry(cache);
    await cache.read(key, l.load);
    assert.equal(l.calls(), 1);
    await new Promise((r) => setTimeout(r, 250));
    await cache.read(key, l.load);
    assert.equal(l.calls(), 2);
  });

  test('its connection lost, every read goes to Postgres until it listens again; then changes are seen again', async () => {
    const { cache, name } = await listeningCache({ relistenMs: 300 });
    const { key, l } = await heldEntry(cache);
    const [killed] = await sql<{ ok: boolean }[]>`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${name}`;
    assert.equal(killed?.ok, true);
    await until('not listening', () => !cache.listening());
    await cache.read(key, l.load);
    await cache.read(key, l.load);
    assert.equal(l.calls(), 3, 'no copy is used or kept while not listening');
    await until('listening again', () => cache.listening());
    await cache.read(key, l.load);
    await cache.read(key, l.load);
    assert.equal(l.calls(), 4);
    const seen = cache.stats().announcements;
    await sql`update entries set owner_name = 'After Reconnect' where key = ${key}`;
    await announced(cache, seen);
    assert.equal((await cache.read(key, l.load))?.owner.name, 'After Reconnect');
  });

  test('with a trigger that announces changes disabled, copies stay off until it is enabled again', async () => {
    await sql`alter table entries disable trigger entries_key_updated`;
    let enabled = false;
    try {
      const { cache } = make({ relistenMs: 100 });
      const key = await insertEntry();
      const l = loader(key);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(cache.listening(), false);
      await cache.read(key, l.load);
      await cache.read(key, l.load);
      assert.equal(l.calls(), 2);
      await sql`alter table entries enable trigger entries_key_updated`;
      enabled = true;
      await until('listening', () => cache.listening());
    } finally {
      if (!enabled) await sql`alter table entries enable trigger entries_key_updated`;
    }
  });

  test('a connection that stays open but delivers nothing (half-open) turns the copies off within three heartbeats; a new one turns them on', async () => {
    const proxy = await freezableProxy(new URL(env.databaseUrl));
    try {
      const url = new URL(env.databaseUrl);
      url.host = `127.0.0.1:${proxy.port}`;
      const { cache } = await listeningCache({ heartbeatMs: 100, relistenMs: 100 }, url.toString());
      const { key, l } = await heldEntry(cache);
      await cache.read(key, l.load);
      assert.equal(l.calls(), 1);
      proxy.freeze(); // the open connections pass nothing either way; new ones do
      const frozenAt = Date.now();
      await until('not listening', () => !cache.listening(), 3_000);
      assert.ok(Date.now() - frozenAt < 1_500, `turned off after ${Date.now() - frozenAt} ms`);
      await cache.read(key, l.load);
      assert.equal(l.calls(), 2, 'no copy answers while off');
      await until('listening again', () => cache.listening(), 5_000);
      const seen = cache.stats().announcements;
      await sql`update entries set owner_name = 'Through The New Connection' where key = ${key}`;
      await announced(cache, seen);
      assert.equal((await cache.read(key, l.load))?.owner.name, 'Through The New Connection');
    } finally {
      await proxy.close();
    }
  });

  test('Postgres unreachable for it: reads go to the loader, never to a copy', async () => {
    const { cache } = make({}, 'postgres://coredict@127.0.0.1:1/nowhere');
    const key = await insertEntry();
    const l = loader(key);
    for (let i = 0; i < 3; i++) assert.equal((await cache.read(key, l.load))?.key, key);
    assert.equal(l.calls(), 3);
    assert.equal(cache.listening(), false);
    assert.equal(cache.stats().listening, false);
  });
});
