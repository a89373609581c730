import type { PlanOperation } from '../domain/statuses';
import { buildManifest } from '../domain/manifest';
import { comparePromotion, type PromotionCheck } from '../domain/promotion-check';
import { PromotionReader, dayBefore } from './promotion';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { InstanceInformation } from '@aws-sdk/client-ssm';
import {
  machineDocId,
  type EventDoc,
  type EventMachineDoc,
  type PlanSnapshot,
  type SnapshotHook,
  type SnapshotMachine,
} from '../store/event-records';
import type { Stores } from '../store/stores';
import type { AwsClients } from './aws';
import { isTransientAwsError } from './durable';
import { instancesByTags } from './ssm-tag-selector';
import type { EventRecord } from '../domain/event';
import { hookName, isHookSuccess, type HookDef, type HookPhase } from '../domain/hooks';
import { computeEventStatus, failureReasons } from '../domain/event-status';
import type { EventStatus, MachineStatus, ManualMachineStatus } from '../domain/statuses';
import { standbyApplies, targetGroupsApply, type Plan } from '../domain/plan';
import { windowMs } from '../domain/window';
import { discoveredMachineInput, type Machine } from '../domain/machine';
import { holdActive, holdOmitReason } from '../domain/machine-hold';
import { assignWaves, tagValue } from '../domain/waves';
import type { HookBrief, HookChoice, PartialRunRequest, RunGates, RunMachine } from '../workflows/defs';

export interface EventActivityDeps {
  stores: Pick<Stores, 'events' | 'machines' | 'plans'> & Partial<Pick<Stores, 'pipelines'>>;
  aws: AwsClients;
}

const nowIso = () => new Date().toISOString();

/**
 * Names one call of an activity across its retries: the workflow run and the activity ID the workflow gave
 * the call (a sequence number, the same on every retry and on replay). Timeline rows of moments that may
 * happen more than once per run (an approval, an exclusion, a manual change) are keyed by it, so a retried
 * activity rewrites its own row and a second request still gets one of its own. Never the clock.
 */
