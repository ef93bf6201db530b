#!/bin/sh
# Creates or upgrades Temporal's two Postgres schemas (persistence and visibility) with
# temporal-sql-tool, idempotently: create the database when missing, `setup-schema -v 0.0`
# (only writes the version tables; skipped when the schema is already newer), then
# `update-schema` with the schemas embedded in the tool — which is also the upgrade path after
# bumping the server version. POSIX sh: runs in the temporalio/admin-tools image (compose's
# temporal-schema job, a Kubernetes Job) and on the host (scripts/temporal.sh).
#
# Environment: SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (read by temporal-sql-tool itself),
# TEMPORAL_DB (temporal), TEMPORAL_VISIBILITY_DB (temporal_visibility),
# TEMPORAL_SQL_TOOL (temporal-sql-tool), SQL_DEFAULT_DB (postgres: where CREATE DATABASE runs).
set -eu

tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
export SQL_PLUGIN=postgres12

schema() { # DB SCHEMA-NAME
  out=$("$tool" --database "$1" create-database --defaultdb "${SQL_DEFAULT_DB:-postgres}" 2>&1) ||
    case $out in
      *already\ exists*) ;;
      *) echo "$out" >&2; echo "temporal-schema: cannot create database $1" >&2; exit 1 ;;
    esac
  "$tool" --quiet --database "$1" setup-schema -v 0.0
  "$tool" --quiet --database "$1" update-schema --schema-name "$2"
  echo "temporal-schema: $1 is at the $2 schema of $("$tool" --version 2>/dev/null | tr -d '\n' || echo "this tool")"
}

schema "${TEMPORAL_DB:-temporal}" postgresql/v12/temporal
schema "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" postgresql/v12/visibility
