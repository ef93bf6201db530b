#!/bin/bash
# alternate: bare with the API's libraries loaded (ballast) vs plain, each one run at 50 % x 3 rounds
# Hand-run tool of this session (paths under /tmp and /work/main as used then).
cd /work/main
B="--require=/tmp/ballast/api-set.js"
for v in "$@"; do
  t=$(date -u +%H%M%S)
  if [[ $v == ballast ]]; then export BENCH_BARE_NODE_ARGS="$B"; else unset BENCH_BARE_NODE_ARGS; fi
  bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out /tmp/ballast/$v-$t > /tmp/ballast/$v-$t.log 2>&1 || echo "$v failed"
  echo "== $v $t"; grep -E "rate-50%|saturation" /tmp/ballast/$v-$t.log | grep -v "^|" | sed 's/peak RSS.*ok[^)]*)//'
done
