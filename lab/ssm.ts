import { randomUUID } from 'node:crypto';
import { AwsError } from './http';
import {
  executionTimeoutSeconds,
  isPatchDocument,
  outputFolder,
  pluginNameFor,
  isWithHooks,
  patchOperation,
  rebootAllowed,
  SCRIPT_REBOOT_S,
  WITH_HOOKS_STEPS,
  scriptRequestsReboot,
  type DocumentDef,
} from './documents';
import { invocationOutput } from './invocation-output';
import { withHooksSteps } from './with-hooks';
import { labOperatingSystem, resolveBaselineOverride, type OverrideUse } from './baseline-override';
import { decidePatches } from './patch-approval';
import { labPatch } from './patch-catalog';
import { applyInstallOverrideList, resolveInstallOverrideList } from './install-override-list';
import {
  commandStatus,
  viewInvocation,
  type CommandRecord,
  type Invocation,
  type InvocationView,
} from './invocation';
import {
  finishedPatchRuns,
  installedPatches,
  missingPatches,
  type MissingRecord,
  type PatchRecord,
} from './patches';
import { DELIVERY_S, CANCEL_S, type LabState, type MachineState } from './state';
import type { CommandEntry, MachineBehaviour } from './schemas';
import { applyTags, overTagLimit, tagProblem } from './tags';

/**
 * SSM operations over AWS JSON 1.1. Input is the parsed request body; output is the response object. Dates in
 * timestamp members are epoch seconds (numbers); GetCommandInvocation's Execution*DateTime are ISO strings, as AWS
 * sends them.
 */

type Json = Record<string, unknown>;

const STDOUT_CAP = 24_000;
const STDERR_CAP = 8_000;
const PLUGIN_OUTPUT_CAP = 2_500;
const INVOCATION_STATUSES = [
  'Pending',
  'InProgress',
  'Delayed',
  'Success',
  'Cancelled',
  'TimedOut',
  'Failed',
  'Cancelling',
];
const PING_STATUSES = ['Online', 'ConnectionLost', 'Inactive'];

const secs = (ms: number): number => ms / 1000;

function validation(message: string): AwsError {
  return new AwsError('ValidationException', 400, message);
}

function str(input: Json, key: string, required: boolean): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required)
      throw validation(
        `1 validation error detected: Value null at '${lower(key)}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof v !== 'string') throw new AwsError('SerializationException', 400, `${key} must be a string`);
  return v;
}

function lower(key: string): string {
  return key[0].toLowerCase() + key.slice(1);
}

function stringList(input: Json, key: string): string[] | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new AwsError('SerializationException', 400, `${key} must be a list of strings`);
  }
  return v as string[];
}

function commandId(input: Json, required: boolean): string | undefined {
  const id = str(input, 'CommandId', required);
  if (id !== undefined && id.length !== 36) {
    throw validation(
      `1 validation error detected: Value '${id}' at 'commandId' failed to satisfy constraint: Member must have length ${id.length < 36 ? 'greater' : 'less'} than or equal to 36`,
    );
  }
  return id;
}

function maxResults(input: Json, min: number, max: number, dflt: number): number {
  const v = input.MaxResults;
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw validation(
      `1 validation error detected: Value '${String(v)}' at 'maxResults' failed to satisfy constraint: Member must have value ${typeof v === 'number' && v < min ? 'greater' : 'less'} than or equal to ${typeof v === 'number' && v < min ? min : max}`,
    );
  }
  return v;
}

function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

function decodeToken<T>(input: Json, check: (v: unknown) => v is T): T | undefined {
  const raw = input.NextToken;
  if (raw === undefined || raw === null || raw === '') return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(String(raw), 'base64').toString('utf8'));
    if (check(v)) return v;
  } catch {
    // fall through
  }
  throw new AwsError('InvalidNextToken', 400, 'The specified token isn\u2019t valid.');
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every(isNumber);

function isoDuration(ms: number): string {
  const total = Math.max(0, ms) / 1000;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total - h * 3600 - m * 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s.toFixed(3)}S`;
}

function cap(text: string, n: number): string {
  return text.length > n ? text.slice(0, n) : text;
}

export class SsmService {
  constructor(private readonly state: LabState) {}

  handle(op: string, input: Json): Json {
    switch (op) {
      case 'SendCommand':
        return this.sendCommand(input);
      case 'GetCommandInvocation':
        return this.getCommandInvocation(input);
      case 'ListCommandInvocations':
        return this.listCommandInvocations(input);
      case 'ListCommands':
        return this.listCommands(input);
      case 'CancelCommand':
        return this.cancelCommand(input);
      case 'DescribeInstanceInformation':
        return this.describeInstanceInformation(input);
      case 'DescribeInstancePatches':
        return this.describeInstancePatches(input);
      case 'DescribeInstancePatchStates':
        return this.describeInstancePatchStates(input);
      case 'AddTagsToResource':
        return this.addTagsToResource(input);
      case 'ListTagsForResource':
        return this.listTagsForResource(input);
      case 'DescribeAvailablePatches':
        return this.describeAvailablePatches(input);
      default:
        throw new AwsError(
          'UnknownOperationException',
          400,
          `The fleet lab does not implement AmazonSSM.${op}`,
        );
    }
  }

  // ---- SendCommand ----

