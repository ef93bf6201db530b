#!/usr/bin/env bash
# Runs the whole Core DICT stack on loopback: Postgres, Redis, NATS JetStream, Temporal, the DICT
# simulator, the worker(s), the API(s) and the outbox relay. Data and logs live in .data/dev/.
#
#   bash scripts/run.sh            install what is missing, start, stay in the foreground (Ctrl-C stops all)
#   bash scripts/run.sh --detach   start and return
#   bash scripts/run.sh --temporal=postgres   on the production-style Temporal (Postgres persistence)
#   bash scripts/run.sh restart SERVICE...   restart only these (api, worker: every replica, one
#                                  at a time; api-2, simulator, relay, postgres, redis, nats, temporal, temporal-ui);
#                                  recompiles first only when a source changed
#   bash scripts/run.sh status     what is running: pid, port, pid file (exit 0 only when everything is)
#   bash scripts/run.sh stop       stop everything (an external Temporal is left alone)
#   bash scripts/run.sh reset      stop, then delete .data/dev (databases, workflows, PKI, logs)
#   bash scripts/run.sh endpoints  print the URLs
#
# Temporal: --temporal=dev (default: `temporal server start-dev`, SQLite, Web UI), =postgres
# (temporal-server built at the pinned version, schemas in our Postgres), or an external one:
# TEMPORAL_ADDRESS=host:7233 (namespace and search attributes created when missing).
# Replicas: API_REPLICAS=2 WORKER_REPLICAS=2 (same namespace and task queue; api-N listens on
# API_PORT+N-1 / API_GRPC_PORT+N-1). Ports and URLs: scripts/env.sh (PG_PORT, REDIS_PORT,
# TEMPORAL_PORT, TEMPORAL_UI_PORT, API_PORT, SIM_PORT, NATS_PORT, ... can be overridden from the environment).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/versions.env
source scripts/env.sh
source scripts/lib.sh
source scripts/install.sh
for _arg in "$@"; do
  case $_arg in --temporal=*) export TEMPORAL_BACKEND=${_arg#--temporal=} ;; esac
done
core_dict_env dev

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

print_endpoints() {
  local ui backend apis="" i
  backend=$(temporal_backend_current)
  if [[ $backend == postgres ]] && temporal_ui_wanted; then ui="http://$BIND_HOST:$TEMPORAL_UI_PORT/namespaces/$TEMPORAL_NAMESPACE/workflows   (ui-server $TEMPORAL_UI_VERSION)"
  elif [[ $backend != dev ]]; then ui="(not served here: docker-compose's temporal-ui service, or any Temporal UI pointed at $TEMPORAL_ADDRESS)"
  elif [[ $TEMPORAL_HEADLESS == 1 ]]; then ui="(headless)"
  else ui="http://$BIND_HOST:$TEMPORAL_UI_PORT/namespaces/$TEMPORAL_NAMESPACE/workflows"; fi
  for ((i = 2; i <= API_REPLICAS; i++)); do apis+=" and :$((API_PORT + i - 1))"; done
  cat <<EOF

Core DICT endpoints
  API gRPC (h2c; also Connect)   http://$API_HOST:$API_GRPC_PORT   e.g. buf curl --http2-prior-knowledge
  API Connect + gRPC-web         http://$API_HOST:$API_PORT$apis   (HTTP/1.1; $API_REPLICAS API, $WORKER_REPLICAS worker processes)
  API health / readiness         http://$API_HOST:$API_PORT/healthz   http://$API_HOST:$API_PORT/readyz
  API metrics (own listener)     $(if ((API_METRICS_PORT)); then echo "http://$API_METRICS_HOST:$API_METRICS_PORT/metrics   (api-N: port +N-1; not on $API_PORT)"; else echo "(off: API_METRICS_PORT=0)"; fi)
  Relay health / metrics         $(if ((RELAY_HTTP_PORT)); then echo "http://$RELAY_HTTP_HOST:$RELAY_HTTP_PORT/readyz   http://$RELAY_HTTP_HOST:$RELAY_HTTP_PORT/metrics"; else echo "(off: RELAY_HTTP_PORT=0)"; fi)
  API tokens (dev IdP)           every RPC needs 'Authorization: Bearer <JWT>'; keys trusted: ${AUTH_JWKS_FILE:-$AUTH_JWKS_URL}
                                 operator:  TOKEN=\$(bash scripts/token.sh)
                                 customer:  TOKEN=\$(bash scripts/token.sh --role customer --tax-id <CPF/CNPJ> --amr pwd,otp)
                                 buf curl --schema proto --http2-prior-knowledge -H "Authorization: Bearer \$TOKEN" \\
                                   http://$API_HOST:$API_GRPC_PORT/dict.core.v1.CoreDictService/ListKeys
  Temporal gRPC                  $TEMPORAL_ADDRESS   namespace $TEMPORAL_NAMESPACE, task queue $TEMPORAL_TASK_QUEUE ($backend)
  Temporal Web UI                $ui
  Payload codec (UI decodes)     $TEMPORAL_CODEC_ENDPOINT/decode   keys: $PAYLOAD_KEYS_FILE
                                 temporal workflow show -w <id> --codec-endpoint $TEMPORAL_CODEC_ENDPOINT --codec-auth "Bearer \$TOKEN"
  Postgres                       $DATABASE_URL
  Postgres (simulator)           $SIM_DATABASE_URL
  Redis                          $REDIS_URL
  NATS JetStream (events)        $NATS_URL   stream DICT_EVENTS, subjects dict.events.>   (node dist/relay/tail.js prints them)
  DICT simulator                 $DICT_BASE_URL
  DICT simulator admin (JSON)    http://$SIM_HOST:$SIM_PORT/admin/   health http://$SIM_HOST:$SIM_PORT/healthz
  PKI (dev certificates)         $PKI_DIR
  Logs                           $LOG_DIR/{api,worker,relay,simulator,temporal,postgres,redis,nats}.log
  Stop                           bash scripts/run.sh stop   (or Ctrl-C when running in the foreground)
EOF
}

# The port(s) a service listens on, for status.
service_port() {
  case $1 in
    postgres) echo "$PG_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    temporal) echo "$TEMPORAL_PORT" ;;
    temporal-ui) echo "$TEMPORAL_UI_PORT" ;;
    simulator) echo "$SIM_PORT" ;;
    api*) echo "$(api_http_port "$1"),$(api_grpc_port "$1")$(if ((${API_METRICS_PORT:-0})); then echo ",$(api_metrics_port "$1")"; fi)" ;;
    relay) if ((${RELAY_HTTP_PORT:-0})); then echo "$RELAY_HTTP_PORT"; else echo -; fi ;;
    nats) echo "$NATS_PORT" ;;
    worker*) if ((${WORKER_METRICS_PORT:-0})); then worker_metrics_port "$1"; else echo -; fi ;;
    *) echo - ;;
  esac
}

