# shellcheck shell=bash
# Default configuration for run.sh (profile "dev") and test.sh (profile "test").
# Source it, then call: core_dict_env dev|test
# dev:  every port/URL can be overridden from the caller's environment.
# test: ports come from TEST_* overrides only, so a developer's exported DATABASE_URL etc.
#       can never point the test suite at the dev (or a real) database.
# Temporal: TEMPORAL_BACKEND=dev|postgres|external (TEST_TEMPORAL_BACKEND in test); see
# scripts/temporal.sh. A TEMPORAL_ADDRESS (TEST_TEMPORAL_ADDRESS) other than our own means external.

core_dict_env() {
  local profile="${1:-dev}"
  ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
  CORE_DICT_PROFILE="$profile"
  # Like npx: our npm tools (tsc, buf and its protoc-gen-es plugin, dbmate) come first.
  case ":$PATH:" in *":$ROOT/node_modules/.bin:"*) ;; *) PATH="$ROOT/node_modules/.bin:$PATH" ;; esac
  export PATH
  BIND_HOST=127.0.0.1

  case "$profile" in
    dev)
      DATA_DIR="${CORE_DICT_DATA_DIR:-$ROOT/.data/dev}"
      PG_PORT="${PG_PORT:-5432}"
      REDIS_PORT="${REDIS_PORT:-6379}"
      TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
      TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
      TEMPORAL_HEADLESS="${TEMPORAL_HEADLESS:-0}"
      API_PORT="${API_PORT:-8080}"
      API_GRPC_PORT="${API_GRPC_PORT:-50051}"
      SIM_PORT="${SIM_PORT:-8090}"
      NATS_PORT="${NATS_PORT:-4222}"
      PG_DB="${PG_DB:-core_dict}"
      SIM_PG_DB="${SIM_PG_DB:-dict_simulator}"
      REDIS_PERSIST=1
      LOG_LEVEL="${LOG_LEVEL:-info}"
      TEMPORAL_BACKEND="${TEMPORAL_BACKEND:-}"
      TEMPORAL_INTERNAL_PORT_BASE="${TEMPORAL_INTERNAL_PORT_BASE:-$((TEMPORAL_PORT + 1))}"
      # Stateless replicas run.sh starts: api, api-2, ... on API_PORT+i / API_GRPC_PORT+i.
      API_REPLICAS="${API_REPLICAS:-1}"
      WORKER_REPLICAS="${WORKER_REPLICAS:-1}"
      ;;
    test)
      DATA_DIR="$ROOT/.data/test"
      # Every test port lies below Linux's default ephemeral range (32768-60999), so (unless
      # net.ipv4.ip_local_port_range was widened) an outgoing connection's local port cannot hold
      # one of them when a service starts to listen.
      PG_PORT="${TEST_PG_PORT:-25432}"
      REDIS_PORT="${TEST_REDIS_PORT:-26379}"
      TEMPORAL_PORT="${TEST_TEMPORAL_PORT:-27233}"
      TEMPORAL_UI_PORT="${TEST_TEMPORAL_UI_PORT:-28233}"
      # Headless by default: the UI costs start-up time and nobody looks at it in CI.
      TEMPORAL_HEADLESS=$([[ "${TEST_TEMPORAL_UI:-0}" == 1 ]] && echo 0 || echo 1)
      # Test ports for in-process servers, so tests never collide with a running dev stack.
      API_PORT="${TEST_API_PORT:-28080}"
      API_GRPC_PORT="${TEST_API_GRPC_PORT:-28051}"
      SIM_PORT="${TEST_SIM_PORT:-28090}"
      NATS_PORT="${TEST_NATS_PORT:-24222}"
      PG_DB=core_dict_test
      SIM_PG_DB=dict_simulator_test
      REDIS_PERSIST=0
      LOG_LEVEL="${TEST_LOG_LEVEL:-warn}"
      TEMPORAL_BACKEND="${TEST_TEMPORAL_BACKEND:-}"
      # Below 32768 too because Temporal stores membership ports in a Postgres smallint.
      TEMPORAL_INTERNAL_PORT_BASE="${TEST_TEMPORAL_INTERNAL_PORT_BASE:-27234}"
      API_REPLICAS=1
      WORKER_REPLICAS=1
      # Never inherit these from the caller in test mode.
      unset DATABASE_URL SIM_DATABASE_URL REDIS_URL NATS_URL TEMPORAL_ADDRESS DICT_BASE_URL PKI_DIR \
        DICT_SIGNING_KEY_FILE DICT_SIGNING_CERT_FILE DICT_TRUSTED_CERT_FILE \
        SIM_SIGNING_KEY_FILE SIM_SIGNING_CERT_FILE SIM_PARTICIPANT_CERTS API_HOST SIM_HOST \
        AUTH_JWKS_FILE AUTH_JWKS_URL AUTH_ISSUER AUTH_AUDIENCE \
        PAYLOAD_KEYS_FILE PAYLOAD_KEY_ID TEMPORAL_CODEC_ENDPOINT CODEC_CORS_ORIGINS CODEC_ALLOW_LOOPBACK
      if [[ -n ${TEST_TEMPORAL_ADDRESS:-} ]]; then TEMPORAL_ADDRESS=$TEST_TEMPORAL_ADDRESS; fi
      ;;
    *) echo "core_dict_env: unknown profile '$profile' (dev|test)" >&2; return 2 ;;
  esac

  # An address that is not the one we would serve ourselves: someone else's Temporal.
  if [[ -n ${TEMPORAL_ADDRESS:-} && $TEMPORAL_ADDRESS != "$BIND_HOST:$TEMPORAL_PORT" && $TEMPORAL_ADDRESS != "localhost:$TEMPORAL_PORT" ]]; then
    if [[ -n $TEMPORAL_BACKEND && $TEMPORAL_BACKEND != external ]]; then
      echo "core_dict_env: TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS is an external Temporal, but TEMPORAL_BACKEND=$TEMPORAL_BACKEND (unset one of them)" >&2
      return 2
    fi
    TEMPORAL_BACKEND=external
  fi
  # Whether the caller chose (run.sh otherwise keeps the backend of a stack that is running).
  TEMPORAL_BACKEND_CHOSEN=$([[ -n $TEMPORAL_BACKEND ]] && echo 1 || echo 0)
  TEMPORAL_BACKEND="${TEMPORAL_BACKEND:-dev}"
  if [[ $TEMPORAL_BACKEND == external && -z ${TEMPORAL_ADDRESS:-} ]]; then
    echo "core_dict_env: TEMPORAL_BACKEND=external needs TEMPORAL_ADDRESS (TEST_TEMPORAL_ADDRESS in tests)" >&2
    return 2
  fi
  # Production-style Temporal (TEMPORAL_BACKEND=postgres): its databases in our Postgres.
  TEMPORAL_PG_DB="${TEMPORAL_PG_DB:-temporal}"
  TEMPORAL_VISIBILITY_PG_DB="${TEMPORAL_VISIBILITY_PG_DB:-temporal_visibility}"
  # Fixed when the cluster first starts (see docs/capacity.md for production sizing).
  TEMPORAL_HISTORY_SHARDS="${TEMPORAL_HISTORY_SHARDS:-4}"
  # Per service (4 in the process) and store: 4 × (10 + 5) = 60 Postgres connections at most.
  TEMPORAL_SQL_MAX_CONNS="${TEMPORAL_SQL_MAX_CONNS:-10}"
  TEMPORAL_SQL_VIS_MAX_CONNS="${TEMPORAL_SQL_VIS_MAX_CONNS:-5}"
  TEMPORAL_NAMESPACE_RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-72h}"
  TEMPORAL_LOG_LEVEL="${TEMPORAL_LOG_LEVEL:-warn}"
  # Room for Temporal's pools next to ours; the default (100) is enough without them.
  if [[ $TEMPORAL_BACKEND == postgres ]]; then PG_MAX_CONNECTIONS="${PG_MAX_CONNECTIONS:-200}"; else PG_MAX_CONNECTIONS="${PG_MAX_CONNECTIONS:-}"; fi

  RUN_DIR="$DATA_DIR/run"          # pidfiles
  LOG_DIR="$DATA_DIR/logs"
  PG_DATA="$DATA_DIR/postgres"
  REDIS_DIR="$DATA_DIR/redis"
  TEMPORAL_DIR="$DATA_DIR/temporal"
  NATS_DIR="$DATA_DIR/nats"        # JetStream's store

  PG_USER=coredict
  PSP_ISPB="${PSP_ISPB:-12345678}"
  # The other participants the simulator knows (dev PKI creates a cert for each).
  OTHER_ISPBS="${OTHER_ISPBS:-87654321 11223344}"

  DATABASE_URL="${DATABASE_URL:-postgres://$PG_USER@$BIND_HOST:$PG_PORT/$PG_DB}"
  SIM_DATABASE_URL="${SIM_DATABASE_URL:-postgres://$PG_USER@$BIND_HOST:$PG_PORT/$SIM_PG_DB}"
  REDIS_URL="${REDIS_URL:-redis://$BIND_HOST:$REDIS_PORT/0}"
  NATS_URL="${NATS_URL:-nats://$BIND_HOST:$NATS_PORT}"
  TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-$BIND_HOST:$TEMPORAL_PORT}"
  TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-core-dict}"
  TEMPORAL_TASK_QUEUE="${TEMPORAL_TASK_QUEUE:-core-dict}"
  API_HOST="${API_HOST:-$BIND_HOST}"
  SIM_HOST="${SIM_HOST:-$BIND_HOST}"
  DICT_BASE_URL="${DICT_BASE_URL:-http://$SIM_HOST:$SIM_PORT/api/v2}"
  # The worker's /metrics + /healthz, and Temporal Core's metrics behind it (worker-N: +N-1).
  WORKER_METRICS_HOST="${WORKER_METRICS_HOST:-$BIND_HOST}"
  WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-9464}"
  TEMPORAL_METRICS_PORT="${TEMPORAL_METRICS_PORT:-9564}"
  # The API's /metrics on its own listener (api-N: +N-1; the public API_PORT serves none), and
  # the relay's /healthz /readyz /metrics.
  API_METRICS_HOST="${API_METRICS_HOST:-$BIND_HOST}"
  API_METRICS_PORT="${API_METRICS_PORT:-9465}"
  RELAY_HTTP_HOST="${RELAY_HTTP_HOST:-$BIND_HOST}"
  RELAY_HTTP_PORT="${RELAY_HTTP_PORT:-9466}"

  PKI_DIR="${PKI_DIR:-$DATA_DIR/pki}"
  DICT_SIGNING_KEY_FILE="${DICT_SIGNING_KEY_FILE:-$PKI_DIR/psp-$PSP_ISPB.key}"
  DICT_SIGNING_CERT_FILE="${DICT_SIGNING_CERT_FILE:-$PKI_DIR/psp-$PSP_ISPB.crt}"
  DICT_TRUSTED_CERT_FILE="${DICT_TRUSTED_CERT_FILE:-$PKI_DIR/dict.crt}"
  SIM_SIGNING_KEY_FILE="${SIM_SIGNING_KEY_FILE:-$PKI_DIR/dict.key}"
  SIM_SIGNING_CERT_FILE="${SIM_SIGNING_CERT_FILE:-$PKI_DIR/dict.crt}"
  # The API trusts the dev identity provider the PKI step creates (scripts/token.sh mints its
  # tokens) unless a real one is configured with AUTH_JWKS_URL.
  if [[ -z "${AUTH_JWKS_URL:-}" ]]; then AUTH_JWKS_FILE="${AUTH_JWKS_FILE:-$PKI_DIR/auth-jwks.json}"; fi
  # Workflow data is encrypted in Temporal with the PKI step's payload-keys.json (key rotation:
  # docs/operations.md). The Web UI (dev server and ui-server) decodes it through the API's codec
  # endpoint; on this machine's loopback without a token (the dev UI has no login).
  PAYLOAD_KEYS_FILE="${PAYLOAD_KEYS_FILE:-$PKI_DIR/payload-keys.json}"
  TEMPORAL_CODEC_ENDPOINT="${TEMPORAL_CODEC_ENDPOINT:-http://$BIND_HOST:$API_PORT/codec}"
  CODEC_CORS_ORIGINS="${CODEC_CORS_ORIGINS:-http://$BIND_HOST:$TEMPORAL_UI_PORT,http://localhost:$TEMPORAL_UI_PORT}"
  CODEC_ALLOW_LOOPBACK="${CODEC_ALLOW_LOOPBACK:-true}"
  if [[ -z "${SIM_PARTICIPANT_CERTS:-}" ]]; then
    local i certs=()
    for i in $PSP_ISPB $OTHER_ISPBS; do certs+=("$i=$PKI_DIR/psp-$i.crt"); done
    SIM_PARTICIPANT_CERTS="$(IFS=,; echo "${certs[*]}")"
  fi

  # Temporal search attributes our workflows upsert (name=type).
  TEMPORAL_SEARCH_ATTRIBUTES="ClaimStatus=Keyword ClaimType=Keyword ClaimRole=Keyword DictKeyType=Keyword DictOperation=Keyword NextDeadline=Datetime"

  export TEMPORAL_BACKEND API_REPLICAS WORKER_REPLICAS
  export ROOT CORE_DICT_PROFILE DATA_DIR RUN_DIR LOG_DIR LOG_LEVEL PSP_ISPB \
    DATABASE_URL SIM_DATABASE_URL REDIS_URL NATS_URL TEMPORAL_ADDRESS TEMPORAL_NAMESPACE TEMPORAL_TASK_QUEUE \
    API_HOST API_PORT API_GRPC_PORT SIM_HOST SIM_PORT DICT_BASE_URL PKI_DIR \
    WORKER_METRICS_HOST WORKER_METRICS_PORT TEMPORAL_METRICS_PORT \
    API_METRICS_HOST API_METRICS_PORT RELAY_HTTP_HOST RELAY_HTTP_PORT \
    DICT_SIGNING_KEY_FILE DICT_SIGNING_CERT_FILE DICT_TRUSTED_CERT_FILE \
    SIM_SIGNING_KEY_FILE SIM_SIGNING_CERT_FILE SIM_PARTICIPANT_CERTS \
    PAYLOAD_KEYS_FILE TEMPORAL_CODEC_ENDPOINT CODEC_CORS_ORIGINS CODEC_ALLOW_LOOPBACK
  if [[ -n ${AUTH_JWKS_FILE:-} ]]; then export AUTH_JWKS_FILE; fi
  if [[ -n ${PAYLOAD_KEY_ID:-} ]]; then export PAYLOAD_KEY_ID; fi
}
