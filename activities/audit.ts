import type { AuditStore } from '../store/audit';

/**
 * Audit records written by workflows: changes no API key made (a pipeline's `success` policy deleting a
 * step) and operator signals sent from the Temporal UI or CLI (applied or refused, with the reason).
 */
export function createAuditActivities({ audit }: { audit: AuditStore }) {
  return {
    async recordWorkflowAudit(a: {
      /** Identifies the occurrence: a retried activity records it once. */
      key: string;
      customerId: string;
      actor: string;
      action: string;
      resource: string;
      resourceId: string;
      before?: unknown;
      after?: unknown;
      details?: unknown;
    }): Promise<void> {
      await audit.recordOnce(a.key, {
        customer_id: a.customerId,
        actor: a.actor,
        action: a.action,
        resource: a.resource,
        resource_id: a.resourceId,
        ...(a.before !== undefined ? { before: a.before } : {}),
        ...(a.after !== undefined ? { after: a.after } : {}),
        ...(a.details !== undefined ? { details: a.details } : {}),
      });
    },
  };
}
