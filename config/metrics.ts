// Prometheus metrics of Core DICT (prom-client), shared by the API and the worker: every series
// our code registers is defined here, once per process on prom-client's default registry (two
// in-process stacks in a test share them). METRIC_NAMES lists them for the dashboard check
// (test/unit/dashboard.test.ts). What they mean: docs/operations.md "Observability".
//
// Postgres-backed gauges (keys by type/status, claims by status, next claim deadline, outbox lag)
// are read on scrape with one cheap grouped query each, at most once per `minIntervalMs`.
import client from 'prom-client';
import type { Sql } from '../store/db.js';

export const register = client.register;

const RPC_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** RED per RPC: rate and errors from the count by code, duration from the buckets. */
export const rpcDuration = once('core_dict_rpc_duration_seconds', () =>
  new client.Histogram({ name: 'core_dict_rpc_duration_seconds', help: 'Connect/gRPC calls handled, by RPC and Connect code', labelNames: ['rpc', 'code'] as const, buckets: RPC_BUCKETS }));

export const rpcInFlight = once('core_dict_rpc_in_flight', () =>
  new client.Gauge({ name: 'core_dict_rpc_in_flight', aggregator: 'sum', help: 'RPCs being handled now', labelNames: ['rpc'] as const }));

/** Calls to DICT through the bridge, by operation and outcome (HTTP status, or timeout/error). */
export const bridgeDuration = once('core_dict_bridge_request_duration_seconds', () =>
  new client.Histogram({ name: 'core_dict_bridge_request_duration_seconds', help: 'DICT API calls made by the bridge, by operation and HTTP status (or "error" when no answer)', labelNames: ['operation', 'status'] as const, buckets: RPC_BUCKETS }));

/** Lookup cache (Redis) answers: hit, miss, error (Redis failed or circuit open). */
export const cacheRequests = once('core_dict_lookup_cache_requests_total', () =>
  new client.Counter({ name: 'core_dict_lookup_cache_requests_total', help: 'Lookup cache reads, by result (hit, miss, error)', labelNames: ['result'] as const }));

/** LookupKey's reads of our own entries (store/own-entries.ts): from the in-memory copy (hit), another lookup's read in flight (shared), Postgres (miss), or Postgres because the change channel is down (off). */
export const ownEntryReads = once('core_dict_lookup_own_entry_reads_total', () =>
  new client.Counter({ name: 'core_dict_lookup_own_entry_reads_total', help: "LookupKey's reads of our own entries, by where they were answered from (hit: the in-memory copy; shared: another lookup's read in flight; miss, off: Postgres)", labelNames: ['result'] as const }));

const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;
const circuits = new Map<string, () => keyof typeof CIRCUIT_VALUE>();
export const circuitState = once('core_dict_circuit_state', () =>
  new client.Gauge({
    name: 'core_dict_circuit_state',
    aggregator: 'max',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['circuit'] as const,
    collect() {
      for (const [name, state] of circuits) this.set({ circuit: name }, CIRCUIT_VALUE[state()]);
    },
  }));

/** Reports `state()` as core_dict_circuit_state{circuit=name} on every scrape. */
export function watchCircuit(name: string, state: () => keyof typeof CIRCUIT_VALUE): void {
  circuits.set(name, state);
}

interface GateStats {
  inFlight: number;
  queued: number;
  shed: number;
}
const gates = new Map<string, () => GateStats>();
const shedSeen = new Map<string, number>();
export const admissionInFlight = once('core_dict_admission_in_flight', () =>
  new client.Gauge({
    name: 'core_dict_admission_in_flight',
    aggregator: 'sum',
    help: 'Calls inside an admission gate now',
    labelNames: ['gate'] as const,
    collect() {
      for (const [name, stats] of gates) this.set({ gate: name }, stats().inFlight);
    },
  }));
export const admissionQueued = once('core_dict_admission_queued', () =>
  new client.Gauge({
    name: 'core_dict_admission_queued',
    aggregator: 'sum',
    help: 'Calls waiting at an admission gate now',
    labelNames: ['gate'] as const,
    collect() {
      for (const [name, stats] of gates) this.set({ gate: name }, stats().queued);
    },
  }));
