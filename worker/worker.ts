// Builds the Temporal worker around real dependencies. main.ts runs it as its own process;
// integration tests build it in-process against the same servers.
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities/index.js';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  maxConcurrentActivities?: number;
  /** A prebuilt workflow bundle (tests reuse one across workers); default: bundle workflows/. */
  workflowBundle?: { code: string };
  log?: Logger;
}

export const workflowsPath = require.resolve('../workflows/index.js');

export async function createWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath }),
    activities: createActivities(o.deps),
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities ?? 100,
  });
}
