#!/bin/bash
# Hand-run tool of this session: the harness's 50 % point (3 rounds) with every GC pause of both
# servers logged (gcobs.js); for 'ballast' the bare server also loads what dist/api/main.js
# requires (api-set.js).   ballast-gc.sh OUTDIR ballast|plain ...
OUT=$1; shift
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
for v in "$@"; do
  t=$(date -u +%H%M%S); export GCX_DIR="$OUT/$v-$t/gc"; mkdir -p "$GCX_DIR"
  export BENCH_API_NODE_ARGS="--require=$HERE/gcobs.js"
  if [[ $v == ballast ]]; then export BENCH_BARE_NODE_ARGS="--require=$HERE/gcobs.js --require=$HERE/api-set.js"; else export BENCH_BARE_NODE_ARGS="--require=$HERE/gcobs.js"; fi
  bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out "$OUT/$v-$t" > "$OUT/$v-$t.log" 2>&1 || echo "$v failed"
  echo "== $v $t"; grep -E "rate-50%|saturation" "$OUT/$v-$t.log" | grep -v "^|" | sed 's/peak RSS.*ok[^)]*)//'
done
