/**
 * The `error` notice of an event whose run cannot even begin for a reason of Patchwave's own (the plan's
 * dynamic scan failed, or the plan is gone): the event ends DONE_ERROR with no machine and no hook to tell
 * about it. Wraps `beginEventRun` so the workflow's history does not change; keyed
 * `error:<event>:<run>::`, so a retried start never notifies twice. Machines that end ERROR raise theirs in
 * machine-run-writes.ts and bulk-marks.ts (keyed by machine).
 */
import type { createEventActivities } from './events';
import type { createEventOutputActivities } from './event-outputs';

type EventActs = Pick<ReturnType<typeof createEventActivities>, 'beginEventRun'>;
type OutputActs = Pick<ReturnType<typeof createEventOutputActivities>, 'notifyEvent'>;

export function createErrorNoticeActivities(deps: { events: EventActs; outputs: OutputActs }) {
  return {
    async beginEventRun(a: Parameters<EventActs['beginEventRun']>[0]) {
      const r = await deps.events.beginEventRun(a);
      if (r.scanError)
        await deps.outputs.notifyEvent({
          eventId: a.eventId,
          runNo: a.runNo,
          type: 'error',
          reason: r.scanError,
        });
      return r;
    },
  };
}
