// AbortController.abort() without a reason, made cheap for the API process (api/main.ts installs
// it at start; the worker and the tools keep Node's own).
//
// Node 20's AbortController.prototype.abort is `abort(reason = new DOMException('This operation
// was aborted', 'AbortError'))`: every abort without a reason builds a DOMException, which
// captures a stack trace and enters a WeakMap of Node's. Every server call ends with three such
// aborts, on success too: Connect-ES aborts the handler context twice
// (protocol-grpc/handler-factory.js: the response iterator's return() and its catch-finally) and
// connect-node the request's signal when the stream closes (node-universal-handler.js). At
// saturation that was about 8 % of a lookup's CPU in the API and 10 % in a bare Connect server;
// installed, api1 served about 10 % more lookups a second than without, in paired runs
// (bench/RESULTS.md, "LookupKey, 2026-12-06 16:07").
//
// Installed, an abort without a reason (or with `undefined`) builds the same DOMException, fresh
// each time (name AbortError, code 20, the same message), with Error.stackTraceLimit at 0 while it
// is made: its `stack` is the error's first line only; and an abort of a signal already aborted,
// which does nothing in Node, builds nothing either. An abort with a reason is unchanged, and so
// is everything else about AbortController and AbortSignal. What is lost: where a reasonless
// abort happened, in the stack of an AbortError that reaches a log. API_ABORT_ERROR_STACKS=true
// keeps Node's behaviour.
const MESSAGE = 'This operation was aborted';

/** Node's AbortError for an abort without a reason, without capturing a stack. */
function abortErrorWithoutStack(): DOMException {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DOMException(MESSAGE, 'AbortError');
  } finally {
    Error.stackTraceLimit = limit;
  }
}

let original: AbortController['abort'] | undefined;

/** Makes AbortController.prototype.abort() build its default reason without a stack. Idempotent. */
export function installStacklessAbortErrors(): void {
  if (original) return;
  const descriptor = Object.getOwnPropertyDescriptor(AbortController.prototype, 'abort');
  if (typeof descriptor?.value !== 'function') throw new Error('AbortController.prototype.abort is not a method here');
  const nodeAbort = (original = descriptor.value as AbortController['abort']);
  Object.defineProperty(AbortController.prototype, 'abort', {
    ...descriptor,
    value: function abort(this: AbortController, reason?: unknown) {
      // Aborting an aborted signal does nothing (Node's abortSignal returns at once): build nothing for it.
      if (this.signal.aborted) return;
      nodeAbort.call(this, reason === undefined ? abortErrorWithoutStack() : reason);
    },
  });
}

/** Puts Node's own abort back (tests). */
export function uninstallStacklessAbortErrors(): void {
  if (!original) return;
  const descriptor = Object.getOwnPropertyDescriptor(AbortController.prototype, 'abort')!;
  Object.defineProperty(AbortController.prototype, 'abort', { ...descriptor, value: original });
  original = undefined;
}
