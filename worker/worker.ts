// Builds the Temporal worker around real dependencies. main.ts runs it as its own process;
// integration tests build it in-process against the same servers.
import { WorkflowIdConflictPolicy, type DataConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions as WorkerCreateOptions } from '@temporalio/worker';
import { tracingSetUp } from '../config/tracing.js';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { claimPollerWorkflowId, type ClaimPollerInput } from '../workflows/claim-poller.js';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  maxConcurrentActivities?: number;
  /** Executions kept in memory (sticky cache); parked claims beyond it cost no worker memory. Default: the SDK's, from the heap limit. */
  maxCachedWorkflows?: number;
  /** A prebuilt workflow bundle (tests reuse one across workers; built with workflowInterceptorModules); default: bundle workflows/. */
  workflowBundle?: { code: string };
  log?: Logger;
  /**
   * Payload codec and failure converter (config/payload-codec.ts dataConverter). A prebuilt
   * `workflowBundle` must have been bundled with the same failureConverterPath.
   */
  dataConverter?: DataConverter;
  /** On shutdown, how long running activities may finish before they are cancelled (ms). */
  shutdownGraceMs?: number;
}

export const workflowsPath = require.resolve('../workflows/index.js');

/** Temporal's OpenTelemetry workflow interceptors, bundled with our workflows (config/tracing.ts). */
export const workflowInterceptorModules = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/**
 * Tracing of workflows and activities (Temporal's OpenTelemetry interceptors): workflow spans
 * leave the sandbox through a sink into this process's span processor; activities continue the
 * workflow's trace. Without tracing set up, workflows run without the interceptors (a prebuilt
 * bundle that has them gets a sink that drops spans), and none of them is loaded.
 */
async function tracingOptions(prebuilt: boolean): Promise<Pick<WorkerCreateOptions, 'interceptors' | 'sinks'>> {
  const t = await tracingSetUp();
  if (!t && !prebuilt) return {};
  const [{ makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor }, { Resource }, { NoopSpanProcessor }] = await Promise.all([
    import('@temporalio/interceptors-opentelemetry'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
  ]);
  const processor = t?.spanProcessor ?? new NoopSpanProcessor();
  return {
    interceptors: {
      ...(prebuilt ? {} : { workflowModules: workflowInterceptorModules }),
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(processor, t?.resource ?? Resource.empty()) },
  };
}

export async function createWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath }),
    activities: createActivities(o.deps),
    ...(o.dataConverter ? { dataConverter: o.dataConverter } : {}),
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities ?? 100,
    ...(o.maxCachedWorkflows ? { maxCachedWorkflows: o.maxCachedWorkflows } : {}),
    ...(o.shutdownGraceMs !== undefined ? { shutdownGraceTime: o.shutdownGraceMs } : {}),
    ...(await tracingOptions(o.workflowBundle !== undefined)),
  });
}

/**
 * The participant's claims poller runs as one workflow (claim-poller/<ispb>); every worker makes
 * sure it exists at start (the first one starts it, the others find it).
 */
export async function ensureClaimPoller(temporal: Client, taskQueue: string, input: ClaimPollerInput, o: { replace?: boolean } = {}): Promise<void> {
  await temporal.workflow.start('claimPollerWorkflow', {
    taskQueue,
    workflowId: claimPollerWorkflowId(input.participant),
    args: [input],
    // replace: a deployment moved to another task queue (or a test stack) takes the poller over.
    workflowIdConflictPolicy: o.replace ? WorkflowIdConflictPolicy.TERMINATE_EXISTING : WorkflowIdConflictPolicy.USE_EXISTING,
  });
}
