#!/bin/bash
# use.sh published|es2022|hoisted
# Hand-run tool of this session (paths under /tmp and /work/main as used then).
set -e; M=/work/main/node_modules/@connectrpc
for p in connect connect-node; do rm -rf $M/$p/dist/cjs; cp -a /tmp/cbuild/$1/$p $M/$p/dist/cjs; done
echo "using $1: $(grep -c __asyncGenerator $M/connect/dist/cjs/protocol/async-iterable.js) helpers, $(grep -c __hoisted_gen $M/connect/dist/cjs/protocol/async-iterable.js) hoisted"