# status: one line per service (pid, port, pid file); returns 0 only when all are up.
cmd_status() {
  local name pid down=0 file
  printf '  %-11s %-8s %-8s %-13s %s\n' SERVICE STATE PID PORT "PID FILE"
  for name in $(all_services); do
    if [[ $name == temporal && $(temporal_backend_current) == external ]]; then
      if temporal_healthy; then printf '  %-11s %-8s %-8s %-13s %s\n' temporal external - "$TEMPORAL_ADDRESS" "(not managed here)"
      else printf '  %-11s %-8s %-8s %-13s %s\n' temporal DOWN - "$TEMPORAL_ADDRESS" "(external, not answering)"; down=1; fi
      continue
    fi
    file=$(pidfile "$name")
    if pid=$(live_pid "$name"); then
      printf '  %-11s %-8s %-8s %-13s %s\n' "$name" running "$pid" "$(service_port "$name")" "${file#"$ROOT"/}"
    else
      printf '  %-11s %-8s %-8s %-13s %s\n' "$name" stopped - "$(service_port "$name")" "${file#"$ROOT"/}"
      down=1
    fi
  done
  return "$down"
}

# One start or restart at a time (fd 9, released on exit); a second run.sh waits, then finds the stack up.
take_start_lock() {
  mkdir -p "$DATA_DIR"
  exec 9>"$DATA_DIR/.start.lock"
  flock -w 300 9 || die "another run.sh has been starting the stack for 5 minutes"
}

