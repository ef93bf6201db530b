// Standalone reproduction of why per-call objects outlive V8's young-generation collections in
// a Connect server on Node 20 (bench/RESULTS.md, 2026-12-06 "why a call's objects survive
// scavenges"). Each case runs in its own node process under --trace-gc-nvp with the API's heap
// flags and reports, over its scavenges after the first quarter, the mean pause, the share of the
// young generation that survived and what was promoted.
//
// - JS cases (no I/O; --n objects, the last one kept): objects whose hidden class (V8 map) is
//   shared, against objects that each get a fresh one: generator objects from a generator function
//   created per call (what TypeScript's inlined __asyncGenerator(this, arguments, function* () {…})
//   helper does in Connect's compiled pipeline) and Node 20's AbortSignal (built by Object.setPrototypeOf and
//   then given its fields). Each case also says whether two of its objects share a map.
// - HTTP/2 cases (--http; h2load at --rate for --requests, loopback): a bare node:http2 handler,
//   the same with one async generator made per call over the request and never started
//   (connect-node makes one per call to read the body; here req.resume() reads it), and the bare Connect server of bench/lookup.ts.
//
//   bash scripts/bench.sh gc-survival [--n 400000] [--http] [--rate 1900] [--requests 40000] [--out DIR]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http2 from 'node:http2';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import { API_NODE_FLAGS } from '../config/node-flags.js';
import { LookupKeyResponseSchema } from '../gen/dict/core/v1/service_pb.js';

// ---------- the objects (run inside the child) ----------

function* sharedGenerator(x: number) {
  yield x;
}
const field = Symbol('field');
class Plain {}

/** Builds one object of a JS case. */
const makers: Record<string, () => object> = {
  'generator, one function': () => sharedGenerator(1),
  'generator, a function per call': () =>
    (function* (x: number) {
      yield x;
    })(1),
  'async generator, a function per call': () =>
    (async function* (x: number) {
      yield x;
    })(1),
  'object, prototype set then a field added': () => {
    const o: Record<string | symbol, number> = { a: 1 };
    Object.setPrototypeOf(o, Plain.prototype);
    o[field] = 1;
    return o;
  },
  'object, field added then prototype set': () => {
    const o: Record<string | symbol, number> = { a: 1 };
    o[field] = 1;
    Object.setPrototypeOf(o, Plain.prototype);
    return o;
  },
  'AbortController().signal': () => new AbortController().signal,
};

async function childJs(name: string, n: number): Promise<void> {
  const make = makers[name]!;
  // %HaveSameMap needs --allow-natives-syntax, which the parent passes to JS cases.
  const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  console.log(JSON.stringify({ sharedMap: sameMap(make(), make()) }));
  let keep: object | undefined;
  for (let i = 0; i < n; i++) {
    keep = make();
    if (i % 100 === 0) await tick();
  }
  if (!keep) throw new Error('nothing made');
}

const frame = () => {
  const body = Buffer.alloc(12, 1);
  body[0] = 0;
  body.writeUInt32BE(7, 1);
  return body;
};

