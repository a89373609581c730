import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { MongoError, type Db } from 'mongodb';
import { EventRecords, type CommandDoc, type SnapshotMachine } from '../store/event-records';
import { MachineStore } from '../store/machines';
import type { AwsClients } from './aws';
import type { Config } from '../common/config';
import { ssmCalls, ssmLatency } from '../common/metrics';
import type { CommandFinal, CommandRequest, CommandStart } from '../workflows/defs';
import {
  baselineCommand,
  documentCommand,
  parseS3Uri,
  patchCommandKind,
  scriptCommand,
  type PatchCommandSpec,
  type Platform,
} from '../domain/patch-command';
import { interpretInvocation, isInvocationUnknownError } from '../domain/ssm-status';
import { parsePatchOutput } from '../domain/patch-output';
import { SCRIPT_OUTPUT_MAX_CHARS } from '../domain/hook-result';
import { persistAfterEffect } from './durable';
import { SsmSharedLookups } from './command-tracker';
import { SnapshotCache } from './event-snapshots';

export interface SsmActivityDeps {
  db: Db;
  aws: AwsClients;
  config: Pick<Config, 'SSM_POLL_MIN_MS' | 'SSM_POLL_MAX_MS' | 'SSM_UNKNOWN_GRACE_MS'>;
  /** Keeps the full command output per event and machine (the patching log). */
  storeCommandLog?: ReturnType<typeof import('./logs').createLogActivities>['storeCommandLog'];
}

const MAX_SCRIPT_BYTES = 256 * 1024;

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

