/**
 * An event's preview (docs/behaviour.md#preview), computed on the worker because it calls AWS and the hooks:
 * - targets: a static plan's machines, or a dynamic plan's selectors resolved now with DescribeInstanceInformation
 *   (read only: nothing is registered; the event resolves them again when it starts);
 * - each target's agent: DescribeInstanceInformation by InstanceIds (50 a call, per region and role; a batch SSM
 *   refuses for an unknown ID is asked one by one);
 * - hooks: one dry-run call each (Lambda / Azure: the hook payload with `dry_run: true`, Azure also the header
 *   `x-patchwave-dry-run: true`, 10 s; script hooks: the S3 object is read, nothing runs);
 * - order groups and predicted times from the plan's last finished events (domain/preview.ts).
 * Nothing is written by the preview itself.
 *
 * Approvals (docs/behaviour.md#approve) resolve the same targets, read only: `recordApproval` keeps the set an
 * approval was given on, `checkApprovedTargets` compares it with the set at the window opening.
 */
import { DescribeInstanceInformationCommand, type InstanceInformation } from '@aws-sdk/client-ssm';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Stores } from '../store/stores';
import type { AwsClients } from './aws';
import { instancesByTags } from './ssm-tag-selector';
import type { Config } from '../common/config';
import { createHookCaller } from './hook-calls';
import { hookName, redactSource, type HookDef } from '../domain/hooks';
import { parseS3Uri } from '../domain/patch-command';
import { predictGroups, type EventPreview, type PreviewHook, type PreviewMachine } from '../domain/preview';
import type { Plan } from '../domain/plan';
import { assignWaves } from '../domain/waves';
import {
  DEFAULT_REAPPROVAL_THRESHOLD,
  needsReapproval,
  reapprovalReason,
  targetChange,
  type ApprovalRecord,
} from '../domain/approval';

