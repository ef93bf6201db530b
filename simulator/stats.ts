// In-memory counters for GET /admin/stats. `writes` counts writes that changed state (a replayed
// createEntry or a no-op update is not a write); `requests` counts every request per operation.
import { SIM_OPERATIONS, type SimOperation } from './faults.js';

export type WriteOperation = 'createEntry' | 'updateEntry' | 'deleteEntry';

export interface SimStats {
  writes: Record<WriteOperation, number>;
  requests: Record<SimOperation, number>;
}

export class StatsCounter {
  private s: SimStats = StatsCounter.empty();

  private static empty(): SimStats {
    return {
      writes: { createEntry: 0, updateEntry: 0, deleteEntry: 0 },
      requests: Object.fromEntries(SIM_OPERATIONS.map((op) => [op, 0])) as Record<SimOperation, number>,
    };
  }

  request(op: SimOperation): void {
    this.s.requests[op] += 1;
  }

  write(op: WriteOperation): void {
    this.s.writes[op] += 1;
  }

  reset(): void {
    this.s = StatsCounter.empty();
  }

  snapshot(): SimStats {
    return { writes: { ...this.s.writes }, requests: { ...this.s.requests } };
  }
}
