import type { Db } from 'mongodb';
import { EventRecords, machineDocId } from '../store/event-records';
import { PlanStore } from '../store/plans';
import type { NotificationEventType } from '../domain/notification-group';
import { notificationKey, parseLeadTimes } from '../domain/notifications';
import type { createNotifyActivities } from './notify';
import type { createReportActivities } from './report';
import { SnapshotCache } from './event-snapshots';

/**
 * What an event produces for people: notifications (§6) and the PDF report. Workflows pass only IDs and
 * the kind of moment; the context (groups, machines, packages, failure reasons) is read from the store
 * here. Delivery never fails the event: notify records channel failures and does not throw.
 */
export function createEventOutputActivities(deps: {
  db: Db;
  notify: ReturnType<typeof createNotifyActivities>['notify'];
  report: ReturnType<typeof createReportActivities>['storeEventReport'];
  leadHours: string;
}) {
  const records = new EventRecords(deps.db);
  const plans = new PlanStore(deps.db);
  const snapshots = new SnapshotCache(records);

  async function groupsOf(planId: string, snapshotGroups?: string[]): Promise<string[]> {
    if (snapshotGroups) return snapshotGroups;
    return (await plans.getById(planId))?.notification_groups ?? [];
  }

  return {
    /** Minutes before the start at which incoming_patching is sent, longest first. */
    async incomingLeadTimes(): Promise<number[]> {
      return parseLeadTimes(deps.leadHours);
    },

    async notifyEvent(a: {
      eventId: string;
      type: NotificationEventType;
      runNo?: number;
      machineId?: string;
      reason?: string;
    }): Promise<void> {
      // When the run's snapshot (taken at run 0, kept for partial runs) names no groups, skip reading the event
      // document, which grows with the fleet: two notices per machine, and one the event waits on before its
      // first machine starts (issue 7 benchmark). Before a run there is no snapshot: the plan decides below.
      const snapGroups = (await snapshots.get(a.eventId))?.plan_snapshot?.notification_groups;
      if (Array.isArray(snapGroups) && snapGroups.length === 0) return;
      const e = await records.getEvent(a.eventId);
      if (!e) return;
      const groups = await groupsOf(e.plan_id, e.plan_snapshot?.notification_groups);
      if (groups.length === 0) return; // nobody to tell: skip the work
      const event = {
        id: e._id,
        plan_id: e.plan_id,
        plan_name: e.plan_name,
        ...(e.pipeline_id ? { pipeline_id: e.pipeline_id } : {}),
        ...(e.step !== undefined ? { step: e.step } : {}),
        start: e.start,
        end: e.end,
        status: e.status,
        run_no: a.runNo ?? e.run_no ?? 0,
        failure_reasons: e.failure_reasons ?? [],
      };
      const toCtx = (m: Awaited<ReturnType<typeof records.listMachines>>[number]) => ({
        machine_id: m.machine_id,
        name: m.name,
        ssm_machine_id: m.ssm_machine_id,
        status: m.status,
        ...(m.reason ? { reason: m.reason } : {}),
        ...(m.installed ? { installed: m.installed } : {}),
        ...(m.started_at ? { started_at: m.started_at } : {}),
        ...(m.ended_at ? { ended_at: m.ended_at } : {}),
        ...(m.command_id ? { command_id: m.command_id } : {}),
      });
      let context: Record<string, unknown>;
      if (a.machineId) {
        const m = await records.machines.findOne({ _id: machineDocId(a.eventId, a.machineId) });
        context = { notification_groups: groups, event, ...(m ? { machine: toCtx(m) } : {}) };
      } else {
        const ms = await records.listMachines(a.eventId);
        context = {
          notification_groups: groups,
          event: { ...event, machine_count: ms.length },
          machines: ms.slice(0, 500).map(toCtx),
        };
      }
      if (a.type === 'incoming_patching' && a.reason) context.lead_time_minutes = Number(a.reason);
      else if (a.reason) context.reason = a.reason;
      await deps.notify({
        key: notificationKey(
          a.type,
          a.eventId,
          String(a.runNo ?? 0),
          a.machineId ?? '',
          a.type === 'incoming_patching' ? (a.reason ?? '') : '',
        ),
        type: a.type,
        customer_id: e.customer_id,
        event_id: e._id,
        plan_id: e.plan_id,
        ...(e.pipeline_id ? { pipeline_id: e.pipeline_id } : {}),
        ...(a.machineId ? { machine_id: a.machineId } : {}),
        context,
      });
    },

    async produceReport(a: { eventId: string }): Promise<void> {
      await deps.report({ event_id: a.eventId });
    },
  };
}
