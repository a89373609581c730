/**
 * Stub activities for the workflow tests: every activity the workflows call, with the real signatures (typed
 * from `Activities`), answering from a scripted fleet and keeping an in-memory record of each event the way
 * the store would (machine statuses, hook runs), so the final status is computed by the domain's rules from
 * what the workflows reported. Every call is recorded with its time, so tests can check ordering and
 * concurrency from the outside.
 *
 * Not faked: Temporal. Requests to a machine's command queue go through the real activity
 * (signal-with-start of `machine/<id>`), and durations are real (seconds at most).
 */
import { Context, ApplicationFailure } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { workflowIds } from '../../../domain/ids';
import type { Activities } from '../../../activities';
import { commandRequesters, createCommandQueueActivities } from '../../../activities/command-queue';
import { computeEventStatus, failureReasons } from '../../../domain/event-status';
import type { EventStatus, MachineStatus } from '../../../domain/statuses';
import type { GateReading } from '../../../domain/health-gates';
import type {
  CommandFinal,
  CommandRequest,
  EventWorkflowInput,
  HookBrief,
  RunGates,
} from '../../../workflows/defs';

/** How a hook answers in one run: ok (HTTP 200) or not (500), after `ms`. */
export interface HookScript {
  ok: boolean;
  ms?: number;
}

/** How the patch command on a machine ends in one run, after `ms` (it goes on after the window end). */
export type PatchScript =
  { status: CommandFinal['machineStatus']; ms?: number } | { notSent: 'offline' | 'unbuildable' };

export interface MachineScript {
  id: string;
  order?: number;
  pre?: HookBrief[];
  post?: HookBrief[];
  /** One per run (run 0, partial run 1, …); the last one repeats. Default: SUCCESS at once. */
  patch?: PatchScript | PatchScript[];
}

export interface PlanScript {
  machines: MachineScript[];
  preHooks?: HookBrief[];
  postHooks?: HookBrief[];
  maxConcurrency?: number;
  maxErrors?: number;
  /** The plan's window length (partial runs get a window this long). */
  windowMs: number;
  /** By hook name (global and host hooks alike); one per run, the last repeats. Default: ok at once. */
  hooks?: Record<string, HookScript | HookScript[]>;
  /** Health gates: their timings, and the readings in order (the last repeats). */
  gates?: RunGates & {
    readings: GateReading[];
    /** The first this many readings fail as a whole (the store away beyond the activity's retries). */
    failedReadings?: number;
  };
  /** How long a notice of this type takes to send (a slow channel), by type. */
  noticeMs?: Record<string, number>;
  /** How long storing the event's record takes (a slow store at the event's creation). */
  recordMs?: number;
}

/** One step of a pipeline run: its policy and the events (one per plan) it creates. */
export interface PipelineStepScript {
  policy: 'always' | 'success' | 'success_or_approval' | 'approval';
  /** After the run's start. */
  offsetMs: number;
  events: { eventId: string; plan: PlanScript }[];
}

export interface Call {
  name: string;
  args: Record<string, unknown>;
  at: number;
  /** When the activity returned (or threw). */
  doneAt?: number;
}

interface HookRun {
  name: string;
  runNo: number;
  code: number;
  machineId?: string;
}

interface MachineRecord {
  id: string;
  order: number;
  status: MachineStatus;
  runNo: number;
  reason?: string;
  actionTaken?: string;
}

interface EventState {
  id: string;
  customerId: string;
  planId: string;
  start: string;
  end: string;
  status: EventStatus;
  workflowId: string;
  runNo: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  machines: Map<string, MachineRecord>;
  hooks: HookRun[];
  failureReasons: string[];
}

const pick = <T>(x: T | T[] | undefined, runNo: number): T | undefined =>
  Array.isArray(x) ? x[Math.min(runNo, x.length - 1)] : x;

const brief = (hooks?: HookBrief[]) => hooks ?? [];

