// Fault injection for tests (POST /admin/faults). Faults are consumed in arrival order: each
// matching request takes one unit of `count` from the first fault whose operation matches.

export const SIM_OPERATIONS = [
  'createEntry',
  'getEntry',
  'updateEntry',
  'deleteEntry',
  'checkKeys',
  'createClaim',
  'getClaim',
  'listClaims',
  'acknowledgeClaim',
  'confirmClaim',
  'cancelClaim',
  'completeClaim',
  'listPolicies',
  'getPolicy',
] as const;
export type SimOperation = (typeof SIM_OPERATIONS)[number];

export const FAULT_KINDS = ['latency', '5xx', '429', 'lost-response'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  operation: SimOperation | '*';
  kind: FaultKind;
  /** How many requests this fault affects. */
  count: number;
  latencyMs?: number;
  /** lost-response only: destroy the socket instead of answering 503. */
  dropConnection?: boolean;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

export class FaultRegistry {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.count });
  }

  clear(): void {
    this.faults = [];
  }

  /** Takes one unit of the first fault matching `op`, if any. */
  take(op: SimOperation): FaultSpec | undefined {
    const i = this.faults.findIndex((f) => f.remaining > 0 && (f.operation === '*' || f.operation === op));
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.remaining -= 1;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f;
  }

  list(): FaultSpec[] {
    return this.faults.map(({ remaining, ...spec }) => ({ ...spec, count: remaining }));
  }
}
