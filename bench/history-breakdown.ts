// Where a CreateKey to-ACTIVE's time goes, from its workflow history (bench/create-key.ts).
// Pure: takes the client's send/answer times and the history's event types and times only —
// payloads are encrypted by the payload codec and not needed. Consecutive milestones become
// segments that add up exactly to the client-observed latency:
//   accept        client sent → WorkflowExecutionStarted (HTTP, auth, Postgres accept, Temporal start)
//   WFT<k> queue  workflow task k scheduled → started (waiting for a worker poller)
//   WFT<k> run    started → completed (workflow code, incl. the local activities whose markers follow)
//   activity <type> queue / run   scheduled → started → completed (a regular activity, e.g. DICT createEntry)
//   answer        WorkflowExecutionCompleted → client received (result long poll, API's reply)
// and any other pair of neighbouring events as "<A> → <B>" (usually 0 ms: same server batch).

/** One history event: its type name (either `WorkflowTaskScheduled` or `EVENT_TYPE_WORKFLOW_TASK_SCHEDULED`), time in ms. */
export interface HistoryEventLite {
  type: string;
  timeMs: number;
  /** For ActivityTaskScheduled: the activity type's name. */
  activityType?: string;
  /** For ActivityTaskStarted/Completed/Failed/TimedOut: the scheduled event's id; for ActivityTaskScheduled: its own id. */
  scheduledEventId?: number;
  eventId?: number;
}

export interface Segment {
  name: string;
  ms: number;
}

export interface Breakdown {
  segments: Segment[];
  /** Local-activity markers (MarkerRecorded) in the history. */
  localActivities: number;
  totalMs: number;
}

/** `EVENT_TYPE_WORKFLOW_TASK_SCHEDULED` → `WorkflowTaskScheduled`; already-short names unchanged. */
export function shortEventType(type: string): string {
  if (!type.startsWith('EVENT_TYPE_')) return type;
  return type
    .slice('EVENT_TYPE_'.length)
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

interface Milestone {
  label: string;
  timeMs: number;
  /** Key pairing a "started"/"completed" with its "scheduled" (WFT<k> or activity id). */
  unit?: string;
  phase?: 'scheduled' | 'started' | 'closed';
  unitName?: string;
}

/**
 * Segments of one workflow, from the client's send time to the client's answer time — or, when the
 * client was not answered with the result (wait_timeout ran out first), to the history's last event.
 */
export function breakdown(sentMs: number, answeredMs: number | undefined, events: HistoryEventLite[]): Breakdown {
  const milestones: Milestone[] = [{ label: 'client sent', timeMs: sentMs }];
  let wft = 0;
  let localActivities = 0;
  const markersAfterWft = new Map<number, number>();
  const activityName = new Map<number, string>();
  let activitySeq = 0;
  const activityOrdinal = new Map<number, number>();
  for (const e of events) {
    const t = shortEventType(e.type);
    switch (t) {
      case 'WorkflowTaskScheduled':
        wft++;
        milestones.push({ label: `WFT${wft} scheduled`, timeMs: e.timeMs, unit: `WFT${wft}`, phase: 'scheduled', unitName: `WFT${wft}` });
        break;
      case 'WorkflowTaskStarted':
        milestones.push({ label: `WFT${wft} started`, timeMs: e.timeMs, unit: `WFT${wft}`, phase: 'started', unitName: `WFT${wft}` });
        break;
      case 'WorkflowTaskCompleted':
      case 'WorkflowTaskFailed':
      case 'WorkflowTaskTimedOut':
        milestones.push({ label: `WFT${wft} ${t.slice('WorkflowTask'.length).toLowerCase()}`, timeMs: e.timeMs, unit: `WFT${wft}`, phase: t === 'WorkflowTaskCompleted' ? 'closed' : undefined, unitName: `WFT${wft}` });
        break;
      case 'MarkerRecorded':
        // Recorded with the completion of the workflow task that ran the local activity.
        localActivities++;
        markersAfterWft.set(wft, (markersAfterWft.get(wft) ?? 0) + 1);
        break;
      case 'ActivityTaskScheduled': {
        const id = e.eventId ?? -1;
        activityName.set(id, e.activityType ?? 'activity');
        activityOrdinal.set(id, ++activitySeq);
        milestones.push({ label: `${e.activityType ?? 'activity'} scheduled`, timeMs: e.timeMs, unit: `A${id}`, phase: 'scheduled', unitName: `activity ${e.activityType ?? '?'}` });
        break;
      }
      case 'ActivityTaskStarted':
      case 'ActivityTaskCompleted':
      case 'ActivityTaskFailed':
      case 'ActivityTaskTimedOut': {
        const id = e.scheduledEventId ?? -1;
        const name = activityName.get(id) ?? 'activity';
        const phase = t === 'ActivityTaskStarted' ? 'started' : t === 'ActivityTaskCompleted' ? 'closed' : undefined;
        milestones.push({ label: `${name} ${t.slice('ActivityTask'.length).toLowerCase()}`, timeMs: e.timeMs, unit: `A${id}`, phase, unitName: `activity ${name}` });
        break;
      }
      case 'WorkflowExecutionStarted':
      case 'WorkflowExecutionCompleted':
      case 'WorkflowExecutionFailed':
      case 'WorkflowExecutionTimedOut':
      case 'WorkflowExecutionTerminated':
      case 'WorkflowExecutionCanceled':
        milestones.push({ label: t, timeMs: e.timeMs });
        break;
      default:
        milestones.push({ label: t, timeMs: e.timeMs });
    }
  }
  if (answeredMs !== undefined) milestones.push({ label: 'client answered', timeMs: answeredMs });

  const segments: Segment[] = [];
  for (let i = 1; i < milestones.length; i++) {
    const a = milestones[i - 1]!;
    const b = milestones[i]!;
    let name: string;
    if (a.label === 'client sent' && b.label === 'WorkflowExecutionStarted') name = 'accept: client sent → WorkflowExecutionStarted';
    else if (b.label === 'client answered' && a.label === 'WorkflowExecutionCompleted') name = 'answer: WorkflowExecutionCompleted → client answered';
    else if (a.unit && a.unit === b.unit && a.phase === 'scheduled' && b.phase === 'started') name = `${a.unitName} queue (scheduled → started)`;
    else if (a.unit && a.unit === b.unit && a.phase === 'started' && b.phase === 'closed') {
      const markers = a.unit.startsWith('WFT') ? (markersAfterWft.get(Number(a.unit.slice(3))) ?? 0) : 0;
      name = `${a.unitName} run (started → completed${markers ? `, ${markers} local activit${markers === 1 ? 'y' : 'ies'}` : ''})`;
    } else name = `${a.label} → ${b.label}`;
    segments.push({ name, ms: b.timeMs - a.timeMs });
  }
  return { segments, localActivities, totalMs: milestones[milestones.length - 1]!.timeMs - sentMs };
}

export interface SegmentStats {
  name: string;
  /** Workflows that had this segment. */
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** Mean, over the workflows that had it. */
  meanMs: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Per segment name, in first-seen order: p50/p99/max over the workflows that had it. */
export function summarize(breakdowns: Breakdown[]): SegmentStats[] {
  const by = new Map<string, number[]>();
  for (const b of breakdowns) for (const s of b.segments) by.set(s.name, [...(by.get(s.name) ?? []), s.ms]);
  return [...by].map(([name, values]) => {
    const sorted = [...values].sort((x, y) => x - y);
    return { name, n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]!, meanMs: sorted.reduce((s, v) => s + v, 0) / sorted.length };
  });
}
