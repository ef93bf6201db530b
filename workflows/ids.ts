// Workflow ids derive from business identity, so a retried RPC finds the same execution.
// Pure: imported by workflows and by the API alike.

export const entryCreateWorkflowId = (participant: string, requestId: string): string => `entry-create/${participant}/${requestId}`;
export const entryUpdateWorkflowId = (participant: string, requestId: string): string => `entry-update/${participant}/${requestId}`;
export const entryDeleteWorkflowId = (participant: string, requestId: string): string => `entry-delete/${participant}/${requestId}`;
