// In-memory counters for GET /admin/stats. `writes` counts writes that changed state (a replayed
// createEntry or a no-op update is not a write, nor is an idempotent repeat of a claim operation);
// `requests` counts every request per operation.
import { SIM_OPERATIONS, type SimOperation } from './faults.js';

export const WRITE_OPERATIONS = ['createEntry', 'updateEntry', 'deleteEntry', 'createClaim', 'acknowledgeClaim', 'confirmClaim', 'cancelClaim', 'completeClaim'] as const;
export type WriteOperation = (typeof WRITE_OPERATIONS)[number];

export interface SimStats {
  writes: Record<WriteOperation, number>;
  requests: Record<SimOperation, number>;
}

export class StatsCounter {
  private s: SimStats = StatsCounter.empty();

  private static empty(): SimStats {
    return {
      writes: Object.fromEntries(WRITE_OPERATIONS.map((op) => [op, 0])) as Record<WriteOperation, number>,
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
