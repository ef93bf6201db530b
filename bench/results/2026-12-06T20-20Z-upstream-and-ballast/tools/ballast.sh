#!/bin/bash
# Hand-run tool of this session: the harness's 50 % point (3 rounds) per run, the bare server
# preloading, by variant:
#   ballast           everything dist/api/main.js requires (api-set.js), never used;
#   libs-all          the Temporal client and the lookup path's libraries (LIBS below);
#   libs-no-temporal  LIBS only;
#   plain             nothing.
# With GC_TRACE=1 (the default) both servers also log every GC pause through the 18:34 session's
# gcobs.js, into OUT/<run>/gc/; GC_TRACE=0 as in the first, untraced pairs.
#   [GC_TRACE=0|1] ballast.sh OUTDIR variant ...
OUT=$1; shift; mkdir -p "$OUT"
HERE="$(cd "$(dirname "$0")" && pwd)"
GCOBS="$HERE/../../2026-12-06T18-34Z-lazy-otel/tools/gcobs.js"
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
LIBS="zod xml-crypto @xmldom/xmldom xpath ioredis postgres pino prom-client jose rate-limiter-flexible cockatiel @opentelemetry/api lru-cache"
for v in "$@"; do
  t=$(date -u +%H%M%S)
  A=''; B=''
  if [[ ${GC_TRACE:-1} == 1 ]]; then
    export GCX_DIR="$OUT/$v-$t/gc"; mkdir -p "$GCX_DIR"
    A="--require=$GCOBS"; B="--require=$GCOBS"
  fi
  case $v in
    ballast) B="$B --require=$HERE/api-set.js" ;;
    libs-all) for l in @temporalio/client @temporalio/workflow $LIBS; do B="$B --require=$l"; done ;;
    libs-no-temporal) for l in $LIBS; do B="$B --require=$l"; done ;;
    plain) ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  export BENCH_API_NODE_ARGS="$A" BENCH_BARE_NODE_ARGS="$B"
  bash scripts/bench.sh lookup --phases rates --rate-points 50 --rate-rounds 3 --rounds 1 --sat-n 60000 --rate-seconds 10 --out "$OUT/$v-$t" > "$OUT/$v-$t.log" 2>&1 || echo "$v failed"
  echo "== $v $t"; grep -E "rate-50%|saturation" "$OUT/$v-$t.log" | grep -v "^|" | sed 's/peak RSS.*ok[^)]*)//'
done
