// Cost of parked workflows (a tiny claim stand-in on a 7-day timer, bench/parked/workflow.ts):
// worker RSS with them all in the sticky cache and after it is emptied, and the Temporal
// server's and Postgres' growth (the caller samples those: see bench/temporal-compare.sh).
//   node dist/bench/parked/main.js [--n 2000] [--address 127.0.0.1:7233] [--namespace core-dict]
// Prints JSON lines: {"phase": ..., "workerRssMiB": ...}. Parks on its own task queue, and
// signals them all awake at the end (--keep leaves them parked).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { dataConverter, payloadCodecFromEnv } from '../../config/payload-codec.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    address: { type: 'string', default: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' },
    namespace: { type: 'string', default: process.env.TEMPORAL_NAMESPACE ?? 'core-dict' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Math.min(Number(values.n), 100_000);
const rss = () => Math.round(process.memoryUsage().rss / 1048576);
const say = (phase: string, extra: Record<string, unknown> = {}) => console.log(JSON.stringify({ phase, workerRssMiB: rss(), heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576), ...extra }));

async function main(): Promise<void> {
  Runtime.install({ telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
  const taskQueue = `parked-${randomUUID()}`;
  const connection = await Connection.connect({ address: values.address! });
  // Encrypted payloads, as Core DICT's (PAYLOAD_KEYS_FILE).
  const converter = dataConverter(payloadCodecFromEnv());
  const client = new Client({ connection, namespace: values.namespace!, dataConverter: converter });
  const native = await NativeConnection.connect({ address: values.address! });
  const worker = await Worker.create({
    connection: native,
    namespace: values.namespace!,
    taskQueue,
    workflowsPath: require.resolve('./workflow.js'),
    dataConverter: converter,
    maxCachedWorkflows: N + 100,
  });
  const run = worker.run();
  say('worker ready');
  const ids: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, N - i) }, async () => {
        const id = `parked/${taskQueue}/${ids.length}`;
        ids.push(id);
        await client.workflow.start('parkedClaim', { workflowId: id, taskQueue, args: [7] });
      }),
    );
  }
  // Parked = its first workflow task completed (the timer is in the history).
  for (;;) {
    const stats = worker.getStatus();
    if (stats.numCachedWorkflows >= N) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  say('all parked, all in the worker cache', { n: N, seconds: ((performance.now() - t0) / 1000).toFixed(1) });
  console.log('READY'); // the caller samples the server and Postgres here
  await new Promise((r) => setTimeout(r, Number(process.env.PARKED_HOLD_MS ?? 8000)));
  if (!values.keep) {
    for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map((id) => client.workflow.getHandle(id).signal('wake')));
    say('woken');
  }
  worker.shutdown();
  await run;
  await native.close();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