# The instances a restart argument names: a kind (api, worker) is every replica of it.
restart_targets() {
  local arg=$1 name
  for name in $(all_services); do
    if [[ $name == "$arg" || ( $arg =~ ^(api|worker)$ && $name == "$arg"-[0-9]* ) ]]; then echo "$name"; fi
  done
}

# restart SERVICE...: stop and start only these, the rest of the stack untouched. Node programs
# are recompiled first only when a source changed (build stamp); replicas go one at a time.
cmd_restart() {
  (($# > 0)) || die "restart what? (one of: $(all_services | tr '\n' ' '))"
  [[ -d $DATA_DIR ]] || die "nothing is running here: start the stack first (bash scripts/run.sh --detach)"
  take_start_lock
  local arg name targets=() node=0 t0=$SECONDS
  for arg in "$@"; do
    local found=()
    mapfile -t found < <(restart_targets "$arg")
    ((${#found[@]})) || die "unknown service '$arg' (one of: $(all_services | tr '\n' ' '))"
    targets+=("${found[@]}")
  done
  for name in "${targets[@]}"; do [[ $(node_script "$name") ]] && node=1; done
  # Keep the Temporal backend the stack runs with, whatever the environment says.
  TEMPORAL_BACKEND=$(temporal_backend_current)
  # The tools a Temporal restart needs (the CLI; the pinned server build on the postgres backend).
  if [[ " ${targets[*]} " == *" temporal "* || " ${targets[*]} " == *" temporal-ui "* ]]; then
    install_python
    [[ $TEMPORAL_BACKEND == postgres ]] && install_temporal_server
  fi
  if ((node)); then
    install_node
    build_if_changed
    check_node_programs
  fi
  ensure_dirs
  for name in "${targets[@]}"; do
    case $name in
      postgres) stop_postgres; start_postgres ;;
      redis) stop_redis; start_redis ;;
      nats) stop_nats; start_nats ;;
      temporal)
        [[ $TEMPORAL_BACKEND == external ]] && die "temporal is external ($TEMPORAL_ADDRESS): not managed here"
        stop_temporal
        launch_temporal
        wait_temporal
        ;;
      temporal-ui) stop_temporal_ui; launch_temporal_ui ;;
      *) stop_node "$name"; start_node "$name" ;;
    esac
  done
  exec 9>&-
  say "restarted ${targets[*]} in $((SECONDS - t0))s"
}

all_running() {
  local name
  for name in $(all_services); do
    [[ $name == temporal && $(temporal_backend_current) == external ]] && continue
    is_running "$name" || return 1
  done
}

cmd_stop() {
  if [[ ! -d $DATA_DIR ]]; then say "nothing to stop"; return 0; fi
  stop_all
  say "stopped"
}

cmd_reset() {
  cmd_stop
  # Guard against a mis-set data dir before rm -rf.
  [[ $DATA_DIR == "$ROOT/.data/"* || -n ${CORE_DICT_DATA_DIR:-} ]] || die "refusing to delete $DATA_DIR"
  rm -rf "$DATA_DIR"
  say "deleted $DATA_DIR"
}

