// The V8 flags the API process starts with, wherever it is started: scripts/lib.sh (run.sh),
// deploy/Dockerfile, deploy/k8s/api.yaml, docker-compose.yml and the lookup benchmark
// (bench/lookup.ts) all pass them, and test/unit/deploy-files.test.ts checks that they
// agree with this list. A V8 flag can only be given when the process starts, never from our zod
// config: on node's command line (NODE_OPTIONS takes --max-semi-space-size but refuses
// --no-memory-reducer); cluster workers inherit their primary's.
//
// --max-semi-space-size=32 (MiB per semi-space). By default V8 sizes its young generation from
// the memory the process may use: 16 MiB semi-spaces on this project's 24 GiB bench host, 1 MiB in
// a 512 MiB container (deploy/k8s/api.yaml's limit; node reads the cgroup's limit). Every lookup
// allocates about 120 KB and at saturation a few hundred calls are in flight, so with small
// semi-spaces what those calls hold is copied at each scavenge and promoted. Against the same API
// on V8's defaults, in alternating rounds of bench/lookup.ts (bench/RESULTS.md, "LookupKey,
// 2026-12-05 17:26-18:55"):
// - in a 512 MiB memory cgroup: a median 1.58x the lookups per second (all 5 rounds 1.52-2.08x),
//   CPU per lookup 957-1,187 -> 549-731 us, peak RSS 161 -> 227 MiB (V8's heap limit there:
//   259 MiB by default, 352 with the flag);
// - on the 24 GiB host: medians 1.17x and 1.06x in two runs of 9 rounds. Peak RSS there varies
//   from run to run with or without the flag (350-894 MiB without, 384-936 with): it is for
//   throughput that the flag is set, not for memory.
// The cost: a young generation of up to 64 MiB per process.
//
// --no-memory-reducer. When a process stops allocating (no traffic), V8's memory reducer runs
// full collections to give memory back; those clear what optimized code holds weakly, and V8
// deoptimizes every function that depended on it: about 145 functions per API worker, the whole
// hot path, some 45 s into an idle minute. The next burst of lookups then runs unoptimized until
// TurboFan recompiles it: an API of two workers on the dev stack, h2load, 80 s idle, then 1,000
// lookups/s: the first 2 s had p99 63 and 184 ms against 24 and 25 ms afterwards; with the flag,
// 0 functions deoptimized and 17 and 21 ms against 19 and 19 (bench/RESULTS.md, "LookupKey,
// 2026-12-05 20:09-22:05"). The cost: an idle process keeps the heap it grew under load (idle
// RSS per worker 279-351 MiB instead of about 125 on the bench host). In a 512 MiB memory cgroup
// (the pod's limit), after a short load, an idle API stayed at about 215 MiB resident against
// about 118, below its own peak under that load (225-247 MiB with the flag or without), and the
// first 2 s after 80 s idle had p99 122-125 ms against 218-219 (bench/RESULTS.md, "LookupKey,
// 2026-12-05 22:50-23:57").
export const API_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32', '--no-memory-reducer'];

// After those, in the Kubernetes pod only (deploy/k8s/api.yaml: 512 MiB, 1 CPU; checked by
// deploy-files.test). --heap-growing-percent=300: V8 lets the old generation grow fourfold between
// full collections. By default it scales that factor with the heap's limit, and node sizes the
// heap from the container's memory (a 352 MiB limit in 512 MiB), so in the pod the factor is V8's
// smallest and full collections come often: a confined API spent about a third more user CPU per
// lookup than on the bench host, and the host showed the same with --max-old-space-size of
// 256-1,024. In a 512 MiB cgroup the flag took 12-15 % off (three pairs); at the pod's limits
// (512 MiB and one CPU) 2,000,000 saturated lookups ran at 3,554/s and 281 us per lookup with flat
// tenths (3,403-3,698/s), peak RSS 298 MiB, the cgroup's charge at most 259 MiB, no OOM kill;
// without it 500,000 ran at 2,726/s, 367 us (bench/RESULTS.md, "LookupKey, 2026-12-05
// 22:50-23:57"). Not for the other launchers: on the bench host (a 4 GiB heap) it cost 8-23 %.
export const POD_NODE_FLAGS: readonly string[] = ['--heap-growing-percent=300'];
