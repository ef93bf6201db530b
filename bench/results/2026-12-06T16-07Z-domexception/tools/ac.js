// EXPERIMENT ONLY (not in the project): AbortController.abort() without a reason uses one shared AbortError
const SHARED = new DOMException('This operation was aborted', 'AbortError');
const Base = globalThis.AbortController;
class SharedReasonAbortController extends Base { abort(reason = SHARED) { super.abort(reason); } }
globalThis.AbortController = SharedReasonAbortController;
