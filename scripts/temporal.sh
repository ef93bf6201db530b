# shellcheck shell=bash
# Which Temporal the stack uses, and the production-style one: the real Temporal server
# (go.temporal.io/server, pinned in versions.env) with its `temporal` and `temporal_visibility`
# databases in the project's own Postgres. Sourced by lib.sh; needs core_dict_env first.
#
# TEMPORAL_BACKEND (dev profile; TEST_TEMPORAL_BACKEND in the test profile):
#   dev       `temporal server start-dev` (SQLite, one process): the default
#   postgres  temporal-server on Postgres (schemas created/upgraded by temporal-sql-tool)
#   external  someone else's Temporal at TEMPORAL_ADDRESS (TEST_TEMPORAL_ADDRESS): never started
#             or stopped here; the namespace and search attributes are created when missing.
# Setting TEMPORAL_ADDRESS to anything but our own 127.0.0.1:$TEMPORAL_PORT means external.

# ----- the backend ---------------------------------------------------------------------------

# Where start records the backend it used, so `status`/`stop` act on that one whatever the env says.
temporal_backend_file() { echo "$RUN_DIR/temporal.backend"; }

# The backend for a start: from the environment, validated.
temporal_backend_for_start() {
  case $TEMPORAL_BACKEND in
    dev | postgres | external) echo "$TEMPORAL_BACKEND" ;;
    *) die "TEMPORAL_BACKEND='$TEMPORAL_BACKEND': want dev, postgres or external" ;;
  esac
}

# The backend of what is (or was last) started here; the environment's when nothing was.
temporal_backend_current() {
  local f; f=$(temporal_backend_file)
  if [[ -s $f ]]; then head -n1 "$f" | cut -d' ' -f1; else echo "$TEMPORAL_BACKEND"; fi
}

record_temporal_backend() {
  mkdir -p "$RUN_DIR"
  echo "$1 $TEMPORAL_ADDRESS" >"$(temporal_backend_file)"
}

# ----- namespace and search attributes (every backend) --------------------------------------

temporal_cli() { "$TEMPORAL_BIN" "$@" --address "$TEMPORAL_ADDRESS"; }

temporal_namespace_exists() { temporal_cli operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; }

# Namespace (when missing: a real server has none until someone creates it) and our search
# attributes, with retries: the same script as docker-compose's temporal-namespace job.
ensure_namespace_and_search_attributes() {
  TEMPORAL_CLI=$TEMPORAL_BIN TEMPORAL_WAIT_SECONDS=30 TEMPORAL_SEARCH_ATTRIBUTES=$TEMPORAL_SEARCH_ATTRIBUTES \
    TEMPORAL_NAMESPACE_RETENTION=$TEMPORAL_NAMESPACE_RETENTION sh "$ROOT/deploy/temporal-namespace.sh" |
    sed -n 's/^temporal-namespace: \(creating\|registering\)/[core-dict] \1/p'
}

# ----- the production-style server: binaries -----------------------------------------------

TEMPORAL_SERVER_HOME="${CORE_DICT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/core-dict}/temporal-server/${TEMPORAL_SERVER_VERSION:-unset}"

temporal_server_bins_ok() {
  [[ -x ${TEMPORAL_SERVER_BIN:-} && -x ${TEMPORAL_SQL_TOOL_BIN:-} ]] &&
    "$TEMPORAL_SERVER_BIN" --version 2>/dev/null | grep -qF "$TEMPORAL_SERVER_VERSION"
}

# True when the pinned server is already built (CI uses it to decide whether to run on it).
temporal_server_cached() {
  TEMPORAL_SERVER_BIN="${TEMPORAL_SERVER_BIN:-$TEMPORAL_SERVER_HOME/temporal-server}"
  TEMPORAL_SQL_TOOL_BIN="${TEMPORAL_SQL_TOOL_BIN:-$TEMPORAL_SERVER_HOME/temporal-sql-tool}"
  temporal_server_bins_ok
}

