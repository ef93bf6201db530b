// Keeps @temporalio/client's call context switched off between the API's Temporal calls.
//
// The client carries each call's deadline, abort signal and metadata in an AsyncLocalStorage
// (Connection.callContextStorage). On Node 20 an enabled AsyncLocalStorage turns on promise
// hooks for every promise in the process, and the client enables it on its first call (the
// connect probe) and never turns it off, so every LookupKey — which never touches Temporal —
// paid for it: about 7 % of a lookup's CPU against the bare server (bench/RESULTS.md,
// 2026-12-05; with tracing on, OpenTelemetry's own context storage keeps the hooks on). The governor
// counts the calls that need the storage across awaits (the gateway's bounded waits) and turns
// it off whenever none is in flight; the client's next call turns it on again by itself. Calls
// outside a governed section only read the storage synchronously as they are sent (the
// namespace header), so switching it off between them loses nothing.
import type { Client } from '@temporalio/client';

/** The one method of an AsyncLocalStorage the governor uses. */
export interface CallContextStorage {
  disable(): void;
}

export class CallContextGovernor {
  private inFlight = 0;

  constructor(private readonly storage: CallContextStorage | undefined) {}

  /** Runs `fn` (Temporal client calls); when it was the last in flight, switches the storage off. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await fn();
    } finally {
      if (--this.inFlight === 0) this.storage?.disable();
    }
  }

  /** Switches the storage off unless a governed call is in flight (e.g. once connected). */
  settle(): void {
    if (this.inFlight === 0) this.storage?.disable();
  }
}

const governors = new WeakMap<object, CallContextGovernor>();

/** The governor of a client's connection, shared by everything using that connection. */
export function callContextOf(client: Pick<Client, 'connection'>): CallContextGovernor {
  const connection = client.connection as object & { callContextStorage?: CallContextStorage };
  let g = governors.get(connection);
  if (!g) {
    g = new CallContextGovernor(connection.callContextStorage);
    governors.set(connection, g);
  }
  return g;
}
