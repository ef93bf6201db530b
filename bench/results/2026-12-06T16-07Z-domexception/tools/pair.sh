#!/usr/bin/env bash
# paired saturation A/B: old build (/tmp/old) vs working tree (/work/main), alternating. usage: pair.sh PAIRS TAG
pairs=$1; tag=$2
for i in $(seq 1 $pairs); do
  for b in old main; do
    if [ $b = old ]; then dir=/tmp/old; else dir=/work/main; fi
    out=/tmp/gcx/$tag-$b-$i
    (cd $dir && bash scripts/bench.sh lookup --phases none --sat-n 60000 --rounds 2 --out $out > $out.log 2>&1)
    echo "$b $i: $(grep 'saturation by round' $out.log)"
  done
done