# Reuses the pinned build, or builds it from the Go module proxy (about 12 CPU-minutes once;
# Go ≥ 1.21 fetches the pinned toolchain itself). TEMPORAL_SERVER_BIN / TEMPORAL_SQL_TOOL_BIN
# may point at binaries you already have (same version).
install_temporal_server() {
  if temporal_server_cached; then export TEMPORAL_SERVER_BIN TEMPORAL_SQL_TOOL_BIN; return 0; fi
  command -v go >/dev/null || die "building temporal-server $TEMPORAL_SERVER_VERSION needs Go ≥ 1.21 (https://go.dev/dl/), or set TEMPORAL_SERVER_BIN and TEMPORAL_SQL_TOOL_BIN"
  mkdir -p "$TEMPORAL_SERVER_HOME"
  # One build at a time per version (a second caller waits, then reuses it).
  exec 8>"$TEMPORAL_SERVER_HOME/.build.lock"
  flock -w 3600 8 || die "another build of temporal-server has been running for an hour"
  if ! temporal_server_cached; then
    local gobin="$TEMPORAL_SERVER_HOME/.gobin" log="$TEMPORAL_SERVER_HOME/build.log"
    say "building temporal-server $TEMPORAL_SERVER_VERSION and temporal-sql-tool with $TEMPORAL_GO_TOOLCHAIN (once; ~12 CPU-minutes; log: $log)"
    rm -rf "$gobin" && mkdir -p "$gobin"
    if ! (cd "$TEMPORAL_SERVER_HOME" && GOTOOLCHAIN=$TEMPORAL_GO_TOOLCHAIN GOBIN=$gobin GOFLAGS=-buildvcs=false \
      go install "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION" \
      "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION") >"$log" 2>&1; then
      tail -n 20 "$log" >&2
      die "building temporal-server failed (log: $log)"
    fi
    mv -f "$gobin/server" "$TEMPORAL_SERVER_HOME/temporal-server"
    mv -f "$gobin/sql" "$TEMPORAL_SERVER_HOME/temporal-sql-tool"
    rm -rf "$gobin"
    TEMPORAL_SERVER_BIN="$TEMPORAL_SERVER_HOME/temporal-server" TEMPORAL_SQL_TOOL_BIN="$TEMPORAL_SERVER_HOME/temporal-sql-tool"
    temporal_server_bins_ok || die "the built temporal-server does not report version $TEMPORAL_SERVER_VERSION"
  fi
  exec 8>&-
  export TEMPORAL_SERVER_BIN TEMPORAL_SQL_TOOL_BIN
}

# ----- the production-style server: schemas, config, process --------------------------------

# Creates the databases and brings both schemas to the version this server ships, with the same
# script as docker-compose's temporal-schema job (update-schema is also the upgrade path after
# bumping TEMPORAL_SERVER_VERSION).
temporal_schema() {
  local db
  if ! SQL_HOST=$BIND_HOST SQL_PORT=$PG_PORT SQL_USER=$PG_USER SQL_PASSWORD='' TEMPORAL_SQL_TOOL=$TEMPORAL_SQL_TOOL_BIN \
    TEMPORAL_DB=$TEMPORAL_PG_DB TEMPORAL_VISIBILITY_DB=$TEMPORAL_VISIBILITY_PG_DB \
    sh "$ROOT/deploy/temporal-schema.sh" >>"$LOG_DIR/temporal-schema.log" 2>&1; then
    show_log temporal-schema
    die "creating/upgrading Temporal's schemas failed (log: $LOG_DIR/temporal-schema.log)"
  fi
  for db in "$TEMPORAL_PG_DB" "$TEMPORAL_VISIBILITY_PG_DB"; do
    say "temporal schema on $db: version $(psql_admin -d "$db" -tAc 'select curr_version from schema_version' | head -n1)"
  done
}

# The number of history shards is fixed when the cluster first starts: remember the first value
# and refuse to silently run with another one.
temporal_shards() {
  local f="$TEMPORAL_DIR/history-shards"
  if [[ -s $f ]]; then
    local had; had=$(cat "$f")
    [[ $had == "$TEMPORAL_HISTORY_SHARDS" ]] ||
      warn "this cluster was created with $had history shards; TEMPORAL_HISTORY_SHARDS=$TEMPORAL_HISTORY_SHARDS ignored (reset to change it)"
    TEMPORAL_HISTORY_SHARDS=$had
  else
    echo "$TEMPORAL_HISTORY_SHARDS" >"$f"
  fi
}

