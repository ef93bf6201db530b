#!/usr/bin/env bash
# Acts on the DICT simulator as another participant (default 87654321), signing with its dev
# certificate from the running dev stack's PKI: see scripts/dict-as.ts for the operations.
#   bash scripts/dict-as.sh 87654321 create-entry '{"key":"+5511988887777","keyType":"PHONE",...}'
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/versions.env
source scripts/env.sh
core_dict_env dev
[[ -f dist/scripts/dict-as.js ]] || { echo "dict-as: build first (npx tsc -p .)" >&2; exit 1; }
exec node dist/scripts/dict-as.js "$@"
