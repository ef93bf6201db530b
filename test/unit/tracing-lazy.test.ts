// config/tracing.ts with tracing off loads none of OpenTelemetry's SDK, its OTLP exporter or
// Temporal's OpenTelemetry interceptors (in an API process 277 modules and 3.4 MB of heap),
// and with an endpoint it loads them and hands the Temporal client its interceptor. Each case
// runs in a child process, so the module cache it inspects is that process's alone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const DIST = join(__dirname, '..', '..');
const MARK = 'tracing-lazy-result:';
// What only tracing needs; @opentelemetry/api (the no-op API the bridge and the API's metrics call) stays.
const SDK = /node_modules\/(@opentelemetry\/(?!api\/)[^/]+|@temporalio\/interceptors-opentelemetry)\//;

/** Everything an entry point's main module requires (its packages and our modules), without running it. */
function importsOf(main: string): string[] {
  const src = readFileSync(join(DIST, main), 'utf8');
  return [...src.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => (m[1]!.startsWith('.') ? join(DIST, main, '..', m[1]!) : m[1]!));
}

/**
 * Runs `body` (an async function's body) in a child node, after requiring `modules`: what it
 * returned and which tracing-only packages its module cache holds then. Printed after a marker, so
 * a module that writes to stdout as it loads cannot garble it; NODE_OPTIONS cleared, so a preload
 * from the environment (an auto-instrumentation) does not load OpenTelemetry by itself.
 */
function child(modules: string[], body: string): { sdk: string[]; out: unknown } {
  const script = `
    const SDK = ${SDK};
    const MARK = ${JSON.stringify(MARK)};
    for (const m of ${JSON.stringify(modules)}) require(m);
    const t = require(${JSON.stringify(join(DIST, 'config', 'tracing.js'))});
    (async () => {
      const out = await (async () => { ${body} })();
      const sdk = [...new Set(Object.keys(require.cache).map((k) => SDK.exec(k)?.[1]).filter(Boolean))].sort();
      process.stdout.write('\\n' + MARK + JSON.stringify({ sdk, out }));
      process.exit(0);
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const stdout = execFileSync(process.execPath, ['-e', script], { cwd: DIST, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(stdout.slice(stdout.lastIndexOf(MARK) + MARK.length));
}

test('tracing off: the API and the worker, with all their modules loaded, load no OpenTelemetry SDK, exporter or Temporal interceptor', () => {
  const modules = [...importsOf('api/main.js'), ...importsOf('worker/main.js')];
  assert.ok(modules.some((m) => m.endsWith('server.js')) && modules.some((m) => m.endsWith('worker.js')), `main modules' imports: ${modules.join(', ')}`);
  const r = child(modules, `
    const set = await t.setupTracing({ serviceName: 'off' });
    const interceptors = await t.workflowClientInterceptors();
    return { set: set === undefined ? 'none' : 'some', interceptors: interceptors.length, current: t.tracing() === undefined };`);
  assert.deepEqual(r.out, { set: 'none', interceptors: 0, current: true });
  assert.deepEqual(r.sdk, []);
});

test('tracing on: setupTracing loads the SDK and the OTLP exporter once, and the client gets the OpenTelemetry interceptor', () => {
  // Everything asked while the set-up is still importing waits for it.
  const r = child([], `
    const [a, b, meanwhile, interceptors] = await Promise.all([
      t.setupTracing({ serviceName: 'on', endpoint: 'http://127.0.0.1:9' }),
      t.setupTracing({ serviceName: 'on', endpoint: 'http://127.0.0.1:9' }),
      t.setupTracing({ serviceName: 'no endpoint' }),
      t.workflowClientInterceptors(),
    ]);
    const again = await t.setupTracing({ serviceName: 'off' });
    const out = { same: a === b && a === meanwhile && a === t.tracing() && again === a, interceptors: interceptors.map((i) => i.constructor.name), service: a.resource.attributes['service.name'] };
    await a.shutdown();
    return out;`);
  assert.deepEqual(r.out, { same: true, interceptors: ['OpenTelemetryWorkflowClientInterceptor'], service: 'on' });
  for (const p of ['@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-trace-node', '@opentelemetry/exporter-trace-otlp-http', '@temporalio/interceptors-opentelemetry']) assert.ok(r.sdk.includes(p), `${p} not loaded: ${r.sdk.join(', ')}`);
});
