#!/usr/bin/env bash
# Benchmarks against the running dev stack (bash scripts/run.sh --detach), loopback only, with the
# dev profile's configuration (same ports/URLs as run.sh, overridable from the environment).
#
#   bash scripts/bench.sh lookup [--quick] [--scales 100000,10000000] [--long-n 1000000] …
#                                   LookupKey: bare server vs API (1 and N processes), h2load
#   bash scripts/bench.sh lookup-profile [--sat-n 60000] | --rate 50 [--rate-seconds 30]
#                                   both servers under --cpu-prof, at saturation or at a fixed % of
#                                   bare's capacity: CPU per lookup by code
#   bash scripts/bench.sh gen-keys --total 10000000 [--scale-db] | --drop | --drop-scale-dbs
#                                   load (or remove) generated keys with COPY; --scale-db: in the
#                                   database of its own the lookup harness's --scales use
#   bash scripts/bench.sh pg-queue [--in-flight 128] [--gate 10] [--n 200000]
#                                   standalone postgres.js queue reproduction
#   bash scripts/bench.sh gc-survival [--http]
#                                   standalone: which per-call objects outlive V8's scavenges, and why
#   bash scripts/bench.sh create-key [--n 200] [--concurrency 16]
#                                   CreateKey accept and to-ACTIVE, closed loop (fixed N and concurrency)
#   bash scripts/bench.sh create-key --rate 20 --seconds 60 [--sample 200|all] [--max-in-flight 400]
#                                   sustained: to-ACTIVE offered open-loop at a fixed rate, then where
#                                   the time goes from the workflow histories; bench/results/<timestamp>/
#   bash scripts/bench.sh connect-target /abs/path/to/connect-es [PAIRS]
#                                   Connect as published (ES2017) vs its sources built for ES2022,
#                                   alternating: lookups per second and CPU per lookup
#   bash scripts/bench.sh fuzz      every RPC, FUZZ_RUNS (10,000) generated messages + random bodies
#                                   each (FUZZ_SEED, FUZZ_METHODS=LookupKey,GetKey)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
core_dict_env dev

cmd="${1:-}"
shift || true
case "$cmd" in
  lookup)
    command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 1; }
    script=lookup ;;
  lookup-profile)
    command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 1; }
    script=lookup-profile ;;
  gen-keys) script=gen-keys ;;
  pg-queue) script=pg-queue-repro ;;
  gc-survival) script=gc-survival ;;
  create-key) script=create-key; export API_URL="${API_URL:-http://$API_HOST:$API_PORT}" ;;
  connect-target) exec bash bench/connect-target.sh "$@" ;;
  fuzz) script=fuzz; export API_URL="${API_URL:-http://$API_HOST:$API_PORT}" API_GRPC_URL="${API_GRPC_URL:-http://$API_HOST:$API_GRPC_PORT}" ;;
  *) sed -n '2,26p' "$0" >&2; exit 2 ;;
esac
[[ -f dist/bench/$script.js ]] || node_modules/.bin/tsc -p tsconfig.json
exec node dist/bench/$script.js "$@"
