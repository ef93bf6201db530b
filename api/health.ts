// Component health for HealthCheck, grpc.health.v1 and /readyz: each probe bounded in time, and
// probes run at most once per `maxAgeMs` whatever the number of callers (one round of probes in
// flight at a time; everyone shares its answer). /readyz and grpc.health.v1 need no token, so
// without this a probe flood would mean a flood of TLS handshakes to DICT and queries to
// Postgres. Details (versions, error texts with addresses) go only to operators and the log.
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Sql } from '../store/db.js';
import { callContextOf } from './call-context.js';

export interface ComponentHealth {
  name: string;
  ok: boolean;
  detail: string;
  latencyMs: number;
}

export type Probe = () => Promise<string>;

async function run(name: string, probe: Probe, timeoutMs: number): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, ok: true, detail, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message, latencyMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * DICT has no health endpoint and every call counts against rate limits, so the bridge probe
 * opens a connection to DICT's host instead — a TLS handshake with our client certificate when
 * the URL is https, as mTLS gateways refuse handshakes without one.
 */
export function dictReachability(baseUrl: string, tls?: { caPem?: string; certPem?: string; keyPem?: string }, timeoutMs = 2000): Probe {
  return () =>
    new Promise((resolve, reject) => {
      const url = new URL(baseUrl);
      const https = url.protocol === 'https:';
      const port = Number(url.port || (https ? 443 : 80));
      const socket = https
        ? tlsConnect({ host: url.hostname, port, servername: url.hostname, ca: tls?.caPem, cert: tls?.certPem, key: tls?.keyPem })
        : netConnect({ host: url.hostname, port });
      // The socket must not outlive the probe, whatever happens.
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no connection in ${timeoutMs} ms`)));
      socket.once(https ? 'secureConnect' : 'connect', () => {
        socket.destroy();
        resolve(`${url.host} reachable`);
      });
      socket.once('error', (err) => {
        socket.destroy();
        reject(err);
      });
    });
}

export function healthChecker(o: {
  temporal: Client;
  sql: Sql;
  redis: Redis;
  dictBaseUrl: string;
  dictTls?: { caPem?: string; certPem?: string; keyPem?: string };
  timeoutMs?: number;
  /** Answers younger than this are shared instead of probing again (default 2 s). */
  maxAgeMs?: number;
  log?: { warn(o: object, msg: string): void; info(o: object, msg: string): void };
}) {
  const timeoutMs = o.timeoutMs ?? 2000;
  const probes: Record<string, Probe> = {
    temporal: async () => {
      // A deadline on the call itself (the race below only stops waiting); governed, so the
      // client's call context goes off again afterwards (api/call-context.ts).
      const info = await callContextOf(o.temporal).run(() => o.temporal.withDeadline(Date.now() + timeoutMs, () => o.temporal.workflowService.getSystemInfo({})));
      return `server ${info.serverVersion ?? 'up'}`;
    },
    postgres: async () => {
      await o.sql`select 1`;
      return 'ok';
    },
    redis: async () => o.redis.ping(),
    bridge: dictReachability(o.dictBaseUrl, o.dictTls, timeoutMs),
  };
  const maxAgeMs = o.maxAgeMs ?? 2000;
  let last: { at: number; components: ComponentHealth[] } | undefined;
  let inFlight: Promise<ComponentHealth[]> | undefined;
  let rounds = 0;
  const probeAll = async (): Promise<ComponentHealth[]> => {
    rounds++;
    const components = await Promise.all(Object.entries(probes).map(([name, p]) => run(name, p, timeoutMs)));
    for (const c of components) {
      const was = last?.components.find((x) => x.name === c.name);
      if (!c.ok && (!was || was.ok)) o.log?.warn({ component: c.name, detail: c.detail }, 'health: component down');
      if (c.ok && was && !was.ok) o.log?.info({ component: c.name }, 'health: component up again');
    }
    last = { at: Date.now(), components };
    return components;
  };
  const checker = async (): Promise<ComponentHealth[]> => {
    if (last && Date.now() - last.at < maxAgeMs) return last.components;
    inFlight ??= probeAll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  /** Rounds of probes run so far: a probe flood must not show here. */
  return Object.assign(checker, { rounds: () => rounds });
}

/** What an anonymous caller may see of the components: names and up/down, no details. */
export const publicHealth = (components: ComponentHealth[]) => components.map((c) => ({ name: c.name, ok: c.ok }));
