import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import {
  findSent,
  getInvocation,
  invocationFromSteps,
  patchesInstalledBetween,
  sendCommand,
  stepThatRan,
  type InvocationStep,
} from './ssm-calls';
import { hookOfStep, isWithHooksDocument, usesInstallHooks, withHooksCommand } from '../domain/install-hooks';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { MongoError } from 'mongodb';
import type { CommandDoc, SnapshotMachine } from '../store/event-records';
import type { Stores } from '../store/stores';
import type { AwsClients } from './aws';
import type { Config } from '../common/config';
import { ssmCalls, ssmLatency } from '../common/metrics';
import type { CloseWatch, CommandFinal, CommandRequest, CommandStart } from '../workflows/defs';
import type { CommandRequesters } from './command-queue';
import {
  baselineCommand,
  documentCommand,
  scanCommand,
  documentStepName,
  needsExplicitReboot,
  parseS3Uri,
  rebootCommand,
  patchCommandKind,
  scriptCommand,
  type PatchCommandSpec,
  type Platform,
} from '../domain/patch-command';
import { interpretInvocation, isInvocationUnknownError } from '../domain/ssm-status';
import { parsePatchOutput } from '../domain/patch-output';
import { SCRIPT_OUTPUT_MAX_CHARS } from '../domain/hook-result';
import { persistAfterEffect } from './durable';
import { SsmSharedLookups, type CommandEnds } from './command-tracker';
import { SnapshotCache } from './event-snapshots';
import { locateHook, type HookNotices } from './hook-notices';
import { createPingActivities, pingOf } from './pings';
import { hookPayloadFor } from './hook-payloads';
import { payloadWithin } from '../domain/script-hook-payload';

/** What the follower reads of an invocation: GetCommandInvocation's answer, or the steps of a whole one. */
type InvocationAnswer = {
  Status?: string;
  StatusDetails?: string;
  ResponseCode?: number;
  StandardOutputContent?: string;
  StandardErrorContent?: string;
  StandardOutputUrl?: string;
  ExecutionStartDateTime?: string;
  ExecutionEndDateTime?: string;
  steps?: InvocationStep[];
};

/** The lifecycle hook documents a WithHooks command was sent with, by parameter name. */
function hookDocuments(parameters: Record<string, string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PreInstallHookDocName', 'PostInstallHookDocName', 'OnExitHookDocName'])
    if (parameters[k]?.[0]) out[k] = parameters[k][0];
  return out;
}
import { withBaselineOverride, type NodePlatform } from './baseline-override';
import { nodeOperatingSystem } from '../domain/baseline-override';
import { snapshotIdFor } from './snapshot-id';
import { complianceScan, type ScanResult } from './compliance-scan';
import { readCompliance } from './compliance-read';
import { PromotionReader, promotedFilters, withInstallOverrideList } from './promotion';

export interface SsmActivityDeps {
  stores: Pick<Stores, 'events' | 'machines'> & Partial<Pick<Stores, 'compliance' | 'pipelines'>>;
  aws: AwsClients;
  config: Pick<Config, 'SSM_POLL_MIN_MS' | 'SSM_POLL_MAX_MS' | 'SSM_WAIT_POLL_MS' | 'SSM_UNKNOWN_GRACE_MS'> &
    Partial<
      Pick<
        Config,
        'SSM_PING_CACHE_MS' | 'PATCHWAVE_BASELINE_BUCKET' | 'PATCHWAVE_BASELINE_BUCKET_REGION' | 'AWS_REGION'
      >
    >;
  /** Keeps the full command output per event and machine (the patching log). */
  storeCommandLog?: ReturnType<typeof import('./logs').createLogActivities>['storeCommandLog'];
  /** host_hook_start of a script hook, once its command is sent; none when absent (unit tests). */
  hookNotices?: HookNotices;
  /** End notices of the command events queue (event-driven completion); none when it is off. */
  commandEnds?: CommandEnds;
  /** Tells a command's requester (a machine run) how its command ended (v2 command queues). */
  requesters?: CommandRequesters;
}

const MAX_SCRIPT_BYTES = 256 * 1024;
/**
 * Direct GetCommandInvocation calls of close watches, per (region, role) and worker: more commands watched
 * closely at once stretch each one's interval, so the account's SSM call rate stays bounded.
 */
const CLOSE_CALLS_PER_S = 10;
/**
 * After an end notice, how many times SSM is asked again (every SSM_WAIT_POLL_MS) when it still shows the
 * command running: its API may lag the event by a moment (eventual consistency).
 */
const END_NOTICE_RECHECKS = 3;

/** SSM's Comment is ≤ 100 chars; a hash of the request key identifies our command after a lost reply. */
export function commandComment(requestKey: string): string {
  return `patchwave:${createHash('sha256').update(requestKey).digest('hex').slice(0, 40)}`;
}

