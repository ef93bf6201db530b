// The worker's workflow bundle entry point.
export { createEntryWorkflow, updateEntryWorkflow, deleteEntryWorkflow } from './entries.js';
