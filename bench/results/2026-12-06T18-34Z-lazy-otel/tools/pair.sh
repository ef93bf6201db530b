#!/usr/bin/env bash
# paired 50% A/B with GC pause logs: old (/tmp/old) vs new (/work/main). usage: pair.sh PAIRS TAG
pairs=$1; tag=$2
for i in $(seq 1 $pairs); do
  for b in old new; do
    if [ $b = old ]; then dir=/tmp/old; else dir=/work/main; fi
    out=/tmp/gcx/$tag-$b-$i
    mkdir -p $out
    (cd $dir && GCX_DIR=$out/gc BENCH_API_NODE_ARGS="-r /tmp/gcx/gcobs.js" BENCH_BARE_NODE_ARGS="-r /tmp/gcx/gcobs.js" bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out $out > $out.log 2>&1)
    echo "$b $i: $(grep -E '"api1/bare ≥ 0.8"|"api1 p99 / bare p99 at 50' $out.log | tr -d '\n') | $(grep '50 % by round' $out.log)"
  done
done