/** SHA-256 of the sorted, distinct target IDs, first 16 hex digits: names a target set in a line. */
export function targetDigest(keys: readonly string[]): string {
  return createHash('sha256')
    .update([...new Set(keys)].sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
}

/** One call of an activity across its retries (see activities/events.ts callKey): keys its timeline row. */
function callKey(): string {
  const info = Context.current().info;
  return `${info.workflowExecution?.runId ?? '-'}/${info.activityId}`;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;

export const DRY_RUN_HEADER = 'x-patchwave-dry-run';
const HOOK_TIMEOUT_MS = 10_000;
const PAST_EVENTS = 10;

interface Target {
  machine_id?: string;
  name: string;
  ssm_machine_id: string;
  region: string;
  iam_role?: string;
  order: number;
  hooks: HookDef[][];
  /** The machine's metadata (tags), for `wave_by: {tag}`. */
  tags?: { key: string; value: string }[];
}

export function createPreviewActivities(deps: {
  stores: Pick<Stores, 'events' | 'plans' | 'machines'>;
  aws: AwsClients;
  config: Pick<Config, 'PATCHWAVE_HTTP_ALLOWLIST' | 'AWS_REGION'>;
  fetchImpl?: typeof fetch;
}) {
  const { stores, aws } = deps;
  const caller = createHookCaller({ aws, config: deps.config, fetchImpl: deps.fetchImpl });

  async function describe(region: string, role: string | undefined, ids: string[]) {
    const out = new Map<string, InstanceInformation>();
    const ssm = await aws.ssm(region, role);
    const ask = async (batch: string[]) => {
      const r = await ssm.send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'InstanceIds', Values: batch }],
          MaxResults: 50,
        }),
      );
      for (const i of r.InstanceInformationList ?? []) if (i.InstanceId) out.set(i.InstanceId, i);
    };
    for (let i = 0; i < ids.length; i += 50) {
      const batch = ids.slice(i, i + 50);
      try {
        await ask(batch);
      } catch (err) {
        if ((err as Error).name !== 'InvalidInstanceId') throw err;
        // One unknown ID fails the whole batch on AWS: ask each, an unknown one stays unknown.
        for (const id of batch) await ask([id]).catch(() => undefined);
      }
    }
    return out;
  }

  async function dynamicTargets(plan: Plan): Promise<{ targets: Target[]; error?: string }> {
    const found = new Map<string, Target>();
    try {
      for (const sel of plan.dynamic ?? [])
        for (const region of sel.regions) {
          for (const i of await instancesByTags(await aws.ssm(region, sel.iam_role), sel.tags)) {
            if (!i.InstanceId || found.has(i.InstanceId)) continue;
            const known = await stores.machines.findBySsmId(plan.customer_id, i.InstanceId);
            found.set(i.InstanceId, {
              ...(known ? { machine_id: known.id } : {}),
              name: known?.name ?? i.ComputerName ?? i.InstanceId,
              ssm_machine_id: i.InstanceId,
              region,
              ...(sel.iam_role ? { iam_role: sel.iam_role } : {}),
              order: sel.order ?? 0,
              hooks: [sel.pre_host_hooks ?? [], sel.post_host_hooks ?? []],
              ...(known ? { tags: known.metadata } : {}),
            });
          }
        }
    } catch (err) {
      return { targets: [...found.values()], error: `${(err as Error).name}: ${(err as Error).message}` };
    }
    return { targets: [...found.values()] };
  }

  async function staticTargets(plan: Plan): Promise<Target[]> {
    const list = plan.machines ?? [];
    const byId = new Map(
      (
        await stores.machines.getMany(
          plan.customer_id,
          list.map((m) => m.machine_id),
        )
      ).map((m) => [m.id, m]),
    );
    return list.flatMap((pm) => {
      const m = byId.get(pm.machine_id);
      if (!m) return [];
      return [
        {
          machine_id: m.id,
          name: m.name,
          ssm_machine_id: m.access.ssm_machine_id,
          region: m.access.region,
          ...(m.access.iam_role ? { iam_role: m.access.iam_role } : {}),
          order: pm.order ?? 0,
          hooks: [pm.pre_host_hooks ?? [], pm.post_host_hooks ?? []],
          tags: m.metadata,
        },
      ];
    });
  }

  async function dryRun(
    h: HookDef,
    name: string,
    payload: Record<string, unknown>,
    region: string,
    machineId?: string,
  ): Promise<PreviewHook> {
    const t0 = Date.now();
    const base = {
      name,
      type: h.type,
      source: redactSource(h.source),
      ...(machineId ? { machine_id: machineId } : {}),
    };
    const done = (reachable: boolean, message: string, http_status?: number): PreviewHook => ({
      ...base,
      reachable,
      message,
      ...(http_status !== undefined ? { http_status } : {}),
      duration_ms: Date.now() - t0,
    });
    const signal = AbortSignal.timeout(HOOK_TIMEOUT_MS);
    try {
      if (h.type === 'script') {
        const loc = parseS3Uri(h.source);
        if (!loc) return done(false, `${h.source} is not an s3://bucket/key URI`);
        const r = await aws.s3(region).send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), {
          abortSignal: signal,
        });
        await r.Body?.transformToString();
        return done(true, 'the script can be read from S3 (it is not run)');
      }
      const body = JSON.stringify(payload);
      const answer =
        h.type === 'azure'
          ? await caller.callAzure(h, body, signal, { [DRY_RUN_HEADER]: 'true' })
          : await caller.callLambda(h, body, signal);
      if (answer.kind === 'answer')
        return done(true, `answered HTTP ${answer.httpStatus ?? '?'}`, answer.httpStatus);
      if (answer.kind === 'function_error')
        return done(true, `the function ran and failed: ${answer.message}`);
      return done(false, answer.message ?? 'no answer');
    } catch (err) {
      return done(
        false,
        signal.aborted ? `no answer within ${HOOK_TIMEOUT_MS / 1000} s` : (err as Error).message,
      );
    }
  }

  /** The targets an approval compares: SSM managed-node IDs, sorted and distinct (excluded machines count). */
  async function targetKeys(plan: Plan): Promise<{ keys: string[]; error?: string }> {
    const r = plan.dynamic ? await dynamicTargets(plan) : { targets: await staticTargets(plan) };
    return {
      keys: [...new Set(r.targets.map((t) => t.ssm_machine_id))].sort(),
      ...('error' in r && r.error ? { error: r.error } : {}),
    };
  }

  async function eventAndPlan(eventId: string) {
    const e = await stores.events.getEvent(eventId);
    if (!e) throw ApplicationFailure.nonRetryable(`event ${eventId} not found`, 'NotFound');
    return { e, plan: await stores.plans.getById(e.plan_id) };
  }

  return {
    /**
     * An event was approved: record who, when, and the targets it had then (a dynamic plan's selectors
     * resolved now), replacing the previous approval, with a line on the timeline.
     */
    async recordApproval(a: {
      eventId: string;
      by: string;
      via: 'update' | 'signal';
    }): Promise<ApprovalRecord> {
      const { plan } = await eventAndPlan(a.eventId);
      const t = plan ? await targetKeys(plan) : { keys: [], error: 'the plan no longer exists' };
      const threshold = plan?.reapproval_threshold ?? DEFAULT_REAPPROVAL_THRESHOLD;
      const approval: ApprovalRecord = {
        by: a.by,
        at: new Date().toISOString(),
        via: a.via === 'signal' ? 'temporal_signal' : 'api',
        targets: t.keys.length,
        target_digest: targetDigest(t.keys),
        ...(t.error ? { target_error: t.error } : {}),
        reapproval_threshold: threshold,
      };
      await stores.events.recordApproval(a.eventId, approval, t.keys);
      await stores.events.addTimeline(a.eventId, `approval_recorded/${callKey()}`, {
        at: approval.at,
        type: 'approval_recorded',
        message: t.error
          ? `approval by ${a.by} recorded without its targets (${t.error}): the window opening will not compare them`
          : `approval by ${a.by} given on ${t.keys.length} target(s) (digest ${approval.target_digest}); ` +
            `asked again if they change by more than ${pct(threshold)} before the window opens`,
      });
      return approval;
    },

    /**
     * The window opens on an approved event: resolve its targets again and compare them with those of its last
     * approval. More changed than the plan's reapproval_threshold: answers the reason (the workflow makes the
     * event NOT_APPROVED); a smaller change is noted on the timeline and the approval holds. Targets that cannot
     * be resolved (now or at the approval) are not compared: the run meets the same error and says so.
     */
    async checkApprovedTargets(a: {
      eventId: string;
    }): Promise<{ reapprove: boolean; reason?: string; added?: number; removed?: number }> {
      const { plan } = await eventAndPlan(a.eventId);
      const rec = await stores.events.approvalOf(a.eventId);
      if (!plan || !rec || rec.approval.target_error) return { reapprove: false };
      const now = await targetKeys(plan);
      if (now.error) return { reapprove: false };
      const change = targetChange(rec.targets, now.keys);
      const threshold = plan.reapproval_threshold ?? DEFAULT_REAPPROVAL_THRESHOLD;
      const counts = { added: change.added.length, removed: change.removed.length };
      if (needsReapproval(change, threshold))
        return { reapprove: true, reason: reapprovalReason(change, rec.approval, threshold), ...counts };
      if (counts.added + counts.removed > 0)
        await stores.events.addTimeline(a.eventId, `approval_kept/${callKey()}`, {
          at: new Date().toISOString(),
          type: 'approval_kept',
          message:
            `target set changed: +${counts.added} −${counts.removed} machines since approval by ` +
            `${rec.approval.by} at ${rec.approval.at} (${pct(change.share)}, not more than the plan's ` +
            `reapproval_threshold of ${pct(threshold)}): the approval holds`,
        });
      return { reapprove: false, ...counts };
    },

    async previewEvent({ eventId }: { eventId: string }): Promise<EventPreview> {
      const e = await stores.events.getEvent(eventId);
      if (!e) throw ApplicationFailure.nonRetryable(`event ${eventId} not found`, 'NotFound');
      const plan = await stores.plans.getById(e.plan_id);
      if (!plan) throw ApplicationFailure.nonRetryable(`plan ${e.plan_id} no longer exists`, 'NotFound');
      const dyn = plan.dynamic ? await dynamicTargets(plan) : undefined;
      const targets = dyn ? dyn.targets : await staticTargets(plan);
      const excluded = new Set(e.excluded_machine_ids ?? []);
      // Waves (docs/behaviour.md#waves): the order is the wave, cut among the machines not excluded (the event
      // also leaves out machines on hold when it starts).
      if (plan.waves) {
        const key = (t: Target) => t.machine_id ?? t.ssm_machine_id;
        const wave = assignWaves(
          targets
            .filter((t) => !(t.machine_id && excluded.has(t.machine_id)))
            .map((t) => ({ id: key(t), tags: t.tags })),
          plan.waves,
          plan.wave_by,
        );
        for (const t of targets) t.order = wave.get(key(t)) ?? 0;
      }

      // Agents, per region and role.
      const groupsByAccess = new Map<string, Target[]>();
      for (const t of targets) {
        const k = `${t.region}|${t.iam_role ?? ''}`;
        groupsByAccess.set(k, [...(groupsByAccess.get(k) ?? []), t]);
      }
      const infos = new Map<string, InstanceInformation>();
      for (const ts of groupsByAccess.values()) {
        const got = await describe(
          ts[0].region,
          ts[0].iam_role,
          ts.map((t) => t.ssm_machine_id),
        );
        for (const [k, v] of got) infos.set(k, v);
      }
      const machines: PreviewMachine[] = targets
        .map((t) => {
          const i = infos.get(t.ssm_machine_id);
          return {
            ...(t.machine_id ? { machine_id: t.machine_id } : {}),
            name: t.name,
            ssm_machine_id: t.ssm_machine_id,
            order: t.order,
            excluded: t.machine_id ? excluded.has(t.machine_id) : false,
            ping_status: i?.PingStatus ?? 'NotRegistered',
            ...(i?.PlatformType ? { platform_type: i.PlatformType } : {}),
            ...(i?.PlatformName ? { platform_name: i.PlatformName } : {}),
            ...(i?.PlatformVersion ? { platform_version: i.PlatformVersion } : {}),
          };
        })
        .sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));

      // Hooks: the global ones, then each (non-excluded) machine's host hooks, each called once.
      const payload = (ms: PreviewMachine[]) => ({
        event_id: e._id,
        customer_id: e.customer_id,
        dry_run: true,
        machines: ms.map((m) => ({ id: m.machine_id ?? m.ssm_machine_id, status: 'PENDING', name: m.name })),
        hook_outputs: [],
      });
      const region = targets[0]?.region ?? deps.config.AWS_REGION ?? 'us-east-1';
      const hooks: PreviewHook[] = [];
      const kinds = [
        ['pre', plan.pre_hooks],
        ['post', plan.post_hooks],
      ] as const;
      for (const [kind, list] of kinds)
        for (const [i, h] of (list ?? []).entries())
          hooks.push(await dryRun(h, h.name ?? hookName(kind, i), payload(machines), region));
      for (const t of targets) {
        if (t.machine_id && excluded.has(t.machine_id)) continue;
        const me = machines.filter((m) => m.ssm_machine_id === t.ssm_machine_id);
        for (const [k, list] of [
          ['pre_host', t.hooks[0]],
          ['post_host', t.hooks[1]],
        ] as const)
          for (const [i, h] of list.entries())
            hooks.push(
              await dryRun(
                h,
                h.name ?? hookName(k, i),
                payload(me),
                t.region,
                t.machine_id ?? t.ssm_machine_id,
              ),
            );
      }

      // Order groups and predicted times.
      const counts = new Map<number, number>();
      for (const m of machines) if (!m.excluded) counts.set(m.order, (counts.get(m.order) ?? 0) + 1);
      const groups = [...counts.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([order, n]) => ({
          order,
          machines: n,
          ...(plan.waves ? { wave_percent: plan.waves[order] } : {}),
        }));
      const past = await stores.events.recentFinishedTimes(e.customer_id, e.plan_id, PAST_EVENTS);
      const predicted = predictGroups(new Date(e.start), groups, plan.max_concurrency, past);
      const preview: EventPreview = {
        event_id: e._id,
        plan_id: e.plan_id,
        status: e.status,
        operation: e.operation ?? plan.operation ?? 'install',
        computed_at: new Date().toISOString(),
        start: e.start,
        end: e.end,
        targets_re_resolved_at_start: !!plan.dynamic,
        ...(dyn?.error ? { target_error: dyn.error } : {}),
        machines,
        hooks,
        groups: predicted.groups,
        ...(predicted.predicted_end
          ? {
              predicted_end: predicted.predicted_end,
              predicted_overrun: Date.parse(predicted.predicted_end) > Date.parse(e.end),
            }
          : {}),
        prediction: predicted.prediction,
      };
      return preview;
    },
  };
}
