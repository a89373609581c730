import type { Me } from './types';

/** Links into the Temporal UI for the workflows behind an event (README "Temporal UI"). */
export function workflowUrl(me: Me | null, workflowId: string): string | undefined {
  if (!me?.temporal_ui) return undefined;
  const { url, namespace } = me.temporal_ui;
  return `${url}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export const workflowIds = {
  event: (eventId: string) => `event/${eventId}`,
  machineRun: (eventId: string, machineId: string, runNo: number) =>
    `event/${eventId}/machine/${machineId}/run-${runNo}`,
  commandOwner: (machineId: string) => `machine/${machineId}`,
};
