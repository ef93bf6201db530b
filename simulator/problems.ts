// BCB's DICT error types as the simulator answers them, and a throwable carrying one. The table
// is the one catalogue of domain/errors.ts (every type of DICT API 2.6.1, with status and
// title); handlers throw SimProblem and the server renders it as a signed
// application/problem+xml body.
import { BCB_ERRORS, type BcbErrorName } from '../domain/errors.js';

export { BCB_ERRORS, type BcbErrorName };

/** One RFC 7807 violation as BCB renders it (reason text, offending value, property path). */
export interface SimViolation {
  reason: string;
  value?: string;
  property?: string;
}

export class SimProblem extends Error {
  override readonly name = 'SimProblem';
  readonly status: number;
  readonly title: string;
  constructor(
    readonly bcbError: BcbErrorName,
    readonly detail?: string,
    readonly violations: SimViolation[] = [],
    /** Sent as Retry-After (seconds) for 429/503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${bcbError}: ${detail ?? BCB_ERRORS[bcbError].title}`);
    if (BCB_ERRORS[bcbError].origin !== 'DICT') throw new Error(`${bcbError} is Core DICT's own name; DICT never answers it`);
    this.status = BCB_ERRORS[bcbError].status;
    this.title = BCB_ERRORS[bcbError].title;
  }
}

export const problemTypeUri = (name: string): string => `https://dict.pi.rsfn.net.br/api/v2/error/${name}`;
