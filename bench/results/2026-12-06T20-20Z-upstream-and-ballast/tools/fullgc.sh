#!/bin/bash
# A forced full collection's time (median of 9, after 3) with each package loaded alone, with all
# of the API's libraries, and with everything dist/api/main.js requires. Run from the project root.
TOOLS="$(cd "$(dirname "$0")" && pwd)"
for m in "" @connectrpc/connect-node @temporalio/client @temporalio/proto @grpc/grpc-js @temporalio/workflow zod xml-crypto ioredis postgres pino prom-client jose hdr-histogram-js rate-limiter-flexible cockatiel @opentelemetry/api API-SET; do
  node --expose-gc -e "
    const m = '$m';
    if (m === 'API-SET') require('$TOOLS/api-set.js'); else if (m) require(m);
    for (let i = 0; i < 3; i++) gc();
    const ts = [];
    for (let i = 0; i < 9; i++) { const t = performance.now(); gc(); ts.push(performance.now() - t); }
    ts.sort((a, b) => a - b);
    console.log((m || '(node alone)').padEnd(26), 'modules', String(Object.keys(require.cache).length).padStart(4), ' heap', (process.memoryUsage().heapUsed / 1048576).toFixed(1).padStart(5), 'MB  full GC median', ts[4].toFixed(2), 'ms');
  " 2>&1 | tail -1
done
