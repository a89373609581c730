import type { Stores } from '../store/stores';
import type { NotificationEventType } from '../domain/notification-group';
import { notificationKey, parseLeadTimes } from '../domain/notifications';
import type { createNotifyActivities } from './notify';
import type { createReportActivities } from './report';
import { SnapshotCache } from './event-snapshots';

/** The hook a hook notice is about (source as configured: the message builder redacts it). */
export interface HookNoticeContext {
  phase: 'pre' | 'post' | 'pre_host' | 'post_host';
  name: string;
  type: string;
  source: string;
  method?: string;
  code?: number;
  message?: string;
}

/**
 * What an event produces for people: notifications (docs/behaviour.md#notifications) and the PDF report. Workflows pass only IDs and
 * the kind of moment; the context (groups, machines, packages, failure reasons) is read from the store
 * here. Delivery never fails the event: notify records channel failures and does not throw.
 */
export function createEventOutputActivities(deps: {
  stores: Pick<Stores, 'events' | 'plans' | 'pipelines'>;
  notify: ReturnType<typeof createNotifyActivities>['notify'];
  report: ReturnType<typeof createReportActivities>['storeEventReport'];
  leadHours: string;
}) {
  const { events: records, plans, pipelines } = deps.stores;
  const snapshots = new SnapshotCache(records);

  /**
   * The plan's groups (as snapshotted by the run, else the plan's now) and, for an event of a pipeline,
   * the pipeline's groups (as they are now), without duplicates.
   */
  async function groupsOf(e: {
    plan_id: string;
    pipeline_id?: string;
    plan_snapshot?: { notification_groups?: string[] };
  }): Promise<string[]> {
    const planGroups =
      e.plan_snapshot?.notification_groups ?? (await plans.getById(e.plan_id))?.notification_groups ?? [];
    const pipelineGroups = e.pipeline_id ? await pipelines.notificationGroupsOf(e.pipeline_id) : [];
    return [...new Set([...planGroups, ...pipelineGroups])];
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
      /** incoming_patching: how many minutes before the start this notice is. */
      leadMinutes?: number;
      /** Free text for the notice's context. Before `leadMinutes` existed, incoming_patching carried its lead
       *  time here as a string of minutes; activities scheduled then may still arrive and are read the same. */
      reason?: string;
      /** hook_* / host_hook_*: the hook, and its result for *_finish. Part of the key: one notice per hook. */
      hook?: HookNoticeContext;
    }): Promise<void> {
      // When the run's snapshot (taken at run 0, kept for partial runs) names no groups, skip reading the event
      // document, which grows with the fleet: two notices per machine, and one the event waits on before its
      // first machine starts (issue 7 benchmark). Before a run there is no snapshot: the plan decides below.
      // An event of a pipeline also notifies the pipeline's groups, which the snapshot does not hold.
      const snap = await snapshots.get(a.eventId);
      const snapGroups = snap?.plan_snapshot?.notification_groups;
      if (Array.isArray(snapGroups) && snapGroups.length === 0 && !snap?.pipeline_id) return;
      const e = await records.getEvent(a.eventId);
      if (!e) return;
      const groups = await groupsOf(e);
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
        const m = await records.getMachine(a.eventId, a.machineId);
        context = { notification_groups: groups, event, ...(m ? { machine: toCtx(m) } : {}) };
      } else {
        const ms = await records.listMachines(a.eventId);
        context = {
          notification_groups: groups,
          event: { ...event, machine_count: ms.length },
          machines: ms.slice(0, 500).map(toCtx),
        };
      }
      const leadMinutes =
        a.type !== 'incoming_patching'
          ? undefined
          : (a.leadMinutes ?? (a.reason ? Number(a.reason) : undefined));
      if (leadMinutes !== undefined) context.lead_time_minutes = leadMinutes;
      else if (a.reason) context.reason = a.reason;
      const hook = a.hook;
      if (hook) {
        const { phase, ...h } = hook;
        void phase;
        context.hook = h;
      }
      await deps.notify({
        key: hook
          ? notificationKey(a.type, a.eventId, String(a.runNo ?? 0), a.machineId ?? '', hook.phase, hook.name)
          : notificationKey(
              a.type,
              a.eventId,
              String(a.runNo ?? 0),
              a.machineId ?? '',
              leadMinutes !== undefined ? String(leadMinutes) : '',
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