/** The activities the workflows call (a stub for each; the compiler checks them against the real ones). */
export type StubbedActivities = Pick<
  Activities,
  | 'createEventRecord'
  | 'getEventRecord'
  | 'recordEventStatus'
  | 'recordEventWindow'
  | 'recordExclusions'
  | 'planWindowMs'
  | 'beginEventRun'
  | 'markMachines'
  | 'finalizeEvent'
  | 'applyManualStatus'
  | 'markMachineStarted'
  | 'recordMachineResult'
  | 'beginMachineRun'
  | 'finishMachineRun'
  | 'incomingLeadTimes'
  | 'judgeEventFreeze'
  | 'syncMaintenance'
  | 'recordApproval'
  | 'checkApprovedTargets'
  | 'recordWorkflowAudit'
  | 'recordEventMove'
  | 'notifyEvent'
  | 'readHealthGates'
  | 'produceReport'
  | 'runRemoteHook'
  | 'recordScriptHookRun'
  | 'recordHookNotStarted'
  | 'startCommand'
  | 'followCommand'
  | 'requestMachineCommand'
  | 'reportMachineDone'
  | 'commandQueueState'
  | 'createPipelineRunEvents'
>;

export class FakeFleet {
  readonly calls: Call[] = [];
  private readonly plans = new Map<string, PlanScript>();
  private readonly pipelineRuns = new Map<string, { customerId: string; steps: PipelineStepScript[] }>();
  private readonly events = new Map<string, EventState>();
  private commandSeq = 0;
  /** What checkApprovedTargets answers for an event at its window opening (default: the approval holds). */
  readonly targetChecks = new Map<string, { reapprove: boolean; reason?: string }[]>();

  constructor(private readonly temporal: { client: Client; taskQueue: string }) {}

  /** The plan an event runs (what beginEventRun snapshots), set before the event starts. */
  setPlan(eventId: string, plan: PlanScript): void {
    this.plans.set(eventId, plan);
  }

  /** The steps a pipeline run creates (what createPipelineRunEvents reads from the pipeline and its plans). */
  setPipelineRun(runId: string, customerId: string, steps: PipelineStepScript[]): void {
    this.pipelineRuns.set(runId, { customerId, steps });
    for (const step of steps) for (const e of step.events) this.plans.set(e.eventId, e.plan);
  }

  /** Calls of one activity, optionally only those whose arguments match. */
  callsOf(name: keyof StubbedActivities, match: Record<string, unknown> = {}): Call[] {
    return this.calls.filter(
      (c) => c.name === name && Object.entries(match).every(([k, v]) => c.args[k] === v),
    );
  }

  /** The machine command queue's calls (startCommand / followCommand) for one machine, optionally of one event. */
  commandCalls(
    name: 'startCommand' | 'followCommand',
    machineId: string,
    eventId?: string,
  ): (Call & { request: CommandRequest })[] {
    return (
      this.callsOf(name)
        // The recorded call itself (not a copy), so a later doneAt shows.
        .map((c) => Object.assign(c, { request: c.args.request as CommandRequest }))
        .filter(
          (c) =>
            c.request.machineId === machineId && (eventId === undefined || c.request.ref.eventId === eventId),
        )
    );
  }

  /** The recorded machine status, as the store would hold it. */
  machineStatus(eventId: string, machineId: string): MachineStatus | undefined {
    return this.events.get(eventId)?.machines.get(machineId)?.status;
  }

  /** Each machine's stretch in one run: from beginMachineRun to its result (finishMachineRun). */
  machineSpans(eventId: string, runNo = 0): Map<string, { from: number; to: number }> {
    const spans = new Map<string, { from: number; to: number }>();
    for (const c of this.callsOf('beginMachineRun', { eventId, runNo }))
      spans.set(c.args.machineId as string, { from: c.at, to: Infinity });
    for (const c of this.calls) {
      if (c.name !== 'finishMachineRun') continue;
      const r = c.args.result as { eventId: string; machineId: string; runNo: number };
      const span = spans.get(r.machineId);
      if (r.eventId === eventId && r.runNo === runNo && span) span.to = c.at;
    }
    return spans;
  }

