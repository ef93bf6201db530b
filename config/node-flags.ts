// The V8 flags the API process starts with, wherever it is started: scripts/lib.sh (run.sh),
// deploy/Dockerfile, deploy/k8s/api.yaml, docker-compose.yml and the lookup benchmark
// (bench/lookup.ts) all pass them, and test/unit/deploy-files.test.ts checks that they
// agree with this list. A V8 flag can only be given when the process starts (node's command line
// or NODE_OPTIONS), never from our zod config; cluster workers inherit their primary's.
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
export const API_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
