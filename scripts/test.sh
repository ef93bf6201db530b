#!/usr/bin/env bash
# The whole check, as CI runs it (.ci/run): install what is missing, lint + regenerate protobuf
# code and fail if gen/ changed, build (= typecheck), start throwaway Postgres/Redis/NATS/Temporal on
# test ports with data in .data/test/ (wiped), migrate, make a PKI, run the node test files in
# dist/test/, stop the services, and exit with the test runner's status. The output ends with
# node's test-runner summary (# tests / # pass / # fail ...).
#
#   bash scripts/test.sh                      everything
#   bash scripts/test.sh dist/test/unit/x.test.js ...   only these compiled test files
#   TEST_TEMPORAL_UI=1 bash scripts/test.sh   also serve the Temporal Web UI on :28233
#   TEST_TEMPORAL_BACKEND=postgres bash scripts/test.sh   on the production-style Temporal
#       (temporal-server on the test Postgres; built once at the pinned version, ~12 CPU-minutes)
#   TEST_TEMPORAL_ADDRESS=host:7233 bash scripts/test.sh  on an external Temporal (left running)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/versions.env
source scripts/env.sh
source scripts/lib.sh
source scripts/install.sh
core_dict_env test

step() { printf '\n[core-dict] == %s\n' "$*"; }

# buf lint, then regenerate gen/ and insist it matches what is committed.
check_generated_code() {
  step "proto lint + generated code is current"
  node_modules/.bin/buf lint || die "buf lint failed"
  node_modules/.bin/buf generate || die "buf generate failed"
  if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    warn "not a git checkout: cannot compare gen/ with the committed copy"
    return 0
  fi
  # Untracked files count too (a new .proto whose output was never committed).
  if ! git diff --quiet -- gen/ || [[ -n $(git ls-files --others --exclude-standard -- gen/) ]]; then
    git --no-pager diff --stat -- gen/ >&2
    git ls-files --others --exclude-standard -- gen/ | sed 's/^/  untracked: /' >&2
    die "gen/ is out of date with proto/: run 'npx buf generate' and commit gen/"
  fi
}

# docker-compose.yml must stay valid (no engine needed for 'config').
check_compose() {
  if command -v docker-compose >/dev/null; then
    step "docker-compose.yml is valid"
    docker-compose -f docker-compose.yml config -q || die "docker-compose config rejected docker-compose.yml"
    # Its image tags default to the pins in versions.env.
    local rendered img
    rendered=$(docker-compose -f docker-compose.yml config 2>/dev/null)
    for img in "temporalio/server:$TEMPORAL_SERVER_VERSION" "temporalio/admin-tools:$TEMPORAL_SERVER_VERSION" \
      "temporalio/ui:$TEMPORAL_UI_VERSION" "postgres:$POSTGRES_IMAGE_VERSION" "redis:$REDIS_IMAGE_VERSION" \
      "nats:$NATS_IMAGE_VERSION" "prom/prometheus:$PROMETHEUS_IMAGE_VERSION" "grafana/grafana:$GRAFANA_IMAGE_VERSION"; do
      grep -qF "image: $img" <<<"$rendered" || die "docker-compose.yml does not default to $img (scripts/versions.env)"
    done
  fi
}