async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
  const end = ssmLatency.startTimer({ operation: op });
  try {
    const r = await fn();
    ssmCalls.inc({ operation: op, outcome: 'ok' });
    return r;
  } catch (err) {
    const name = (err as Error).name;
    ssmCalls.inc({ operation: op, outcome: /Throttl/i.test(name) ? 'throttled' : 'error' });
    throw err;
  } finally {
    end();
  }
}

/** The machines after `target` in the event's fleet (start order) that share its region and role. */
function nextInFleet(fleet: SnapshotMachine[], target: SnapshotMachine): string[] {
  const out: string[] = [];
  for (let i = fleet.indexOf(target) + 1; i < fleet.length && out.length < 49; i++)
    if (fleet[i].region === target.region && fleet[i].iam_role === target.iam_role)
      out.push(fleet[i].ssm_machine_id);
  return out;
}

export function createSsmActivities({
  stores,
  aws,
  config,
  storeCommandLog,
  hookNotices,
  commandEnds,
  requesters,
}: SsmActivityDeps) {
  const { events: records, machines, compliance } = stores;
  // Pings and "is it still running?" are batched across all machines this worker handles (issue 7).
  const shared = new SsmSharedLookups(
    (region, role) => aws.ssm(region, role),
    call,
    {
      min: config.SSM_POLL_MIN_MS,
      max: config.SSM_POLL_MAX_MS,
    },
    config.SSM_PING_CACHE_MS,
  );
  commandEnds?.subscribe((commandId, instanceId) => shared.commandEnded(commandId, instanceId));
  const snapshots = new SnapshotCache(records);
  const promotions = stores.pipelines ? new PromotionReader(records, stores.pipelines) : undefined;
  /** Commands being watched closely now, per (region, role) (see CLOSE_CALLS_PER_S). */
  const closeWatched = new Map<string, number>();

  async function readScript(uri: string, region: string): Promise<string> {
    const loc = parseS3Uri(uri);
    if (!loc) throw new Error(`${uri} is not an s3://bucket/key URI`);
    // S3's own message ("The specified key does not exist.") does not say which object: name it.
    const r = await aws
      .s3(region)
      .send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), {
        abortSignal: AbortSignal.timeout(30_000),
      })
      .catch((err: Error) => {
        throw new Error(`cannot read ${uri}: ${err.name}: ${err.message}`);
      });
    if ((r.ContentLength ?? 0) > MAX_SCRIPT_BYTES)
      throw new Error(`${uri} is larger than ${MAX_SCRIPT_BYTES} bytes`);
    const body = (await r.Body?.transformToString('utf-8')) ?? '';
    if (!body.trim()) throw new Error(`${uri} is empty`);
    return body;
  }

  /**
   * Builds the SSM command for a request; a failure here makes the machine OMITTED (or the hook fail).
   * `rebootAfter`: a patch command of a reboot_policy ALWAYS machine.
   */
  async function build(
    req: CommandRequest,
    target: SnapshotMachine,
    platform: Platform,
    node: NodePlatform | undefined,
  ): Promise<{ spec: PatchCommandSpec; rebootAfter?: true; scan?: true }> {
    if (req.ref.kind === 'reboot') return { spec: rebootCommand(platform, commandComment(req.requestKey)) };
    const ev = await snapshots.get(req.ref.eventId);
    if (req.ref.kind === 'hook') {
      const name = req.ref.hookName;
      const m = ev?.plan_snapshot?.machines?.find((x) => x.machine_id === req.ref.machineId);
      const hook = [...(m?.pre_host_hooks ?? []), ...(m?.post_host_hooks ?? [])].find((h) => h.name === name);
      if (!hook || hook.type !== 'script')
        throw new Error(`script hook ${name} is not defined for this machine`);
      const script = await readScript(hook.source, target.region);
      // The same payload as Lambda and Azure hooks, as a file the script reads (docs/behaviour.md#hook-payload).
      const json = payloadWithin(
        await hookPayloadFor(records, ev!, req.machineId),
        (j) => Math.ceil(Buffer.byteLength(j) / 3) * 4,
      );
      return { spec: scriptCommand(platform, script, hook.source, Buffer.from(json).toString('base64')) };
    }
    // A scan-only event looks, whatever the machine's patch settings: AWS-RunPatchBaseline Scan installs
    // nothing and never reboots, and it uploads the compliance data the result is read from.
    if (ev?.plan_snapshot?.operation === 'scan') return { spec: scanCommand(), scan: true };
    const m = await machines.getById(req.machineId);
    if (!m) throw new Error(`machine ${req.machineId} no longer exists`);
    const reboot = needsExplicitReboot(m) ? { rebootAfter: true as const } : {};
    switch (patchCommandKind(m)) {
      case 'script':
        return {
          spec: scriptCommand(
            platform,
            await readScript(m.s3_custom_script!, target.region),
            m.s3_custom_script!,
          ),
          ...reboot,
        };
      case 'document':
        return { spec: documentCommand(m.custom_document_arn!, m.custom_document_parameters), ...reboot };
      default: {
        const s3Target = {
          bucket: config.PATCHWAVE_BASELINE_BUCKET,
          s3: () => aws.s3(config.PATCHWAVE_BASELINE_BUCKET_REGION || config.AWS_REGION || target.region),
        };
        const base = usesInstallHooks(m) ? withHooksCommand(m) : baselineCommand(m);
        // A pipeline step's promotion (docs/behaviour.md#promotion): exact_previous_step installs the previous
        // step's manifest (InstallOverrideList); publish_date_cutoff and excluded patches shape the override.
        const promo = ev && promotions ? await promotions.get(ev) : undefined;
        if (promo && usesInstallHooks(m) && (promo.mode !== 'latest' || promo.exclusions.length))
          throw new Error(
            `AWS-RunPatchBaselineWithHooks (install_hooks) takes no InstallOverrideList or BaselineOverride, so the pipeline step's ${promo.mode !== 'latest' ? `promotion ${promo.mode}` : 'excluded patches'} cannot be applied to this machine`,
          );
        if (promo?.mode === 'exact_previous_step')
          return { spec: await withInstallOverrideList(base, m, node, promo, s3Target), ...reboot };
        // The machine's patch filters travel as a BaselineOverride file in S3 (nothing extra without filters).
        const filters = promo ? { id: m.id, ...promotedFilters(m, promo, Date.now()) } : m;
        return { spec: await withBaselineOverride(base, filters, node, s3Target), ...reboot };
      }
    }
  }

  /**
   * What a successful Scan found: COMPLIANT (nothing missing or failed) or NON_COMPLIANT with the counts, read
   * from SSM (activities/compliance-read.ts) and recorded on the event's machine and as the machine's compliance.
   * SSM keeping no patch state for the node after a successful scan is SSM's fault to report, not the node's: the
   * machine is then FAILED with that reason.
   */
  async function scanVerdict(
    request: CommandRequest,
    start: Extract<CommandStart, { kind: 'sent' }>,
    sent: CommandDoc,
    ssm: Awaited<ReturnType<AwsClients['ssm']>>,
    endedAt: string,
  ): Promise<{ status: 'COMPLIANT' | 'NON_COMPLIANT' | 'FAILED'; detail: string }> {
    const reading = await readCompliance(ssm, call, start.ssmMachineId, sent.platform ?? {});
    if (!reading)
      return {
        status: 'FAILED',
        detail: `the scan ended Success but SSM reports no patch state for ${start.ssmMachineId}`,
      };
    const compliant = reading.counts.missing === 0 && reading.counts.failed === 0;
    const status = compliant ? ('COMPLIANT' as const) : ('NON_COMPLIANT' as const);
    const ev = await snapshots.get(request.ref.eventId);
    const target = ev?.plan_snapshot?.machines?.find((x) => x.machine_id === request.machineId);
    // Background end (after the window): the command's record keeps it, the event stays as it stood.
    if (Date.parse(endedAt) <= request.deadlineMs)
      await persistAfterEffect(() =>
        records.updateMachine(request.ref.eventId, request.machineId, {
          compliance: {
            missing_count: reading.counts.missing,
            failed_count: reading.counts.failed,
            installed_pending_reboot_count: reading.counts.installed_pending_reboot,
            scanned_at: reading.scannedAt,
          },
        }),
      );
    if (ev && compliance)
      await persistAfterEffect(() =>
        compliance.record(ev.customer_id, {
          machine_id: request.machineId,
          name: target?.name ?? request.machineId,
          ssm_machine_id: start.ssmMachineId,
          status,
          scanned_at: reading.scannedAt,
          operation: reading.operation,
          ...(reading.baselineId ? { baseline_id: reading.baselineId } : {}),
          ...(reading.snapshotId ? { snapshot_id: reading.snapshotId } : {}),
          event_id: request.ref.eventId,
          plan_id: ev.plan_snapshot?.plan_id ?? '',
          command_id: start.commandId,
          counts: reading.counts,
          missing_by_severity: reading.missingBySeverity,
          missing_by_classification: reading.missingByClassification,
          ...(reading.oldestMissing ? { oldest_missing: reading.oldestMissing } : {}),
          patches: reading.patches,
          ...(reading.truncated ? { patches_truncated: true } : {}),
        }),
      );
    const failed = reading.counts.failed ? `, ${reading.counts.failed} failed` : '';
    return {
      status,
      detail: compliant
        ? 'scan: compliant (no missing patches)'
        : `scan: missing ${reading.counts.missing}${failed}`,
    };
  }

  /** The timeline entries of an AWS-RunPatchBaselineWithHooks run: one per step that ran, hooks named. */
  async function recordInstallSteps(
    request: CommandRequest,
    start: Extract<CommandStart, { kind: 'sent' }>,
    steps: InvocationStep[],
  ): Promise<void> {
    const docs = (await records.getCommand(start.commandId))?.hook_documents ?? {};
    for (const [i, st] of steps.entries()) {
      if (st.skipped || !st.startedAt) continue;
      const hook = hookOfStep(st.name);
      await records.addTimeline(
        request.ref.eventId,
        `install-step/${request.machineId}/${request.ref.runNo}/${i}`,
        {
          at: st.endedAt ?? st.startedAt,
          type: hook ? 'install_hook' : 'install_step',
          machine_id: request.machineId,
          message: hook
            ? `${hook} ${docs[hook] ?? 'AWS-Noop'} (step ${st.name}): ${st.status}`
            : `${start.documentName} step ${st.name}: ${st.status}`,
        },
      );
    }
  }

  const core = {
    ...createPingActivities({ machines, instances: (region, role) => shared.instances(region, role) }),

    /**
     * Resolves, checks and sends the command for one request. Idempotent: the command ID is stored under
     * the request key, and a retry after a lost SendCommand reply finds the command by its Comment.
     */
    async startCommand({ request }: { request: CommandRequest }): Promise<CommandStart> {
      // The request's claim says what an earlier attempt did: sent and recorded (answer that command), or maybe sent
      // (ask SSM before sending). Runs that began before claims existed fall back on the attempt counter and the
      // look-up by request key (a scan on FerretDB; only ever on a retry).
      const claim = await records.claimCommandRequest(request.requestKey);
      const retried = Context.current().info.attempt > 1;
      const existing = claim?.commandId
        ? await records.getCommand(claim.commandId)
        : retried || claim
          ? await records.findCommandByRequest(request.requestKey)
          : null;
      const ev = await snapshots.get(request.ref.eventId);
      const target = ev?.plan_snapshot?.machines?.find((x) => x.machine_id === request.machineId);
      if (!ev || !target)
        return {
          kind: 'error',
          reason: `machine ${request.machineId} is not in event ${request.ref.eventId}`,
        };
      const ident = { ssmMachineId: target.ssm_machine_id, region: target.region, iamRole: target.iam_role };
      // A script hook starts when its command is sent (keyed notice: a retry does not repeat it).
      const hookStarted = async () => {
        if (request.ref.kind !== 'hook' || !hookNotices) return;
        const located = locateHook(ev.plan_snapshot, request.ref.hookName, request.machineId);
        if (located)
          await hookNotices.started({
            eventId: request.ref.eventId,
            runNo: request.ref.runNo,
            machineId: request.machineId,
            located,
          });
      };
      if (existing) {
        await hookStarted();
        return {
          kind: 'sent',
          commandId: existing._id,
          documentName: existing.document_name,
          ...(existing.plugin_name ? { pluginName: existing.plugin_name } : {}),
          ...(existing.reboot_after ? { rebootAfter: true as const } : {}),
          ...ident,
        };
      }
      if (Date.now() >= request.deadlineMs)
        return { kind: 'too_late', reason: 'the window ended before the command could be sent' };

      const ssm = await aws.ssm(target.region, target.iam_role);
      // The worker's batched look-up reuses Online answers only: "not online" is always SSM's answer of now.
      const inst = await shared
        .instances(target.region, target.iam_role)
        .get(target.ssm_machine_id, nextInFleet(ev.plan_snapshot?.machines ?? [], target));
      const platform: Platform = inst?.PlatformType === 'Windows' ? 'Windows' : 'Linux';

      let spec: PatchCommandSpec;
      let rebootAfter: true | undefined;
      let scan: true | undefined;
      try {
        ({ spec, rebootAfter, scan } = await build(request, target, platform, inst));
      } catch (err) {
        // Our own store being away is no reason to give the machine up (OMITTED): let the activity retry.
        if (err instanceof MongoError) throw err;
        return { kind: 'unbuildable', reason: `the command could not be built: ${(err as Error).message}` };
      }
      // What the run saw of the agent is the machine's ping status too (written only when it changed).
      const seen = {
        id: request.machineId,
        access: { ssm_machine_id: target.ssm_machine_id, region: target.region },
      };
      await machines.recordPings([pingOf(seen, inst, new Date().toISOString())], { onlyIfChanged: true });
      if (!inst || inst.PingStatus !== 'Online') {
        return {
          kind: 'offline',
          reason: inst
            ? `SSM agent is ${inst.PingStatus ?? 'not online'}`
            : `${target.ssm_machine_id} is not registered with SSM`,
        };
      }

      // Every AWS-RunPatchBaseline(WithHooks) patch command of a run names the run's SnapshotId: its machines
      // patch from one baseline snapshot, and the manifest says which (domain/manifest.ts).
      const snapshotId =
        request.ref.kind === 'patch' && spec.kind === 'baseline' && !scan
          ? snapshotIdFor(request.ref.eventId, request.ref.runNo)
          : undefined;
      if (snapshotId && spec.kind === 'baseline')
        spec = { ...spec, parameters: { ...spec.parameters, SnapshotId: [snapshotId] } };
      const operatingSystem = nodeOperatingSystem(inst.PlatformType, inst.PlatformName, inst.PlatformVersion);
      const pluginName = documentStepName(spec.documentName, inst.PlatformType);
      const overrideUrl = (spec.parameters as Record<string, string[] | undefined>).BaselineOverride?.[0];
      const installList = (spec.parameters as Record<string, string[] | undefined>).InstallOverrideList?.[0];
      const comment = commandComment(request.requestKey);
      const requestedAt = new Date();
      let commandId: string | undefined;
      if (retried || claim) commandId = await findSent(ssm, call, target.ssm_machine_id, comment);
      if (!commandId) {
        commandId = await sendCommand(ssm, call, spec, target.ssm_machine_id, comment);
      }
      const doc: CommandDoc = {
        _id: commandId,
        request_key: request.requestKey,
        customer_id: ev.customer_id,
        machine_id: request.machineId,
        ssm_machine_id: target.ssm_machine_id,
        region: target.region,
        event_id: request.ref.eventId,
        run_no: request.ref.runNo,
        purpose: request.ref.kind,
        ...(request.ref.kind === 'hook' ? { hook_name: request.ref.hookName } : {}),
        document_name: spec.documentName,
        ...(pluginName ? { plugin_name: pluginName } : {}),
        ...(rebootAfter ? { reboot_after: true } : {}),
        ...(scan
          ? {
              scan: true as const,
              platform: { type: inst.PlatformType, name: inst.PlatformName, version: inst.PlatformVersion },
            }
          : {}),
        ...(isWithHooksDocument(spec.documentName) ? { hook_documents: hookDocuments(spec.parameters) } : {}),
        ...(overrideUrl ? { baseline_override: overrideUrl } : {}),
        ...(installList ? { install_override_list: installList } : {}),
        requested_at: requestedAt.toISOString(),
        sent_at: new Date().toISOString(),
      };
      // Sent: from here a store outage must not fail the activity, whose retry could send the command again.
      await persistAfterEffect(() => records.recordCommand(doc));
      await persistAfterEffect(() => records.recordRequestSent(request.requestKey, commandId));
      // The machine's record names its patch command while it runs, so an operator can find it in AWS.
      if (request.ref.kind === 'patch')
        await persistAfterEffect(() =>
          records.updateMachine(request.ref.eventId, request.machineId, {
            command_id: commandId,
            ...(operatingSystem ? { operating_system: operatingSystem } : {}),
            ...(snapshotId ? { snapshot_id: snapshotId } : {}),
          }),
        );
      await hookStarted();
      return {
        kind: 'sent',
        commandId,
        documentName: spec.documentName,
        ...(pluginName ? { pluginName } : {}),
        ...(rebootAfter ? { rebootAfter } : {}),
        ...ident,
      };
    },

    /**
     * Follows a command to its end, heartbeating each poll. Keeps following after the requester's window ended:
     * the machine stays blocked until SSM says the command is over, and the final status lands on the command
     * record. Two paces (docs/workflows.md#command-polling): the worker's shared sweep, whose interval grows with
     * the command's age (SSM_POLL_MIN_MS → SSM_POLL_MAX_MS), and, inside the `closeWatch` stretches (someone
     * waits for the machine, or the requester's window ends), GetCommandInvocation every SSM_WAIT_POLL_MS.
     */
    async followCommand({
      request,
      start,
      closeWatch = [],
    }: {
      request: CommandRequest;
      start: Extract<CommandStart, { kind: 'sent' }>;
      closeWatch?: CloseWatch;
    }): Promise<CommandFinal> {
      const ssm = await aws.ssm(start.region, start.iamRole);
      const isPatch = request.ref.kind === 'patch';
      const sentDoc = await records.getCommand(start.commandId);
      const sentAt = Date.parse(sentDoc?.sent_at ?? new Date().toISOString());
      let interval = config.SSM_POLL_MIN_MS;
      let polls = 0;
      let pluginName = start.pluginName;
      const withHooks = isWithHooksDocument(start.documentName);
      // The worker's shared sweep says when the command leaves "Executing"; only then is it worth one
      // GetCommandInvocation for the whole answer (status, exit code, output).
      const watch = shared
        .tracker(start.region, start.iamRole)
        .watch(start.commandId, start.ssmMachineId, sentAt);
      const cancelled = Context.current().cancellationSignal;
      const closeKey = `${start.region}|${start.iamRole ?? ''}`;
      const closeNow = (t: number) => closeWatch.some((w) => t >= w.fromMs && t < w.untilMs);
      const nextClose = (t: number) =>
        Math.min(Infinity, ...closeWatch.filter((w) => w.fromMs > t).map((w) => w.fromMs));
      let close = false;
      let lastDirectAt = 0;
      // Quick re-asks left after an end notice that SSM's answer did not confirm yet.
      let rechecks = 0;
      const setClose = (on: boolean) => {
        if (on === close) return;
        close = on;
        closeWatched.set(closeKey, (closeWatched.get(closeKey) ?? 0) + (on ? 1 : -1));
      };
      try {
        for (;;) {
          const now = Date.now();
          setClose(closeNow(now) || rechecks > 0);
          if (close) {
            // Someone waits: ask SSM itself, at most every SSM_WAIT_POLL_MS (longer when many are watched), or at
            // once when an end notice arrives.
            const gap = Math.max(
              config.SSM_WAIT_POLL_MS,
              ((closeWatched.get(closeKey) ?? 1) * 1000) / CLOSE_CALLS_PER_S,
            );
            const wait = lastDirectAt + gap - now;
            if (rechecks > 0) rechecks--;
            if (await watch.pause(wait, cancelled)) rechecks = END_NOTICE_RECHECKS;
            Context.current().heartbeat({ polls });
          } else {
            // The sweep, but woken at the start of the next close stretch (e.g. the window end).
            const wakeAt = nextClose(now);
            const wake = new AbortController();
            const timer = Number.isFinite(wakeAt)
              ? setTimeout(() => wake.abort('close watch'), wakeAt - now)
              : undefined;
            let seen: Awaited<ReturnType<typeof watch.next>> | 'woken';
            try {
              seen = await watch.next(
                Math.min(now + interval, wakeAt),
                AbortSignal.any([cancelled, wake.signal]),
              );
            } catch (err) {
              if (cancelled.aborted) throw err;
              seen = 'woken';
            } finally {
              clearTimeout(timer);
            }
            interval = Math.min(config.SSM_POLL_MAX_MS, Math.round(interval * 1.5));
            Context.current().heartbeat({ polls });
            if (seen === 'executing' || seen === 'woken') continue;
            if (seen === 'ended') rechecks = END_NOTICE_RECHECKS;
          }
          lastDirectAt = Date.now();
          polls++;
          try {
            // AWS-RunPatchBaselineWithHooks is followed as a whole: its own status and every step's output.
            const inv: InvocationAnswer = withHooks
              ? await invocationFromSteps(ssm, call, start.commandId, start.ssmMachineId)
              : await getInvocation(ssm, call, start.commandId, start.ssmMachineId, pluginName).catch(
                  async (err: Error) => {
                    // A multi-step document we do not know the steps of: ask SSM which step ran, once.
                    if (err.name !== 'InvalidPluginName') throw err;
                    pluginName = await stepThatRan(ssm, call, start.commandId, start.ssmMachineId);
                    if (!pluginName) throw err;
                    return getInvocation(ssm, call, start.commandId, start.ssmMachineId, pluginName);
                  },
                );
            const outcome = interpretInvocation(
              {
                Status: inv.Status,
                StatusDetails: inv.StatusDetails,
                ResponseCode: inv.ResponseCode,
                StandardOutputContent: inv.StandardOutputContent,
              },
              { isPatch },
            );
            if (outcome.kind === 'done') {
              const stdout = inv.StandardOutputContent ?? '';
              const endedAt = inv.ExecutionEndDateTime
                ? new Date(inv.ExecutionEndDateTime).toISOString()
                : new Date().toISOString();
              // AWS-RunPatchBaseline: what was installed comes from SSM's patch compliance data, not stdout
              // (its summary counts are cumulative over the node's life). Custom scripts and documents report
              // nothing structured: their stdout's `Installed:` lines are all there is.
              let installed = isPatch ? parsePatchOutput(stdout).installed : undefined;
              // A scan-only run: its result is the node's compliance as the scan uploaded it.
              if (
                isPatch &&
                sentDoc?.scan &&
                (outcome.machineStatus === 'SUCCESS' || outcome.machineStatus === 'SUCCESS_NO_UPDATES')
              ) {
                installed = undefined;
                const verdict = await scanVerdict(request, start, sentDoc, ssm, endedAt);
                outcome.machineStatus = verdict.status;
                outcome.detail = verdict.detail;
              } else if (
                isPatch &&
                (documentStepName(start.documentName, undefined) !== undefined || withHooks) &&
                (outcome.machineStatus === 'SUCCESS' || outcome.machineStatus === 'SUCCESS_NO_UPDATES')
              ) {
                const from = inv.ExecutionStartDateTime ? Date.parse(inv.ExecutionStartDateTime) : sentAt;
                // An override run uploaded no compliance: a Scan without it must first (compliance-scan.ts).
                const scan: ScanResult | undefined = sentDoc?.baseline_override
                  ? Date.now() >= request.deadlineMs
                    ? { ok: false, reason: 'the window ended before the compliance scan' }
                    : await complianceScan(
                        ssm,
                        call,
                        start.ssmMachineId,
                        pluginName,
                        commandComment(`${request.requestKey}:compliance-scan`),
                        {
                          retry: Context.current().info.attempt > 1,
                          pollMinMs: config.SSM_POLL_MIN_MS,
                          pollMaxMs: config.SSM_POLL_MAX_MS,
                          giveUpAtMs: request.deadlineMs,
                          heartbeat: () => Context.current().heartbeat({ polls }),
                          signal: Context.current().cancellationSignal,
                        },
                      )
                  : undefined;
                if (scan?.commandId)
                  await persistAfterEffect(() =>
                    records.finishCommand(start.commandId, { compliance_scan_command_id: scan.commandId }),
                  );
                const result =
                  scan && !scan.ok
                    ? undefined
                    : await patchesInstalledBetween(
                        ssm,
                        call,
                        start.ssmMachineId,
                        from,
                        Date.parse(endedAt),
                        // Patches an InstallOverrideList installed that the node's baseline does not approve
                        // are reported InstalledOther.
                        scan || sentDoc?.install_override_list
                          ? ['Installed', 'InstalledPendingReboot', 'InstalledOther']
                          : undefined,
                      );
                if (!result) {
                  // Installed with the operator's filters, but what exactly is unknown: still a success.
                  installed = undefined;
                  outcome.machineStatus = 'SUCCESS';
                  outcome.detail = `SSM ${outcome.ssmStatus} (BaselineOverride); installed patches unknown: ${scan && !scan.ok ? scan.reason : ''}`;
                } else {
                  installed = result.patches.map((p) => p.title);
                  outcome.machineStatus = installed.length ? 'SUCCESS' : 'SUCCESS_NO_UPDATES';
                  outcome.detail = installed.length
                    ? `SSM ${outcome.ssmStatus}: ${installed.length} patch(es) installed`
                    : `SSM ${outcome.ssmStatus}: no updates were installed`;
                }
                // A command that ended (by SSM's clock) after its requester's window ended, in the background,
                // leaves the event as it stood at the window end (behaviour.md: one machine); its result stays on
                // the command record.
                if (result && Date.parse(endedAt) <= request.deadlineMs)
                  await persistAfterEffect(() =>
                    records.updateMachine(request.ref.eventId, request.machineId, {
                      patches: result.patches.slice(0, 500),
                      reboot_required: result.rebootRequired,
                      rebooted: result.rebooted,
                      patched_at: endedAt,
                    }),
                  );
              }
              const ok =
                outcome.machineStatus === 'SUCCESS' || outcome.machineStatus === 'SUCCESS_NO_UPDATES';
              // Seed 002: each step of AWS-RunPatchBaselineWithHooks that ran goes on the event's timeline, the
              // lifecycle hooks with their documents, so an operator sees them in order.
              if (withHooks && inv.steps && Date.parse(endedAt) < request.deadlineMs) {
                const steps = inv.steps;
                await persistAfterEffect(() => recordInstallSteps(request, start, steps));
              }
              // The explicit reboot of a reboot_policy ALWAYS machine came back: the machine has rebooted (by
              // our command; SSM's compliance data says "pending reboot" until the next scan, so it is not asked).
              if (request.ref.kind === 'reboot' && ok && Date.parse(endedAt) < request.deadlineMs)
                await persistAfterEffect(async () => {
                  await records.updateMachine(request.ref.eventId, request.machineId, {
                    rebooted: true,
                    reboot_required: false,
                  });
                  await records.addTimeline(
                    request.ref.eventId,
                    `reboot/${request.machineId}/${request.ref.runNo}`,
                    {
                      at: endedAt,
                      type: 'machine_rebooted',
                      machine_id: request.machineId,
                      message: `rebooted by command ${start.commandId} (reboot_policy ALWAYS)`,
                    },
                  );
                });
              await records.finishCommand(start.commandId, {
                ended_at: endedAt,
                ssm_status: inv.Status,
                ssm_status_details: inv.StatusDetails,
                ...(inv.ResponseCode !== undefined ? { response_code: inv.ResponseCode } : {}),
                // By SSM's clock, as the requester decides TIMED_OUT (docs/behaviour.md#window-end).
                finished_in_background: Date.parse(endedAt) > request.deadlineMs,
                stdout: stdout.slice(0, SCRIPT_OUTPUT_MAX_CHARS),
                stderr: (inv.StandardErrorContent ?? '').slice(0, SCRIPT_OUTPUT_MAX_CHARS),
                ...(inv.StandardOutputUrl ? { output_url: inv.StandardOutputUrl } : {}),
              });
              // The log is read back per tenant: record whose event it belongs to. Without its event
              // (gone from the store) nobody could read the log, so none is written.
              const owner = (await snapshots.get(request.ref.eventId))?.customer_id;
              if (owner)
                await storeCommandLog?.({
                  customer_id: owner,
                  event_id: request.ref.eventId,
                  machine_id: request.machineId,
                  run_no: request.ref.runNo,
                  command_id: start.commandId,
                  document_name: start.documentName,
                  stdout,
                  stderr: inv.StandardErrorContent ?? '',
                  status: inv.Status ?? 'Unknown',
                  ...(inv.StandardOutputUrl ? { output_url: inv.StandardOutputUrl } : {}),
                  purpose: request.ref.kind,
                  ...(request.ref.kind === 'hook' ? { hook_name: request.ref.hookName } : {}),
                  ...(inv.ExecutionStartDateTime
                    ? { started_at: new Date(inv.ExecutionStartDateTime).toISOString() }
                    : {}),
                  ended_at: endedAt,
                });
              return {
                commandId: start.commandId,
                ssmStatus: outcome.ssmStatus,
                statusDetails: inv.StatusDetails ?? '',
                ...(inv.ResponseCode !== undefined ? { responseCode: inv.ResponseCode } : {}),
                machineStatus: outcome.machineStatus,
                detail: outcome.detail,
                ...(isPatch
                  ? { installed: installed?.slice(0, 500) }
                  : { stdout: stdout.slice(0, SCRIPT_OUTPUT_MAX_CHARS) }),
                startedAt: inv.ExecutionStartDateTime
                  ? new Date(inv.ExecutionStartDateTime).toISOString()
                  : new Date(sentAt).toISOString(),
                endedAt,
                ...(start.rebootAfter && isPatch && ok ? { rebootAfter: true as const } : {}),
              };
            }
          } catch (err) {
            const name = (err as Error).name;
            if (name === 'InvalidCommandId' || name === 'InvalidInstanceId') {
              const endedAt = new Date().toISOString();
              await records.finishCommand(start.commandId, { ended_at: endedAt, ssm_status: name });
              return {
                commandId: start.commandId,
                ssmStatus: name,
                statusDetails: name,
                machineStatus: 'NOT_AVAILABLE',
                detail: `SSM answered ${name} for command ${start.commandId} on ${start.ssmMachineId}`,
                startedAt: new Date(sentAt).toISOString(),
                endedAt,
              };
            }
            // Right after SendCommand, SSM may not know the invocation yet: that is normal, keep following.
            if (!isInvocationUnknownError(name)) throw err;
            if (Date.now() - sentAt > config.SSM_UNKNOWN_GRACE_MS) {
              const endedAt = new Date().toISOString();
              await records.finishCommand(start.commandId, { ended_at: endedAt, ssm_status: 'Unknown' });
              return {
                commandId: start.commandId,
                ssmStatus: 'Unknown',
                statusDetails: 'InvocationDoesNotExist',
                machineStatus: 'NOT_AVAILABLE',
                detail: `SSM never reported command ${start.commandId} on ${start.ssmMachineId}`,
                startedAt: new Date(sentAt).toISOString(),
                endedAt,
              };
            }
          }
        }
      } finally {
        setClose(false);
        watch.close();
      }
    },
  };

  return {
    ...core,

    /**
     * `tell`: this activity tells the requester itself how its command ended (v2 command queues): a signal sent by an
     * activity costs the queue no history events and no workflow task, where the workflow's own signal costs two
     * events and a task (issue 18). A retry tells again; the requester takes the first answer.
     */
    async followCommand(
      a: Parameters<typeof core.followCommand>[0] & { tell?: true },
    ): Promise<CommandFinal> {
      const final = await core.followCommand(a);
      if (a.tell && requesters) await requesters.finished(a.request, { kind: 'completed', final });
      return final;
    },
  };
}
