import { createHash } from 'node:crypto';
import { MonitoringState } from './monitoring';
import { AutoScalingState } from './autoscaling';
import { Elbv2State } from './elbv2';
import { MaintenanceServices } from './maintenance';
import { SqsState } from './sqs';
import { isScriptDocument, scriptFiles } from './script-runner';
import {
  AzureConfig,
  DEFAULT_HOOK_RESPONSE,
  Faults,
  type FaultsInput,
  generatedIds,
  LabFleet,
  LambdaConfig,
  MachineBehaviour,
  type AzureConfigInput,
  type HookResponse,
  type LambdaConfigInput,
  type MachineBehaviourInput,
  type ParsedLabFleet,
} from './schemas';
import { isRebooting, viewInvocation, type CommandRecord, type Invocation } from './invocation';
import { AWS_DOCUMENTS, documentBaseName, type DocumentDef } from './documents';
import { invocationOutput } from './invocation-output';
import { DocumentSpec, type DocumentSpecInput } from './schemas';

/**
 * Everything the lab remembers. All times are real epoch milliseconds; behaviour durations are lab seconds and
 * are converted with `labMs`. Reads are computed from timestamps, so the state only changes on requests.
 */

/** Lab seconds a command waits before the agent picks it up (and before an offline target is declared Undeliverable). */
export const DELIVERY_S = 1;
/** Lab seconds the agent takes to stop a cancelled process. */
export const CANCEL_S = 1;

export interface MachineState {
  id: string;
  index: number;
  behaviour: MachineBehaviour;
  /** Index of the behaviour entry the next command takes. */
  cursor: number;
  invocations: Invocation[];
  /** Invocations whose reboot window has not passed yet. */
  reboots: Invocation[];
  offlineSince: number;
  registeredAt: number;
}

export interface HookFunction {
  code?: string;
  responses: HookResponse[];
  cursor: number;
  invocations: HookInvocation[];
}

export interface HookInvocation {
  method?: string;
  code?: string | null;
  payload: unknown;
  received_at: string;
}

export interface S3Object {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
}

export interface StsCall {
  action: string;
  role_arn?: string;
  role_session_name?: string;
  duration_seconds?: number;
  external_id?: string;
  received_at: string;
}

/**
 * One AWS request the lab answered and its answer, for the contract test. `service` defaults to ssm (AWS JSON:
 * request and response are the parsed bodies); query-protocol services (`ec2`) record the form fields and the
 * XML answer text, REST-XML (`s3`) the method, path, headers and body as text.
 */
export interface SsmExchange {
  service?: string;
  protocol?: string;
  operation: string;
  request: unknown;
  status: number;
  response: unknown;
}

export interface CommandRecordView {
  command_id: string;
  document_name: string;
  parameters: Record<string, string[]>;
  comment: string;
  requested_at: string;
  started_at: string | null;
  ended_at: string | null;
  status: string;
  status_details: string;
  response_code: number;
  plugin_name: string;
  /** Script documents: the files the script wrote, by the variable naming them (lab/script-runner.ts). */
  script_files?: Record<string, string>;
  /** AWS-RunPatchBaseline with a BaselineOverride: the file as the run read it (problems empty = valid). */
  /** AWS-RunPatchBaseline with an InstallOverrideList: the list as the run read it. */
  install_override_list?: { url: string; problems: string[]; patches?: { id: string; title?: string }[] };
  baseline_override?: {
    url: string;
    problems: string[];
    operating_system?: string;
    baseline?: unknown;
    /** What the baseline decided for each package the run had available (only approved ones were installed). */
    decisions?: { title: string; approved: boolean; reason: string }[];
  };
}