# The container image's runtime stage (deploy/Dockerfile: dist/, `npm prune --omit=dev`) holds every
# module the programs it starts need: that tree built here, without a Docker engine, and each
# entry point that docker-compose.yml and deploy/k8s start walked from it (scripts/check-runtime-deps.ts).
check_runtime_tree() {
  step "image runtime stage: production dependencies are enough"
  local entries
  RUNTIME_TREE=$(mktemp -d)
  # Removed however this function ends (error, die, Ctrl-C).
  trap 'rm -rf "$RUNTIME_TREE"; trap - RETURN' RETURN
  trap 'rm -rf "$RUNTIME_TREE"; exit 130' INT
  trap 'rm -rf "$RUNTIME_TREE"; exit 143' TERM
  cp package.json package-lock.json "$RUNTIME_TREE/"
  (cd "$RUNTIME_TREE" && npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null) || { rm -rf "$RUNTIME_TREE"; die "npm ci --omit=dev failed"; }
  cp -r dist migrations "$RUNTIME_TREE/" || { rm -rf "$RUNTIME_TREE"; die "copying dist/ and migrations/ failed"; }
  mapfile -t entries < <(grep -ho 'dist/[A-Za-z0-9/_-]*\.js' docker-compose.yml deploy/k8s/*.yaml deploy/Dockerfile | sort -u)
  ((${#entries[@]})) || { rm -rf "$RUNTIME_TREE"; die "no entry points found in docker-compose.yml / deploy/k8s / deploy/Dockerfile"; }
  node dist/scripts/check-runtime-deps.js "$RUNTIME_TREE" "${entries[@]}" || { rm -rf "$RUNTIME_TREE"; die "the image's runtime stage would lack modules"; }
  trap - INT TERM
}

# The Prometheus alert rules parse and type-check (promtool, Debian's prometheus package).
# The dashboard's structure and metric names are checked by test/unit/dashboard.test.ts.
check_alert_rules() {
  if command -v promtool >/dev/null; then
    step "promtool check rules deploy/prometheus/alerts.yml"
    promtool check rules deploy/prometheus/alerts.yml || die "promtool rejected deploy/prometheus/alerts.yml"
  else
    warn "promtool not installed (Debian package prometheus): alert rules not checked"
  fi
}

# deploy/k8s must build with kustomize and decode strictly into k8s.io/api types.
check_k8s() {
  step "Kubernetes manifests are valid (deploy/k8s)"
  bash scripts/k8s-check.sh || die "deploy/k8s failed the offline manifest check (scripts/k8s-check.sh)"
}

start_services() {
  step "test services (postgres :$PG_PORT, redis :$REDIS_PORT, nats :$NATS_PORT, temporal $TEMPORAL_ADDRESS: $TEMPORAL_BACKEND)"
  stop_all # leftovers of an interrupted run, before wiping their data
  rm -rf "$DATA_DIR"
  ensure_dirs
  launch_temporal # slowest to boot: overlap it with Postgres' initdb
  start_postgres
  start_redis
  start_nats
  prepare_databases
  generate_pki
  wait_temporal
}

# Prints the closing summary block of the TAP report (the last "# tests" to the end).
tap_summary() {
  awk '/^# tests /{buf=""; on=1} on{buf = buf $0 "\n"} END{printf "%s", buf}' "$1"
}

run_tests() {
  local files=("$@") report="$DATA_DIR/report.tap"
  if ((${#files[@]} == 0)); then
    mapfile -t files < <(find dist/test -name '*.test.js' 2>/dev/null | sort)
  fi
  step "node --test (${#files[@]} files)"
  export TEMPORAL_TEST_SERVER_PATH TEMPORAL_BIN LOG_LEVEL
  local rc=0
  if ((${#files[@]} == 0)); then
    # Nothing to run: an empty directory makes node report "# tests 0" instead of globbing ours.
    warn "no test files under dist/test/"
    mkdir -p "$DATA_DIR/empty"
    (cd "$DATA_DIR/empty" && node --test --test-reporter=tap --test-reporter-destination="$report") || rc=$?
  else
    # One file at a time: the files share these servers (ports, databases, the namespace).
    # In the background + wait, so a TERM/Ctrl-C reaches our traps at once (the EXIT trap
    # then ends the runner and the services) instead of after the whole suite.
    node --enable-source-maps --test --test-concurrency=1 --test-timeout="${TEST_TIMEOUT_MS:-120000}" \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$report" \
      "${files[@]}" &
    TEST_RUNNER_PID=$!
    wait "$TEST_RUNNER_PID" || rc=$?
    TEST_RUNNER_PID=
  fi
  return "$rc"
}

TEST_RUNNER_PID=
# shellcheck disable=SC2317 # invoked by trap
on_exit() {
  if [[ -n $TEST_RUNNER_PID ]]; then
    kill -TERM "$TEST_RUNNER_PID" 2>/dev/null || true
    wait "$TEST_RUNNER_PID" 2>/dev/null || true
  fi
  echo "[core-dict] stopping test services" >&2
  stop_all >/dev/null 2>&1 || true
}

main() {
  local rc=0
  step "install"
  # shellcheck disable=SC2086 # a word list
  install_system $APT_TEST_PACKAGES
  install_python
  install_node
  install_grpcurl
  [[ $TEMPORAL_BACKEND == postgres ]] && install_temporal_server
  check_generated_code
  step "build + typecheck (tsc -p .)"
  rm -rf dist/test # no stale compiled tests from deleted sources
  build_ts
  check_compose
  check_k8s
  check_alert_rules
  check_runtime_tree

  # Whatever ends us (error, Ctrl-C, TERM): the test services must not outlive this script.
  trap 'on_exit' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  start_services
  run_tests "$@" || rc=$?
  # Every line our processes logged during the run: no unmasked CPF/CNPJ/phone/e-mail, one msg each.
  step "log scan ($LOG_DIR)"
  node dist/test/support/log-scan.js "$LOG_DIR" || { warn "log scan found personal data or duplicate msg keys in the logs"; ((rc == 0)) && rc=1; }

  step "stopping test services"
  stop_all
  trap - EXIT
  say "logs: $LOG_DIR   report: $DATA_DIR/report.tap"
  # Last lines: node's own summary, for people and for CI.
  echo
  if [[ -s $DATA_DIR/report.tap ]]; then
    tap_summary "$DATA_DIR/report.tap"
  else
    warn "the test runner wrote no report (exit $rc)"
  fi
  exit "$rc"
}

main "$@"