export const admissionShed = once('core_dict_admission_shed_total', () =>
  new client.Counter({
    name: 'core_dict_admission_shed_total',
    help: 'Calls refused at once by a full admission gate',
    labelNames: ['gate'] as const,
    collect() {
      for (const [name, stats] of gates) {
        const now = stats().shed;
        const delta = now - (shedSeen.get(name) ?? 0);
        if (delta > 0) this.inc({ gate: name }, delta);
        shedSeen.set(name, now);
      }
    },
  }));

/** The rate limits of api/rate-limit.ts, as core_dict_rate_limited_total's `limit` label names them. */
export const RATE_LIMITS = ['client', 'auth_failures'] as const;
export type RateLimitName = (typeof RATE_LIMITS)[number];

/**
 * Calls refused by a rate limit of api/rate-limit.ts, by `limit`: `client` (the per-client limit)
 * or `auth_failures` (a peer with too many failed authentications). Both series exist from the
 * start, so a dashboard's rate() sees the first refusal.
 */
export const rateLimited = once('core_dict_rate_limited_total', () => {
  const c = new client.Counter({ name: 'core_dict_rate_limited_total', help: 'Calls refused by a rate limit: the per-client limit (limit="client") or the failed-authentication limit per peer (limit="auth_failures")', labelNames: ['limit'] as const });
  for (const limit of RATE_LIMITS) c.inc({ limit }, 0);
  return c;
});

/** Reports a gate's stats (api/admission.ts) on every scrape. */
export function watchGate(name: string, stats: () => GateStats): void {
  gates.set(name, stats);
  shedSeen.set(name, stats().shed);
}

const PROBE_TIMEOUT_MS = 2_000;
/** Dependency reachability as seen by this process (1 up, 0 down), refreshed on scrape. */
const dependencyProbes = new Map<string, () => Promise<boolean>>();
export const dependencyUp = once('core_dict_dependency_up', () =>
  new client.Gauge({
    name: 'core_dict_dependency_up',
    aggregator: 'min',
    help: 'Whether a dependency (postgres, redis, temporal, dict) answered this process\'s last probe: 1 up, 0 down',
    labelNames: ['dependency'] as const,
    async collect() {
      const within = (p: Promise<boolean>) => Promise.race([p, new Promise<boolean>((r) => setTimeout(r, PROBE_TIMEOUT_MS, false).unref())]).catch(() => false);
      await Promise.all([...dependencyProbes].map(async ([name, probe]) => this.set({ dependency: name }, (await within(probe())) ? 1 : 0)));
    },
  }));

export function watchDependency(name: string, probe: () => Promise<boolean>): void {
  dependencyProbes.set(name, probe);
}

// ---- Postgres-backed gauges ----------------------------------------------------------------

interface DbSnapshot {
  keys: { key_type: string; status: string; n: number }[];
  claims: { status: string; role: string; n: number }[];
  nextDeadline: number | null;
  outboxOldest: number | null;
  outboxUnpublished: number;
}

let dbSource: { sql: Sql; minIntervalMs: number } | undefined;
let dbCache: { at: number; snap: Promise<DbSnapshot | undefined> } | undefined;

async function readDb(sql: Sql): Promise<DbSnapshot> {
  const [keys, claims, deadline, outbox] = await Promise.all([
    sql<{ key_type: string; status: string; n: number }[]>`select key_type, status, count(*)::int as n from entries group by 1, 2`,
    sql<{ status: string; role: string; n: number }[]>`select status, role, count(*)::int as n from claims group by 1, 2`,
    sql<{ t: number | null }[]>`select extract(epoch from min(next_deadline))::float8 as t from claims where status in ('OPEN', 'WAITING_RESOLUTION', 'CONFIRMED') and next_deadline is not null`,
    sql<{ t: number | null; n: number }[]>`select extract(epoch from min(created_at))::float8 as t, count(*)::int as n from outbox where published_at is null`,
  ]);
  return { keys: [...keys], claims: [...claims], nextDeadline: deadline[0]?.t ?? null, outboxOldest: outbox[0]?.t ?? null, outboxUnpublished: outbox[0]?.n ?? 0 };
}

function snapshot(): Promise<DbSnapshot | undefined> {
  if (!dbSource) return Promise.resolve(undefined);
  const now = Date.now();
  if (!dbCache || now - dbCache.at >= dbSource.minIntervalMs) {
    dbCache = { at: now, snap: readDb(dbSource.sql).catch(() => undefined) };
  }
  return dbCache.snap;
}

