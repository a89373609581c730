import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

/** The schedule's ID: one per task queue, so workers of other deployments on the namespace keep their own. */
export const pingScheduleId = (taskQueue: string) => `machine-pings/${taskQueue}`;

/**
 * A durable Temporal Schedule that refreshes every machine's ping_status (pingMachinesWorkflow) every
 * `everySeconds`; 0 removes it. Idempotent: a worker start creates it, or updates its interval and task queue.
 * Overlaps are skipped (a sweep still running when the next is due is enough), and missed runs are not caught
 * up after an outage beyond one interval.
 */
export async function ensurePingSchedule(
  client: Client,
  opts: { taskQueue: string; everySeconds: number },
): Promise<void> {
  const scheduleId = pingScheduleId(opts.taskQueue);
  const handle = client.schedule.getHandle(scheduleId);
  if (opts.everySeconds <= 0) {
    await handle.delete().catch(() => undefined); // none there: nothing to remove
    return;
  }
  const spec = { intervals: [{ every: `${opts.everySeconds}s` as const }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'pingMachinesWorkflow',
    workflowId: scheduleId,
    taskQueue: opts.taskQueue,
    args: [{}],
    workflowExecutionTimeout: `${Math.max(opts.everySeconds * 2, 600)}s` as const,
  };
  const policies = {
    overlap: ScheduleOverlapPolicy.SKIP,
    catchupWindow: `${Math.max(opts.everySeconds, 60)}s` as const,
  };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await handle.update((prev) => ({ ...prev, spec, action, policies }));
  }
}