  private sendCommand(input: Json): Json {
    const s = this.state;
    const documentName = str(input, 'DocumentName', true) as string;
    const doc = s.documentDef(documentName);
    if (!doc)
      throw new AwsError('InvalidDocument', 400, `Document with name ${documentName} does not exist.`);
    const ids = this.resolveTargets(input);
    if (ids.length === 0) throw new AwsError('InvalidParameters', 400, 'Specify InstanceIds or Targets.');
    if (ids.length > 50) {
      throw validation(
        "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50",
      );
    }
    const unknown = ids.filter((id) => !s.machines.has(id));
    if (unknown.length > 0) {
      throw new AwsError(
        'InvalidInstanceId',
        400,
        `Instances [[${unknown.join(', ')}]] not in a valid state for account 123456789012`,
      );
    }
    const parameters = this.parameters(input.Parameters);
    checkParameters(documentName, doc, parameters);
    const timeoutSeconds = input.TimeoutSeconds ?? 3600;
    if (
      typeof timeoutSeconds !== 'number' ||
      !Number.isInteger(timeoutSeconds) ||
      timeoutSeconds < 30 ||
      timeoutSeconds > 2_592_000
    ) {
      throw validation(
        `1 validation error detected: Value '${String(timeoutSeconds)}' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000`,
      );
    }
    const now = s.now();
    const execTimeout = executionTimeoutSeconds(documentName, parameters);
    const bucket = str(input, 'OutputS3BucketName', false) ?? '';
    const cmd: CommandRecord = {
      id: randomUUID(),
      seq: s.nextCommandSeq(),
      documentName,
      doc,
      documentVersion: str(input, 'DocumentVersion', false) ?? '$DEFAULT',
      parameters,
      comment: str(input, 'Comment', false) ?? '',
      timeoutSeconds,
      outputBucket: bucket,
      outputPrefix: (str(input, 'OutputS3KeyPrefix', false) ?? '').replace(/\/+$/, ''),
      outputRegion: str(input, 'OutputS3Region', false) ?? 'us-east-1',
      maxConcurrency: str(input, 'MaxConcurrency', false) ?? '50',
      maxErrors: str(input, 'MaxErrors', false) ?? '0',
      targets: Array.isArray(input.Targets) ? (input.Targets as CommandRecord['targets']) : [],
      serviceRole: str(input, 'ServiceRoleArn', false) ?? '',
      requestedAt: now,
      expiresAt: now + s.labMs(timeoutSeconds + execTimeout),
      cancelRequestedAt: null,
      visibleAt: now + s.labMs(s.faults.unknown_after_send_s),
      invocations: [],
    };
    for (const id of ids) {
      const inv = this.newInvocation(cmd, s.machines.get(id) as MachineState, now, execTimeout);
      cmd.invocations.push(inv);
      if (bucket) {
        s.bucket(bucket);
        for (const stream of ['stdout', 'stderr'] as const) {
          s.pendingOutputs.set(`${bucket}\n${this.outputKey(inv, stream)}`, { inv, stream });
        }
      }
    }
    s.commands.set(cmd.id, cmd);
    s.commandList.push(cmd);
    return { Command: this.commandJson(cmd, now, Array.isArray(input.InstanceIds) ? ids : []) };
  }

  private isVisible(cmd: CommandRecord, now: number): boolean {
    return now >= cmd.visibleAt;
  }

  private resolveTargets(input: Json): string[] {
    const ids = stringList(input, 'InstanceIds');
    if (ids && ids.length > 0) return [...new Set(ids)];
    const targets = input.Targets;
    if (!Array.isArray(targets) || targets.length === 0) return [];
    let selected: string[] | undefined;
    for (const t of targets as { Key?: string; Values?: string[] }[]) {
      const key = t?.Key ?? '';
      const values = Array.isArray(t?.Values) ? t.Values : [];
      let match: string[];
      if (key === 'InstanceIds') match = values;
      else if (key.startsWith('tag:')) {
        const tag = key.slice(4);
        match = [...this.state.machines.values()]
          .filter((m) => values.includes(m.behaviour.tags[tag]))
          .map((m) => m.id);
      } else if (key === 'tag-key') {
        match = [...this.state.machines.values()]
          .filter((m) => values.some((k) => k in m.behaviour.tags))
          .map((m) => m.id);
      } else throw new AwsError('InvalidTarget', 400, `Target key ${key} is not supported by the fleet lab.`);
      selected = selected === undefined ? match : selected.filter((id) => match.includes(id));
    }
    return [...new Set(selected ?? [])];
  }

