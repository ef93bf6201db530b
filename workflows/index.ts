// The worker's workflow bundle entry point. Workflow type names (the function names) are part of
// recorded histories: never rename one.
export { createEntryWorkflow } from './create-entry.js';
export { updateEntryWorkflow } from './update-entry.js';
export { deleteEntryWorkflow } from './delete-entry.js';
export { openClaimWorkflow } from './open-claim.js';
export { claimerClaimWorkflow } from './claimer-claim.js';
export { donorClaimWorkflow } from './donor-claim.js';
export { claimPollerWorkflow } from './claim-poller.js';
