#!/bin/bash
# Hand-run tool of this session: the harness's 50 % point (3 rounds) per run, the bare server either
# loading everything dist/api/main.js requires (api-set.js, never used) or plain.
#   ballast-pairs.sh OUTDIR ballast|plain ...
OUT=$1; shift; mkdir -p "$OUT"
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
B="--require=$HERE/api-set.js"
for v in "$@"; do
  t=$(date -u +%H%M%S)
  if [[ $v == ballast ]]; then export BENCH_BARE_NODE_ARGS="$B"; else unset BENCH_BARE_NODE_ARGS; fi
  bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out "$OUT/$v-$t" > "$OUT/$v-$t.log" 2>&1 || echo "$v failed"
  echo "== $v $t"; grep -E "rate-50%|saturation" "$OUT/$v-$t.log" | grep -v "^|" | sed 's/peak RSS.*ok[^)]*)//'
done