# Foreground: wait for Ctrl-C; warn (once) when one of our node programs dies.
supervise() {
  local name stopping=0
  declare -A reported=()
  # shellcheck disable=SC2317 # invoked by trap
  on_signal() {
    ((stopping)) && return
    stopping=1
    # The terminal (or a '| tee' that got the same Ctrl-C) may be gone: never let a failed
    # write end us before everything is stopped.
    trap '' PIPE
    set +e
    echo
    say "stopping the stack..."
    stop_all
    say "stopped"
    exit 0
  }
  trap on_signal INT TERM HUP
  say "running in the foreground; Ctrl-C stops everything"
  while :; do
    sleep 2 &
    wait $! || true
    for name in $(all_services); do
      [[ $name == temporal && $(temporal_backend_current) == external ]] && continue
      if ! is_running "$name"; then
        [[ -n ${reported[$name]:-} ]] && continue
        reported[$name]=1
        warn "$name has stopped (log: $LOG_DIR/$name.log)"
        show_log "$name" 15
      else
        unset "reported[$name]"
      fi
    done
  done
}

# The dev accounts the README's customer examples use (scripts/dev-accounts.csv, PSP 12345678),
# into the account registry: customers' keys and claims name accounts that must be there. Idempotent.
load_dev_accounts() {
  if [[ $PSP_ISPB != 12345678 ]]; then
    warn "PSP_ISPB=$PSP_ISPB: scripts/dev-accounts.csv is for 12345678, not loaded (feed the registry: bash scripts/accounts.sh load FILE.csv)"
    return 0
  fi
  say "loading the dev account registry (scripts/dev-accounts.csv)"
  node "$ROOT/dist/scripts/accounts.js" load "$ROOT/scripts/dev-accounts.csv"
}

cmd_start() {
  local detach=$1
  take_start_lock

  local f; f=$(temporal_backend_file)
  if [[ -s $f && $(temporal_backend_current) != "$(temporal_backend_for_start)" ]] && is_running postgres; then
    # A running stack keeps its Temporal unless the caller asked for another one.
    ((TEMPORAL_BACKEND_CHOSEN)) && die "the stack is running with temporal=$(temporal_backend_current); stop it first (bash scripts/run.sh stop)"
    TEMPORAL_BACKEND=$(temporal_backend_current)
  fi
  if all_running; then
    say "Core DICT is already running"
    exec 9>&-
    print_endpoints
    return 0
  fi

  install_all
  [[ $(temporal_backend_for_start) == postgres ]] && install_temporal_server
  check_node_programs
  ensure_dirs

  # Whatever happens before the stack is fully up: stop it all again, don't leave half a stack.
  trap 'rc=$?; if ((rc != 0)); then warn "start failed; stopping what was started"; stop_all; fi' EXIT
  launch_temporal
  start_postgres
  start_redis
  start_nats
  prepare_databases
  load_dev_accounts
  say "generating dev PKI in $PKI_DIR"
  generate_pki
  wait_temporal
  local name
  for name in $(node_instances); do start_node "$name"; done
  trap - EXIT
  exec 9>&-

  print_endpoints
  if [[ $detach == 1 ]]; then
    say "started in the background; 'bash scripts/run.sh stop' stops it"
    return 0
  fi
  supervise
}

main() {
  local cmd=start detach=0 arg services=()
  for arg in "$@"; do
    case $arg in
      start | stop | status | reset | endpoints | restart) [[ $cmd == restart ]] && services+=("$arg") || cmd=$arg ;;
      -d | --detach) detach=1 ;;
      --temporal=*) ;; # read before core_dict_env
      -h | --help | help) usage; exit 0 ;;
      *)
        [[ $cmd == restart && $arg != -* ]] || { usage >&2; die "unknown argument: $arg"; }
        services+=("$arg")
        ;;
    esac
  done
  case $cmd in
    start) cmd_start "$detach" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    restart) cmd_restart "${services[@]}" ;;
    reset) cmd_reset ;;
    endpoints) print_endpoints ;;
  esac
}

main "$@"
