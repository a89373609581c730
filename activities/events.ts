import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { DescribeInstanceInformationCommand, type InstanceInformation } from '@aws-sdk/client-ssm';
import {
  EventRecords,
  machineDocId,
  type EventDoc,
  type EventMachineDoc,
  type PlanSnapshot,
  type SnapshotHook,
  type SnapshotMachine,
} from '../store/event-records';
import { MachineStore } from '../store/machines';
import { PlanStore } from '../store/plans';
import { COLLECTIONS } from '../store/db';
import { newId } from '../common/ids';
import type { AwsClients } from './aws';
import { isTransientAwsError } from './durable';
import type { EventRecord } from '../domain/event';
import { hookName, isHookSuccess, type HookDef, type HookPhase } from '../domain/hooks';
import { computeEventStatus, failureReasons } from '../domain/event-status';
import type { EventStatus, MachineStatus, ManualMachineStatus } from '../domain/statuses';
import type { Plan } from '../domain/plan';
import type { Machine } from '../domain/machine';
import type { HookBrief, PartialRunRequest } from '../workflows/defs';
import type { RunMachine } from '../workflows/event';

export interface EventActivityDeps {
  db: Db;
  aws: AwsClients;
}

const nowIso = () => new Date().toISOString();

/** Shows a hook's source to people without its secret (an Azure function `code`). */
export function redactSource(h: Pick<SnapshotHook, 'type' | 'source'>): string {
  if (h.type !== 'azure') return h.source;
  try {
    const u = new URL(h.source);
    if (u.searchParams.has('code')) u.searchParams.set('code', '***');
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

function snapHooks(phase: HookPhase, hooks: HookDef[] | undefined): SnapshotHook[] {
  return (hooks ?? []).map((h, i) => ({
    name: hookName(phase, i),
    type: h.type,
    source: h.source,
    ...(h.type === 'azure' ? { method: h.method ?? 'GET' } : {}),
  }));
}

const brief = (hooks: SnapshotHook[]): HookBrief[] => hooks.map((h) => ({ name: h.name, type: h.type }));

export function createEventActivities({ db, aws }: EventActivityDeps) {
  const records = new EventRecords(db);
  const machinesStore = new MachineStore(db);
  const plans = new PlanStore(db);
  const machinesColl = db.collection<Record<string, unknown> & { _id: string }>(COLLECTIONS.machines);

  async function mustEvent(eventId: string): Promise<EventDoc> {
    const e = await records.getEvent(eventId);
    if (!e) throw ApplicationFailure.nonRetryable(`event ${eventId} has no record`, 'NotFound');
    return e;
  }

  function toRecord(e: EventDoc): EventRecord {
    const { _id, plan_snapshot, excluded_machine_ids, partial, ...rest } = e;
    void plan_snapshot;
    void excluded_machine_ids;
    void partial;
    return { ...rest, id: _id };
  }

  /** Resolves a dynamic plan's selectors through SSM (tag filters, per region), registering new machines. */
  async function resolveDynamic(plan: Plan): Promise<{ machines: SnapshotMachine[]; error?: string }> {
    const found = new Map<string, SnapshotMachine>();
    for (const sel of plan.dynamic ?? []) {
      for (const region of sel.regions) {
        let infos: InstanceInformation[] = [];
        try {
          const ssm = await aws.ssm(region, sel.iam_role);
          let token: string | undefined;
          do {
            const r = await ssm.send(
              new DescribeInstanceInformationCommand({
                Filters: Object.entries(sel.tags).map(([k, v]) => ({ Key: `tag:${k}`, Values: v })),
                MaxResults: 50,
                NextToken: token,
              }),
            );
            infos = infos.concat(r.InstanceInformationList ?? []);
            token = r.NextToken;
          } while (token);
        } catch (err) {
          // Throttling, 5xx and dropped connections pass: the activity retries; anything else fails the scan.
          if (isTransientAwsError(err)) throw err;
          return {
            machines: [],
            error: `dynamic scan of ${region} failed: ${(err as Error).name}: ${(err as Error).message}`,
          };
        }
        for (const info of infos) {
          if (!info.InstanceId) continue;
          let m = await machinesStore.findBySsmId(plan.customer_id, info.InstanceId);
          if (!m) {
            const id = newId('mch');
            const now = nowIso();
            const doc = {
              _id: id,
              customer_id: plan.customer_id,
              name: info.ComputerName || info.InstanceId,
              provider: info.InstanceId.startsWith('mi-') ? 'ON_PREMISE' : 'AWS',
              metadata: [],
              access: {
                ssm_machine_id: info.InstanceId,
                region,
                ...(sel.iam_role ? { iam_role: sel.iam_role } : {}),
              },
              reboot_policy: 'IF_NEEDED',
              registered_by: `dynamic plan ${plan.id}`,
              created_at: now,
              updated_at: now,
            };
            try {
              await machinesColl.insertOne(doc);
            } catch {
              /* registered concurrently: read it back below */
            }
            m = await machinesStore.findBySsmId(plan.customer_id, info.InstanceId);
          }
          if (!m || found.has(m.id)) continue;
          found.set(m.id, {
            ...snapMachine(m),
            order: sel.order ?? 0,
            pre_host_hooks: snapHooks('pre_host', sel.pre_host_hooks),
            post_host_hooks: snapHooks('post_host', sel.post_host_hooks),
          });
        }
      }
    }
    return { machines: [...found.values()] };
  }

  function snapMachine(m: Machine): SnapshotMachine {
    return {
      machine_id: m.id,
      name: m.name,
      ssm_machine_id: m.access.ssm_machine_id,
      region: m.access.region,
      ...(m.access.iam_role ? { iam_role: m.access.iam_role } : {}),
      order: 0,
      pre_host_hooks: [],
      post_host_hooks: [],
      ...(m.subscription_id ? { subscription_id: m.subscription_id } : {}),
      ...(m.subscription_name ? { subscription_name: m.subscription_name } : {}),
      ...(m.resource_group_name ? { resource_group_name: m.resource_group_name } : {}),
    };
  }

  async function snapshotPlan(
    plan: Plan,
  ): Promise<{ snapshot: PlanSnapshot; machines: SnapshotMachine[]; scanError?: string }> {
    const snapshot: PlanSnapshot = {
      plan_id: plan.id,
      plan_name: plan.name,
      window_hours: plan.window_hours,
      pre_hooks: snapHooks('pre', plan.pre_hooks),
      post_hooks: snapHooks('post', plan.post_hooks),
      ...(plan.max_concurrency ? { max_concurrency: plan.max_concurrency } : {}),
      ...(plan.max_errors ? { max_errors: plan.max_errors } : {}),
      notification_groups: plan.notification_groups ?? [],
    };
    if (plan.dynamic) {
      const r = await resolveDynamic(plan);
      return { snapshot, machines: r.machines, scanError: r.error };
    }
    const list = plan.machines ?? [];
    const found = await machinesStore.getMany(
      plan.customer_id,
      list.map((m) => m.machine_id),
    );
    const byId = new Map(found.map((m) => [m.id, m]));
    const machines: SnapshotMachine[] = [];
    for (const pm of list) {
      const m = byId.get(pm.machine_id);
      if (!m) continue; // deleted since the plan was saved; the API refuses deleting machines in use
      machines.push({
        ...snapMachine(m),
        order: pm.order ?? 0,
        pre_host_hooks: snapHooks('pre_host', pm.pre_host_hooks),
        post_host_hooks: snapHooks('post_host', pm.post_host_hooks),
      });
    }
    return { snapshot, machines };
  }

  async function computeAndStore(eventId: string, runNo: number, why: string): Promise<EventStatus> {
    const e = await mustEvent(eventId);
    const ms = await records.listMachines(eventId);
    // The latest run of each global hook decides: a partial run that re-runs a failed hook supersedes it.
    const latest = new Map<string, number>();
    for (const h of e.hooks ?? []) latest.set(h.name, h.code); // sorted by run, then start
    const globalHookFailed = [...latest.values()].some((c) => !isHookSuccess(c));
    const inputs = {
      machines: ms.map((m) => ({
        status: m.status,
        hostHookFailed: (m.hooks ?? []).some((h) => !isHookSuccess(h.code)),
      })),
      globalHookFailed,
      dynamicScanFailed: Boolean(e.scan_error),
    };
    const status = computeEventStatus(inputs);
    const reasons = failureReasons({
      ...inputs,
      machineNames: Object.fromEntries(ms.map((m, i) => [i, m.name])),
    });
    const scanError = e.scan_error;
    await records.setEventStatus(eventId, status, {
      failure_reasons: scanError ? [scanError, ...reasons] : reasons,
      ...(status === 'IN_PROGRESS' ? {} : { finished_at: nowIso() }),
    });
    await records.addTimeline(eventId, `status/${runNo}/${why}/${Date.now()}`, {
      at: nowIso(),
      type: 'status',
      message: `event is ${status} (${why})`,
    });
    // Machines show their last patching on their own record.
    const ops = ms
      .filter((m) => m.status !== 'EXCLUDED')
      .map((m) => ({
        updateOne: {
          filter: { _id: m.machine_id },
          update: { $set: { last_patching: { event_id: eventId, status: m.status } } },
        },
      }));
    // FerretDB 1.24 (SQLite) never answers a bulk of ≥ 100 plain updates (found by the benchmark): stay below.
    for (let i = 0; i < ops.length; i += 50)
      await machinesColl.bulkWrite(ops.slice(i, i + 50), { ordered: false });
    return status;
  }

  return {
    async createEventRecord(a: {
      eventId: string;
      customerId: string;
      planId: string;
      start: string;
      end: string;
      status: EventStatus;
      workflowId: string;
      pipelineId?: string;
      pipelineRunId?: string;
      step?: number;
      origin?: 'schedule' | 'adhoc' | 'pipeline';
    }): Promise<void> {
      const plan = await plans.getById(a.planId);
      const now = nowIso();
      await records.createEvent({
        _id: a.eventId,
        customer_id: a.customerId,
        plan_id: a.planId,
        plan_name: plan?.name ?? a.planId,
        ...(a.pipelineId ? { pipeline_id: a.pipelineId } : {}),
        ...(a.pipelineRunId ? { pipeline_run_id: a.pipelineRunId } : {}),
        ...(a.step !== undefined ? { step: a.step } : {}),
        origin: a.origin ?? 'adhoc',
        start: a.start,
        end: a.end,
        status: a.status,
        workflow_id: a.workflowId,
        hooks: [],
        failure_reasons: [],
        run_no: 0,
        created_at: now,
        updated_at: now,
      });
      await records.addTimeline(a.eventId, 'created', {
        at: now,
        type: 'created',
        message: `event created as ${a.status}`,
      });
    },

    async getEventRecord({ eventId }: { eventId: string }): Promise<EventRecord> {
      return toRecord(await mustEvent(eventId));
    },

    async recordEventStatus(a: {
      eventId: string;
      status: EventStatus;
      timeline?: { type: string; message: string };
    }) {
      await records.setEventStatus(a.eventId, a.status);
      if (a.timeline)
        await records.addTimeline(a.eventId, `${a.timeline.type}/${Date.now()}`, {
          at: nowIso(),
          ...a.timeline,
        });
    },

    async recordEventWindow(a: { eventId: string; end: string }) {
      await records.updateEvent(a.eventId, { end: a.end });
      await records.addTimeline(a.eventId, `window/${a.end}`, {
        at: nowIso(),
        type: 'window_changed',
        message: `window now ends at ${a.end}`,
      });
    },

    async recordExclusions(a: { eventId: string; machineIds: string[]; requestedBy: string }) {
      await records.updateEvent(a.eventId, { excluded_machine_ids: a.machineIds });
      await records.addTimeline(a.eventId, `excluded/${Date.now()}`, {
        at: nowIso(),
        type: 'excluded',
        message: `${a.requestedBy} excluded ${a.machineIds.join(', ')}`,
      });
    },

    async planWindowMs({ eventId }: { eventId: string }): Promise<number> {
      const e = await mustEvent(eventId);
      const hours = e.plan_snapshot?.window_hours ?? (Date.parse(e.end) - Date.parse(e.start)) / 3600_000;
      return Math.round(hours * 3600_000);
    },

    /**
     * Starts run `runNo`: run 0 snapshots the plan (resolving a dynamic one) and creates the machine
     * records; a partial run re-opens the chosen machines. Returns what the workflow needs to drive it:
     * IDs, order and hook names only.
     */
    async beginEventRun(a: {
      eventId: string;
      runNo: number;
      excluded: string[];
      partial?: PartialRunRequest;
    }): Promise<{
      machines: RunMachine[];
      preHooks: HookBrief[];
      postHooks: HookBrief[];
      maxConcurrency?: number;
      maxErrors?: number;
      scanError?: string;
    }> {
      const e = await mustEvent(a.eventId);
      const now = nowIso();
      let snapshot = e.plan_snapshot;
      let machines: SnapshotMachine[];
      if (a.runNo === 0 || !snapshot) {
        const plan = await plans.getById(e.plan_id);
        if (!plan) {
          const reason = `plan ${e.plan_id} no longer exists`;
          await records.updateEvent(a.eventId, { scan_error: reason });
          return { machines: [], preHooks: [], postHooks: [], scanError: reason };
        }
        const snap = await snapshotPlan(plan);
        snapshot = snap.snapshot;
        machines = snap.machines;
        await records.updateEvent(a.eventId, {
          plan_snapshot: { ...snapshot, machines },
          plan_name: plan.name,
          started_at: now,
          status: 'IN_PROGRESS',
          run_no: 0,
          ...(snap.scanError ? { scan_error: snap.scanError } : {}),
        });
        const excluded = new Set(a.excluded);
        await records.initMachines(
          machines.map((m): EventMachineDoc => ({
            _id: machineDocId(a.eventId, m.machine_id),
            event_id: a.eventId,
            customer_id: e.customer_id,
            machine_id: m.machine_id,
            name: m.name,
            ssm_machine_id: m.ssm_machine_id,
            order: m.order,
            status: excluded.has(m.machine_id) ? 'EXCLUDED' : 'PENDING',
            ...(excluded.has(m.machine_id)
              ? { reason: 'excluded by an operator before the event started' }
              : {}),
            hooks: [],
            run_no: 0,
            updated_at: now,
          })),
        );
        await records.addTimeline(a.eventId, 'run/0', {
          at: now,
          type: 'run_started',
          message: `event started: ${machines.length} machine(s)${snap.scanError ? `; ${snap.scanError}` : ''}`,
        });
        if (snap.scanError) return { machines: [], preHooks: [], postHooks: [], scanError: snap.scanError };
        const run = machines
          .filter((m) => !excluded.has(m.machine_id))
          .map((m) => runMachine(m.machine_id, m.order, brief(m.pre_host_hooks), brief(m.post_host_hooks)));
        return {
          machines: run,
          preHooks: brief(snapshot.pre_hooks),
          postHooks: brief(snapshot.post_hooks),
          maxConcurrency: snapshot.max_concurrency,
          maxErrors: snapshot.max_errors,
        };
      }

      // Partial run: the chosen machines (all non-excluded by default), hooks as requested.
      machines = snapshot.machines ?? [];
      const current = new Map((await records.listMachines(a.eventId)).map((m) => [m.machine_id, m]));
      const chosen = new Set(a.partial?.machine_ids ?? machines.map((m) => m.machine_id));
      const selected = machines.filter(
        (m) => chosen.has(m.machine_id) && current.get(m.machine_id)?.status !== 'EXCLUDED',
      );
      for (const m of selected) {
        await records.machines.updateOne(
          { _id: machineDocId(a.eventId, m.machine_id) },
          {
            $set: { status: 'PENDING', run_no: a.runNo, hooks: [], updated_at: now },
            $unset: {
              reason: '',
              started_at: '',
              ended_at: '',
              command_id: '',
              installed: '',
              action_taken: '',
            },
          },
        );
      }
      await records.updateEvent(a.eventId, {
        status: 'IN_PROGRESS',
        run_no: a.runNo,
        partial: [
          ...(e.partial ?? []),
          { run_no: a.runNo, requested_by: a.partial?.requested_by ?? 'unknown', requested_at: now },
        ],
      });
      await records.addTimeline(a.eventId, `run/${a.runNo}`, {
        at: now,
        type: 'partial_run_started',
        message: `partial run ${a.runNo} by ${a.partial?.requested_by ?? 'unknown'}: ${selected.length} machine(s)`,
      });
      const hh = a.partial?.host_hooks ?? {};
      return {
        machines: selected.map((m) =>
          runMachine(
            m.machine_id,
            m.order,
            hh[m.machine_id]?.pre === false ? [] : brief(m.pre_host_hooks),
            hh[m.machine_id]?.post === false ? [] : brief(m.post_host_hooks),
          ),
        ),
        preHooks: a.partial?.pre_hooks === false ? [] : brief(snapshot.pre_hooks),
        postHooks: a.partial?.post_hooks === false ? [] : brief(snapshot.post_hooks),
        maxConcurrency: snapshot.max_concurrency,
        maxErrors: snapshot.max_errors,
      };
    },

    async markMachineStarted(a: { eventId: string; machineId: string; runNo: number }) {
      const now = nowIso();
      await records.updateMachine(a.eventId, a.machineId, { status: 'IN_PROGRESS', started_at: now });
      await records.addTimeline(a.eventId, `machine/${a.machineId}/${a.runNo}/start`, {
        at: now,
        type: 'machine_started',
        machine_id: a.machineId,
        message: `machine ${a.machineId} started`,
      });
    },

    async recordMachineResult(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      status: MachineStatus;
      reason?: string;
      commandId?: string;
      installed?: string[];
    }) {
      const now = nowIso();
      await records.updateMachine(a.eventId, a.machineId, {
        status: a.status,
        ended_at: now,
        ...(a.reason ? { reason: a.reason } : {}),
        ...(a.commandId ? { command_id: a.commandId } : {}),
        ...(a.installed ? { installed: a.installed.slice(0, 1000) } : {}),
      });
      await records.addTimeline(a.eventId, `machine/${a.machineId}/${a.runNo}/end`, {
        at: now,
        type: 'machine_finished',
        machine_id: a.machineId,
        message: `machine ${a.machineId}: ${a.status}${a.reason ? ` — ${a.reason}` : ''}`,
      });
    },

    /** Bulk status for machines that never started (omitted, out of window); running ones are left alone. */
    async markMachines(a: {
      eventId: string;
      runNo: number;
      machineIds: string[];
      status: MachineStatus;
      reason: string;
    }) {
      const n = await records.setMachinesStatus(a.eventId, a.machineIds, a.status, a.reason, [
        'PENDING',
        'IN_PROGRESS',
      ]);
      if (n > 0)
        await records.addTimeline(a.eventId, `bulk/${a.runNo}/${a.status}/${a.machineIds[0]}`, {
          at: nowIso(),
          type: 'machines_marked',
          message: `${n} machine(s) ${a.status}: ${a.reason}`,
        });
    },

    async finalizeEvent(a: { eventId: string; runNo: number }): Promise<EventStatus> {
      return computeAndStore(
        a.eventId,
        a.runNo,
        a.runNo === 0 ? 'run finished' : `partial run ${a.runNo} finished`,
      );
    },

    async applyManualStatus(a: {
      eventId: string;
      runNo: number;
      machine_id: string;
      manual_status: ManualMachineStatus;
      action_taken?: string;
      requested_by: string;
    }): Promise<EventStatus> {
      const doc = await records.machines.findOne({ _id: machineDocId(a.eventId, a.machine_id) });
      if (!doc)
        throw ApplicationFailure.nonRetryable(
          `machine ${a.machine_id} is not part of event ${a.eventId}`,
          'NotFound',
        );
      await records.updateMachine(a.eventId, a.machine_id, {
        status: a.manual_status,
        ...(a.action_taken ? { action_taken: a.action_taken } : {}),
      });
      await records.addTimeline(a.eventId, `manual/${a.machine_id}/${Date.now()}`, {
        at: nowIso(),
        type: 'manual_status',
        machine_id: a.machine_id,
        message: `${a.requested_by} set ${a.machine_id} from ${doc.status} to ${a.manual_status}${a.action_taken ? `: ${a.action_taken}` : ''}`,
      });
      return computeAndStore(a.eventId, a.runNo, 'manual status change');
    },
  };
}

/** A run's machine for the event workflow, without empty hook lists (see RunMachine: the payload grows with the fleet). */
function runMachine(id: string, order: number, pre: HookBrief[], post: HookBrief[]): RunMachine {
  return { id, order, ...(pre.length ? { pre } : {}), ...(post.length ? { post } : {}) };
}
