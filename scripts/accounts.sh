#!/usr/bin/env bash
# Feeds the account registry (table accounts: our PSP's accounts as core banking knows them) on
# the dev stack's database, or the test stack's with CORE_DICT_PROFILE=test; see scripts/accounts.ts
# for the file's columns and rules:
#   bash scripts/accounts.sh load FILE.csv [--max-bytes N]
# Any bad row: every one reported as FILE:LINE: ..., nothing loaded, exit 1. Loading again is harmless.
# In production run `node dist/scripts/accounts.js load FILE.csv` with the API's DATABASE_URL and PSP_ISPB.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/versions.env"
source "$ROOT/scripts/env.sh"
core_dict_env "${CORE_DICT_PROFILE:-dev}" >/dev/null
[[ -f $ROOT/dist/scripts/accounts.js ]] || { echo "accounts.sh: dist/scripts/accounts.js missing (build first: npx tsc -p .)" >&2; exit 1; }
exec node "$ROOT/dist/scripts/accounts.js" "$@"
