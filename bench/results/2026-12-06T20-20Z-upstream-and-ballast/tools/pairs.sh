#!/bin/bash
# alternate builds: pairs.sh OUTDIR build1 build2 ... (each one run of the 50 % point, 3 rounds)
# Hand-run tool of this session (paths under /tmp and /work/main as used then).
set -e; OUT=$1; shift; mkdir -p $OUT
cd /work/main
for b in "$@"; do
  /tmp/cbuild/use.sh ${b%%@*}
  P=$PATH; [[ $b == *@22 ]] && P=/tmp/n22/package/bin:$PATH
  t=$(date -u +%H%M%S)
  PATH=$P bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out $OUT/$b-$t > $OUT/$b-$t.log 2>&1 || { echo "$b failed"; tail -5 $OUT/$b-$t.log; }
  echo "== $b $t"; grep -E "rate-50%|saturation" $OUT/$b-$t.log | grep -v "^|" | sed 's/peak RSS.*ok[^)]*)//' 
done
/tmp/cbuild/use.sh published
