// The sustained phase of bench/create-key.ts: CreateKey to-ACTIVE offered open-loop at a fixed rate
// (each request started on its schedule whatever the answers, at most --max-in-flight at once, the
// whole phase cut after seconds + wait + 15 s), then where the time went, from a sample of the
// workflow histories (event types and times only: payloads stay encrypted). Loopback only.
import { cpus, loadavg } from 'node:os';
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { google, temporal } from '@temporalio/proto';
import { entryCreateWorkflowId } from '../workflows/ids.js';
import { breakdown, percentile, summarize, type Breakdown, type HistoryEventLite } from './history-breakdown.js';
import { percentileSvg } from './svg.js';

export interface SustainedOptions {
  url: string;
  ispb: string;
  rate: number;
  seconds: number;
  maxInFlight: number;
  waitSeconds: number;
  /** Histories to fetch (Infinity: all successful ones). */
  sample: number;
  /** Budget for fetching histories. */
  historySeconds: number;
  temporalAddress: string;
  namespace: string;
  out?: string;
  /** Sends one CreateKey to-ACTIVE; code undefined when the answer was ACTIVE. */
  send: (signal: AbortSignal) => Promise<{ requestId: string; code?: string }>;
}

interface Attempt {
  i: number;
  requestId?: string;
  /** Epoch ms: when it was due, when it was sent, when it was answered. */
  dueMs: number;
  sentMs?: number;
  answeredMs?: number;
  code?: string;
}

const epoch = (perfMs: number) => performance.timeOrigin + perfMs;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');

function stats(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.length ? s[s.length - 1]! : NaN, sorted: s };
}

const PLOT_PCTS = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99];
const plotPoints = (sorted: number[]): [number, number][] => (sorted.length ? PLOT_PCTS.map((p) => [p, percentile(sorted, Math.max(p, 0.0001))]) : []);

/** One core's sha256 throughput over ~0.5 s: a one-line CPU calibration for the results. */
function calibrate(): number {
  const buf = Buffer.alloc(1 << 20, 7);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 500) {
    createHash('sha256').update(buf).digest();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

const tsMs = (t: google.protobuf.ITimestamp | null | undefined): number => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);
const num = (v: unknown): number | undefined => (v == null ? undefined : Number(v));

/** A history's events reduced to what the breakdown needs. */
function liteEvents(events: temporal.api.history.v1.IHistoryEvent[]): HistoryEventLite[] {
  return events.map((e) => ({
    eventId: num(e.eventId),
    type: temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType),
    timeMs: tsMs(e.eventTime),
    activityType: e.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined,
    scheduledEventId: num(
      e.activityTaskStartedEventAttributes?.scheduledEventId ??
        e.activityTaskCompletedEventAttributes?.scheduledEventId ??
        e.activityTaskFailedEventAttributes?.scheduledEventId ??
        e.activityTaskTimedOutEventAttributes?.scheduledEventId,
    ),
  }));
}

