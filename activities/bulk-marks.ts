/**
 * Machines marked in bulk (OMITTED after a failed global pre hook, NOT_IN_TIME_WINDOW when the window ends
 * first) get the same per-machine notice as a machine whose own run ends so: `machine_not_in_window` or
 * `machine_patching_finish`. Done inside the marking activity, so the workflow's history does not change.
 * The notice key is the one a machine run uses (`<type>:<event>:<run>:<machine>:`): never told twice.
 */
import type { MachineStatus } from '../domain/statuses';
import type { EventRecords } from '../store/event-records';
import type { createEventActivities } from './events';
import type { createEventOutputActivities } from './event-outputs';

type EventActs = Pick<ReturnType<typeof createEventActivities>, 'markMachines'>;
type OutputActs = Pick<ReturnType<typeof createEventOutputActivities>, 'notifyEvent'>;

export function createBulkMarkActivities(deps: {
  events: EventActs;
  outputs: OutputActs;
  records: Pick<EventRecords, 'listMachines'>;
}) {
  return {
    /** Bulk status for machines that never started (running ones are left alone), then one notice each. */
    async markMachines(a: Parameters<EventActs['markMachines']>[0]): Promise<void> {
      await deps.events.markMachines(a);
      const wanted = new Set(a.machineIds);
      // Only machines that now carry this status and reason: one that finished on its own keeps its notice.
      const marked = (await deps.records.listMachines(a.eventId)).filter(
        (m) => wanted.has(m.machine_id) && m.status === a.status && m.reason === a.reason,
      );
      for (const m of marked) {
        const notice = { eventId: a.eventId, runNo: a.runNo, machineId: m.machine_id };
        await deps.outputs.notifyEvent({ ...notice, type: noticeOf(a.status) });
        // ERROR here: the machine's run never reported by the window end (+ grace), Patchwave's own fault.
        if (a.status === 'ERROR')
          await deps.outputs.notifyEvent({ ...notice, type: 'error', reason: a.reason });
      }
    },
  };
}

function noticeOf(status: MachineStatus): 'machine_not_in_window' | 'machine_patching_finish' {
  return status === 'NOT_IN_TIME_WINDOW' ? 'machine_not_in_window' : 'machine_patching_finish';
}
