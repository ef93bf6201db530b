#!/bin/bash
# Hand-run tool of this session: puts one Connect build into the project's node_modules.
#   BUILDS=DIR use.sh published|es2022|hoisted
# DIR/<build>/{connect,connect-node} hold dist/cjs trees (DIR/published: a copy of the installed
# ones, taken first; `npm ci` also puts them back).
set -e
ROOT="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
M="$ROOT/node_modules/@connectrpc"
: "${BUILDS:?set BUILDS to the directory holding the builds}"
for p in connect connect-node; do rm -rf "$M/$p/dist/cjs"; cp -a "$BUILDS/$1/$p" "$M/$p/dist/cjs"; done
echo "using $1: $(grep -c __asyncGenerator "$M/connect/dist/cjs/protocol/async-iterable.js") helpers, $(grep -c __hoisted_gen "$M/connect/dist/cjs/protocol/async-iterable.js") hoisted"
