#!/bin/bash
# Hand-run tool of this session: one run of the harness's 50 % point (3 rounds) per build, in order.
#   BUILDS=DIR [NODE22=/path/to/node22/bin] pairs.sh OUTDIR build[@22] ...
# build@22 runs with NODE22's node first on PATH. The published build is put back at the end.
set -e; OUT=$1; shift; mkdir -p "$OUT"
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
for b in "$@"; do
  "$HERE/use.sh" "${b%%@*}"
  P=$PATH; [[ $b == *@22 ]] && P="${NODE22:?set NODE22 to a Node 22 bin directory}:$PATH"
  t=$(date -u +%H%M%S)
  PATH=$P bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out "$OUT/$b-$t" > "$OUT/$b-$t.log" 2>&1 || { echo "$b failed"; tail -5 "$OUT/$b-$t.log"; }
  echo "== $b $t"; grep -E "rate-50%|saturation" "$OUT/$b-$t.log" | grep -v "^|" | sed 's/peak RSS.*ok[^)]*)//'
done
"$HERE/use.sh" published