  activities(): StubbedActivities {
    const commandQueue = createCommandQueueActivities(this.temporal);
    const requesters = commandRequesters(this.temporal.client);
    const follow = async ({
      request,
      start,
    }: Parameters<StubbedActivities['followCommand']>[0]): Promise<CommandFinal> => {
      const { ref } = request;
      const startedAt = new Date().toISOString();
      if (ref.kind === 'hook') {
        const script = this.hookScript(ref.eventId, ref.hookName, ref.runNo);
        if (script.ms) await Context.current().sleep(script.ms);
        return {
          commandId: start.commandId,
          ssmStatus: script.ok ? 'Success' : 'Failed',
          statusDetails: script.ok ? 'Success' : 'Failed',
          responseCode: script.ok ? 0 : 1,
          machineStatus: script.ok ? 'SUCCESS' : 'FAILED',
          detail: script.ok ? 'the script exited 0' : 'the script exited 1',
          stdout: script.ok ? '{"ok":true}' : '',
          startedAt,
          endedAt: new Date().toISOString(),
        };
      }
      const script = this.patchScript(ref.eventId, ref.machineId, ref.runNo);
      const status = 'status' in script ? script.status : 'ERROR';
      if ('ms' in script && script.ms) await Context.current().sleep(script.ms);
      const ok = status === 'SUCCESS' || status === 'SUCCESS_NO_UPDATES';
      return {
        commandId: start.commandId,
        ssmStatus: ok ? 'Success' : 'Failed',
        statusDetails: ok ? 'Success' : 'Failed',
        responseCode: ok ? 0 : 1,
        machineStatus: status as CommandFinal['machineStatus'],
        detail: ok ? 'patched' : `patching ended ${status}`,
        installed: status === 'SUCCESS' ? ['openssl-3.0.15'] : [],
        startedAt,
        endedAt: new Date().toISOString(),
      };
    };
    const acts: StubbedActivities = {
      createEventRecord: async (a) => {
        const ms = this.plans.get(a.eventId)?.recordMs ?? 0;
        if (ms > 0) await Context.current().sleep(ms);
        const now = new Date().toISOString();
        if (!this.events.has(a.eventId))
          this.events.set(a.eventId, {
            id: a.eventId,
            customerId: a.customerId,
            planId: a.planId,
            start: a.start,
            end: a.end,
            status: a.status,
            workflowId: a.workflowId,
            runNo: 0,
            createdAt: now,
            machines: new Map(),
            hooks: [],
            failureReasons: [],
          });
      },

      getEventRecord: async ({ eventId }) => {
        const e = this.mustEvent(eventId);
        return {
          id: e.id,
          customer_id: e.customerId,
          plan_id: e.planId,
          plan_name: e.planId,
          start: e.start,
          end: e.end,
          status: e.status,
          workflow_id: e.workflowId,
          hooks: [],
          failure_reasons: e.failureReasons,
          run_no: e.runNo,
          ...(e.startedAt ? { started_at: e.startedAt } : {}),
          ...(e.finishedAt ? { finished_at: e.finishedAt } : {}),
          created_at: e.createdAt,
          updated_at: new Date().toISOString(),
        };
      },

      recordEventStatus: async (a) => {
        this.mustEvent(a.eventId).status = a.status;
      },

      recordEventWindow: async (a) => {
        this.mustEvent(a.eventId).end = a.end;
      },

      recordExclusions: async () => undefined,

      planWindowMs: async ({ eventId }) => this.mustPlan(eventId).windowMs,

      beginEventRun: async (a) => {
        const e = this.mustEvent(a.eventId);
        const plan = this.mustPlan(a.eventId);
        e.runNo = a.runNo;
        e.status = 'IN_PROGRESS';
        const runMachine = (m: MachineScript, pre: HookBrief[], post: HookBrief[]) => ({
          id: m.id,
          order: m.order ?? 0,
          ...(pre.length ? { pre } : {}),
          ...(post.length ? { post } : {}),
        });
        const limits = {
          maxConcurrency: plan.maxConcurrency,
          maxErrors: plan.maxErrors,
          ...(plan.gates ? { gates: { intervalMs: plan.gates.intervalMs, soakMs: plan.gates.soakMs } } : {}),
        };
        if (a.runNo === 0) {
          e.startedAt = new Date().toISOString();
          const excluded = new Set(a.excluded);
          for (const m of plan.machines)
            e.machines.set(m.id, {
              id: m.id,
              order: m.order ?? 0,
              status: excluded.has(m.id) ? 'EXCLUDED' : 'PENDING',
              runNo: 0,
            });
          return {
            machines: plan.machines
              .filter((m) => !excluded.has(m.id))
              .map((m) => runMachine(m, brief(m.pre), brief(m.post))),
            preHooks: brief(plan.preHooks),
            postHooks: brief(plan.postHooks),
            ...limits,
          };
        }
        // A partial run: the chosen machines (all but excluded ones by default), hooks as requested.
        const chosen = new Set(a.partial?.machine_ids ?? plan.machines.map((m) => m.id));
        const selected = plan.machines.filter(
          (m) => chosen.has(m.id) && e.machines.get(m.id)?.status !== 'EXCLUDED',
        );
        for (const m of selected) {
          e.machines.set(m.id, { id: m.id, order: m.order ?? 0, status: 'PENDING', runNo: a.runNo });
          e.hooks = e.hooks.filter((h) => h.machineId !== m.id);
        }
        const hh = a.partial?.host_hooks ?? {};
        return {
          machines: selected.map((m) =>
            runMachine(
              m,
              hh[m.id]?.pre === false ? [] : brief(m.pre),
              hh[m.id]?.post === false ? [] : brief(m.post),
            ),
          ),
          preHooks: a.partial?.pre_hooks === false ? [] : brief(plan.preHooks),
          postHooks: a.partial?.post_hooks === false ? [] : brief(plan.postHooks),
          ...limits,
        };
      },

      markMachines: async (a) => {
        const e = this.mustEvent(a.eventId);
        for (const id of a.machineIds) {
          const m = e.machines.get(id);
          // Like the store: machines already finished keep their status.
          if (m && (m.status === 'PENDING' || m.status === 'IN_PROGRESS')) {
            m.status = a.status;
            m.reason = a.reason;
          }
        }
      },

      finalizeEvent: async (a) => this.computeStatus(a.eventId),

      applyManualStatus: async (a) => {
        const e = this.mustEvent(a.eventId);
        const m = e.machines.get(a.machine_id);
        if (!m)
          throw ApplicationFailure.nonRetryable(
            `machine ${a.machine_id} is not part of event ${a.eventId}`,
            'NotFound',
          );
        m.status = a.manual_status;
        m.actionTaken = a.action_taken;
        return this.computeStatus(a.eventId);
      },

      markMachineStarted: async (a) => this.setMachine(a.eventId, a.machineId, { status: 'IN_PROGRESS' }),

      recordMachineResult: async (a) =>
        this.setMachine(a.eventId, a.machineId, { status: a.status, reason: a.reason }),

      beginMachineRun: async (a) => this.setMachine(a.eventId, a.machineId, { status: 'IN_PROGRESS' }),

      finishMachineRun: async ({ result }) =>
        this.setMachine(result.eventId, result.machineId, { status: result.status, reason: result.reason }),

      // The product's defaults (24 h and 1 h before the start); the workflow drops those already past.
      incomingLeadTimes: async () => [24 * 60, 60],

      // No freeze calendars in these scenarios (the freeze rules are unit- and e2e-tested).
      judgeEventFreeze: async () => null,
      recordEventMove: async () => undefined,
      // No maintenance integrations either (test/integration/e2e-maintenance.test.ts drives them).
      syncMaintenance: async () => ({ configured: false, failed: false }),

      // Approval records (docs/behaviour.md#reapproval): the targets are the plan's machines; the window check
      // answers what the scenario queued (targetChecks), then "holds".
      recordApproval: async (a) => ({
        by: a.by,
        at: new Date().toISOString(),
        via: a.via === 'signal' ? 'temporal_signal' : 'api',
        targets: this.mustPlan(a.eventId).machines.length,
        target_digest: '0000000000000000',
        reapproval_threshold: 0.1,
      }),
      checkApprovedTargets: async ({ eventId }) =>
        this.targetChecks.get(eventId)?.shift() ?? { reapprove: false },
      recordWorkflowAudit: async () => undefined,

      notifyEvent: async (a) => {
        const ms = this.mustPlan(a.eventId).noticeMs?.[a.type] ?? 0;
        if (ms > 0) await Context.current().sleep(ms);
      },

      readHealthGates: async ({ eventId }) => {
        const gates = this.mustPlan(eventId).gates;
        const readings = gates?.readings ?? [];
        const n = this.callsOf('readHealthGates', { eventId }).length - 1;
        if (n < (gates?.failedReadings ?? 0))
          throw ApplicationFailure.nonRetryable('store unavailable (scripted)', 'MongoServerSelectionError');
        return readings[Math.min(n, readings.length - 1)] ?? { healthy: true };
      },

      produceReport: async () => undefined,

      runRemoteHook: async (a) => {
        const script = this.hookScript(a.eventId, a.name, a.runNo);
        const waitMs = Math.min(script.ms ?? 0, Math.max(0, a.deadlineMs - Date.now()));
        if (waitMs > 0) await Context.current().sleep(waitMs);
        // Like the real activity: a hook still running at the window end is cut off with code 500.
        const cutOff = (script.ms ?? 0) > waitMs;
        const code = script.ok && !cutOff ? 200 : 500;
        this.mustEvent(a.eventId).hooks.push({ name: a.name, runNo: a.runNo, code, machineId: a.machineId });
        return { success: code === 200, code };
      },

      recordScriptHookRun: async (a) => {
        const o = a.outcome;
        const code = o.kind === 'completed' && o.final.responseCode === 0 ? 200 : 500;
        this.mustEvent(a.eventId).hooks.push({ name: a.name, runNo: a.runNo, code, machineId: a.machineId });
        return { success: code === 200 };
      },

      recordHookNotStarted: async (a) => {
        this.mustEvent(a.eventId).hooks.push({
          name: a.name,
          runNo: a.runNo,
          code: 500,
          machineId: a.machineId,
        });
      },

      startCommand: async ({ request }) => {
        if (Date.now() >= request.deadlineMs)
          return { kind: 'too_late', reason: 'the window ended before the command could be sent' };
        const { ref } = request;
        if (ref.kind === 'patch') {
          const script = this.patchScript(ref.eventId, ref.machineId, ref.runNo);
          if ('notSent' in script)
            return script.notSent === 'offline'
              ? { kind: 'offline', reason: `machine ${ref.machineId} is not online in SSM` }
              : { kind: 'unbuildable', reason: 'the command could not be built: no such document' };
        }
        return {
          kind: 'sent',
          commandId: `cmd-${++this.commandSeq}`,
          ssmMachineId: `i-${ref.machineId}`,
          region: 'us-east-1',
          documentName: ref.kind === 'patch' ? 'AWS-RunPatchBaseline' : 'AWS-RunShellScript',
        };
      },

      // As the real activity (activities/ssm.ts): a v2 queue's follower tells the requester how its command ended.
      followCommand: async (a) => {
        const final = await follow(a);
        if (a.tell) await requesters.finished(a.request, { kind: 'completed', final });
        return final;
      },

      requestMachineCommand: (req) => commandQueue.requestMachineCommand(req),
      reportMachineDone: (a) => commandQueue.reportMachineDone(a),
      commandQueueState: (a) => commandQueue.commandQueueState(a),

      // Like the real activity: one event per step and plan, started (once) with the step's gate.
      createPipelineRunEvents: async (a) => {
        const run = this.pipelineRuns.get(a.runId);
        if (!run)
          throw ApplicationFailure.nonRetryable(`no pipeline run scripted for ${a.runId}`, 'NotFound');
        const runStart = Date.parse(a.start);
        for (const [i, step] of run.steps.entries()) {
          for (const { eventId, plan } of step.events) {
            const start = runStart + step.offsetMs;
            const input: EventWorkflowInput = {
              eventId,
              customerId: run.customerId,
              planId: `${eventId}-plan`,
              start: new Date(start).toISOString(),
              end: new Date(start + plan.windowMs).toISOString(),
              initialStatus: step.policy === 'approval' ? 'NOT_APPROVED' : 'NEW',
              pipelineId: a.pipelineId,
              pipelineRunId: a.runId,
              step: i,
              gated: i > 0 && step.policy !== 'always',
              origin: 'pipeline',
            };
            try {
              await this.temporal.client.workflow.start('eventWorkflow', {
                workflowId: workflowIds.event(eventId),
                taskQueue: this.temporal.taskQueue,
                args: [input],
                workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              });
            } catch (err) {
              if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
            }
          }
        }
        return run.steps.map((s, i) => ({
          step: i,
          policy: s.policy,
          eventIds: s.events.map((e) => e.eventId),
        }));
      },
    };
    return this.recorded(acts);
  }

