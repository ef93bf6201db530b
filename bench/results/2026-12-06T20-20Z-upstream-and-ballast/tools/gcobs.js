// preload: each GC pause (epoch ms, kind, ms) to /tmp/gcx/logs/<script>-w<API_WORKERS>-<pid>.log
const { PerformanceObserver, performance, constants } = require('perf_hooks');
const fs = require('fs');
const dir = process.env.GCX_DIR || '/tmp/gcx/logs';
fs.mkdirSync(dir, { recursive: true });
const f = fs.openSync(`${dir}/${require('path').basename(process.argv[1] || 'x')}-w${process.env.API_WORKERS ?? ''}-${process.pid}.log`, 'w');
const kinds = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incr', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
let buf = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) buf.push(`${(performance.timeOrigin + e.startTime).toFixed(0)}\t${kinds[e.detail?.kind] ?? '?'}\t${e.duration.toFixed(2)}`); }).observe({ entryTypes: ['gc'] });
setInterval(() => { if (buf.length) { fs.writeSync(f, buf.join('\n') + '\n'); buf = []; } }, 1000).unref();