# Config generated from the env's ports. Four services in one process (frontend, history,
# matching, worker); each opens its own pools: up to 4 × (maxConns + visibility maxConns)
# Postgres connections, which is why start_postgres raises max_connections for this backend.
write_temporal_config() {
  # The dynamic config is docker-compose's, so both run the same settings.
  local b=$TEMPORAL_INTERNAL_PORT_BASE cfg="$TEMPORAL_DIR/config.yaml" dyn="$ROOT/deploy/temporal-dynamicconfig.yaml"
  mkdir -p "$TEMPORAL_DIR"
  cat >"$cfg" <<EOF
# Written by scripts/temporal.sh from scripts/env.sh's ports; regenerated at every start.
log:
  stdout: true
  level: $TEMPORAL_LOG_LEVEL
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: $TEMPORAL_HISTORY_SHARDS
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: $TEMPORAL_PG_DB
        connectAddr: "$BIND_HOST:$PG_PORT"
        connectProtocol: tcp
        user: $PG_USER
        password: ""
        maxConns: $TEMPORAL_SQL_MAX_CONNS
        maxIdleConns: $TEMPORAL_SQL_MAX_CONNS
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: $TEMPORAL_VISIBILITY_PG_DB
        connectAddr: "$BIND_HOST:$PG_PORT"
        connectProtocol: tcp
        user: $PG_USER
        password: ""
        maxConns: $TEMPORAL_SQL_VIS_MAX_CONNS
        maxIdleConns: $TEMPORAL_SQL_VIS_MAX_CONNS
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "$BIND_HOST"
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "$BIND_HOST:$((b + 8))"
services:
  frontend:
    rpc: { grpcPort: $TEMPORAL_PORT, membershipPort: $((b + 3)), httpPort: $((b + 7)), bindOnIP: "$BIND_HOST" }
  history:
    rpc: { grpcPort: $b, membershipPort: $((b + 4)), bindOnIP: "$BIND_HOST" }
  matching:
    rpc: { grpcPort: $((b + 1)), membershipPort: $((b + 5)), bindOnIP: "$BIND_HOST" }
  worker:
    rpc: { grpcPort: $((b + 2)), membershipPort: $((b + 6)), bindOnIP: "$BIND_HOST" }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$BIND_HOST:$TEMPORAL_PORT"
      httpAddress: "$BIND_HOST:$((b + 7))"
dcRedirectionPolicy:
  policy: noop
archival:
  history: { state: disabled }
  visibility: { state: disabled }
namespaceDefaults:
  archival:
    history: { state: disabled }
    visibility: { state: disabled }
dynamicConfigClient:
  filepath: "$dyn"
  pollInterval: 10s
EOF
}

# Every port the server will bind: all must be free before it starts.
temporal_server_ports() {
  local b=$TEMPORAL_INTERNAL_PORT_BASE i
  echo "$TEMPORAL_PORT"
  for i in 0 1 2 3 4 5 6 7 8; do echo $((b + i)); done
}

# Needs Postgres up (schemas). Launches without waiting; wait_temporal waits.
launch_temporal_server() {
  local pid p
  if pid=$(live_pid temporal); then say "temporal already running (pid $pid, port $TEMPORAL_PORT)"; return 0; fi
  ((TEMPORAL_INTERNAL_PORT_BASE + 8 <= 32767)) ||
    die "TEMPORAL_INTERNAL_PORT_BASE=$TEMPORAL_INTERNAL_PORT_BASE: Temporal's internal ports must stay below 32768 (its cluster_membership table stores them as smallint)"
  for p in $(temporal_server_ports); do
    port_open "$BIND_HOST" "$p" && die "port $p is taken by another program (TEMPORAL_PORT / TEMPORAL_INTERNAL_PORT_BASE move the server's ports)"
  done
  temporal_schema
  temporal_shards
  write_temporal_config
  say "starting temporal-server $TEMPORAL_SERVER_VERSION on $BIND_HOST:$TEMPORAL_PORT (Postgres persistence, $TEMPORAL_HISTORY_SHARDS history shards, internal ports $TEMPORAL_INTERNAL_PORT_BASE-$((TEMPORAL_INTERNAL_PORT_BASE + 8)))"
  printf '===== %s starting temporal-server =====\n' "$(date -Is)" >>"$LOG_DIR/temporal.log"
  (cd "$TEMPORAL_DIR" && exec setsid nohup "$TEMPORAL_SERVER_BIN" --config-file "$TEMPORAL_DIR/config.yaml" --allow-no-auth start \
    >>"$LOG_DIR/temporal.log" 2>&1 </dev/null 9>&-) &
  echo $! >"$(pidfile temporal)"
}

