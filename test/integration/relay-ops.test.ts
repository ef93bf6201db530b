// The outbox relay as Kubernetes and Prometheus see it, and outbox pruning: published rows older
// than OUTBOX_RETENTION_HOURS are deleted in bounded batches, unpublished rows never (whatever
// their age), recent published rows stay; dist/relay/main.js serves /healthz, /readyz (Postgres
// and NATS) and /metrics (published and pruned rows, outbox lag) on RELAY_HTTP_PORT.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { OutboxPruner, pruneOutboxBatch } from '../../relay/prune.js';
import { ensureStream } from '../../relay/relay.js';
import { createSql, type Sql } from '../../store/db.js';
import { waitFor } from '../support/claims.js';
import { freePort, Programs } from '../support/processes.js';
import { env, OUR_ISPB, testLogger } from '../support/stack.js';

let sql: Sql;
const programs = new Programs();
before(() => {
  sql = createSql(env.databaseUrl, { max: 4 });
});
after(async () => {
  programs.killAll();
  await sql?.end({ timeout: 5 });
});

/** Inserts one outbox row for `aggregate`, created and (unless null) published `agoHours` ago. */
async function row(aggregate: string, createdHoursAgo: number, publishedHoursAgo: number | null): Promise<void> {
  await sql`
    insert into outbox (aggregate_type, aggregate_id, event_type, payload, created_at, published_at)
    values ('entry', ${aggregate}, 'EntryActivated', '{}'::jsonb,
            now() - make_interval(hours => ${createdHoursAgo}),
            ${publishedHoursAgo === null ? null : sql`now() - make_interval(hours => ${publishedHoursAgo})`})`;
}
const kinds = async (aggregate: string) =>
  (await sql<{ published: boolean; n: number }[]>`
    select published_at is not null as published, count(*)::int as n from outbox where aggregate_id = ${aggregate} group by 1`)
    .reduce((m, r) => ({ ...m, [r.published ? 'published' : 'unpublished']: r.n }), { published: 0, unpublished: 0 });

test('pruning deletes published rows past the retention in bounded batches; unpublished and recent rows stay', async () => {
  const agg = `prune-${randomUUID()}`;
  for (let i = 0; i < 5; i++) await row(agg, 30 * 24, 30 * 24 - i); // published a month ago
  for (let i = 0; i < 3; i++) await row(agg, 40 * 24, null); // never published, older still
  for (let i = 0; i < 2; i++) await row(agg, 2, 1); // published an hour ago
  const retentionMs = 7 * 24 * 3_600_000;

  // One statement deletes at most batchSize rows.
  assert.equal(await pruneOutboxBatch(sql, { retentionMs, batchSize: 2 }), 2);
  assert.deepEqual(await kinds(agg), { published: 5, unpublished: 3 });

  // A round repeats batches until one is short.
  const counted: number[] = [];
  const pruner = new OutboxPruner(sql, { retentionMs, batchSize: 2, intervalMs: 60_000, log: testLogger(), onPruned: (n) => counted.push(n) });
  assert.equal(await pruner.round(), 3);
  assert.deepEqual(counted, [2, 1]);
  assert.deepEqual(await kinds(agg), { published: 2, unpublished: 3 }, 'the recent published rows and every unpublished row stay');
  assert.equal(await pruner.round(), 0);
  await sql`delete from outbox where aggregate_id = ${agg}`;
});

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
};
const exited = async (child: ChildProcess) => (child.exitCode !== null ? child.exitCode : ((await once(child, 'exit')) as [number | null])[0]);

test('the relay process: alive but not ready without NATS; ready with it; /metrics counts published and pruned rows', async () => {
  const tag = randomUUID().slice(0, 8);
  const stream = { name: `RELAYOPS_${tag}`, subjectPrefix: `relayops.${tag}` };
  const nc = await connect({ servers: env.natsUrl });
  await ensureStream(await jetstreamManager(nc), { ...stream, duplicateWindowMs: 600_000, maxAgeMs: 3_600_000 });
  await nc.close();
  const base = { DATABASE_URL: env.databaseUrl, NATS_STREAM: stream.name, NATS_SUBJECT_PREFIX: stream.subjectPrefix, PSP_ISPB: OUR_ISPB, OUTBOX_POLL_INTERVAL_MS: '50', OUTBOX_BACKOFF_MIN_MS: '50', OUTBOX_BACKOFF_MAX_MS: '200' };

  // NATS unreachable: /healthz 200 (do not restart it), /readyz 503 naming NATS.
  const deadPort = await freePort();
  const httpPort = await freePort();
  const waiting = programs.start('relay/main.js', { ...base, NATS_URL: `nats://127.0.0.1:${deadPort}`, RELAY_HTTP_HOST: '127.0.0.1', RELAY_HTTP_PORT: String(httpPort) });
  const url = `http://127.0.0.1:${httpPort}`;
  await waitFor('relay http server', async () => ((await get(`${url}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined));
  const notReady = await get(`${url}/readyz`);
  assert.equal(notReady.status, 503, notReady.text);
  assert.deepEqual(JSON.parse(notReady.text).components, [{ name: 'postgres', ok: true }, { name: 'nats', ok: false }]);
  waiting.kill('SIGTERM');
  assert.equal(await exited(waiting), 0, programs.log(waiting));

  // With NATS: ready; an unpublished row gets published and a long-published one pruned, both counted.
  const agg = `relayops-${randomUUID()}`;
  await row(agg, 30 * 24, 30 * 24);
  await row(agg, 30 * 24, 30 * 24);
  await row(agg, 0, null);
  const port2 = await freePort();
  const relay = programs.start('relay/main.js', { ...base, NATS_URL: env.natsUrl, RELAY_HTTP_HOST: '127.0.0.1', RELAY_HTTP_PORT: String(port2), OUTBOX_RETENTION_HOURS: '24', OUTBOX_PRUNE_INTERVAL_MS: '1000' });
  const url2 = `http://127.0.0.1:${port2}`;
  await waitFor('relay ready', async () => ((await get(`${url2}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined));
  await waitFor('row published, old rows pruned', async () => {
    const k = await kinds(agg);
    return k.unpublished === 0 && k.published === 1 ? true : undefined;
  });
  const metric = (text: string, name: string) => Number(/^(\S+)\s+(\S+)$/m.exec(text.split('\n').filter((l) => l.startsWith(`${name} `)).join('\n'))?.[2] ?? NaN);
  const m = await waitFor('metrics', async () => {
    const t = (await get(`${url2}/metrics`)).text;
    return metric(t, 'core_dict_relay_published_total') >= 1 && metric(t, 'core_dict_relay_pruned_total') >= 2 ? t : undefined;
  });
  assert.ok(Number.isFinite(metric(m, 'core_dict_outbox_lag_seconds')), 'outbox lag gauge served');
  relay.kill('SIGTERM');
  assert.equal(await exited(relay), 0, programs.log(relay));
  await sql`delete from outbox where aggregate_id = ${agg}`;
});
