#!/usr/bin/env bash
# Same box, same run: CreateKey to-ACTIVE on the Temporal dev server (SQLite) vs the
# production-style Temporal on Postgres, with 1 and 2 workers; CPU-seconds per process (and per
# database for Postgres' backends) per registration; Temporal's Postgres writes, WAL and bytes
# per workflow. Then LookupKey: API CPU per lookup. Writes a report to stdout (and
# .data/bench/report-<time>.txt). Feeds bench/RESULTS.md and docs/capacity.md.
#
#   bash bench/temporal-compare.sh [configs...]      configs: dev:1 dev:2 postgres:1 postgres:2 (default all)
#   N=300 C=16 N1=60 LOOKUP_SECONDS=15 PARKED=2000 APIS=1 bash bench/temporal-compare.sh
#
# Uses scripts/run.sh with CORE_DICT_DATA_DIR=.data/bench-<backend> (reset first) and whatever
# ports the environment gives run.sh (PG_PORT, TEMPORAL_PORT, TEMPORAL_INTERNAL_PORT_BASE, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N=${N:-300} C=${C:-16} N1=${N1:-60} LOOKUP_SECONDS=${LOOKUP_SECONDS:-15} PARKED=${PARKED:-2000}
CONFIGS=("$@")
((${#CONFIGS[@]})) || CONFIGS=(dev:1 dev:2 postgres:1 postgres:2)
HZ=$(getconf CLK_TCK)
mkdir -p .data/bench
REPORT=.data/bench/report-$(date +%Y%m%dT%H%M%S).txt
exec > >(tee "$REPORT") 2>&1

source scripts/versions.env

# ticks PID: user+system CPU ticks of a process (threads included), 0 when gone.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

pg() { "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/psql" -X -tA -h 127.0.0.1 -p "$PG_PORT" -U coredict -d postgres -c "$1"; }

# snapshot: "group pid ticks" for every process of the stack; Postgres backends grouped by the
# database they serve (temporal + temporal_visibility = pg:temporal).
snapshot() {
  local f pid name
  for f in "$DATA_DIR"/run/*.pid; do
    name=$(basename "$f" .pid); pid=$(head -n1 "$f")
    echo "$name $pid $(ticks "$pid")"
  done
  local pm; pm=$(head -n1 "$DATA_DIR/postgres/postmaster.pid")
  declare -A db=()
  while IFS='|' read -r p d; do db[$p]=$d; done < <(pg "select pid, coalesce(datname, '') from pg_stat_activity")
  echo "pg:other $pm $(ticks "$pm")"
  for pid in $(ps --ppid "$pm" -o pid=); do
    d=${db[$pid]:-}
    case $d in temporal | temporal_visibility) d=temporal ;; "") d=other ;; esac
    echo "pg:$d $pid $(ticks "$pid")"
  done
}

# cpu_delta BEFORE AFTER DIVISOR: CPU-ms per unit, per group (pids missing before count from 0).
cpu_delta() {
  awk -v hz="$HZ" -v div="$3" '
    NR == FNR { before[$1 " " $2] = $3; next }
    { g = $1; sub(/-[0-9]+$/, "", g); d[g] += $3 - before[$1 " " $2]; if (!(g in n)) order[++k] = g; n[g] = 1 }
    END { tot = 0; for (i = 1; i <= k; i++) { g = order[i]; tot += d[g]; printf "  %-16s %8.2f CPU-ms/op\n", g, d[g] * 1000 / hz / div }
          printf "  %-16s %8.2f CPU-ms/op\n", "TOTAL", tot * 1000 / hz / div }' "$1" "$2"
}

pgstats() {
  pg "select datname, xact_commit, tup_inserted, tup_updated, tup_deleted, pg_database_size(datname) from pg_stat_database where datname in ('temporal','temporal_visibility','core_dict','dict_simulator') order by 1"
  pg "select 'wal', pg_current_wal_lsn() - '0/0'::pg_lsn"
}

pg_delta() {
  awk -F'|' -v div="$3" '
    NR == FNR { for (i = 2; i <= NF; i++) b[$1, i] = $i; next }
    $1 == "wal" { printf "  WAL (all databases)        %10.0f bytes/op\n", ($2 - b[$1, 2]) / div; next }
    { printf "  %-20s commits %6.1f  ins %6.1f  upd %6.1f  del %6.1f  size %+9.0f bytes   per op\n", $1, ($2 - b[$1, 2]) / div, ($3 - b[$1, 3]) / div, ($4 - b[$1, 4]) / div, ($5 - b[$1, 5]) / div, ($6 - b[$1, 6]) / div }' "$1" "$2"
}

stack() { # BACKEND WORKERS APIS: a clean stack
  local backend=$1 workers=$2 apis=$3
  export CORE_DICT_DATA_DIR="$ROOT/.data/bench-$backend" TEMPORAL_BACKEND=$backend WORKER_REPLICAS=$workers API_REPLICAS=$apis TEMPORAL_HEADLESS=1 LOG_LEVEL=warn
  bash scripts/run.sh reset >/dev/null
  bash scripts/run.sh --detach >/dev/null
  # The stack's own values, without exporting them to the next run.sh.
  eval "$(bash -c 'source scripts/env.sh; core_dict_env dev; echo "DATA_DIR=$DATA_DIR TEMPORAL_PORT=$TEMPORAL_PORT API_HOST=$API_HOST API_PORT=$API_PORT PG_PORT=$PG_PORT DICT_BASE_URL=$DICT_BASE_URL PKI_DIR=$PKI_DIR"')"
}

for cfg in "${CONFIGS[@]}"; do
  backend=${cfg%%:*} workers=${cfg#*:}
  echo
  echo "=== temporal=$backend workers=$workers ($(date -Is), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  stack "$backend" "$workers" "${APIS:-1}"
  url="http://$API_HOST:$API_PORT"
  node dist/bench/create-key.js --url "$url" --n 40 --concurrency 8 --phases active >/dev/null # warm-up
  node dist/bench/create-key.js --url "$url" --n "$N1" --concurrency 1 --phases active | grep to-ACTIVE
  sleep 1.5
  snapshot >.data/bench/cpu.before; pgstats >.data/bench/pg.before
  node dist/bench/create-key.js --url "$url" --n "$N" --concurrency "$C" --phases active | grep to-ACTIVE
  sleep 2 # Postgres flushes its statistics about once a second
  snapshot >.data/bench/cpu.after; pgstats >.data/bench/pg.after
  echo "CPU per registration (c=$C, n=$N; warm-up excluded):"
  cpu_delta .data/bench/cpu.before .data/bench/cpu.after "$N"
  echo "Postgres per registration (includes our + the simulator's databases):"
  pg_delta .data/bench/pg.before .data/bench/pg.after "$N"
  echo "RSS after: $(for f in "$DATA_DIR"/run/*.pid; do printf '%s=%sMiB ' "$(basename "$f" .pid)" $(($(awk '/VmRSS/{print $2}' "/proc/$(head -n1 "$f")/status" 2>/dev/null || echo 0) / 1024)); done)"
  if [[ $cfg == postgres:2 || ${#CONFIGS[@]} == 1 ]]; then
    for kind in local dict cache; do
      urls=$url; [[ ${APIS:-1} == 2 ]] && urls+=",http://$API_HOST:$((API_PORT + 1))"
      lk=(node dist/bench/lookup-capacity.js --dict "$DICT_BASE_URL" --pki "$PKI_DIR" --url "$urls" --kind "$kind" --keys 40)
      "${lk[@]}" --save .data/bench/keys.json
      sleep 1
      snapshot >.data/bench/cpu.before
      out=$("${lk[@]}" --load .data/bench/keys.json --seconds "$LOOKUP_SECONDS" --concurrency "$C")
      snapshot >.data/bench/cpu.after
      echo "$out"
      ops=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<<"$out")
      echo "CPU per lookup ($kind; 40 keys, ${APIS:-1} API(s), the bench client not counted):"
      cpu_delta .data/bench/cpu.before .data/bench/cpu.after "$ops"
    done
  fi
  if [[ $cfg == postgres:1 && $PARKED -gt 0 ]]; then
    # Parked workflows (claim stand-in on a 7-day timer): Postgres bytes and rows, server RSS.
    rss() { echo $(($(awk '/VmRSS/{print $2}' "/proc/$(head -n1 "$DATA_DIR/run/$1.pid")/status") / 1024)); }
    sizes() { pg "select sum(pg_database_size(datname)) from pg_database where datname in ('temporal','temporal_visibility')"; }
    s0=$(sizes) t0=$(rss temporal)
    coproc PARK { PARKED_HOLD_MS=10000 node dist/bench/parked/main.js --n "$PARKED" --address "127.0.0.1:$TEMPORAL_PORT" 2>&1 | grep -E '^\{|^READY'; }
    park_pid=$PARK_PID
    while IFS= read -r line <&"${PARK[0]}"; do
      [[ $line == READY ]] && break
      echo "parked: $line"
    done
    sleep 3
    s1=$(sizes) t1=$(rss temporal)
    echo "parked: $PARKED workflows: temporal DBs +$(((s1 - s0) / PARKED)) bytes/workflow, temporal-server RSS ${t0} -> ${t1} MiB"
    while IFS= read -r line <&"${PARK[0]}"; do echo "parked: $line"; done
    wait "$park_pid" || true
  fi
  bash scripts/run.sh stop >/dev/null
done
echo
echo "report: $REPORT"