export function createSsmActivities({ db, aws, config, storeCommandLog }: SsmActivityDeps) {
  const records = new EventRecords(db);
  const machines = new MachineStore(db);
  // Pings and "is it still running?" are batched across all machines this worker handles (issue 7).
  const shared = new SsmSharedLookups((region, role) => aws.ssm(region, role), call, {
    min: config.SSM_POLL_MIN_MS,
    max: config.SSM_POLL_MAX_MS,
  });
  const snapshots = new SnapshotCache(records);

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

  /** Builds the SSM command for a request; a failure here makes the machine OMITTED (or the hook fail). */
  async function build(
    req: CommandRequest,
    target: SnapshotMachine,
    platform: Platform,
  ): Promise<PatchCommandSpec> {
    const ev = await snapshots.get(req.ref.eventId);
    if (req.ref.kind === 'hook') {
      const name = req.ref.hookName;
      const m = ev?.plan_snapshot?.machines?.find((x) => x.machine_id === req.ref.machineId);
      const hook = [...(m?.pre_host_hooks ?? []), ...(m?.post_host_hooks ?? [])].find((h) => h.name === name);
      if (!hook || hook.type !== 'script')
        throw new Error(`script hook ${name} is not defined for this machine`);
      return scriptCommand(platform, await readScript(hook.source, target.region), hook.source);
    }
    const m = await machines.getById(req.machineId);
    if (!m) throw new Error(`machine ${req.machineId} no longer exists`);
    switch (patchCommandKind(m)) {
      case 'script':
        return scriptCommand(
          platform,
          await readScript(m.s3_custom_script!, target.region),
          m.s3_custom_script!,
        );
      case 'document':
        return documentCommand(m.custom_document_arn!);
      default:
        return baselineCommand(m);
    }
  }

  return {
    /**
     * Resolves, checks and sends the command for one request. Idempotent: the command ID is stored under
     * the request key, and a retry after a lost SendCommand reply finds the command by its Comment.
     */
    async startCommand({ request }: { request: CommandRequest }): Promise<CommandStart> {
      // Only a retry can find its own command; the look-up is not free on every store (not indexed on FerretDB).
      const existing =
        Context.current().info.attempt > 1 ? await records.findCommandByRequest(request.requestKey) : null;
      const ev = await snapshots.get(request.ref.eventId);
      const target = ev?.plan_snapshot?.machines?.find((x) => x.machine_id === request.machineId);
      if (!ev || !target)
        return {
          kind: 'error',
          reason: `machine ${request.machineId} is not in event ${request.ref.eventId}`,
        };
      const ident = { ssmMachineId: target.ssm_machine_id, region: target.region, iamRole: target.iam_role };
      if (existing)
        return { kind: 'sent', commandId: existing._id, documentName: existing.document_name, ...ident };
      if (Date.now() >= request.deadlineMs)
        return { kind: 'too_late', reason: 'the window ended before the command could be sent' };

      const ssm = await aws.ssm(target.region, target.iam_role);
      const inst = await shared
        .instances(target.region, target.iam_role)
        .get(target.ssm_machine_id, nextInFleet(ev.plan_snapshot?.machines ?? [], target));
      const platform: Platform = inst?.PlatformType === 'Windows' ? 'Windows' : 'Linux';

      let spec: PatchCommandSpec;
      try {
        spec = await build(request, target, platform);
      } catch (err) {
        // Our own store being away is no reason to give the machine up (OMITTED): let the activity retry.
        if (err instanceof MongoError) throw err;
        return { kind: 'unbuildable', reason: `the command could not be built: ${(err as Error).message}` };
      }
      if (!inst || inst.PingStatus !== 'Online') {
        return {
          kind: 'offline',
          reason: inst
            ? `SSM agent is ${inst.PingStatus ?? 'not online'}`
            : `${target.ssm_machine_id} is not registered with SSM`,
        };
      }

      const comment = commandComment(request.requestKey);
      const requestedAt = new Date();
      let commandId: string | undefined;
      if (Context.current().info.attempt > 1) commandId = await findSent(ssm, target.ssm_machine_id, comment);
      if (!commandId) {
        const sent = await call('SendCommand', () =>
          ssm.send(
            new SendCommandCommand({
              InstanceIds: [target.ssm_machine_id],
              DocumentName: spec.documentName,
              Parameters: spec.parameters as Record<string, string[]>,
              Comment: comment,
            }),
          ),
        );
        commandId = sent.Command?.CommandId;
        if (!commandId) throw new Error('SendCommand returned no CommandId');
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
        requested_at: requestedAt.toISOString(),
        sent_at: new Date().toISOString(),
      };
      // Sent: from here a store outage must not fail the activity, whose retry could send the command again.
      await persistAfterEffect(() => records.recordCommand(doc));
      // The machine's record names its patch command while it runs, so an operator can find it in AWS.
      if (request.ref.kind === 'patch')
        await persistAfterEffect(() =>
          records.updateMachine(request.ref.eventId, request.machineId, { command_id: commandId }),
        );
      return { kind: 'sent', commandId, documentName: spec.documentName, ...ident };
    },

    /**
     * Follows a command to its end with a growing poll interval (SSM_POLL_MIN_MS → SSM_POLL_MAX_MS),
     * heartbeating each poll. Keeps following after the requester's window ended: the machine stays
     * blocked until SSM says the command is over, and the final status lands on the command record.
     */
    async followCommand({
      request,
      start,
    }: {
      request: CommandRequest;
      start: Extract<CommandStart, { kind: 'sent' }>;
    }): Promise<CommandFinal> {
      const ssm = await aws.ssm(start.region, start.iamRole);
      const isPatch = request.ref.kind === 'patch';
      const sentAt = Date.parse(
        (await records.commands.findOne({ _id: start.commandId }))?.sent_at ?? new Date().toISOString(),
      );
      let interval = config.SSM_POLL_MIN_MS;
      let polls = 0;
      // The worker's shared sweep says when the command leaves "Executing"; only then is it worth one
      // GetCommandInvocation for the whole answer (status, exit code, output).
      const watch = shared
        .tracker(start.region, start.iamRole)
        .watch(start.commandId, start.ssmMachineId, sentAt);
      try {
        for (;;) {
          const seen = await watch.next(Date.now() + interval, Context.current().cancellationSignal);
          interval = Math.min(config.SSM_POLL_MAX_MS, Math.round(interval * 1.5));
          Context.current().heartbeat({ polls });
          if (seen === 'executing') continue;
          polls++;
          try {
            const inv = await call('GetCommandInvocation', () =>
              ssm.send(
                new GetCommandInvocationCommand({
                  CommandId: start.commandId,
                  InstanceId: start.ssmMachineId,
                }),
              ),
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
              const installed = isPatch ? parsePatchOutput(stdout).installed : undefined;
              const endedAt = inv.ExecutionEndDateTime
                ? new Date(inv.ExecutionEndDateTime).toISOString()
                : new Date().toISOString();
              await records.finishCommand(start.commandId, {
                ended_at: endedAt,
                ssm_status: inv.Status,
                ssm_status_details: inv.StatusDetails,
                ...(inv.ResponseCode !== undefined ? { response_code: inv.ResponseCode } : {}),
                finished_in_background: Date.now() >= request.deadlineMs,
                stdout: stdout.slice(0, SCRIPT_OUTPUT_MAX_CHARS),
                stderr: (inv.StandardErrorContent ?? '').slice(0, SCRIPT_OUTPUT_MAX_CHARS),
                ...(inv.StandardOutputUrl ? { output_url: inv.StandardOutputUrl } : {}),
              });
              await storeCommandLog?.({
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
        watch.close();
      }
    },
  };

  async function findSent(ssm: SSMClient, instanceId: string, comment: string): Promise<string | undefined> {
    let token: string | undefined;
    do {
      const r = await call('ListCommands', () =>
        ssm.send(new ListCommandsCommand({ InstanceId: instanceId, MaxResults: 50, NextToken: token })),
      );
      const hit = r.Commands?.find((c) => c.Comment === comment);
      if (hit?.CommandId) return hit.CommandId;
      token = r.NextToken;
    } while (token);
    return undefined;
  }
}
