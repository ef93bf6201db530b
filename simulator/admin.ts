// Test-only admin API (JSON, unsigned) under /admin/: fault injection, stats, reset, peeking at
// stored entries. Not part of BCB's contract.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { FAULT_KINDS, SIM_OPERATIONS, type FaultRegistry } from './faults.js';
import type { StatsCounter } from './stats.js';
import type { SimStore } from './store.js';

const FaultBody = z
  .object({
    operation: z.enum([...SIM_OPERATIONS, '*']).default('*'),
    kind: z.enum(FAULT_KINDS),
    count: z.number().int().min(1).default(1),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    dropConnection: z.boolean().optional(),
  })
  .strict()
  .refine((f) => f.kind !== 'latency' || f.latencyMs !== undefined, { message: 'latencyMs is required for kind latency', path: ['latencyMs'] });

/** Body of POST /admin/entries/:key/open-claim (absent or empty body: claim opened now). */
const OpenClaimBody = z
  .object({
    claimCreationDate: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export interface AdminDeps {
  store: SimStore;
  faults: FaultRegistry;
  stats: StatsCounter;
  /** The simulator's clock (default open-claim creation date). */
  now: () => Date;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Handles /admin/* and /healthz; returns false when the path is not an admin route. */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, segments: string[], body: () => Promise<string>, deps: AdminDeps): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (segments.length === 1 && segments[0] === 'healthz' && method === 'GET') {
    try {
      await deps.store.ping();
      json(res, 200, { status: 'ok' });
    } catch (e) {
      json(res, 503, { status: 'unavailable', error: (e as Error).message });
    }
    return true;
  }
  if (segments[0] !== 'admin') return false;
  const route = `${method} ${segments.slice(1, 2).join('/')}`;
  switch (route) {
    case 'POST faults': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(await body());
      } catch {
        json(res, 400, { error: 'body must be JSON' });
        return true;
      }
      const r = FaultBody.safeParse(parsed);
      if (!r.success) {
        json(res, 400, { error: 'invalid fault', issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
        return true;
      }
      deps.faults.add(r.data);
      json(res, 201, { faults: deps.faults.list() });
      return true;
    }
    case 'GET faults':
      json(res, 200, { faults: deps.faults.list() });
      return true;
    case 'DELETE faults':
      deps.faults.clear();
      res.writeHead(204).end();
      return true;
    case 'GET stats':
      json(res, 200, deps.stats.snapshot());
      return true;
    case 'POST reset':
      await deps.store.reset();
      deps.stats.reset();
      deps.faults.clear();
      res.writeHead(204).end();
      return true;
    case 'POST entries':
    case 'DELETE entries': {
      // Entry side of an open claim (claims are not simulated yet): marks or clears it.
      const key = segments[2];
      if (key === undefined || segments.length !== 4 || segments[3] !== 'open-claim') break;
      let date: Date | null = null;
      if (method === 'POST') {
        const text = (await body()).trim();
        let parsed: unknown = {};
        if (text !== '') {
          try {
            parsed = JSON.parse(text);
          } catch {
            json(res, 400, { error: 'body must be JSON' });
            return true;
          }
        }
        const r = OpenClaimBody.safeParse(parsed);
        if (!r.success) {
          json(res, 400, { error: 'invalid open claim', issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
          return true;
        }
        date = r.data.claimCreationDate !== undefined ? new Date(r.data.claimCreationDate) : deps.now();
      }
      const entry = await deps.store.write([`key:${key}`], (repo) => repo.setOpenClaim(key, date));
      if (entry) json(res, 200, entry);
      else json(res, 404, { error: 'not found' });
      return true;
    }
    case 'GET entries': {
      const key = segments[2];
      if (key === undefined || segments.length !== 3) break;
      const entry = await deps.store.read.findByKey(key);
      if (entry) json(res, 200, entry);
      else json(res, 404, { error: 'not found' });
      return true;
    }
  }
  json(res, 404, { error: `no admin route ${method} /${segments.join('/')}` });
  return true;
}
