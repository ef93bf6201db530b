// Where the API's CPU per lookup goes, next to the bare server's: runs the LookupKey harness's
// saturation phase (bench/lookup.ts --phases none) with both servers under `node --cpu-prof`, then
// splits each one's measured CPU per lookup by code (garbage collector, Connect, postgres.js, our
// api/ and store/ modules, Node's HTTP/2, async_hooks, …) in proportion to its profile's busy
// samples, and prints both side by side, largest difference first. Loopback only, bounded by
// --sat-n. With --rate PCT it profiles a fixed offered rate instead, --rate-seconds long: PCT % of
// bare's capacity measured first without the profiler (a run of --sat-n lookups, default 20,000,
// kept in OUT/capacity), as the harness's fixed rates are (where the p99 target is, at 50). The
// profiled run then saturates each server with only 1,000 lookups, so most of each profile is the
// rate's; its start-up, the untimed warm-ups and those 1,000 are in it too.
//
//   bash scripts/bench.sh lookup-profile [--sat-n 60000] [--out DIR]
//   bash scripts/bench.sh lookup-profile --rate 50 [--rate-seconds 30] [--sat-n 20000]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The code a profile node belongs to: a package, one of our top directories, a Node subsystem, or a VM state. */
export function categoryOf(frame: ProfileNode['callFrame']): string {
  const url = frame.url ?? '';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm ${pkg[1]}`;
  const ours = /\/dist\/([^/]+)\//.exec(url);
  if (ours) return `ours ${ours[1]}/`;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : `native ${frame.functionName}`;
  const node = /(?:^node:|\/lib\/)(?:internal\/)?(?:per_context\/)?(?:deps\/)?([a-z_0-9]+)/.exec(url);
  return node ? `node ${node[1]}` : url;
}

/** Busy CPU (idle excluded) by category, as shares of the profile's busy time. */
export function sharesOf(p: CpuProfile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const time = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const d = p.timeDeltas[i] ?? 0;
    if (!n || n.callFrame.functionName === '(idle)') return;
    busy += d;
    const c = categoryOf(n.callFrame);
    time.set(c, (time.get(c) ?? 0) + d);
  });
  for (const [c, t] of time) time.set(c, t / Math.max(1, busy));
  return time;
}

function main(): void {
  const { values } = parseArgs({ options: { 'sat-n': { type: 'string' }, rate: { type: 'string' }, 'rate-seconds': { type: 'string', default: '30' }, out: { type: 'string' }, top: { type: 'string', default: '25' } } });
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(Number.isInteger(rate) && rate >= 1 && rate <= 100)) throw new Error(`--rate must be a whole percentage from 1 to 100 (got ${JSON.stringify(values.rate)})`);
  const phase = rate === undefined ? 'saturation' : `rate-${rate}%`;
  const out = resolve(values.out ?? join('bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}-profile${rate === undefined ? '' : `-${rate}pct`}`));
  const profApi = join(out, 'prof-api');
  const profBare = join(out, 'prof-bare');
  mkdirSync(profApi, { recursive: true });
  mkdirSync(profBare, { recursive: true });
  let load = ['--sat-n', values['sat-n'] ?? '60000', '--phases', 'none'];
  if (rate !== undefined) {
    const capacityOut = join(out, 'capacity');
    const c = spawnSync(process.execPath, [join(__dirname, 'lookup.js'), '--sat-n', values['sat-n'] ?? '20000', '--phases', 'none', '--rounds', '1', '--out', capacityOut], { stdio: 'inherit' });
    if (c.status !== 0) throw new Error(`bench/lookup (capacity) failed (${c.status ?? c.signal})`);
    const measured = JSON.parse(readFileSync(join(capacityOut, 'results.json'), 'utf8')) as { results: { target: string; phase: string; rps: number }[] };
    const capacity = Math.round(measured.results.find((x) => x.target === 'bare' && x.phase === 'saturation')!.rps);
    console.log(`[bench] bare's capacity without the profiler: ${capacity}/s; profiling at ${rate} %: ${Math.round((capacity * rate) / 100)}/s`);
    load = ['--sat-n', '1000', '--capacity', String(capacity), '--phases', 'rates', '--rate-points', String(rate), '--rate-rounds', '1', '--rate-seconds', values['rate-seconds']!];
  }
  const r = spawnSync(process.execPath, [join(__dirname, 'lookup.js'), ...load, '--rounds', '1', '--out', out], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_API_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${profApi}`, BENCH_BARE_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${profBare}` },
  });
  if (r.status !== 0) throw new Error(`bench/lookup failed (${r.status ?? r.signal})`);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { results: { target: string; phase: string; cpuUsPerReq: number }[] };
  const us = (target: string) => results.results.find((x) => x.target === target && x.phase === phase)!.cpuUsPerReq;
  const profile = (dir: string): CpuProfile => {
    const f = readdirSync(dir).find((n) => n.endsWith('.cpuprofile'));
    if (!f) throw new Error(`no profile in ${dir}`);
    return JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
  };
  const [apiUs, bareUs] = [us('api1'), us('bare')];
  const [api, bare] = [sharesOf(profile(profApi)), sharesOf(profile(profBare))];
  const rows = [...new Set([...api.keys(), ...bare.keys()])]
    .map((c) => ({ c, a: (api.get(c) ?? 0) * apiUs, b: (bare.get(c) ?? 0) * bareUs }))
    .sort((x, y) => y.a - y.b - (x.a - x.b));
  const top = rows.slice(0, Number(values.top));
  const rest = rows.slice(top.length).reduce((s, x) => ({ a: s.a + x.a, b: s.b + x.b }), { a: 0, b: 0 });
  const lines = [
    `CPU µs per lookup at ${rate === undefined ? 'saturation' : `${rate} % of bare's capacity`}: api1 ${apiUs}, bare ${bareUs} (difference ${apiUs - bareUs}), split by each one's profile`,
    '',
    '| code | api1 µs | bare µs | difference |',
    '| --- | ---: | ---: | ---: |',
    ...top.map((x) => `| ${x.c} | ${x.a.toFixed(0)} | ${x.b.toFixed(0)} | ${(x.a - x.b).toFixed(0)} |`),
    `| (the rest) | ${rest.a.toFixed(0)} | ${rest.b.toFixed(0)} | ${(rest.a - rest.b).toFixed(0)} |`,
  ];
  writeFileSync(join(out, 'profile-compare.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
  console.log(`\n[bench] wrote ${join(out, 'profile-compare.md')} and the profiles (${profApi}, ${profBare})`);
}

if (require.main === module) main();
