/**
 * Business-key IDs for events, pipeline runs and workflows. Zod-free on purpose: workflows import this, and
 * every module in the workflow bundle is evaluated in each workflow sandbox (issue 7 profile).
 */

/**
 * Event IDs come from business keys so a retry or a second scheduler pass never creates a duplicate:
 * `<plan_id>-<start as YYYYMMDDTHHmmssZ>`. An ad-hoc event for the same plan and start is the same event.
 */
export function eventIdFor(planId: string, start: Date | string): string {
  return `${planId}-${compactUtc(start)}`;
}

export function compactUtc(t: Date | string): string {
  const d = typeof t === 'string' ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) throw new RangeError(`invalid date: ${String(t)}`);
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A pipeline run is keyed by its pipeline and start, like events. */
export function pipelineRunIdFor(pipelineId: string, start: Date | string): string {
  return `${pipelineId}-${compactUtc(start)}`;
}

/** The start of a pipeline run, read back from its ID (undefined for an ID not made by pipelineRunIdFor). */
export function pipelineRunStart(runId: string): string | undefined {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(runId);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : undefined;
}

export const workflowIds = {
  event: (eventId: string) => `event/${eventId}`,
  machineRun: (eventId: string, machineId: string, runNo: number) =>
    `event/${eventId}/machine/${machineId}/run-${runNo}`,
  machine: (machineId: string) => `machine/${machineId}`,
  planScheduler: (planId: string) => `plan/${planId}`,
  pipelineScheduler: (pipelineId: string) => `pipeline/${pipelineId}`,
  pipelineRun: (runId: string) => `pipeline-run/${runId}`,
  /** One short workflow per notice of a configuration change, keyed like the notice itself. */
  notice: (key: string) => `notice/${key}`,
};
