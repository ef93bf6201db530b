#!/bin/bash
# Hand-run tool of this session: as ballast-gc.sh, the bare server preloading libraries only:
# 'libs-all' (the Temporal client and the lookup path's libraries), 'libs-no-temporal' (the same
# without @temporalio/*), or 'plain'.   libs-gc.sh OUTDIR libs-all|libs-no-temporal|plain ...
OUT=$1; shift
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
LIBS="zod xml-crypto @xmldom/xmldom xpath ioredis postgres pino prom-client jose rate-limiter-flexible cockatiel @opentelemetry/api lru-cache"
for v in "$@"; do
  t=$(date -u +%H%M%S); export GCX_DIR="$OUT/$v-$t/gc"; mkdir -p "$GCX_DIR"
  export BENCH_API_NODE_ARGS="--require=$HERE/gcobs.js"
  B="--require=$HERE/gcobs.js"
  case $v in
    libs-no-temporal) for l in $LIBS; do B="$B --require=$l"; done ;;
    libs-all) for l in @temporalio/client @temporalio/workflow $LIBS; do B="$B --require=$l"; done ;;
  esac
  export BENCH_BARE_NODE_ARGS="$B"
  bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out "$OUT/$v-$t" > "$OUT/$v-$t.log" 2>&1 || echo "$v failed"
  echo "== $v $t"; grep -E "rate-50%|saturation" "$OUT/$v-$t.log" | grep -v "^|" | sed 's/peak RSS.*ok[^)]*)//'
done