# ----- the production-style server's Web UI (ui-server at TEMPORAL_UI_VERSION) --------------

TEMPORAL_UI_HOME="${CORE_DICT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/core-dict}/temporal-ui/${TEMPORAL_UI_VERSION:-unset}"

# Reuses or builds github.com/temporalio/ui-server/v2/cmd/server (assets embedded; about a
# CPU-minute once). Optional: without Go, or if the build fails, the stack runs without a UI.
install_temporal_ui() {
  TEMPORAL_UI_BIN="${TEMPORAL_UI_BIN:-$TEMPORAL_UI_HOME/temporal-ui-server}"
  [[ -x $TEMPORAL_UI_BIN ]] && return 0
  command -v go >/dev/null || { warn "no Go: the Temporal Web UI is not built (TEMPORAL_HEADLESS=1 silences this)"; return 1; }
  mkdir -p "$TEMPORAL_UI_HOME"
  local gobin="$TEMPORAL_UI_HOME/.gobin" log="$TEMPORAL_UI_HOME/build.log"
  say "building the Temporal Web UI (ui-server $TEMPORAL_UI_VERSION; once; log: $log)"
  rm -rf "$gobin" && mkdir -p "$gobin"
  if ! (cd "$TEMPORAL_UI_HOME" && GOTOOLCHAIN=$TEMPORAL_GO_TOOLCHAIN GOBIN=$gobin GOFLAGS=-buildvcs=false \
    go install "github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_VERSION") >"$log" 2>&1; then
    warn "building the Temporal Web UI failed (log: $log); running without it"
    return 1
  fi
  mv -f "$gobin/server" "$TEMPORAL_UI_BIN" && rm -rf "$gobin"
}

temporal_ui_wanted() { [[ $(temporal_backend_current) == postgres && -e $RUN_DIR/temporal-ui.enabled ]]; }

launch_temporal_ui() {
  [[ $TEMPORAL_HEADLESS == 1 ]] && return 0
  local pid
  if pid=$(live_pid temporal-ui); then say "temporal UI already running (pid $pid)"; return 0; fi
  install_temporal_ui || return 0
  port_open "$BIND_HOST" "$TEMPORAL_UI_PORT" && die "port $TEMPORAL_UI_PORT is taken by another program (set TEMPORAL_UI_PORT, or TEMPORAL_HEADLESS=1)"
  mkdir -p "$TEMPORAL_DIR/ui/config"
  cat >"$TEMPORAL_DIR/ui/config/core-dict.yaml" <<EOF2
# Written by scripts/temporal.sh at every start.
temporalGrpcAddress: "$TEMPORAL_ADDRESS"
host: "$BIND_HOST"
port: $TEMPORAL_UI_PORT
enableUi: true
defaultNamespace: "$TEMPORAL_NAMESPACE"
disableNewsFetch: true
cors:
  cookieInsecure: true
codec:
  endpoint: "${TEMPORAL_CODEC_ENDPOINT:-}"
EOF2
  touch "$RUN_DIR/temporal-ui.enabled"
  say "starting temporal Web UI $TEMPORAL_UI_VERSION on http://$BIND_HOST:$TEMPORAL_UI_PORT"
  (exec setsid nohup "$TEMPORAL_UI_BIN" --root "$TEMPORAL_DIR/ui" --config config --env core-dict start \
    >>"$LOG_DIR/temporal-ui.log" 2>&1 </dev/null 9>&-) &
  echo $! >"$(pidfile temporal-ui)"
  wait_until 30 "temporal Web UI" port_open "$BIND_HOST" "$TEMPORAL_UI_PORT" || { show_log temporal-ui; warn "the Temporal Web UI did not come up"; }
}

stop_temporal_ui() {
  local pid
  if pid=$(live_pid temporal-ui); then
    say "stopping temporal UI (pid $pid)"
    stop_pid temporal-ui "$pid" 10
  fi
  rm -f "$(pidfile temporal-ui)" "$RUN_DIR/temporal-ui.enabled"
}