async function childHttp(name: string): Promise<void> {
  const body = frame();
  const answer = (res: http2.Http2ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': '0' });
    res.end(body);
  };
  const held: { last?: unknown } = {};
  const server = http2.createServer((req, res) => {
    // connect-node reads the request through an async generator made per call.
    if (name === 'node:http2, a per-call async generator') held.last = (async function* (r: AsyncIterable<Buffer>) {
      for await (const c of r) yield c;
    })(req);
    req.resume();
    req.on('end', () => answer(res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.once('SIGTERM', () => process.exit(0));
  console.log(JSON.stringify({ listening: (server.address() as { port: number }).port }));
}

// ---------- the parent ----------

interface Row {
  case: string;
  scavenges: number;
  pauseMs: number;
  survivedPct: number;
  promotedMB: number;
  allocatedMB: number;
  sharedMap?: boolean;
  requestsPerSecond?: number;
}

/** Scavenges from --trace-gc-nvp lines, the first quarter (warm-up) left out. */
export function scavengeStats(text: string): Omit<Row, 'case'> {
  const s = text
    .split('\n')
    .filter((l) => l.includes(' gc=s '))
    .map((l) => Object.fromEntries([...l.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1], Number(m[2])])) as Record<string, number>);
  const kept = s.slice(Math.floor(s.length / 4));
  const mean = (k: string) => (kept.length ? kept.reduce((a, x) => a + (x[k] ?? 0), 0) / kept.length : NaN);
  return {
    scavenges: kept.length,
    pauseMs: +mean('pause').toFixed(2),
    survivedPct: +mean('new_space_survive_rate_').toFixed(1),
    promotedMB: +(mean('promoted') / 1e6).toFixed(2),
    allocatedMB: +(mean('allocated') / 1e6).toFixed(1),
  };
}

const GC_FLAGS = [...API_NODE_FLAGS, '--trace-gc-nvp'];

function runJs(name: string, n: number): Row {
  const r = spawnSync(process.execPath, [...GC_FLAGS, '--allow-natives-syntax', __filename, '--child', name, '--n', String(n)], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${name}: exit ${r.status ?? r.signal}\n${r.stderr}`);
  const first = r.stdout.split('\n').find((l) => l.startsWith('{'));
  return { case: name, ...scavengeStats(r.stdout), sharedMap: (JSON.parse(first!) as { sharedMap: boolean }).sharedMap };
}

async function runHttp(name: string, argv: string[], o: { rate: number; requests: number; frameFile: string; out: string }): Promise<Row> {
  // The child's trace goes to a file: h2load runs synchronously here, and a pipe nobody reads
  // would stall the child once full.
  const traceFile = join(o.out, `${name.replace(/[^a-z0-9]+/gi, '-')}.gc.log`);
  const fd = openSync(traceFile, 'w');
  const child = spawn(process.execPath, [...GC_FLAGS, ...argv], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  const exited = once(child, 'exit');
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const read = () => readFileSync(traceFile, 'utf8');
  let requestsPerSecond: number;
  try {
    const deadline = Date.now() + 30_000;
    let port: number | undefined;
    while (port === undefined) {
      if (Date.now() > deadline || gone()) throw new Error(`${name}: did not listen (${gone() ? `exited ${child.exitCode ?? child.signalCode}` : 'in 30 s'})`);
      const m = /\{"listening":(\d+)/.exec(read());
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 50));
    }
    const url = `http://127.0.0.1:${port}/dict.core.v1.CoreDictService/LookupKey`;
    // Twice the paced run's own length, and a minute more, before h2load is killed.
    const timeout = Math.ceil((2 * o.requests) / o.rate) * 1000 + 60_000;
    const h2 = (args: string[]) => spawnSync('h2load', ['-c', '8', '-m', '32', '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', o.frameFile, ...args, url], { encoding: 'utf8', timeout });
    h2(['-n', '5000']);
    const r = h2(['-n', String(o.requests), '--rps', (o.rate / 8).toFixed(2)]);
    const done = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(r.stdout ?? '');
    const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(r.stdout ?? '');
    if (!done || Number(done[1]) !== o.requests) throw new Error(`${name}: h2load did not complete (${r.signal ?? r.status}): ${r.stdout}${r.stderr}`);
    if (gone()) throw new Error(`${name}: the server exited during the run (${child.exitCode ?? child.signalCode})`);
    requestsPerSecond = Number(rps?.[1]);
  } finally {
    if (!gone()) child.kill('SIGTERM');
    await exited;
  }
  // Read once the child has exited, with its last buffered lines written.
  return { case: name, ...scavengeStats(read()), requestsPerSecond };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      n: { type: 'string', default: '400000' },
      http: { type: 'boolean', default: false },
      rate: { type: 'string', default: '1900' },
      requests: { type: 'string', default: '40000' },
      out: { type: 'string' },
    },
  });
  const n = Math.min(2_000_000, Math.max(10_000, Number(values.n)));
  if (values.child) {
    if (values.child in makers) return childJs(values.child, n);
    return childHttp(values.child);
  }
  const out = resolve(values.out ?? join('bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}-gc-survival`));
  mkdirSync(out, { recursive: true });
  const rows: Row[] = [];
  const print = (r: Row) =>
    console.log(
      `${r.case.padEnd(44)} ${String(r.scavenges).padStart(4)} scavenges  pause ${r.pauseMs.toFixed(2).padStart(6)} ms  survived ${r.survivedPct.toFixed(1).padStart(5)} %  promoted ${r.promotedMB.toFixed(2)} MB of ${r.allocatedMB} MB` +
        (r.sharedMap === undefined ? `  (${r.requestsPerSecond} req/s)` : `  objects share a map: ${r.sharedMap ? 'yes' : 'NO'}`),
    );
  console.log(`node ${process.version}, flags ${GC_FLAGS.join(' ')}; JS cases: ${n} objects each`);
  for (const name of Object.keys(makers)) {
    rows.push(runJs(name, n));
    print(rows.at(-1)!);
  }
  if (values.http) {
    const rate = Math.min(20_000, Math.max(100, Number(values.rate)));
    const requests = Math.min(500_000, Math.max(1_000, Number(values.requests)));
    const frameFile = join(out, 'empty-request.grpc');
    writeFileSync(frameFile, Buffer.alloc(5));
    const o = { rate, requests, frameFile, out };
    console.log(`HTTP/2 cases: h2load -c 8 -m 32, ${requests} requests at ${rate}/s after 5,000 unpaced`);
    for (const name of ['node:http2', 'node:http2, a per-call async generator']) {
      rows.push(await runHttp(name, [__filename, '--child', name], o));
      print(rows.at(-1)!);
    }
    const answer = Buffer.from(toBinary(LookupKeyResponseSchema, create(LookupKeyResponseSchema, { source: 'LOCAL' }))).toString('base64');
    rows.push(await runHttp('Connect (bench/bare-server.js)', [join(__dirname, 'bare-server.js'), '--port', '0', '--response', answer], o));
    print(rows.at(-1)!);
  }
  writeFileSync(join(out, 'results.json'), JSON.stringify({ node: process.version, flags: GC_FLAGS, n, rows }, null, 1));
  console.log(`wrote ${join(out, 'results.json')}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