  /** Wraps each activity so its calls are recorded with their start and end times. */
  private recorded(acts: StubbedActivities): StubbedActivities {
    const out: Record<string, (arg: Record<string, unknown>) => Promise<unknown>> = {};
    for (const [name, fn] of Object.entries(acts) as [string, (a: unknown) => Promise<unknown>][]) {
      out[name] = async (args) => {
        const call: Call = { name, args, at: Date.now() };
        this.calls.push(call);
        try {
          return await fn(args);
        } finally {
          call.doneAt = Date.now();
        }
      };
    }
    return out as unknown as StubbedActivities;
  }

  private mustEvent(eventId: string): EventState {
    const e = this.events.get(eventId);
    if (!e) throw ApplicationFailure.nonRetryable(`event ${eventId} has no record`, 'NotFound');
    return e;
  }

  private mustPlan(eventId: string): PlanScript {
    const p = this.plans.get(eventId);
    if (!p) throw ApplicationFailure.nonRetryable(`no plan scripted for event ${eventId}`, 'NotFound');
    return p;
  }

  private hookScript(eventId: string, name: string, runNo: number): HookScript {
    return pick(this.mustPlan(eventId).hooks?.[name], runNo) ?? { ok: true };
  }

  private patchScript(eventId: string, machineId: string, runNo: number): PatchScript {
    const m = this.mustPlan(eventId).machines.find((x) => x.id === machineId);
    return pick(m?.patch, runNo) ?? { status: 'SUCCESS' };
  }

  private setMachine(eventId: string, machineId: string, patch: Partial<MachineRecord>): void {
    const m = this.mustEvent(eventId).machines.get(machineId);
    if (!m)
      throw ApplicationFailure.nonRetryable(`machine ${machineId} is not part of ${eventId}`, 'NotFound');
    Object.assign(m, patch);
  }

  /** The event's status from its machines' last runs and the latest run of each global hook (domain rules). */
  private computeStatus(eventId: string): EventStatus {
    const e = this.mustEvent(eventId);
    const latestGlobal = new Map<string, number>();
    for (const h of e.hooks) if (h.machineId === undefined) latestGlobal.set(h.name, h.code);
    const ms = [...e.machines.values()];
    const inputs = {
      machines: ms.map((m) => ({
        status: m.status,
        hostHookFailed: e.hooks.some((h) => h.machineId === m.id && h.code !== 200),
      })),
      globalHookFailed: [...latestGlobal.values()].some((c) => c !== 200),
    };
    e.status = computeEventStatus(inputs);
    e.failureReasons = failureReasons(inputs);
    if (e.status !== 'IN_PROGRESS') e.finishedAt = new Date().toISOString();
    return e.status;
  }
}