export interface Overlap {
  machine_id: string;
  first: { command_id: string; started_at: string; ended_at: string | null };
  second: { command_id: string; started_at: string; ended_at: string | null };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export class LabState {
  readonly speed: number;
  readonly startedAt: number;
  machines = new Map<string, MachineState>();
  commands = new Map<string, CommandRecord>();
  commandList: CommandRecord[] = [];
  lambdas = new Map<string, HookFunction>();
  /** Customer documents (by name); AWS-owned ones come from AWS_DOCUMENTS. */
  documents = new Map<string, DocumentDef>();
  azure = new Map<string, HookFunction>();
  buckets = new Map<string, Map<string, S3Object>>();
  /** "bucket\nkey" → command output SSM will have uploaded once the invocation ends. */
  pendingOutputs = new Map<string, { inv: Invocation; stream: 'stdout' | 'stderr' }>();
  stsCalls: StsCall[] = [];
  /** When an array, every SSM request and its answer are appended (the AWS-model contract test reads them). */
  traffic: SsmExchange[] | null = null;
  calls = new Map<string, number>();
  /** CloudWatch alarms, Alertmanager alerts and HTTP health endpoints that health-gate probes read. */
  readonly monitoring: MonitoringState = new MonitoringState(() => this.now());
  /** Auto Scaling groups' instances and their lifecycle (standby while patched, issue 16 item 7). */
  readonly autoscaling: AutoScalingState = new AutoScalingState(() => this.now());
  /** Load-balancer target groups and their targets' health (out of service while patched, issue 16 item 7). */
  readonly elbv2: Elbv2State = new Elbv2State(() => this.now());
  readonly maintenance: MaintenanceServices = new MaintenanceServices(() => this.now());
  /** SQS queues and the EventBridge-like rule that puts command invocation events on one (lab/sqs.ts). */
  readonly sqs: SqsState = new SqsState(
    () => this.now(),
    () => this.commandList,
  );
  faultCounts = { throttle: 0, error_5xx: 0, reset: 0 };
  faults: Faults = Faults.parse({});
  private machineOrder: string[] | null = null;
  private nextSeq = 1;
  private nextMachineIndex = 1;
  private readonly initialFleet: ParsedLabFleet | undefined;

  private readonly clock: () => number;

  constructor(opts: { speed?: number; fleet?: unknown; now?: () => number } = {}) {
    this.clock = opts.now ?? Date.now;
    this.startedAt = this.clock();
    const speed = opts.speed ?? 1;
    if (!(speed > 0) || !Number.isFinite(speed))
      throw new Error(`speed must be a positive number, got ${speed}`);
    this.speed = speed;
    this.initialFleet = opts.fleet === undefined ? undefined : LabFleet.parse(opts.fleet);
    if (this.initialFleet) this.applyFleet(this.initialFleet);
  }

  now(): number {
    return this.clock();
  }

  /** Real milliseconds for a span of lab seconds. */
  labMs(seconds: number): number {
    return (seconds * 1000) / this.speed;
  }

  count(operation: string): void {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
  }

  // ---- machines ----

  putMachine(id: string, input: MachineBehaviourInput | MachineBehaviour): MachineState {
    return this.setMachine(id, MachineBehaviour.parse(input));
  }

  /** Replaces a machine's behaviour; its history stays and its next command takes the first entry again. */
  setMachine(id: string, behaviour: MachineBehaviour): MachineState {
    const now = this.now();
    const existing = this.machines.get(id);
    if (existing) {
      if (existing.behaviour.online && !behaviour.online) existing.offlineSince = now;
      existing.behaviour = behaviour;
      existing.cursor = 0;
      return existing;
    }
    const m: MachineState = {
      id,
      index: this.nextMachineIndex++,
      behaviour,
      cursor: 0,
      invocations: [],
      reboots: [],
      offlineSince: now - 3_600_000,
      registeredAt: now,
    };
    this.machines.set(id, m);
    this.machineOrder = null;
    return m;
  }

  deleteMachine(id: string): boolean {
    const had = this.machines.delete(id);
    if (had) this.machineOrder = null;
    return had;
  }

  orderedMachineIds(): string[] {
    if (!this.machineOrder) this.machineOrder = [...this.machines.keys()];
    return this.machineOrder;
  }

  /** End of the reboot the machine is in at `now`, or null. */
  rebootingUntil(m: MachineState, now: number): number | null {
    if (m.reboots.length === 0) return null;
    let until: number | null = null;
    m.reboots = m.reboots.filter((inv) => (inv.rebootEnd as number) > now);
    for (const inv of m.reboots) {
      if (isRebooting(inv, now)) until = Math.max(until ?? 0, inv.rebootEnd as number);
    }
    return until;
  }

  pingStatus(m: MachineState, now: number): { status: 'Online' | 'ConnectionLost'; lastPing: number } {
    if (!m.behaviour.online) return { status: 'ConnectionLost', lastPing: m.offlineSince };
    if (this.rebootingUntil(m, now) !== null) {
      const since = Math.max(
        ...m.reboots.filter((i) => isRebooting(i, now)).map((i) => i.rebootStart as number),
      );
      return { status: 'ConnectionLost', lastPing: since };
    }
    return { status: 'Online', lastPing: now };
  }

  ipAddress(m: MachineState): string {
    return `10.${(m.index >> 16) & 255}.${(m.index >> 8) & 255}.${m.index & 255}`;
  }

  computerName(m: MachineState): string {
    if (m.behaviour.name) return m.behaviour.name;
    if (m.behaviour.platform === 'Windows') return `EC2AMAZ-${m.id.slice(-7).toUpperCase()}`;
    return `ip-${this.ipAddress(m).replace(/\./g, '-')}.ec2.internal`;
  }

  machineInfo(id: string): Record<string, unknown> | undefined {
    const m = this.machines.get(id);
    if (!m) return undefined;
    const ping = this.pingStatus(m, this.now());
    return {
      id,
      ...m.behaviour,
      computer_name: this.computerName(m),
      ip_address: this.ipAddress(m),
      ping_status: ping.status,
      last_ping_at: iso(ping.lastPing),
      commands_received: m.invocations.length,
      next_command_index: Math.min(m.cursor, m.behaviour.commands.length - 1),
    };
  }

  commandView(inv: Invocation, now: number): CommandRecordView {
    const v = viewInvocation(inv, now);
    return {
      command_id: inv.command.id,
      document_name: inv.command.documentName,
      parameters: inv.command.parameters,
      comment: inv.command.comment,
      requested_at: iso(inv.command.requestedAt) as string,
      started_at: iso(v.startedAt),
      ended_at: iso(v.endedAt),
      status: v.status,
      status_details: v.details,
      response_code: v.responseCode,
      plugin_name: inv.pluginName,
      ...(isScriptDocument(inv.command.documentName)
        ? { script_files: scriptFiles(inv.command.documentName, inv.command.parameters.commands ?? []) }
        : {}),
      ...(inv.baselineOverride ? { baseline_override: inv.baselineOverride } : {}),
      ...(inv.installOverrideList ? { install_override_list: inv.installOverrideList } : {}),
    };
  }

  machineCommands(id: string): CommandRecordView[] | undefined {
    const m = this.machines.get(id);
    if (!m) return undefined;
    const now = this.now();
    return m.invocations.map((inv) => this.commandView(inv, now));
  }

  /** Every pair of commands whose execution intervals [started_at, ended_at) overlapped on one machine. */
  overlaps(): Overlap[] {
    const now = this.now();
    const found: Overlap[] = [];
    for (const m of this.machines.values()) {
      if (m.invocations.length < 2) continue;
      const spans = m.invocations
        .map((inv) => ({ inv, v: viewInvocation(inv, now) }))
        .filter((s) => s.v.startedAt !== null)
        .map((s) => ({ id: s.inv.command.id, start: s.v.startedAt as number, end: s.v.endedAt }))
        .sort((a, b) => a.start - b.start);
      for (let i = 0; i < spans.length; i++) {
        const a = spans[i];
        const aEnd = a.end ?? Infinity;
        for (let j = i + 1; j < spans.length && spans[j].start < aEnd; j++) {
          const b = spans[j];
          found.push({
            machine_id: m.id,
            first: { command_id: a.id, started_at: iso(a.start) as string, ended_at: iso(a.end) },
            second: { command_id: b.id, started_at: iso(b.start) as string, ended_at: iso(b.end) },
          });
        }
      }
    }
    return found;
  }

  nextCommandSeq(): number {
    return this.nextSeq++;
  }

  // ---- hooks (Lambda and Azure) ----

  putLambda(name: string, input: LambdaConfigInput): HookFunction {
    const cfg = LambdaConfig.parse(input);
    const fn: HookFunction = {
      responses: cfg.responses,
      cursor: 0,
      invocations: this.lambdas.get(name)?.invocations ?? [],
    };
    this.lambdas.set(name, fn);
    return fn;
  }

  putAzure(name: string, input: AzureConfigInput): HookFunction {
    const cfg = AzureConfig.parse(input);
    const fn: HookFunction = {
      code: cfg.code,
      responses: cfg.responses,
      cursor: 0,
      invocations: this.azure.get(name)?.invocations ?? [],
    };
    this.azure.set(name, fn);
    return fn;
  }

  /** The response for the next call: the next queued one, the last repeating once the queue is used up. */
  takeResponse(fn: HookFunction): HookResponse {
    if (fn.responses.length === 0) return DEFAULT_HOOK_RESPONSE;
    const r = fn.responses[Math.min(fn.cursor, fn.responses.length - 1)];
    fn.cursor++;
    return r;
  }

  // ---- S3 ----

  bucket(name: string): Map<string, S3Object> {
    let b = this.buckets.get(name);
    if (!b) {
      b = new Map();
      this.buckets.set(name, b);
    }
    return b;
  }

  putObject(
    bucket: string,
    key: string,
    body: Buffer | string,
    contentType = 'binary/octet-stream',
  ): S3Object {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    const obj: S3Object = {
      body: buf,
      contentType,
      etag: `"${createHash('md5').update(buf).digest('hex')}"`,
      lastModified: new Date(this.now()),
    };
    this.bucket(bucket).set(key, obj);
    return obj;
  }

  getObject(bucket: string, key: string): S3Object | 'NoSuchBucket' | 'NoSuchKey' {
    const b = this.buckets.get(bucket);
    if (!b) return 'NoSuchBucket';
    const obj = b.get(key);
    if (obj) return obj;
    const pending = this.pendingOutputs.get(`${bucket}\n${key}`);
    if (pending) {
      const v = viewInvocation(pending.inv, this.now());
      if (v.terminal) {
        this.pendingOutputs.delete(`${bucket}\n${key}`);
        const text = invocationOutput(pending.inv, v)[pending.stream];
        // SSM uploads stderr only when there was some.
        if (text !== '') return this.putObject(bucket, key, text, 'text/plain');
      }
    }
    return 'NoSuchKey';
  }

  // ---- documents ----

  /** The document SendCommand names (by name or ARN), or undefined when SSM would answer InvalidDocument. */
  documentDef(name: string): DocumentDef | undefined {
    const base = documentBaseName(name);
    return Object.hasOwn(AWS_DOCUMENTS, base) ? AWS_DOCUMENTS[base] : this.documents.get(base);
  }

  putDocument(name: string, input: DocumentSpecInput): DocumentDef {
    const doc = DocumentSpec.parse(input);
    this.documents.set(name, doc);
    return doc;
  }

  // ---- fleet, faults, reset, stats ----

  loadFleet(input: unknown): { machines: number; lambdas: number; azure: number; s3: number } {
    return this.applyFleet(LabFleet.parse(input));
  }

  private applyFleet(fleet: ParsedLabFleet): {
    machines: number;
    lambdas: number;
    azure: number;
    s3: number;
  } {
    let machines = 0;
    for (const [id, behaviour] of Object.entries(fleet.machines)) {
      this.setMachine(id, behaviour);
      machines++;
    }
    const specs =
      fleet.generate === undefined ? [] : Array.isArray(fleet.generate) ? fleet.generate : [fleet.generate];
    for (const g of specs) {
      for (const id of generatedIds(g)) {
        this.setMachine(id, g.behaviour);
        machines++;
      }
    }
    for (const [name, cfg] of Object.entries(fleet.lambdas)) this.putLambda(name, cfg);
    for (const [name, cfg] of Object.entries(fleet.azure)) this.putAzure(name, cfg);
    for (const [name, doc] of Object.entries(fleet.documents)) this.putDocument(name, doc);
    for (const [path, content] of Object.entries(fleet.s3)) {
      const slash = path.indexOf('/');
      this.putObject(path.slice(0, slash), path.slice(slash + 1), content, 'text/plain');
    }
    return {
      machines,
      lambdas: Object.keys(fleet.lambdas).length,
      azure: Object.keys(fleet.azure).length,
      s3: Object.keys(fleet.s3).length,
    };
  }

  setFaults(input: FaultsInput): Faults {
    this.faults = Faults.parse(input);
    return this.faults;
  }

  /** Forgets everything (machines, commands, hooks, objects, records, faults, counters). */
  reset(reloadFleet = false): void {
    this.monitoring.reset();
    this.autoscaling.reset();
    this.elbv2.reset();
    this.maintenance.reset();
    this.sqs.reset();
    this.machines.clear();
    this.machineOrder = null;
    this.commands.clear();
    this.commandList = [];
    this.lambdas.clear();
    this.documents.clear();
    this.azure.clear();
    this.buckets.clear();
    this.pendingOutputs.clear();
    this.stsCalls = [];
    this.calls.clear();
    this.faultCounts = { throttle: 0, error_5xx: 0, reset: 0 };
    this.faults = Faults.parse({});
    if (reloadFleet && this.initialFleet) this.applyFleet(this.initialFleet);
  }

  stats(): Record<string, unknown> {
    const calls = Object.fromEntries([...this.calls.entries()].sort(([a], [b]) => a.localeCompare(b)));
    const byService: Record<string, number> = {};
    let total = 0;
    for (const [op, n] of this.calls) {
      const service = op.split(':')[0];
      byService[service] = (byService[service] ?? 0) + n;
      total += n;
    }
    const perMachine: Record<string, number> = {};
    let busiest = 0;
    for (const m of this.machines.values()) {
      if (m.invocations.length > 0) perMachine[m.id] = m.invocations.length;
      busiest = Math.max(busiest, m.invocations.length);
    }
    const now = this.now();
    const byStatus: Record<string, number> = {};
    for (const cmd of this.commandList) {
      for (const inv of cmd.invocations) {
        const s = viewInvocation(inv, now).status;
        byStatus[s] = (byStatus[s] ?? 0) + 1;
      }
    }
    return {
      speed: this.speed,
      uptime_s: (now - this.startedAt) / 1000,
      calls,
      calls_by_service: byService,
      total_calls: total,
      faults_injected: { ...this.faultCounts },
      machines: this.machines.size,
      commands: {
        total: this.commandList.length,
        invocations_by_status: byStatus,
        per_machine: perMachine,
        max_per_machine: busiest,
      },
    };
  }
}
