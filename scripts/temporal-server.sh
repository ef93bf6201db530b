#!/usr/bin/env bash
# The pinned production-style Temporal server (scripts/versions.env: TEMPORAL_SERVER_VERSION),
# outside run.sh/test.sh:
#
#   bash scripts/temporal-server.sh build    build it (and its Web UI) from the Go module proxy, or reuse the cached builds
#   bash scripts/temporal-server.sh cached   exit 0 when it is already built (CI decides with this)
#   bash scripts/temporal-server.sh path     print the temporal-server and temporal-sql-tool paths
#
# Cache: ~/.cache/core-dict/temporal-server/<version>/ (CORE_DICT_TOOLS_DIR moves ~/.cache/core-dict).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/versions.env"
source "$ROOT/scripts/env.sh"
source "$ROOT/scripts/lib.sh"

case ${1:-} in
  build)
    install_temporal_server; say "temporal-server $TEMPORAL_SERVER_VERSION: $TEMPORAL_SERVER_BIN"
    install_temporal_ui && say "temporal Web UI $TEMPORAL_UI_VERSION: $TEMPORAL_UI_BIN" ;;
  cached) temporal_server_cached ;;
  path) temporal_server_cached || die "temporal-server $TEMPORAL_SERVER_VERSION is not built (bash scripts/temporal-server.sh build)"
    echo "$TEMPORAL_SERVER_BIN"; echo "$TEMPORAL_SQL_TOOL_BIN" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
