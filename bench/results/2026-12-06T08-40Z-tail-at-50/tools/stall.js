// preload: log GC pauses (epoch ms, kind, duration) and event-loop gaps > 15 ms to /tmp/stall/<pid>.log
const { PerformanceObserver, performance, constants } = require('perf_hooks');
const fs = require('fs');
fs.mkdirSync('/tmp/stall', { recursive: true });
const f = fs.openSync(`/tmp/stall/${require("path").basename(process.argv[1] || "x")}-${process.pid}.log`, 'w');
const buf = [];
const kinds = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incr', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
new PerformanceObserver((list) => { for (const e of list.getEntries()) buf.push(`gc\t${(performance.timeOrigin + e.startTime).toFixed(1)}\t${kinds[e.detail?.kind ?? e.kind] ?? e.kind}\t${e.duration.toFixed(2)}`); }).observe({ entryTypes: ['gc'] });
let last = Date.now();
setInterval(() => { const now = Date.now(); if (now - last > 15) buf.push(`gap\t${last}\t${now - last}`); last = now; }, 5).unref();
setInterval(() => { if (buf.length) fs.writeSync(f, buf.splice(0).join('\n') + '\n'); }, 500).unref();
