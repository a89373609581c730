/**
 * The store writes around one machine's run, folded so the machine-run workflow makes one call where it used
 * to make two: the record and its notice. Each is idempotent (upsert by business key, notification claims),
 * so the workflow can run them as local activities: no task round trip through the server per write, which
 * was most of the orchestration cost per machine (issue 7 profile).
 */
import type { NotificationEventType } from '../domain/notifications';
import type { createEventActivities } from './events';
import type { createEventOutputActivities } from './event-outputs';

type EventActs = Pick<ReturnType<typeof createEventActivities>, 'markMachineStarted' | 'recordMachineResult'>;
type OutputActs = Pick<ReturnType<typeof createEventOutputActivities>, 'notifyEvent'>;

export type MachineResultRecord = Parameters<EventActs['recordMachineResult']>[0];

export function createMachineRunWriteActivities(deps: { events: EventActs; outputs: OutputActs }) {
  return {
    /** The machine starts: IN_PROGRESS with its start time, then the `machine_patching_start` notice. */
    async beginMachineRun(a: { eventId: string; machineId: string; runNo: number }): Promise<void> {
      await deps.events.markMachineStarted(a);
      await deps.outputs.notifyEvent({ ...a, type: 'machine_patching_start' });
    },

    /**
     * The machine's result, then (when given) the notice that goes with it; a machine that ends ERROR
     * (Patchwave's own fault, docs/notifications.md) also raises an `error` notice.
     */
    async finishMachineRun(a: {
      result: MachineResultRecord;
      notice?: NotificationEventType;
    }): Promise<void> {
      await deps.events.recordMachineResult(a.result);
      if (a.notice)
        await deps.outputs.notifyEvent({
          eventId: a.result.eventId,
          runNo: a.result.runNo,
          machineId: a.result.machineId,
          type: a.notice,
        });
      if (a.result.status === 'ERROR')
        await deps.outputs.notifyEvent({
          eventId: a.result.eventId,
          runNo: a.result.runNo,
          machineId: a.result.machineId,
          type: 'error',
          ...(a.result.reason ? { reason: a.result.reason } : {}),
        });
    },
  };
}
