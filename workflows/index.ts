// The worker's workflow bundle entry point.
export { createEntryWorkflow, updateEntryWorkflow, deleteEntryWorkflow } from './entries.js';
export { openClaimWorkflow } from './open-claim.js';
export { claimerClaimWorkflow } from './claimer-claim.js';
export { donorClaimWorkflow } from './donor-claim.js';
export { claimPollerWorkflow } from './claim-poller.js';
