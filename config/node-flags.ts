// The V8 flags the API process starts with, wherever it is started: scripts/lib.sh (run.sh),
// deploy/Dockerfile, deploy/k8s/api.yaml, docker-compose.yml and the lookup benchmark
// (bench/lookup.ts) all pass them, and test/unit/deploy-files.test.ts checks that they
// agree with this list. A V8 flag can only be given when the process starts (node's command line
// or NODE_OPTIONS), never from our zod config; cluster workers inherit their primary's.
//
// --max-semi-space-size=32 (MiB per semi-space; V8's default is 16). Every lookup allocates about
// 120 KB, and at saturation a few hundred calls are in flight: with the default young generation
// many of their objects outlive two scavenges, are copied at each and promoted, and the old
// generation fills with garbage (peak RSS 350-900 MiB at saturation, against about 420 with this
// flag). Measured with bench/lookup.ts in alternating rounds against the same API on V8's
// defaults (bench/RESULTS.md, 2026-12-05 17:47-18:11): a median 1.17x and 1.06x the lookups per
// second in two runs. The cost: up to 32 MiB more young generation per process (two semi-spaces
// of 32 MiB instead of 16).
export const API_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
