#!/usr/bin/env bash
# What Connect's compile target costs a lookup: the published @connectrpc/connect and
# @connectrpc/connect-node (TypeScript built for ES2017, so every async generator runs through
# TypeScript's __asyncGenerator helper, with a generator function made per call) against the same
# version's sources built here for ES2022 (native async generators), alternating in one run.
# Each build serves bench/lookup.ts's saturation phase (bare and api1, --rounds rounds); the
# script prints every round and the medians, and writes them to OUT/summary.json. Loopback only,
# bounded by PAIRS x ROUNDS x SAT_N lookups per target.
#
#   bash scripts/bench.sh connect-target /abs/path/to/connect-es [PAIRS]
#   SAT_N=30000 ROUNDS=3 OUT=bench/results/<time>-connect-target bash scripts/bench.sh connect-target …
#
# /path/to/connect-es: an absolute path to a checkout of github.com/connectrpc/connect-es at the
# tag of the installed version (npm ships only the built files). While it runs, node_modules holds
# one build or the other: run nothing else from this checkout meanwhile. The installed builds are
# put back when the script ends (an error, Ctrl-C, SIGTERM; after a SIGKILL, `npm ci` puts them
# back, and the next run refuses to start until then). Nothing is built into the project: this
# measures, it does not change what the API runs (bench/RESULTS.md, "LookupKey, 2026-12-06 08:35").
# Raising the target changes more than async generators (class fields, optional chaining and
# spreads become native too), and Connect's own tests were not run on that build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SRC="${1:?usage: bench/connect-target.sh /path/to/connect-es [PAIRS]}"
PAIRS="${2:-2}"
SAT_N="${SAT_N:-30000}" ROUNDS="${ROUNDS:-3}"
OUT="$(realpath -m "${OUT:-bench/results/$(date -u +%Y-%m-%dT%H-%M-%SZ)-connect-target}")"
[[ "$PAIRS" =~ ^[1-9]$ ]] || { echo "PAIRS must be 1-9" >&2; exit 2; }
[[ "$SRC" == /* ]] || { echo "give the connect-es checkout as an absolute path (got $SRC)" >&2; exit 2; }
command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 1; }
[[ -f dist/bench/lookup.js ]] || node_modules/.bin/tsc -p tsconfig.json

version() { node -p "require('$1/package.json').version"; }
installed="$(version "$ROOT/node_modules/@connectrpc/connect")"
for pkg in connect connect-node; do
  [[ -d "$SRC/packages/$pkg/src" ]] || { echo "$SRC/packages/$pkg/src not found: give a connect-es checkout" >&2; exit 2; }
  [[ "$(version "$SRC/packages/$pkg")" == "$installed" ]] || { echo "$SRC is @connectrpc/$pkg $(version "$SRC/packages/$pkg"), installed is $installed: check out its tag v$installed" >&2; exit 2; }
done

MODS="$ROOT/node_modules/@connectrpc"
grep -q '__asyncGenerator(this' "$MODS/connect/dist/cjs/protocol/async-iterable.js" \
  || { echo "node_modules holds a rebuilt Connect (an interrupted run?): run npm ci first" >&2; exit 1; }
WORK="$(mktemp -d)"
mkdir -p "$WORK/published" "$OUT"
for pkg in connect connect-node; do cp -a "$MODS/$pkg/dist/cjs" "$WORK/published/$pkg"; done
restore() {
  local ok=1
  for pkg in connect connect-node; do
    { rm -rf "$MODS/$pkg/dist/cjs" && cp -a "$WORK/published/$pkg" "$MODS/$pkg/dist/cjs"; } || ok=0
  done
  if ((ok)); then rm -rf "$WORK"; else echo "could not put the published builds back: they are in $WORK/published (or run npm ci)" >&2; fi
}
trap restore EXIT
# A signal stops the bench run under way first (bench/lookup.ts stops its servers on SIGTERM), then
# the EXIT trap puts the published builds back.
child=''
trap 'if [[ -n "$child" ]]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi; exit 130' INT TERM HUP

# The same sources and compiler options as upstream's CommonJS build (packages/*/package.json,
# build:cjs), with the target raised; imports resolve against this project's node_modules.
mkdir -p "$WORK/src/packages"
ln -s "$ROOT/node_modules" "$WORK/src/node_modules"
for pkg in connect connect-node; do
  cp -a "$SRC/packages/$pkg" "$WORK/src/packages/$pkg"
  entries=$(node -p "JSON.parse(require('fs').readFileSync('$WORK/src/packages/$pkg/tsconfig.json', 'utf8').replace(/\/\/.*$/gm, '')).files.join(' ')")
  (cd "$WORK/src/packages/$pkg" && "$ROOT/node_modules/.bin/tsc" --target es2022 --lib es2022,dom --module commonjs --moduleResolution node10 \
    --verbatimModuleSyntax false --esModuleInterop false --strict --skipLibCheck --declaration false --types node --rootDir src \
    --outDir "$WORK/es2022/$pkg" $entries)
  cp "$WORK/published/$pkg/package.json" "$WORK/es2022/$pkg/"
  [[ -z "$(grep -rl '__asyncGenerator(this' "$WORK/es2022/$pkg")" ]] || { echo "the ES2022 build of $pkg still has __asyncGenerator" >&2; exit 1; }
done
echo "built @connectrpc/connect and connect-node $installed for ES2022 from $SRC ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"

use() { for pkg in connect connect-node; do rm -rf "$MODS/$pkg/dist/cjs" && cp -a "$WORK/$1/$pkg" "$MODS/$pkg/dist/cjs"; done; }
for ((p = 1; p <= PAIRS; p++)); do
  for build in published es2022; do
    use "$build"
    node dist/bench/lookup.js --phases none --rounds "$ROUNDS" --sat-n "$SAT_N" --out "$OUT/$build-$p" > "$OUT/$build-$p.log" 2>&1 &
    child=$!
    wait "$child" || { tail -20 "$OUT/$build-$p.log" >&2; exit 1; }
    child=''
    echo "$build (pair $p): $(node -p "require('$OUT/$build-$p/results.json').results.map((r) => \`\${r.target} \${r.phase} \${Math.round(r.rps)}/s \${r.cpuUsPerReq} us\`).join('; ')")"
  done
done

node - "$OUT" "$PAIRS" <<'EOF'
const fs = require('fs');
const [out, pairs] = [process.argv[2], Number(process.argv[3])];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const summary = {};
for (const build of ['published', 'es2022']) {
  const rows = [];
  for (let p = 1; p <= pairs; p++) rows.push(...JSON.parse(fs.readFileSync(`${out}/${build}-${p}/results.json`, 'utf8')).results.filter((r) => r.phase.startsWith('saturation')));
  const of = (t, k) => rows.filter((r) => r.target === t).map((r) => r[k]);
  summary[build] = { bareRps: median(of('bare', 'rps')), api1Rps: median(of('api1', 'rps')), bareCpuUsPerLookup: median(of('bare', 'cpuUsPerReq')), api1CpuUsPerLookup: median(of('api1', 'cpuUsPerReq')), runsPerTarget: of('bare', 'rps').length };
}
const r = (a, b) => Number((a / b).toFixed(3));
summary.es2022OverPublished = { bareRps: r(summary.es2022.bareRps, summary.published.bareRps), api1Rps: r(summary.es2022.api1Rps, summary.published.api1Rps), bareCpu: r(summary.es2022.bareCpuUsPerLookup, summary.published.bareCpuUsPerLookup), api1Cpu: r(summary.es2022.api1CpuUsPerLookup, summary.published.api1CpuUsPerLookup) };
fs.writeFileSync(`${out}/summary.json`, JSON.stringify(summary, null, 1) + '\n');
console.log(JSON.stringify(summary, null, 1));
EOF
echo "wrote $OUT/summary.json"
