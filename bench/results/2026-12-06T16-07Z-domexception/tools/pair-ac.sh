#!/usr/bin/env bash
cd /work/main
for i in 1 2; do
  for b in main ac; do
    out=/tmp/gcx/ac-$b-$i
    if [ $b = ac ]; then export BENCH_API_NODE_ARGS="--require /tmp/gcx/ac.js"; else unset BENCH_API_NODE_ARGS; fi
    bash scripts/bench.sh lookup --phases none --sat-n 60000 --rounds 2 --out $out > $out.log 2>&1
    echo "$b $i: $(grep 'saturation by round' $out.log)"
  done
done