function callKey(): string {
  const info = Context.current().info;
  return `${info.workflowExecution?.runId ?? '-'}/${info.activityId}`;
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

/**
 * The plan's waves and max_unavailable applied to the event's machines (docs/behaviour.md#waves): with `waves`,
 * each machine the run patches (`patched`) gets its wave as its order (the others keep order 0); with
 * `max_unavailable`, a machine with the tag keeps its value (`limit_key`).
 */
function withWaves(
  plan: Plan,
  machines: SnapshotMachine[],
  tags: Map<string, Machine['metadata']>,
  patched: (machineId: string) => boolean,
): SnapshotMachine[] {
  const wave = plan.waves
    ? assignWaves(
        machines
          .filter((m) => patched(m.machine_id))
          .map((m) => ({ id: m.machine_id, tags: tags.get(m.machine_id) })),
        plan.waves,
        plan.wave_by,
      )
    : undefined;
  const limitTag = plan.max_unavailable?.tag;
  return machines.map((m) => {
    const key = limitTag === undefined ? undefined : tagValue(tags.get(m.machine_id), limitTag);
    return {
      ...m,
      ...(wave ? { order: wave.get(m.machine_id) ?? 0 } : {}),
      ...(key !== undefined ? { limit_key: key } : {}),
    };
  });
}

/** What the event workflow needs of the plan's health gates: only timings (the probes stay in the snapshot). */
function runGates(snapshot: PlanSnapshot): { gates?: RunGates } {
  const g = snapshot.health_gates;
  if (!g || g.probes.length === 0) return {};
  return { gates: { intervalMs: g.interval_s * 1000, soakMs: g.soak_s * 1000 } };
}

export function createEventActivities({ stores, aws }: EventActivityDeps) {
  const { events: records, machines: machinesStore, plans } = stores;
  const promotions = stores.pipelines ? new PromotionReader(records, stores.pipelines) : undefined;

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
  async function resolveDynamic(
    plan: Plan,
    tags: Map<string, Machine['metadata']>,
  ): Promise<{ machines: SnapshotMachine[]; error?: string }> {
    const found = new Map<string, SnapshotMachine>();
    for (const sel of plan.dynamic ?? []) {
      for (const region of sel.regions) {
        let infos: InstanceInformation[] = [];
        try {
          infos = await instancesByTags(await aws.ssm(region, sel.iam_role), sel.tags);
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
          const input = discoveredMachineInput({
            ssmMachineId: info.InstanceId,
            computerName: info.ComputerName,
            region,
            iamRole: sel.iam_role,
          });
          const m = await machinesStore.registerDiscoveredMachine(
            plan.customer_id,
            input,
            `dynamic plan ${plan.id}`,
          );
          if (found.has(m.id)) continue;
          tags.set(m.id, m.metadata);
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
    /** A one-off event's own operation wins over the plan's. */
    operation?: PlanOperation,
  ): Promise<{
    snapshot: PlanSnapshot;
    machines: SnapshotMachine[];
    /** Each machine's metadata (its tags), for waves and max_unavailable. */
    tags: Map<string, Machine['metadata']>;
    scanError?: string;
  }> {
    const snapshot: PlanSnapshot = {
      plan_id: plan.id,
      plan_name: plan.name,
      operation: operation ?? plan.operation ?? 'install',
      window_hours: plan.window_hours,
      pre_hooks: snapHooks('pre', plan.pre_hooks),
      post_hooks: snapHooks('post', plan.post_hooks),
      ...(plan.max_concurrency ? { max_concurrency: plan.max_concurrency } : {}),
      ...(plan.max_errors ? { max_errors: plan.max_errors } : {}),
      ...(plan.health_gates ? { health_gates: plan.health_gates } : {}),
      ...(plan.waves ? { waves: plan.waves, wave_by: plan.wave_by ?? 'hash' } : {}),
      ...(plan.max_unavailable ? { max_unavailable: plan.max_unavailable } : {}),
      ...(plan.patch_date_tag ? { patch_date_tag: plan.patch_date_tag } : {}),
      ...(plan.out_of_service ? { out_of_service: plan.out_of_service } : {}),
      notification_groups: plan.notification_groups ?? [],
    };
    const tags = new Map<string, Machine['metadata']>();
    if (plan.dynamic) {
      const r = await resolveDynamic(plan, tags);
      return { snapshot, machines: r.machines, tags, scanError: r.error };
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
      tags.set(m.id, m.metadata);
      machines.push({
        ...snapMachine(m),
        order: pm.order ?? 0,
        pre_host_hooks: snapHooks('pre_host', pm.pre_host_hooks),
        post_host_hooks: snapHooks('post_host', pm.post_host_hooks),
      });
    }
    return { snapshot, machines, tags };
  }

  /** `key` names the moment on the timeline (retries of one call share it). */
  /** Which of these machines are on hold now, with the hold as the event keeps it. */
  async function heldMachines(
    ms: readonly { machine_id: string }[],
  ): Promise<Map<string, NonNullable<EventMachineDoc['hold']>>> {
    const now = Date.now();
    const found = await machinesStore.getByIds(ms.map((m) => m.machine_id));
    return new Map(
      found
        .filter((m) => holdActive(m.hold, now))
        .map((m) => [m.id, { reason: m.hold!.reason, until: m.hold!.until, set_by: m.hold!.set_by }]),
    );
  }

  async function recordHeld(eventId: string, runNo: number, held: Map<string, { reason: string }>) {
    if (held.size === 0) return;
    await records.addTimeline(eventId, `held/${runNo}`, {
      at: nowIso(),
      type: 'machines_on_hold',
      message:
        `${held.size} machine(s) OMITTED, on hold: ${[...held].map(([id, h]) => `${id} (${h.reason})`).join(', ')}`.slice(
          0,
          1000,
        ),
    });
  }

  /**
   * A promoted pipeline step's check (docs/behaviour.md#promotion-check): what the step promoted, read as its
   * patch commands read it, compared with what each machine installed. Undefined for other events.
   */
  async function promotionCheck(
    e: EventDoc,
    ms: Awaited<ReturnType<typeof records.listMachines>>,
  ): Promise<PromotionCheck | undefined> {
    const promo = promotions ? await promotions.get(e) : undefined;
    if (!promo || promo.mode === 'latest') return undefined;
    const own = new Map(
      (await machinesStore.getByIds(ms.map((m) => m.machine_id))).map((m) => [m.id, m.exclude_kbs]),
    );
    return comparePromotion({
      mode: promo.mode,
      previousStep: promo.step - 1,
      fromEvents: promo.fromEvents ?? [],
      ...(promo.manifest ? { manifest: promo.manifest } : {}),
      ...(promo.previousStart
        ? { previousStart: promo.previousStart, cutoff: dayBefore(promo.previousStart) }
        : {}),
      exclusions: promo.exclusions,
      machines: ms.map((m) => ({
        machine_id: m.machine_id,
        name: m.name,
        status: m.status,
        ...(m.operating_system ? { operating_system: m.operating_system } : {}),
        ...(m.patches ? { patches: m.patches } : {}),
        ...(own.get(m.machine_id)?.length ? { exclude_kbs: own.get(m.machine_id) } : {}),
      })),
      checkedAt: nowIso(),
    });
  }

  async function computeAndStore(eventId: string, key: string, why: string): Promise<EventStatus> {
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
    const check =
      status === 'IN_PROGRESS' || e.operation === 'scan' ? undefined : await promotionCheck(e, ms);
    await records.setEventStatus(eventId, status, {
      failure_reasons: scanError ? [scanError, ...reasons] : reasons,
      // What the run installed on its successful machines, per OS: a promoted later step installs exactly it.
      // A scan-only event installs nothing: it has no manifest.
      ...(status === 'IN_PROGRESS' || e.operation === 'scan'
        ? {}
        : { manifest: buildManifest(ms, e.run_no ?? 0, nowIso()) }),
      ...(check ? { promotion_check: check } : {}),
      ...(status === 'IN_PROGRESS' ? {} : { finished_at: nowIso() }),
    });
    await records.addTimeline(eventId, `status/${key}`, {
      at: nowIso(),
      type: 'status',
      message: `event is ${status} (${why})`,
    });
    // A machine an operator excluded or held was not patched: its last patching (the hold's limit) stays.
    await machinesStore.recordLastPatching(
      eventId,
      ms.filter((m) => m.status !== 'EXCLUDED' && !(m.status === 'OMITTED' && m.hold)),
    );
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
      operation?: PlanOperation;
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
        ...(a.operation ? { operation: a.operation } : {}),
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
        await records.addTimeline(a.eventId, `${a.timeline.type}/${callKey()}`, {
          at: nowIso(),
          ...a.timeline,
        });
    },

    /** A timeline line that changes nothing else (e.g. an operator signal the rules refused). */
    async recordEventNote(a: {
      eventId: string;
      key: string;
      type: string;
      message: string;
      machineId?: string;
    }) {
      await records.addTimeline(a.eventId, a.key, {
        at: nowIso(),
        type: a.type,
        ...(a.machineId ? { machine_id: a.machineId } : {}),
        message: a.message,
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
      await records.addTimeline(a.eventId, `excluded/${callKey()}`, {
        at: nowIso(),
        type: 'excluded',
        message: `${a.requestedBy} excluded ${a.machineIds.join(', ')}`,
      });
    },

    async planWindowMs({ eventId }: { eventId: string }): Promise<number> {
      const e = await mustEvent(eventId);
      return e.plan_snapshot
        ? windowMs(e.plan_snapshot.window_hours)
        : Date.parse(e.end) - Date.parse(e.start);
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
      maxUnavailable?: number;
      gates?: RunGates;
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
        const snap = await snapshotPlan(plan, e.operation);
        snapshot = snap.snapshot;
        const excluded = new Set(a.excluded);
        // Machines on hold now are OMITTED ("on hold: …") instead of patched (docs/behaviour.md#machine-holds).
        const held = await heldMachines(snap.machines.filter((m) => !excluded.has(m.machine_id)));
        // Waves are cut among the machines this run patches (docs/behaviour.md#waves).
        machines = withWaves(plan, snap.machines, snap.tags, (id) => !excluded.has(id) && !held.has(id));
        await records.updateEvent(a.eventId, {
          plan_snapshot: { ...snapshot, machines },
          plan_name: plan.name,
          operation: snapshot.operation ?? 'install',
          started_at: now,
          status: 'IN_PROGRESS',
          run_no: 0,
          ...(snap.scanError ? { scan_error: snap.scanError } : {}),
        });
        await records.initMachines(
          machines.map((m): EventMachineDoc => ({
            _id: machineDocId(a.eventId, m.machine_id),
            event_id: a.eventId,
            customer_id: e.customer_id,
            machine_id: m.machine_id,
            name: m.name,
            ssm_machine_id: m.ssm_machine_id,
            order: m.order,
            status: excluded.has(m.machine_id) ? 'EXCLUDED' : held.has(m.machine_id) ? 'OMITTED' : 'PENDING',
            ...(excluded.has(m.machine_id)
              ? { reason: 'excluded by an operator before the event started' }
              : held.has(m.machine_id)
                ? { reason: holdOmitReason(held.get(m.machine_id)!), hold: held.get(m.machine_id)! }
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
        await recordHeld(a.eventId, 0, held);
        if (snap.scanError) return { machines: [], preHooks: [], postHooks: [], scanError: snap.scanError };
        const tagKey = snap.snapshot.patch_date_tag?.key;
        const run = machines
          .filter((m) => !excluded.has(m.machine_id) && !held.has(m.machine_id))
          .map((m) =>
            toRunMachine(
              m.machine_id,
              m.order,
              brief(m.pre_host_hooks),
              brief(m.post_host_hooks),
              tagKey,
              m.limit_key,
              standbyApplies(snap.snapshot.out_of_service, m.order),
              targetGroupsApply(snap.snapshot.out_of_service, m.order),
            ),
          );
        return {
          machines: run,
          preHooks: brief(snapshot.pre_hooks),
          postHooks: brief(snapshot.post_hooks),
          maxConcurrency: snapshot.max_concurrency,
          maxErrors: snapshot.max_errors,
          ...(snapshot.max_unavailable ? { maxUnavailable: snapshot.max_unavailable.max } : {}),
          ...runGates(snapshot),
        };
      }

      // Partial run: the chosen machines (all non-excluded by default), hooks as requested.
      machines = snapshot.machines ?? [];
      const current = new Map((await records.listMachines(a.eventId)).map((m) => [m.machine_id, m]));
      const chosen = new Set(a.partial?.machine_ids ?? machines.map((m) => m.machine_id));
      const candidates = machines.filter(
        (m) => chosen.has(m.machine_id) && current.get(m.machine_id)?.status !== 'EXCLUDED',
      );
      const held = await heldMachines(candidates);
      const selected = candidates.filter((m) => !held.has(m.machine_id));
      await records.resetForPartialRun(
        a.eventId,
        selected.map((m) => m.machine_id),
        a.runNo,
      );
      await records.updateEvent(a.eventId, {
        status: 'IN_PROGRESS',
        run_no: a.runNo,
        // A retried start of the same partial run replaces its entry instead of adding a second one.
        partial: [
          ...(e.partial ?? []).filter((p) => p.run_no !== a.runNo),
          { run_no: a.runNo, requested_by: a.partial?.requested_by ?? 'unknown', requested_at: now },
        ],
      });
      await records.addTimeline(a.eventId, `run/${a.runNo}`, {
        at: now,
        type: 'partial_run_started',
        message: `partial run ${a.runNo} by ${a.partial?.requested_by ?? 'unknown'}: ${selected.length} machine(s)`,
      });
      for (const [machineId, hold] of held)
        await records.updateMachine(a.eventId, machineId, {
          status: 'OMITTED',
          reason: holdOmitReason(hold),
          hold,
          run_no: a.runNo,
        });
      await recordHeld(a.eventId, a.runNo, held);
      const hh = a.partial?.host_hooks ?? {};
      return {
        machines: selected.map((m) =>
          toRunMachine(
            m.machine_id,
            m.order,
            brief(chosenHooks(hh[m.machine_id]?.pre, m.pre_host_hooks)),
            brief(chosenHooks(hh[m.machine_id]?.post, m.post_host_hooks)),
            snapshot.patch_date_tag?.key,
            m.limit_key,
            standbyApplies(snapshot.out_of_service, m.order),
            targetGroupsApply(snapshot.out_of_service, m.order),
          ),
        ),
        preHooks: brief(chosenHooks(a.partial?.pre_hooks, snapshot.pre_hooks)),
        postHooks: brief(chosenHooks(a.partial?.post_hooks, snapshot.post_hooks)),
        maxConcurrency: snapshot.max_concurrency,
        maxErrors: snapshot.max_errors,
        ...(snapshot.max_unavailable ? { maxUnavailable: snapshot.max_unavailable.max } : {}),
        ...runGates(snapshot),
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
      const why = a.runNo === 0 ? 'run finished' : `partial run ${a.runNo} finished`;
      return computeAndStore(a.eventId, `${a.runNo}/${why}`, why);
    },

    async applyManualStatus(a: {
      eventId: string;
      runNo: number;
      machine_id: string;
      manual_status: ManualMachineStatus;
      action_taken?: string;
      requested_by: string;
    }): Promise<EventStatus> {
      const doc = await records.getMachine(a.eventId, a.machine_id);
      if (!doc)
        throw ApplicationFailure.nonRetryable(
          `machine ${a.machine_id} is not part of event ${a.eventId}`,
          'NotFound',
        );
      await records.updateMachine(a.eventId, a.machine_id, {
        status: a.manual_status,
        ...(a.action_taken ? { action_taken: a.action_taken } : {}),
      });
      const key = callKey();
      await records.addTimeline(a.eventId, `manual/${a.machine_id}/${key}`, {
        at: nowIso(),
        type: 'manual_status',
        machine_id: a.machine_id,
        message: `${a.requested_by} set ${a.machine_id} from ${doc.status} to ${a.manual_status}${a.action_taken ? `: ${a.action_taken}` : ''}`,
      });
      return computeAndStore(a.eventId, `${a.runNo}/manual/${key}`, 'manual status change');
    },
  };
}

/** A partial run's hook choice applied to the snapshot's hooks, in their configured order. */
export function chosenHooks(choice: HookChoice | undefined, hooks: SnapshotHook[]): SnapshotHook[] {
  if (choice === undefined || choice === true) return hooks;
  if (choice === false) return [];
  const names = new Set(choice);
  return hooks.filter((h) => names.has(h.name));
}

/** A run's machine for the event workflow, without empty hook lists (see RunMachine: the payload grows with the fleet). */
function toRunMachine(
  id: string,
  order: number,
  pre: HookBrief[],
  post: HookBrief[],
  patchDateTag: string | undefined,
  limitKey: string | undefined,
  standby: boolean,
  targetGroups: boolean,
): RunMachine {
  return {
    id,
    order,
    ...(pre.length ? { pre } : {}),
    ...(post.length ? { post } : {}),
    ...(patchDateTag ? { patchDateTag } : {}),
    ...(limitKey !== undefined ? { limitKey } : {}),
    ...(standby ? { standby: true as const } : {}),
    ...(targetGroups ? { targetGroups: true as const } : {}),
  };
}
