#!/usr/bin/env bash
# Mints a dev Bearer token for the API (dev profile), signed with the dev identity provider's key
# that the PKI step created in $PKI_DIR (auth-signing.key; the API trusts auth-jwks.json). Prints
# the JWT on stdout. Options (all optional) are scripts/token.ts's:
#   bash scripts/token.sh                                  an operator of PSP_ISPB (1 h)
#   bash scripts/token.sh --role customer --tax-id 12345678909 [--amr pwd,otp] [--sub user-1]
#   bash scripts/token.sh --ttl 600 --acr urn:core-dict:loa2
# Use: buf curl -H "Authorization: Bearer $(bash scripts/token.sh)" ...
# Profile: CORE_DICT_PROFILE=test for the test stack's PKI. Never for production: a real IdP issues tokens.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/versions.env
source scripts/env.sh
source scripts/lib.sh
core_dict_env "${CORE_DICT_PROFILE:-dev}" >/dev/null
if [[ ! -f dist/scripts/token.js ]]; then
  echo "token.sh: dist/scripts/token.js missing (build first: npx tsc -p .)" >&2
  exit 1
fi
# No dev IdP key yet (the stack never started): the PKI step run.sh and test.sh use.
[[ -f $PKI_DIR/auth-signing.key ]] || generate_pki
exec node dist/scripts/token.js --pki "$PKI_DIR" --ispb "$PSP_ISPB" "$@"