export const keysGauge = once('core_dict_keys', () =>
  new client.Gauge({
    name: 'core_dict_keys',
    aggregator: 'max',
    help: 'Keys (entries) in our database, by key type and status',
    labelNames: ['type', 'status'] as const,
    async collect() {
      const s = await snapshot();
      if (!s) return;
      this.reset();
      for (const r of s.keys) this.set({ type: r.key_type, status: r.status }, r.n);
    },
  }));

export const claimsGauge = once('core_dict_claims', () =>
  new client.Gauge({
    name: 'core_dict_claims',
    aggregator: 'max',
    help: 'Claims (portability and ownership) in our database, by status and our role',
    labelNames: ['status', 'role'] as const,
    async collect() {
      const s = await snapshot();
      if (!s) return;
      this.reset();
      for (const r of s.claims) this.set({ status: r.status, role: r.role }, r.n);
    },
  }));

export const nextClaimDeadline = once('core_dict_claim_next_deadline_timestamp_seconds', () =>
  new client.Gauge({
    name: 'core_dict_claim_next_deadline_timestamp_seconds',
    aggregator: 'min',
    help: 'Unix time of the earliest deadline among open claims (absent when none)',
    async collect() {
      const s = await snapshot();
      this.reset();
      if (s?.nextDeadline != null) this.set(s.nextDeadline);
    },
  }));

export const outboxLag = once('core_dict_outbox_lag_seconds', () =>
  new client.Gauge({
    name: 'core_dict_outbox_lag_seconds',
    aggregator: 'max',
    help: 'Age of the oldest unpublished outbox row (0 when none)',
    async collect() {
      const s = await snapshot();
      if (!s) return;
      this.set(s.outboxOldest == null ? 0 : Math.max(0, Date.now() / 1000 - s.outboxOldest));
    },
  }));

export const outboxUnpublished = once('core_dict_outbox_unpublished', () =>
  new client.Gauge({
    name: 'core_dict_outbox_unpublished',
    aggregator: 'max',
    help: 'Outbox rows not yet published',
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.outboxUnpublished);
    },
  }));

// The outbox relay's own counters (relay/main.ts serves them with the outbox gauges above).
export const relayPublished = once('core_dict_relay_published_total', () =>
  new client.Counter({ name: 'core_dict_relay_published_total', help: 'Outbox rows the relay published to JetStream and marked published' }));
export const relayPruned = once('core_dict_relay_pruned_total', () =>
  new client.Counter({ name: 'core_dict_relay_pruned_total', help: 'Published outbox rows deleted after OUTBOX_RETENTION_HOURS' }));

/** Serves the Postgres-backed gauges from `sql`, queried at most once per `minIntervalMs`. */
export function watchDatabase(sql: Sql, minIntervalMs: number): void {
  dbSource = { sql, minIntervalMs };
  dbCache = undefined;
}

let defaultsOn = false;
/** Node process metrics (CPU, memory, event loop lag, start time) under the `core_dict_` prefix's neighbours. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  client.collectDefaultMetrics({ register });
}

/** Every metric name our code registers (histograms with their _bucket/_sum/_count series). */
export const METRIC_NAMES: readonly string[] = [
  rpcDuration, rpcInFlight, bridgeDuration, cacheRequests, ownEntryReads, circuitState, admissionInFlight, admissionQueued, admissionShed, rateLimited, dependencyUp,
  keysGauge, claimsGauge, nextClaimDeadline, outboxLag, outboxUnpublished,
].map((m) => (m as unknown as { name: string }).name);

// ---- API cluster (API_WORKERS > 1) ----------------------------------------------------------
// Each node:cluster worker has its own registry. The primary serves the metrics listener
// (api/metrics-server.ts) and asks every worker for its registry over the cluster IPC channel
// (prom-client's AggregatorRegistry: counters and histograms summed, gauges by their `aggregator`).

/** In the primary: the text exposition of every worker's registry, aggregated. */
export function clusterExposition(): () => Promise<string> {
  const agg = new client.AggregatorRegistry();
  return () => agg.clusterMetrics();
}

/** In a cluster worker: answer the primary's requests for this worker's registry. */
export function joinClusterMetrics(): void {
  new client.AggregatorRegistry(); // installs prom-client's worker-side listener
}

/** The text exposition of this process's registry, plus `extra` (e.g. Temporal Core's own). */
export async function exposition(extra?: () => Promise<string>): Promise<string> {
  const ours = await register.metrics();
  const more = extra ? await extra().catch(() => '') : '';
  return more ? `${ours}\n${more}` : ours;
}