  private parameters(raw: unknown): Record<string, string[]> {
    if (raw === undefined || raw === null) return {};
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new AwsError('InvalidParameters', 400, 'Parameters must be a map.');
    const out: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(raw as Json)) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        throw new AwsError('InvalidParameters', 400, `Parameter ${k} must be a list of strings.`);
      }
      out[k] = v as string[];
    }
    return out;
  }

  private newInvocation(cmd: CommandRecord, m: MachineState, now: number, execTimeout: number): Invocation {
    const s = this.state;
    const b = m.behaviour;
    let entry = b.commands[Math.min(m.cursor, b.commands.length - 1)];
    m.cursor++;
    // AWS-RunPatchBaselineWithHooks whose hook document does not exist: that aws:runDocument step fails at run time
    // and the invocation ends Failed (SSM checks nested documents when the step runs, not at SendCommand).
    const failedHook = this.unknownHook(cmd);
    if (failedHook) entry = { ...entry, outcome: 'failed' };
    // AWS-RunPatchBaseline downloads its BaselineOverride when it runs; a file it cannot read or parse fails the run.
    const overrideUrl = isPatchDocument(cmd.documentName) ? cmd.parameters.BaselineOverride?.[0] : undefined;
    const override = overrideUrl
      ? resolveBaselineOverride(
          (bucket, key) => s.getObject(bucket, key),
          overrideUrl,
          labOperatingSystem(b.platform, b.platform_name),
        )
      : undefined;
    if (override && !override.problems.length && override.baseline)
      entry = applyBaseline(entry, override, b, now);
    if (override?.problems.length)
      entry = {
        ...entry,
        duration_s: Math.min(entry.duration_s, 1),
        outcome: 'failed',
        installed: [],
        reboot_s: undefined,
        stderr: `Invalid BaselineOverride ${override.url}: ${override.problems.join('; ')}\n`,
      };
    // An InstallOverrideList: the run installs only the offered packages the list names (a bad file fails it).
    const listUrl = isPatchDocument(cmd.documentName) ? cmd.parameters.InstallOverrideList?.[0] : undefined;
    const installList = listUrl
      ? resolveInstallOverrideList((bucket, key) => s.getObject(bucket, key), listUrl)
      : undefined;
    if (installList?.problems.length)
      entry = {
        ...entry,
        duration_s: Math.min(entry.duration_s, 1),
        outcome: 'failed',
        installed: [],
        reboot_s: undefined,
        stderr: `Invalid InstallOverrideList ${installList.url}: ${installList.problems.join('; ')}\n`,
      };
    else if (installList?.patches && patchOperation(cmd.parameters) === 'Install') {
      const installed = applyInstallOverrideList(entry.installed, installList.patches, (pkg) =>
        labPatch(b, labOperatingSystem(b.platform, b.platform_name), pkg, now),
      );
      entry = { ...entry, installed, ...(installed.length ? {} : { outcome: 'no_updates' as const }) };
    }
    const inv: Invocation = {
      command: cmd,
      position: cmd.invocations.length,
      machineId: m.id,
      siblings: m.invocations,
      computerName: s.computerName(m),
      platform: b.platform,
      entry,
      pluginName: pluginNameFor(cmd.doc, b.platform),
      deliverAt: null,
      undeliveredAt: 0,
      undeliveredAs: b.offline_result,
      naturalEnd: null,
      timeoutAt: 0,
      rebootStart: null,
      rebootEnd: null,
      cancelAt: null,
      cancelDoneAt: null,
      ...(failedHook ? { failedHook } : {}),
      ...(override ? { baselineOverride: override } : {}),
      ...(installList ? { installOverrideList: installList } : {}),
    };
    if (!b.online) {
      inv.undeliveredAt =
        now + (b.offline_result === 'Undeliverable' ? s.labMs(DELIVERY_S) : s.labMs(cmd.timeoutSeconds));
    } else {
      // A machine that is rebooting picks the command up when it is back.
      const deliverAt = Math.max(now + s.labMs(DELIVERY_S), s.rebootingUntil(m, now) ?? 0);
      inv.deliverAt = deliverAt;
      inv.timeoutAt = deliverAt + s.labMs(execTimeout);
      if (entry.outcome !== 'hang') {
        const workEnd = deliverAt + s.labMs(entry.duration_s);
        inv.naturalEnd = workEnd;
        // A script that exits 194 / 3010 reboots the node (unless it failed before getting there).
        const scriptReboot =
          entry.outcome !== 'failed' && scriptRequestsReboot(cmd.documentName, cmd.parameters, b.platform);
        const rebootS = scriptReboot ? (entry.reboot_s ?? SCRIPT_REBOOT_S) : (entry.reboot_s ?? 0);
        if (rebootS > 0 && (scriptReboot || rebootAllowed(cmd.documentName, cmd.parameters))) {
          inv.rebootStart = workEnd;
          inv.rebootEnd = workEnd + s.labMs(rebootS);
          inv.naturalEnd = inv.rebootEnd;
          m.reboots.push(inv);
        }
      }
    }
    m.invocations.push(inv);
    return inv;
  }

  private unknownHook(cmd: CommandRecord): Invocation['failedHook'] {
    if (!isWithHooks(cmd.documentName) || patchOperation(cmd.parameters) !== 'Install') return undefined;
    for (const st of WITH_HOOKS_STEPS) {
      const name = st.hook ? cmd.parameters[st.hook]?.[0] : undefined;
      if (st.hook && name && !this.state.documentDef(name)) return st.hook;
    }
    return undefined;
  }

  /** One step of an AWS-RunPatchBaselineWithHooks invocation, as GetCommandInvocation answers for it. */
  private withHooksStep(inv: Invocation, name: string, now: number): Json {
    const v = viewInvocation(inv, now);
    const out = v.terminal ? invocationOutput(inv, v) : { stdout: '', stderr: '' };
    const st = withHooksSteps(inv, v, out.stdout).find((x) => x.name === name)!;
    const iso = (t: number | null) => (t === null ? '' : new Date(t).toISOString());
    return {
      CommandId: inv.command.id,
      InstanceId: inv.machineId,
      Comment: inv.command.comment,
      DocumentName: inv.command.documentName,
      DocumentVersion: inv.command.documentVersion,
      PluginName: name,
      ResponseCode: st.responseCode,
      ExecutionStartDateTime: iso(st.startedAt),
      ExecutionElapsedTime: st.startedAt === null ? '' : isoDuration((st.endedAt ?? now) - st.startedAt),
      ExecutionEndDateTime: iso(st.endedAt),
      Status: st.status,
      StatusDetails: st.details,
      StandardOutputContent: cap(st.output, STDOUT_CAP),
      StandardOutputUrl: '',
      StandardErrorContent: st.name === 'InstallWithNoReboot' ? cap(out.stderr, STDERR_CAP) : '',
      StandardErrorUrl: '',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  private outputKey(inv: Invocation, stream: 'stdout' | 'stderr'): string {
    const cmd = inv.command;
    const parts = [
      cmd.outputPrefix,
      cmd.id,
      inv.machineId,
      outputFolder(cmd.documentName, inv.platform, inv.pluginName),
      stream,
    ];
    return parts.filter((p) => p !== '').join('/');
  }

  private outputUrl(inv: Invocation, stream: 'stdout' | 'stderr'): string {
    const cmd = inv.command;
    if (!cmd.outputBucket) return '';
    return `https://s3.${cmd.outputRegion}.amazonaws.com/${cmd.outputBucket}/${this.outputKey(inv, stream)}`;
  }

  private commandJson(cmd: CommandRecord, now: number, instanceIds?: string[]): Json {
    const st = commandStatus(cmd, now);
    return {
      CommandId: cmd.id,
      DocumentName: cmd.documentName,
      DocumentVersion: cmd.documentVersion,
      Comment: cmd.comment,
      ExpiresAfter: secs(cmd.expiresAt),
      Parameters: cmd.parameters,
      InstanceIds: instanceIds ?? (cmd.targets.length ? [] : cmd.invocations.map((i) => i.machineId)),
      Targets: cmd.targets,
      RequestedDateTime: secs(cmd.requestedAt),
      Status: st.status,
      StatusDetails: st.details,
      OutputS3Region: cmd.outputRegion,
      OutputS3BucketName: cmd.outputBucket,
      OutputS3KeyPrefix: cmd.outputPrefix,
      MaxConcurrency: cmd.maxConcurrency,
      MaxErrors: cmd.maxErrors,
      TargetCount: cmd.invocations.length,
      CompletedCount: st.completed,
      ErrorCount: st.errors,
      DeliveryTimedOutCount: st.deliveryTimedOut,
      ServiceRole: cmd.serviceRole,
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
      TimeoutSeconds: cmd.timeoutSeconds,
      // TriggeredAlarms is left out when no alarm is configured: the model's list has a minimum length of 1.
    };
  }

  // ---- GetCommandInvocation ----

  private getCommandInvocation(input: Json): Json {
    const id = commandId(input, true) as string;
    const instanceId = str(input, 'InstanceId', true) as string;
    const pluginName = str(input, 'PluginName', false);
    const now = this.state.now();
    const cmd = this.state.commands.get(id);
    const inv =
      cmd && this.isVisible(cmd, now) ? cmd.invocations.find((i) => i.machineId === instanceId) : undefined;
    if (!inv) throw new AwsError('InvocationDoesNotExist', 400, 'An error occurred (InvocationDoesNotExist)');
    // SSM needs the step of a multi-step document named, and refuses a name the document does not have.
    const steps = inv.command.doc.steps.map((st) => st.name);
    if (pluginName === undefined ? steps.length > 1 : !steps.includes(pluginName)) {
      throw new AwsError(
        'InvalidPluginName',
        400,
        pluginName === undefined
          ? `Document ${inv.command.documentName} has ${steps.length} steps: PluginName is required`
          : `Plugin ${pluginName} is not part of document ${inv.command.documentName}`,
      );
    }
    if (pluginName !== undefined && isWithHooks(inv.command.documentName))
      return this.withHooksStep(inv, pluginName, now);
    if (pluginName !== undefined && pluginName !== inv.pluginName)
      return this.skippedStep(inv, pluginName, now);
    const v = viewInvocation(inv, now);
    const out = v.terminal ? invocationOutput(inv, v) : { stdout: '', stderr: '' };
    return {
      CommandId: inv.command.id,
      InstanceId: inv.machineId,
      Comment: inv.command.comment,
      DocumentName: inv.command.documentName,
      DocumentVersion: inv.command.documentVersion,
      PluginName: inv.pluginName,
      ResponseCode: v.responseCode,
      ExecutionStartDateTime: v.startedAt === null ? '' : new Date(v.startedAt).toISOString(),
      ExecutionElapsedTime: v.startedAt === null ? '' : isoDuration((v.endedAt ?? now) - v.startedAt),
      ExecutionEndDateTime: v.endedAt === null ? '' : new Date(v.endedAt).toISOString(),
      Status: v.status,
      StatusDetails: v.details,
      StandardOutputContent: cap(out.stdout, STDOUT_CAP),
      StandardOutputUrl: this.outputUrl(inv, 'stdout'),
      StandardErrorContent: cap(out.stderr, STDERR_CAP),
      StandardErrorUrl: this.outputUrl(inv, 'stderr'),
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  /** A step whose platform precondition did not hold: SSM reports it Success with a "skipped" output. */
  private skippedStep(inv: Invocation, pluginName: string, now: number): Json {
    const v = viewInvocation(inv, now);
    const at = v.startedAt === null ? '' : new Date(v.startedAt).toISOString();
    return {
      CommandId: inv.command.id,
      InstanceId: inv.machineId,
      Comment: inv.command.comment,
      DocumentName: inv.command.documentName,
      DocumentVersion: inv.command.documentVersion,
      PluginName: pluginName,
      ResponseCode: v.startedAt === null ? -1 : 0,
      ExecutionStartDateTime: at,
      ExecutionElapsedTime: v.startedAt === null ? '' : 'PT0S',
      ExecutionEndDateTime: at,
      Status: v.startedAt === null ? v.status : 'Success',
      StatusDetails: v.startedAt === null ? v.details : 'Success',
      StandardOutputContent: v.startedAt === null ? '' : skippedOutput(pluginName, inv.platform),
      StandardOutputUrl: '',
      StandardErrorContent: '',
      StandardErrorUrl: '',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  // ---- ListCommandInvocations / ListCommands ----

  private filters(
    input: Json,
    forInvocations = false,
  ): ((cmd: CommandRecord, v: { status: string } | null, now: number) => boolean)[] {
    const raw = input.Filters;
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw new AwsError('SerializationException', 400, 'Filters must be a list');
    return raw.map((f: { key?: unknown; value?: unknown }) => {
      const key = f?.key;
      const value = typeof f?.value === 'string' ? f.value : '';
      switch (key) {
        case 'InvokedAfter':
        case 'InvokedBefore': {
          const t = Date.parse(value);
          if (Number.isNaN(t))
            throw new AwsError('InvalidFilterValue', 400, `${value} is not a valid date for ${key}`);
          return key === 'InvokedAfter' ? (cmd) => cmd.requestedAt >= t : (cmd) => cmd.requestedAt <= t;
        }
        case 'Status':
          if (!INVOCATION_STATUSES.includes(value))
            throw new AwsError('InvalidFilterValue', 400, `${value} is not a valid Status`);
          return (cmd, v, now) => (v ?? commandStatus(cmd, now)).status === value;
        case 'DocumentName':
          return (cmd) => cmd.documentName === value;
        case 'ExecutionStage':
          // Documented for ListCommands only; SSM does not take it for invocations.
          if (forInvocations)
            throw new AwsError('InvalidFilterKey', 400, 'ExecutionStage is valid for ListCommands only');
          if (value !== 'Executing' && value !== 'Complete') {
            throw new AwsError('InvalidFilterValue', 400, `${value} is not a valid ExecutionStage`);
          }
          return (cmd, v, now) => {
            const terminal = v
              ? ['Success', 'Cancelled', 'TimedOut', 'Failed'].includes(v.status)
              : commandStatus(cmd, now).completed === cmd.invocations.length;
            return value === 'Complete' ? terminal : !terminal;
          };
        default:
          throw new AwsError('InvalidFilterKey', 400, `${String(key)} is not a valid filter key`);
      }
    });
  }

  private listCommandInvocations(input: Json): Json {
    const s = this.state;
    const id = commandId(input, false);
    const instanceId = str(input, 'InstanceId', false);
    const limit = maxResults(input, 1, 50, 50);
    const after = decodeToken(input, isPair);
    const filters = this.filters(input, true);
    const details = input.Details === true;
    const now = s.now();
    let source: Invocation[];
    if (id) {
      const cmd = s.commands.get(id);
      source = cmd ? cmd.invocations : [];
      if (instanceId) source = source.filter((i) => i.machineId === instanceId);
    } else if (instanceId) {
      source = [...(s.machines.get(instanceId)?.invocations ?? [])].reverse();
    } else {
      source = [];
      for (let i = s.commandList.length - 1; i >= 0; i--) source.push(...s.commandList[i].invocations);
    }
    // Newest command first; within a command, request order. The token is the last (seq, position) returned.
    const keyed = source.map((inv) => ({ inv, key: [inv.command.seq, inv.position] as const }));
    const out: Json[] = [];
    let last: [number, number] | undefined;
    let more = false;
    for (const { inv, key } of keyed) {
      if (after && (key[0] > after[0] || (key[0] === after[0] && key[1] <= after[1]))) continue;
      if (!this.isVisible(inv.command, now)) continue;
      const v = viewInvocation(inv, now);
      if (!filters.every((f) => f(inv.command, v, now))) continue;
      if (out.length === limit) {
        more = true;
        break;
      }
      out.push(this.invocationJson(inv, v, details));
      last = [key[0], key[1]];
    }
    return { CommandInvocations: out, ...(more && last ? { NextToken: encodeToken(last) } : {}) };
  }

  private invocationJson(inv: Invocation, v: InvocationView, details: boolean): Json {
    const cmd = inv.command;
    const plugins: Json[] = [];
    if (details) {
      const out = v.terminal ? invocationOutput(inv, v) : { stdout: '', stderr: '' };
      const text = out.stdout + (out.stderr ? `\n----------ERROR-------\n${out.stderr}` : '');
      const hookSteps = isWithHooks(cmd.documentName) ? withHooksSteps(inv, v, text) : [];
      for (const st of hookSteps)
        plugins.push({
          Name: st.name,
          Status: st.status,
          StatusDetails: st.details,
          ResponseCode: st.responseCode,
          ...(st.startedAt !== null ? { ResponseStartDateTime: secs(st.startedAt) } : {}),
          ...(st.endedAt !== null ? { ResponseFinishDateTime: secs(st.endedAt) } : {}),
          Output:
            st.output.length > PLUGIN_OUTPUT_CAP
              ? `${st.output.slice(0, PLUGIN_OUTPUT_CAP)}\n---Output truncated---`
              : st.output,
          StandardOutputUrl: '',
          StandardErrorUrl: '',
          OutputS3Region: cmd.outputRegion,
          OutputS3BucketName: cmd.outputBucket,
          OutputS3KeyPrefix: cmd.outputPrefix,
        });
      for (const step of hookSteps.length ? [] : cmd.doc.steps) {
        const ran = step.name === inv.pluginName;
        const output = ran ? text : v.startedAt === null ? '' : skippedOutput(step.name, inv.platform);
        plugins.push({
          Name: step.name,
          Status: ran || v.startedAt === null ? v.status : 'Success',
          StatusDetails: ran || v.startedAt === null ? v.details : 'Success',
          ResponseCode: ran ? v.responseCode : v.startedAt === null ? -1 : 0,
          ...(v.startedAt !== null ? { ResponseStartDateTime: secs(v.startedAt) } : {}),
          ...(ran && v.endedAt !== null ? { ResponseFinishDateTime: secs(v.endedAt) } : {}),
          ...(!ran && v.startedAt !== null ? { ResponseFinishDateTime: secs(v.startedAt) } : {}),
          Output:
            output.length > PLUGIN_OUTPUT_CAP
              ? `${output.slice(0, PLUGIN_OUTPUT_CAP)}\n---Output truncated---`
              : output,
          StandardOutputUrl: ran ? this.outputUrl(inv, 'stdout') : '',
          StandardErrorUrl: ran ? this.outputUrl(inv, 'stderr') : '',
          OutputS3Region: cmd.outputRegion,
          OutputS3BucketName: cmd.outputBucket,
          OutputS3KeyPrefix: cmd.outputPrefix,
        });
      }
    }
    return {
      CommandId: cmd.id,
      InstanceId: inv.machineId,
      InstanceName: inv.computerName,
      Comment: cmd.comment,
      DocumentName: cmd.documentName,
      DocumentVersion: cmd.documentVersion,
      RequestedDateTime: secs(cmd.requestedAt),
      Status: v.status,
      StatusDetails: v.details,
      TraceOutput: '',
      StandardOutputUrl: this.outputUrl(inv, 'stdout'),
      StandardErrorUrl: this.outputUrl(inv, 'stderr'),
      CommandPlugins: plugins,
      ServiceRole: cmd.serviceRole,
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  private listCommands(input: Json): Json {
    const s = this.state;
    const id = commandId(input, false);
    const instanceId = str(input, 'InstanceId', false);
    const limit = maxResults(input, 1, 50, 50);
    const after = decodeToken(input, isNumber);
    const filters = this.filters(input);
    const now = s.now();
    let source: CommandRecord[];
    if (id) {
      const cmd = s.commands.get(id);
      if (!cmd || !this.isVisible(cmd, now))
        throw new AwsError('InvalidCommandId', 400, `Command ${id} does not exist`);
      source = instanceId && !cmd.invocations.some((i) => i.machineId === instanceId) ? [] : [cmd];
    } else if (instanceId) {
      const seen = new Set<CommandRecord>();
      source = [];
      const invs = s.machines.get(instanceId)?.invocations ?? [];
      for (let i = invs.length - 1; i >= 0; i--) {
        if (!seen.has(invs[i].command)) {
          seen.add(invs[i].command);
          source.push(invs[i].command);
        }
      }
    } else {
      source = [];
      for (let i = s.commandList.length - 1; i >= 0; i--) source.push(s.commandList[i]);
    }
    const out: Json[] = [];
    let last: number | undefined;
    let more = false;
    for (const cmd of source) {
      if (after !== undefined && cmd.seq >= after) continue;
      if (!this.isVisible(cmd, now)) continue;
      if (!filters.every((f) => f(cmd, null, now))) continue;
      if (out.length === limit) {
        more = true;
        break;
      }
      out.push(this.commandJson(cmd, now));
      last = cmd.seq;
    }
    return { Commands: out, ...(more && last !== undefined ? { NextToken: encodeToken(last) } : {}) };
  }

  // ---- CancelCommand ----

  private cancelCommand(input: Json): Json {
    const s = this.state;
    const id = commandId(input, true) as string;
    const cmd = s.commands.get(id);
    if (!cmd) throw new AwsError('InvalidCommandId', 400, `Command ${id} does not exist`);
    const only = stringList(input, 'InstanceIds');
    if (only) {
      const missing = only.filter((i) => !cmd.invocations.some((inv) => inv.machineId === i));
      if (missing.length)
        throw new AwsError(
          'InvalidInstanceId',
          400,
          `Instances [[${missing.join(', ')}]] are not part of command ${id}`,
        );
    }
    const now = s.now();
    for (const inv of cmd.invocations) {
      if (only && only.length && !only.includes(inv.machineId)) continue;
      const v = viewInvocation(inv, now);
      if (v.terminal || inv.cancelAt !== null) continue;
      inv.cancelAt = now;
      inv.cancelDoneAt = v.startedAt === null ? now : now + s.labMs(CANCEL_S);
    }
    cmd.cancelRequestedAt ??= now;
    return {};
  }

  // ---- DescribeInstanceInformation ----

  private describeInstanceInformation(input: Json): Json {
    const s = this.state;
    const limit = maxResults(input, 5, 50, 10);
    const start = decodeToken(input, isNumber) ?? 0;
    const predicates: ((m: MachineState, ping: string) => boolean)[] = [];
    const add = (key: string, values: string[]): void => {
      if (key === 'InstanceIds') {
        // One ID SSM does not know fails the whole call (it does not just leave it out).
        const unknown = values.filter((id) => !s.machines.has(id));
        if (unknown.length)
          throw new AwsError(
            'InvalidInstanceId',
            400,
            `The following supplied instance ids are not valid: ${unknown.join(', ')}`,
          );
        predicates.push((m) => values.includes(m.id));
      } else if (key === 'PingStatus') {
        const bad = values.find((v) => !PING_STATUSES.includes(v));
        if (bad)
          throw new AwsError(
            'InvalidInstanceInformationFilterValue',
            400,
            `${bad} is not a valid PingStatus`,
          );
        predicates.push((_m, ping) => values.includes(ping));
      } else if (key === 'PlatformTypes') predicates.push((m) => values.includes(m.behaviour.platform));
      else if (key === 'ResourceType') predicates.push((m) => values.includes(resourceType(m.id)));
      else if (key.startsWith('tag:')) {
        const tag = key.slice(4);
        predicates.push((m) => values.includes(m.behaviour.tags[tag]));
      } else if (key === 'tag-key') predicates.push((m) => values.some((k) => k in m.behaviour.tags));
      else if (
        [
          'AgentVersion',
          'AssociationStatus',
          'IamRole',
          'ActivationIds',
          'SourceIds',
          'SourceTypes',
        ].includes(key)
      ) {
        predicates.push(() => (key === 'AgentVersion' ? values.includes(AGENT_VERSION) : false));
      } else throw new AwsError('InvalidFilterKey', 400, `${key} is not a valid filter key`);
    };
    const legacy = input.InstanceInformationFilterList;
    if (legacy != null && input.Filters != null)
      throw new AwsError(
        'InvalidFilterKey',
        400,
        'InstanceInformationFilterList and Filters cannot be used in the same request',
      );
    if (Array.isArray(legacy)) {
      for (const f of legacy as { key?: string; valueSet?: string[] }[]) {
        if (String(f?.key ?? '').startsWith('tag'))
          throw new AwsError('InvalidFilterKey', 400, `${f?.key} is not a valid filter key`);
        add(String(f?.key ?? ''), Array.isArray(f?.valueSet) ? f.valueSet : []);
      }
    }
    const filters = input.Filters;
    if (Array.isArray(filters)) {
      for (const f of filters as { Key?: string; Values?: string[] }[])
        add(String(f?.Key ?? ''), Array.isArray(f?.Values) ? f.Values : []);
    }
    const now = s.now();
    const ids = s.orderedMachineIds();
    const out: Json[] = [];
    let pos = start;
    for (; pos < ids.length && out.length < limit; pos++) {
      const m = s.machines.get(ids[pos]);
      if (!m) continue;
      const ping = s.pingStatus(m, now);
      if (!predicates.every((p) => p(m, ping.status))) continue;
      out.push(this.instanceJson(m, ping));
    }
    // Like SSM, a token can be returned even if no further page turns out to match.
    return { InstanceInformationList: out, ...(pos < ids.length ? { NextToken: encodeToken(pos) } : {}) };
  }

  // ---- AddTagsToResource / ListTagsForResource (managed nodes only) ----

  /** The managed node a tagging call names: the lab has no other taggable SSM resource. */
  private taggedNode(input: Json): MachineState {
    const type = str(input, 'ResourceType', true) as string;
    const id = str(input, 'ResourceId', true) as string;
    if (!TAGGABLE_TYPES.includes(type))
      throw validation(
        `1 validation error detected: Value '${type}' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [${TAGGABLE_TYPES.join(', ')}]`,
      );
    const m = type === 'ManagedInstance' && id.startsWith('mi-') ? this.state.machines.get(id) : undefined;
    if (!m)
      throw new AwsError(
        'InvalidResourceId',
        400,
        `The resource ID "${id}" is not valid. Verify the ID and try again.`,
      );
    return m;
  }

  private addTagsToResource(input: Json): Json {
    const m = this.taggedNode(input);
    const raw = input.Tags;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > 1000)
      throw validation(
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length between 0 and 1000",
      );
    const tags = raw.map((t) => {
      const key = (t as Json)?.Key;
      const value = (t as Json)?.Value;
      if (typeof key !== 'string' || typeof value !== 'string')
        throw validation(
          "1 validation error detected: Value null at 'tags.member.key' failed to satisfy constraint: Member must not be null",
        );
      const why = tagProblem(key, value);
      if (why) throw validation(`1 validation error detected: ${why}`);
      return { key, value };
    });
    if (overTagLimit(m, tags))
      throw new AwsError(
        'TooManyTagsError',
        400,
        'The Targets parameter includes too many tags. Remove one or more tags and try the command again.',
      );
    applyTags(m, tags);
    return {};
  }

  private listTagsForResource(input: Json): Json {
    const m = this.taggedNode(input);
    return { TagList: Object.entries(m.behaviour.tags).map(([Key, Value]) => ({ Key, Value })) };
  }

  // ---- DescribeInstancePatches / DescribeInstancePatchStates ----

  private describeInstancePatches(input: Json): Json {
    const s = this.state;
    const id = str(input, 'InstanceId', true) as string;
    const limit = maxResults(input, 10, 100, 50);
    const start = decodeToken(input, isNumber) ?? 0;
    const m = s.machines.get(id);
    if (!m) throw new AwsError('InvalidInstanceId', 400, `Instance ${id} is not a valid managed node`);
    const filters = Array.isArray(input.Filters)
      ? (input.Filters as { Key?: string; Values?: string[] }[])
      : [];
    const tests = filters.map((f) => {
      const values = Array.isArray(f.Values) ? f.Values : [];
      switch (f.Key) {
        case 'State': {
          const wanted = values.map((v) => PATCH_STATE_FILTER[v]);
          if (wanted.some((w) => w === undefined))
            throw new AwsError(
              'InvalidFilter',
              400,
              `State filter values must be among ${Object.keys(PATCH_STATE_FILTER).join(', ')}`,
            );
          return (p: ReportedPatch) => wanted.includes(p.State);
        }
        case 'KBId':
          return (p: ReportedPatch) => values.includes(p.KBId);
        case 'Classification':
          return (p: ReportedPatch) => values.includes(p.Classification);
        case 'Severity':
          return (p: ReportedPatch) => values.includes(p.Severity);
        default:
          throw new AwsError('InvalidFilter', 400, `${String(f.Key)} is not a valid filter key`);
      }
    });
    const now = s.now();
    const reported: ReportedPatch[] = [...installedPatches(m, now), ...missingPatches(m, now)];
    const all = reported.filter((p) => tests.every((t) => t(p)));
    const page = all.slice(start, start + limit);
    return {
      // releaseDate is the lab's own bookkeeping (DescribeAvailablePatches answers it), not PatchComplianceData.
      Patches: page.map((p) => {
        const { releaseDate, product, name, ...rest } = p as MissingRecord;
        void releaseDate;
        void product;
        void name;
        return rest;
      }),
      ...(start + limit < all.length ? { NextToken: encodeToken(start + limit) } : {}),
    };
  }

  private describeInstancePatchStates(input: Json): Json {
    const s = this.state;
    const ids = stringList(input, 'InstanceIds');
    if (!ids || ids.length === 0 || ids.length > 50)
      throw validation(
        "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length between 1 and 50",
      );
    const now = s.now();
    const out: Json[] = [];
    for (const id of ids) {
      const m = s.machines.get(id);
      if (!m) continue;
      const runs = finishedPatchRuns(m, now);
      const last = runs.at(-1);
      if (!last) continue;
      const patches = installedPatches(m, now);
      const pending = patches.filter((p) => p.State === 'INSTALLED_PENDING_REBOOT').length;
      const params = last.inv.command.parameters;
      const noRebootInstall = [...runs]
        .reverse()
        .find((r) => r.operation === 'Install' && r.inv.command.parameters.RebootOption?.[0] === 'NoReboot');
      out.push({
        InstanceId: id,
        PatchGroup: m.behaviour.tags['Patch Group'] ?? '',
        BaselineId: m.behaviour.platform === 'Windows' ? 'pb-016fc9f2fbd2c2b50' : 'pb-0e95e07a76b4d4b14',
        SnapshotId: params.SnapshotId?.[0] ?? last.inv.command.id,
        ...(params.InstallOverrideList?.[0] ? { InstallOverrideList: params.InstallOverrideList[0] } : {}),
        InstalledCount: patches.length - pending,
        InstalledOtherCount: 318,
        InstalledPendingRebootCount: pending,
        InstalledRejectedCount: 0,
        MissingCount: missingPatches(m, now).length,
        FailedCount: 0,
        UnreportedNotApplicableCount: 0,
        NotApplicableCount: 412,
        OperationStartTime: secs(last.startedAt),
        OperationEndTime: secs(last.endedAt),
        Operation: last.operation,
        RebootOption: params.RebootOption?.[0] ?? 'RebootIfNeeded',
        ...(noRebootInstall ? { LastNoRebootInstallOperationTime: secs(noRebootInstall.endedAt) } : {}),
      });
    }
    return { InstancePatchStates: out };
  }

  /**
   * DescribeAvailablePatches over the patches the lab's machines lack (their release dates). As AWS documents it:
   * Windows by PATCH_ID / CLASSIFICATION / MSRC_SEVERITY; Linux needs PRODUCT (the lab's Amazon Linux machines
   * are AmazonLinux2023), then NAME / CLASSIFICATION / SEVERITY.
   */
  private describeAvailablePatches(input: Json): Json {
    const s = this.state;
    const limit = maxResults(input, 1, 100, 50);
    const start = decodeToken(input, isNumber) ?? 0;
    const filters = Array.isArray(input.Filters)
      ? (input.Filters as { Key?: string; Values?: string[] }[])
      : [];
    if (filters.length > 5)
      throw validation(
        "1 validation error detected: Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 5",
      );
    const by = new Map(filters.map((f) => [String(f.Key), Array.isArray(f.Values) ? f.Values : []]));
    for (const k of by.keys())
      if (!AVAILABLE_PATCH_FILTERS.has(k))
        throw new AwsError('InvalidFilter', 400, `${k} is not a valid filter key`);
    const product = by.get('PRODUCT');
    const linux = product?.some((p) => p.startsWith('AmazonLinux'));
    if (!linux && (by.has('NAME') || by.has('SEVERITY')))
      throw validation('A PRODUCT filter is required when specifying filters for Linux patches');
    const now = s.now();
    const seen = new Map<string, Json & { ReleaseDate: number }>();
    for (const m of s.machines.values()) {
      const windows = m.behaviour.platform === 'Windows';
      if (linux === windows) continue;
      for (const p of missingPatches(m, now)) {
        if (linux && !product!.includes(p.product)) continue;
        const ok =
          (!by.has('PATCH_ID') || by.get('PATCH_ID')!.includes(p.KBId)) &&
          (!by.has('NAME') || by.get('NAME')!.includes(p.name)) &&
          (!by.has('CLASSIFICATION') || by.get('CLASSIFICATION')!.includes(p.Classification)) &&
          (!by.has('SEVERITY') || by.get('SEVERITY')!.includes(p.Severity)) &&
          (!by.has('MSRC_SEVERITY') || by.get('MSRC_SEVERITY')!.includes(p.Severity));
        if (!ok) continue;
        const id = windows ? p.KBId : `${p.name}.x86_64`;
        const prev = seen.get(id);
        if (prev && prev.ReleaseDate <= p.releaseDate) continue;
        seen.set(
          id,
          windows
            ? {
                Id: p.KBId,
                ReleaseDate: p.releaseDate,
                Title: p.Title,
                Vendor: 'Microsoft',
                ProductFamily: 'Windows',
                Product: p.product,
                Classification: p.Classification,
                MsrcSeverity: p.Severity,
                KbNumber: p.KBId,
                Language: 'All',
                ...(p.CVEIds ? { CVEIds: p.CVEIds.split(',') } : {}),
              }
            : {
                Id: id,
                ReleaseDate: p.releaseDate,
                Title: p.Title,
                Product: p.product,
                Classification: p.Classification,
                Severity: p.Severity,
                Name: p.name,
                Arch: 'x86_64',
                Repository: 'amazonlinux',
                ...(p.CVEIds ? { CVEIds: p.CVEIds.split(',') } : {}),
              },
        );
      }
    }
    const all = [...seen.values()].sort((a, b) => String(a.Id).localeCompare(String(b.Id)));
    return {
      Patches: all.slice(start, start + limit),
      ...(start + limit < all.length ? { NextToken: encodeToken(start + limit) } : {}),
    };
  }

  private instanceJson(m: MachineState, ping: { status: string; lastPing: number }): Json {
    const s = this.state;
    const windows = m.behaviour.platform === 'Windows';
    const managed = m.id.startsWith('mi-');
    return {
      InstanceId: m.id,
      PingStatus: ping.status,
      LastPingDateTime: secs(ping.lastPing),
      AgentVersion: AGENT_VERSION,
      IsLatestVersion: false,
      PlatformType: m.behaviour.platform,
      PlatformName:
        m.behaviour.platform_name ?? (windows ? 'Microsoft Windows Server 2022 Datacenter' : 'Amazon Linux'),
      PlatformVersion: windows ? '10.0.20348' : '2023',
      ResourceType: resourceType(m.id),
      IPAddress: s.ipAddress(m),
      ComputerName: s.computerName(m),
      ...(managed
        ? { Name: m.behaviour.name ?? s.computerName(m), RegistrationDate: secs(m.registeredAt) }
        : {}),
      SourceId: m.id,
      SourceType: managed ? 'AWS::SSM::ManagedInstance' : 'AWS::EC2::Instance',
    };
  }
}

const AGENT_VERSION = '3.3.1142.0';

/** botocore's ResourceTypeForTagging enum. */
const TAGGABLE_TYPES = [
  'Document',
  'ManagedInstance',
  'MaintenanceWindow',
  'Parameter',
  'PatchBaseline',
  'OpsItem',
  'OpsMetadata',
  'Automation',
  'Association',
  'CloudConnector',
];
const AVAILABLE_PATCH_FILTERS = new Set([
  'PATCH_SET',
  'PRODUCT',
  'PRODUCT_FAMILY',
  'CLASSIFICATION',
  'MSRC_SEVERITY',
  'PATCH_ID',
  'NAME',
  'SEVERITY',
]);

/** DescribeInstancePatches' State filter takes CamelCase values; patches carry the upper-case state. */
type ReportedPatch = PatchRecord | MissingRecord;
const PATCH_STATE_FILTER: Record<string, ReportedPatch['State'] | 'OTHER'> = {
  Installed: 'INSTALLED',
  InstalledPendingReboot: 'INSTALLED_PENDING_REBOOT',
  InstalledOther: 'OTHER',
  InstalledRejected: 'OTHER',
  Missing: 'MISSING',
  NotApplicable: 'OTHER',
  Failed: 'OTHER',
};

function skippedOutput(step: string, platform: string): string {
  return `Step execution skipped due to unsatisfied preconditions: '"StringEquals": [platformType, ${platform}]' failed for step ${step}`;
}

/** SendCommand's parameter check against the document, as SSM answers it (InvalidParameters). */
function checkParameters(name: string, doc: DocumentDef, parameters: Record<string, string[]>): void {
  for (const [key, values] of Object.entries(parameters)) {
    const def = doc.parameters[key];
    if (!def)
      throw new AwsError('InvalidParameters', 400, `Parameter "${key}" is not defined in document ${name}.`);
    const bad = def.allowed ? values.find((v) => !def.allowed!.includes(v)) : undefined;
    if (bad !== undefined)
      throw new AwsError(
        'InvalidParameters',
        400,
        `Parameter "${key}" has value "${bad}" not in the allowed values [${def.allowed!.join(', ')}].`,
      );
  }
  for (const [key, def] of Object.entries(doc.parameters))
    if (def.required && !parameters[key]?.length)
      throw new AwsError('InvalidParameters', 400, `Parameter "${key}" is required by document ${name}.`);
  // AWS-RunPatchBaseline takes one of the two overrides, not both.
  if (isPatchDocument(name) && parameters.BaselineOverride?.[0] && parameters.InstallOverrideList?.[0])
    throw new AwsError(
      'InvalidParameters',
      400,
      'BaselineOverride and InstallOverrideList cannot be used together.',
    );
}

/**
 * The run as the override's baseline for the node's OS shapes it: of the packages the entry makes available,
 * only those the baseline approves are installed (or, for a Scan, reported missing); the decisions are kept on
 * the override use for the control API. Nothing approved: nothing to install, so RebootIfNeeded does not reboot.
 */
function applyBaseline(
  entry: CommandEntry,
  use: OverrideUse,
  b: MachineBehaviour,
  now: number,
): CommandEntry {
  const os = use.operating_system as string;
  const available = entry.outcome === 'no_updates' ? [] : entry.installed;
  const decisions = decidePatches(
    use.baseline as Record<string, unknown>,
    available.map((pkg) => labPatch(b, os, pkg, now)),
    os === 'WINDOWS',
    now,
  );
  use.decisions = decisions;
  const approved = decisions.filter((d) => d.approved).map((d) => d.title);
  return { ...entry, installed: approved, ...(approved.length ? {} : { reboot_s: undefined }) };
}

function resourceType(id: string): string {
  return id.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance';
}