export async function sustainedPhase(o: SustainedOptions): Promise<void> {
  const total = Math.min(Math.round(o.rate * o.seconds), 100_000);
  const load0 = loadavg();
  const cpuMBps = calibrate();
  const started = new Date();
  const out = o.out ?? join('bench', 'results', started.toISOString().replace(/[:.]/g, '-'));
  console.log(`# sustained: ${o.rate}/s for ${o.seconds} s (${total} CreateKey to-ACTIVE, wait_timeout ${o.waitSeconds} s, max in flight ${o.maxInFlight}); load average ${load0.map((x) => x.toFixed(2)).join(' ')}; CPU ${cpuMBps.toFixed(0)} MB/s sha256 on one core (${cpus()[0]?.model}, ${cpus().length} cores)`);

  // Open loop: request i is due at start + i/rate and is sent then, answered or not.
  const abort = new AbortController();
  setMaxListeners(o.maxInFlight + 16, abort.signal);
  const attempts: Attempt[] = [];
  const pending = new Set<Promise<void>>();
  let inFlight = 0;
  let maxSeenInFlight = 0;
  let maxLagMs = 0;
  const start = performance.now() + 50;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.rate;
    await sleep(due - performance.now());
    const a: Attempt = { i, dueMs: epoch(due) };
    attempts.push(a);
    if (inFlight >= o.maxInFlight) {
      a.code = 'not sent: client in-flight limit';
      continue;
    }
    inFlight++;
    maxSeenInFlight = Math.max(maxSeenInFlight, inFlight);
    a.sentMs = epoch(performance.now());
    maxLagMs = Math.max(maxLagMs, a.sentMs - a.dueMs);
    const p = o
      .send(abort.signal)
      .then((r) => {
        a.requestId = r.requestId;
        a.code = r.code;
        a.answeredMs = epoch(performance.now());
      })
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  }
  const offeredEnd = performance.now();
  // Hard bound: whatever is still open wait_timeout + 15 s after the last send is cancelled.
  const drained = await Promise.race([Promise.all([...pending]).then(() => true), sleep((o.waitSeconds + 15) * 1000).then(() => false)]);
  if (!drained) abort.abort();
  await Promise.all([...pending]);
  const endPerf = performance.now();

  const sent = attempts.filter((a) => a.sentMs !== undefined);
  const ok = attempts.filter((a) => a.answeredMs !== undefined && a.code === undefined);
  const failures: Record<string, number> = {};
  for (const a of attempts) if (a.code !== undefined) failures[a.code] = (failures[a.code] ?? 0) + 1;
  // Latency from when the request was due (coordinated-omission free), not when it was sent.
  const toActive = stats(ok.map((a) => a.answeredMs! - a.dueMs));
  // Offered rate: sends per second between the first and the last send (n - 1 intervals).
  const sendTimes = sent.map((a) => a.sentMs!);
  const offeredSeconds = sendTimes.length > 1 ? (Math.max(...sendTimes) - Math.min(...sendTimes)) / 1000 : (offeredEnd - start) / 1000;
  const offeredRate = sendTimes.length > 1 ? (sendTimes.length - 1) / offeredSeconds : sendTimes.length / offeredSeconds;
  // Answered ACTIVE (within wait_timeout) per second of the offered window.
  const achievedRate = ok.length / offeredSeconds;
  const targetMet = ok.length === total && toActive.p99 <= 2000;
  const load1 = loadavg();
  console.log(`offered ${sent.length}/${total} in ${offeredSeconds.toFixed(1)} s = ${offeredRate.toFixed(2)}/s (max send lag ${f1(maxLagMs)} ms, max in flight ${maxSeenInFlight}${drained ? '' : ', cut at the time bound'})`);
  console.log(`answered ACTIVE ${ok.length} = ${achievedRate.toFixed(2)}/s of the offered window`);
  console.log(`to-ACTIVE (from due time, answered ACTIVE only) p50=${f1(toActive.p50)}ms p95=${f1(toActive.p95)}ms p99=${f1(toActive.p99)}ms max=${f1(toActive.max)}ms`);
  console.log(`failures: ${Object.keys(failures).length ? Object.entries(failures).map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}`);
  console.log(`target (every one ACTIVE, to-ACTIVE p99 ≤ 2 s): ${targetMet ? 'MET' : 'NOT MET'}`);

  // Where the time goes: histories of an evenly spaced sample of every request that reached the
  // API (answered ACTIVE or not: those answered PENDING when wait_timeout ran out are the tail).
  // A workflow still running is fetched again until it closes or the budget is spent.
  const connection = await Connection.connect({ address: o.temporalAddress });
  const temporalClient = new Client({ connection, namespace: o.namespace });
  const candidates = sent.filter((a) => a.requestId !== undefined);
  const want = Number.isFinite(o.sample) ? Math.max(0, Math.min(o.sample, candidates.length)) : candidates.length;
  const picked = Array.from({ length: want }, (_, k) => candidates[Math.floor((k * candidates.length) / want)]!);
  const historyDeadline = performance.now() + o.historySeconds * 1000;
  const breakdowns: Breakdown[] = [];
  const serverToActive: number[] = [];
  const completedAt: number[] = [];
  const historyErrors: Record<string, number> = {};
  const queue = [...picked];
  const CLOSED = /^EVENT_TYPE_WORKFLOW_EXECUTION_(COMPLETED|FAILED|TIMED_OUT|TERMINATED|CANCELED|CONTINUED_AS_NEW)$/;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (queue.length && performance.now() < historyDeadline) {
        const a = queue.shift()!;
        try {
          const history = await temporalClient.workflow.getHandle(entryCreateWorkflowId(o.ispb, a.requestId!)).fetchHistory();
          const events = liteEvents(history.events ?? []);
          const last = events[events.length - 1];
          if (!last || !CLOSED.test(last.type)) {
            queue.push(a);
            await sleep(500);
            continue;
          }
          const answered = a.code === undefined ? a.answeredMs : undefined;
          breakdowns.push(breakdown(a.sentMs!, answered, events));
          if (last.type === 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED') {
            serverToActive.push(last.timeMs - a.dueMs);
            completedAt.push(last.timeMs);
          }
        } catch (err) {
          const k = (err as Error).name || 'Error';
          historyErrors[k] = (historyErrors[k] ?? 0) + 1;
          if (Object.values(historyErrors).reduce((x, y) => x + y, 0) <= 3) console.error(`history of ${a.requestId}: ${(err as Error).message}`);
        }
      }
    }),
  );
  if (queue.length) historyErrors['still running at the history budget'] = queue.length;
  await connection.close();
  const segments = summarize(breakdowns);
  const accept = stats(breakdowns.map((b) => b.segments.find((s) => s.name.startsWith('accept:'))?.ms ?? NaN).filter(Number.isFinite));
  const eventual = stats(serverToActive);
  // What the stack sustained: workflows completed (scaled from the evenly spaced sample) per
  // second between the first due time and the last completion.
  const completedRate = completedAt.length ? ((completedAt.length / picked.length) * candidates.length) / ((Math.max(...completedAt) - epoch(start)) / 1000) : NaN;
  const notFetched = Object.entries(historyErrors).map(([k, v]) => `${k}=${v}`).join(', ');
  console.log(`\naccept (client sent → WorkflowExecutionStarted, ${accept.n} sampled histories) p50=${f1(accept.p50)}ms p95=${f1(accept.p95)}ms p99=${f1(accept.p99)}ms max=${f1(accept.max)}ms`);
  console.log(`to-ACTIVE in Temporal (due → WorkflowExecutionCompleted, same sample, answered PENDING included) p50=${f1(eventual.p50)}ms p95=${f1(eventual.p95)}ms p99=${f1(eventual.p99)}ms max=${f1(eventual.max)}ms`);
  console.log(`workflows completed (ACTIVE) per second, first due → last completion, from the sample: ${f1(completedRate)}/s`);
  console.log(`where the time goes (${breakdowns.length} of ${candidates.length} histories${notFetched ? `; not fetched: ${notFetched}` : ''}; segments add up to client sent → answered, or → WorkflowExecutionCompleted when answered PENDING):`);
  const w = Math.max(20, ...segments.map((s) => s.name.length));
  console.log(`${'segment'.padEnd(w)}  ${'n'.padStart(5)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  ${'max ms'.padStart(8)}  ${'mean ms'.padStart(8)}`);
  for (const s of segments) console.log(`${s.name.padEnd(w)}  ${String(s.n).padStart(5)}  ${f1(s.p50).padStart(8)}  ${f1(s.p99).padStart(8)}  ${f1(s.max).padStart(8)}  ${f1(s.meanMs).padStart(8)}`);

  mkdirSync(out, { recursive: true });
  const load2 = loadavg();
  const summary = (x: ReturnType<typeof stats>) => ({ n: x.n, p50: x.p50, p95: x.p95, p99: x.p99, max: x.max });
  writeFileSync(
    join(out, 'results.json'),
    JSON.stringify(
      {
        bench: 'create-key sustained',
        started: started.toISOString(),
        url: o.url,
        machine: { cpu: cpus()[0]?.model, cores: cpus().length, sha256MBpsOneCore: Math.round(cpuMBps), loadavgBefore: load0, loadavgAfterOffered: load1, loadavgEnd: load2 },
        options: { rate: o.rate, seconds: o.seconds, maxInFlight: o.maxInFlight, waitSeconds: o.waitSeconds, sample: Number.isFinite(o.sample) ? o.sample : 'all' },
        offered: { total, sent: sent.length, seconds: offeredSeconds, ratePerSec: offeredRate, maxSendLagMs: maxLagMs, maxInFlight: maxSeenInFlight, cutAtTimeBound: !drained },
        achieved: { answeredActive: ok.length, answeredActivePerSec: achievedRate, workflowsCompletedPerSec: completedRate },
        toActiveMsFromDue: summary(toActive),
        acceptMsSampled: summary(accept),
        toActiveInTemporalMsFromDueSampled: summary(eventual),
        failures,
        target: { rule: 'every request ACTIVE and to-ACTIVE p99 <= 2000 ms', met: targetMet },
        breakdown: { histories: breakdowns.length, of: candidates.length, notFetched: historyErrors, segments },
        elapsedSeconds: (endPerf - start) / 1000,
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(
    join(out, 'latency.svg'),
    percentileSvg(`CreateKey at ${o.rate}/s for ${o.seconds} s (load avg ${load0[0]!.toFixed(1)})`, [
      { name: 'to-ACTIVE', points: plotPoints(toActive.sorted) },
      { name: 'to-ACTIVE in Temporal', points: plotPoints(eventual.sorted) },
      { name: 'accept (histories)', points: plotPoints(accept.sorted) },
    ]),
  );
  console.log(`\nwrote ${join(out, 'results.json')} and ${join(out, 'latency.svg')}`);
}
