import { MongoBulkWriteError, type Collection, type Db, type Filter } from 'mongodb';
import type { EventFreeze } from '../domain/freeze';
import type { ApprovalRecord } from '../domain/approval';
import { COLLECTIONS, isDuplicateKey } from './db';
import type { EventMachineRecord, EventRecord, TimelineEntry } from '../domain/event';
import type { HookRun } from '../domain/hooks';
import type { HealthGates } from '../domain/health-gates';
import type { MaxUnavailable, WaveBy, Waves } from '../domain/waves';
import type { OutOfService } from '../domain/plan';
import type { MaintenanceRecord } from '../domain/maintenance';
import type { EventStatus, MachineStatus, PlanOperation } from '../domain/statuses';
import { backfillEventKeys, eventKeys, SEP, statusKey, withEventKeys, type EventKeys } from './event-keys';

/**
 * The durable record of events, written only by activities. Every write is an upsert keyed by a business
 * ID, so a retried activity rewrites the same document instead of adding a second one.
 *
 * Hook runs live in their own collection (`hook_runs`, `_id` = event/run/scope/name) because that makes
 * them idempotent and lets `hook_outputs` be one sorted query across all events of a pipeline run; the
 * event and machine documents carry a denormalised `hooks` array for readers, rebuilt after each run.
 */
export type EventDoc = Omit<EventRecord, 'id'> &
  Partial<EventKeys> & {
    _id: string;
    plan_snapshot?: PlanSnapshot;
    excluded_machine_ids?: string[];
    scan_error?: string;
    origin?: 'schedule' | 'adhoc' | 'pipeline';
    partial?: { run_no: number; requested_by: string; requested_at: string }[];
    /** The SSM managed-node IDs the last approval was given on (`approval` summarises them); never shown. */
    approval_targets?: string[];
    /** The plan's maintenance objects made for this event (silence / incident ids); never shown as such. */
    maintenance?: MaintenanceRecord[];
  };
export type EventMachineDoc = EventMachineRecord & { _id: string };
export type TimelineDoc = TimelineEntry & { _id: string; event_id: string; seq: number };
export type HookRunDoc = HookRun & {
  _id: string;
  event_id: string;
  customer_id: string;
  pipeline_run_id?: string;
  plan_name: string;
};
/** A command request's claim (`_id` = request key), written before its command is sent. */
export interface CommandRequestDoc {
  _id: string;
  claimed_at: string;
  command_id?: string;
}

export interface CommandDoc {
  _id: string; // SSM command id
  request_key: string;
  customer_id: string;
  machine_id: string;
  ssm_machine_id: string;
  region: string;
  event_id: string;
  run_no: number;
  purpose: 'patch' | 'hook' | 'reboot';
  /** A scan-only event's patch command (AWS-RunPatchBaseline Scan): its end reads the node's compliance. */
  scan?: true;
  /** DescribeInstanceInformation's platform when the scan was sent (which DescribeAvailablePatches filters fit). */
  platform?: { type?: string; name?: string; version?: string };
  /** A patch command of a reboot_policy ALWAYS machine (a reboot command follows a success). */
  reboot_after?: boolean;
  /** AWS-RunPatchBaselineWithHooks: its hook documents by parameter name (for the timeline). */
  hook_documents?: Record<string, string>;
  hook_name?: string;
  document_name: string;
  /** The document step GetCommandInvocation is asked for (multi-step documents such as AWS-RunPatchBaseline). */
  plugin_name?: string;
  requested_at: string;
  sent_at: string;
  ended_at?: string;
  ssm_status?: string;
  ssm_status_details?: string;
  response_code?: number;
  /** Set when the command ended after its requester had stopped waiting (window end). */
  finished_in_background?: boolean;
  stdout?: string;
  stderr?: string;
  output_url?: string;
  /** The s3:// BaselineOverride the patch command was sent with (the machine's patch filters). */
  baseline_override?: string;
  /** The s3:// InstallOverrideList the patch command was sent with (a pipeline step's exact_previous_step). */
  install_override_list?: string;
  /** The Scan run after an override install to learn what it installed (activities/compliance-scan.ts). */
  compliance_scan_command_id?: string;
}

/** The hooks and machines of a plan as they were when the event run started. */
export interface SnapshotHook {
  name: string;
  type: 'lambda' | 'azure' | 'script';
  source: string;
  method?: 'GET' | 'POST';
}
export interface SnapshotMachine {
  machine_id: string;
  name: string;
  ssm_machine_id: string;
  region: string;
  iam_role?: string;
  /** The order group; with the plan's `waves`, the machine's wave (docs/behaviour.md#waves). */
  order: number;
  pre_host_hooks: SnapshotHook[];
  post_host_hooks: SnapshotHook[];
  /** The machine's value of the plan's max_unavailable tag, when both exist. */
  limit_key?: string;
  subscription_id?: string;
  subscription_name?: string;
  resource_group_name?: string;
}
/** `event_snapshots`: one per event, by the event's id. */
export interface SnapshotDoc {
  _id: string;
  snapshot: PlanSnapshot;
}

export interface PlanSnapshot {
  plan_id: string;
  plan_name: string;
  /** Absent in snapshots taken before scan-only plans existed: install. */
  operation?: PlanOperation;
  window_hours: number;
  pre_hooks: SnapshotHook[];
  post_hooks: SnapshotHook[];
  max_concurrency?: number;
  max_errors?: number;
  health_gates?: HealthGates;
  waves?: Waves;
  wave_by?: WaveBy;
  max_unavailable?: MaxUnavailable;
  /** Seed 003: the tag key a successful machine gets its patch date under. */
  patch_date_tag?: { key: string };
  /** Issue 16 item 7: Auto Scaling standby while patched. */
  out_of_service?: OutOfService;
  notification_groups: string[];
  machines?: SnapshotMachine[];
}

/** An event that has not started: enough for the schedulers to move or delete it. */
export interface UpcomingEvent {
  id: string;
  start: string;
  end: string;
  /** For an event of a pipeline run. */
  pipeline_run_id?: string;
}

/** Statuses of an event that has not started yet (schedulers may still move or delete it). */
const UPCOMING_EVENT_STATUSES: EventStatus[] = ['NEW', 'NOT_APPROVED', 'APPROVED'];

export const machineDocId = (eventId: string, machineId: string) => `${eventId}/${machineId}`;
export const hookRunDocId = (eventId: string, runNo: number, machineId: string | undefined, name: string) =>
  `${eventId}/${runNo}/${machineId ?? '_event'}/${name}`;

export class EventRecords {
  private readonly events: Collection<EventDoc>;
  private readonly machines: Collection<EventMachineDoc>;
  private readonly timeline: Collection<TimelineDoc>;
  private readonly hookRuns: Collection<HookRunDoc>;
  private readonly commands: Collection<CommandDoc>;
  private readonly snapshots: Collection<SnapshotDoc>;
  private readonly requests: Collection<CommandRequestDoc>;

  constructor(db: Db) {
    this.requests = db.collection<CommandRequestDoc>(COLLECTIONS.commandRequests);
    this.snapshots = db.collection<SnapshotDoc>(COLLECTIONS.eventSnapshots);
    this.events = db.collection<EventDoc>(COLLECTIONS.events);
    this.machines = db.collection<EventMachineDoc>(COLLECTIONS.eventMachines);
    this.timeline = db.collection<TimelineDoc>(COLLECTIONS.timeline);
    this.hookRuns = db.collection<HookRunDoc>(COLLECTIONS.hookRuns);
    this.commands = db.collection<CommandDoc>(COLLECTIONS.commands);
  }

  /** Indexes, and the listing keys of event documents written before the keys existed. Idempotent. */
  async ensureIndexes(): Promise<void> {
    await Promise.all([
      // GET /api/v1/events pages one listing key each (store/event-keys.ts): one single-field index per listing.
      this.events.createIndex({ list_key: 1 }),
      this.events.createIndex({ status_key: 1 }),
      this.events.createIndex({ plan_key: 1 }),
      this.events.createIndex({ pipeline_key: 1 }, { sparse: true }),
      this.events.createIndex({ customer_id: 1, start: 1, _id: 1 }),
      this.events.createIndex({ plan_id: 1, start: 1 }),
      this.events.createIndex({ plan_id: 1, origin: 1, status: 1 }),
      this.events.createIndex({ pipeline_run_id: 1 }),
      this.events.createIndex({ status: 1, start: 1 }),
      this.machines.createIndex({ event_id: 1, order: 1, machine_id: 1 }),
      this.machines.createIndex({ machine_id: 1, event_id: 1 }),
      this.timeline.createIndex({ event_id: 1, at: 1, seq: 1 }),
      this.hookRuns.createIndex({ event_id: 1, finished_at: 1 }),
      this.hookRuns.createIndex({ pipeline_run_id: 1, finished_at: 1 }),
      this.commands.createIndex({ request_key: 1 }, { unique: true }),
      this.commands.createIndex({ machine_id: 1, sent_at: 1 }),
    ]);
    await backfillEventKeys(this.events as unknown as Collection);
  }

  /** Creates the event document once; later calls leave an existing one untouched. */
  async createEvent(doc: EventDoc): Promise<EventDoc> {
    const { plan_snapshot, ...rest } = doc;
    if (plan_snapshot) await this.putSnapshot(doc._id, plan_snapshot, false);
    await this.events.updateOne({ _id: doc._id }, { $setOnInsert: withEventKeys(rest) }, { upsert: true });
    return (await this.getEvent(doc._id))!;
  }

  /**
   * The event with its plan snapshot. The snapshot (every machine and hook of the run: it grows with the fleet)
   * is its own document, `event_snapshots/<event id>`, so that listings and status writes never decode it
   * (FerretDB decodes whole documents whatever the projection); events stored before that keep it inline.
   */
  async getEvent(eventId: string): Promise<EventDoc | null> {
    const doc = await this.events.findOne({ _id: eventId });
    if (!doc || doc.plan_snapshot) return doc;
    const snap = await this.snapshots.findOne({ _id: eventId });
    return snap ? { ...doc, plan_snapshot: snap.snapshot } : doc;
  }

  /** Written before the event document that points at it changes, so a reader never misses it. */
  private async putSnapshot(eventId: string, snapshot: PlanSnapshot, replace: boolean): Promise<void> {
    await this.snapshots.updateOne(
      { _id: eventId },
      replace ? { $set: { snapshot } } : { $setOnInsert: { snapshot } },
      { upsert: true },
    );
  }

  /**
   * Start and machine times of a plan's last finished events (an event preview's time prediction): its events
   * by plan_key (indexed), newest first, finished ones kept, then their machines.
   */
  async recentFinishedTimes(
    customerId: string,
    planId: string,
    limit: number,
  ): Promise<
    {
      started_at?: string;
      finished_at?: string;
      machines: { started_at?: string; ended_at?: string; order?: number }[];
    }[]
  > {
    const prefix = `${customerId}${SEP}${planId}${SEP}`;
    const docs = await this.events
      .find(
        { plan_key: { $gte: prefix, $lt: `${prefix}\uffff` } },
        {
          projection: { _id: 1, status: 1, started_at: 1, finished_at: 1 },
          sort: { plan_key: -1 },
          limit: limit * 5,
        },
      )
      .toArray();
    const done = docs.filter((d) => d.status.startsWith('DONE') && d.started_at).slice(0, limit);
    const out = [];
    for (const d of done) {
      const machines = await this.machines
        .find({ event_id: d._id }, { projection: { started_at: 1, ended_at: 1, order: 1 } })
        .toArray();
      out.push({ started_at: d.started_at, finished_at: d.finished_at, machines });
    }
    return out;
  }

  /** IDs of the events a pipeline run has created so far. */
  async eventIdsOfPipelineRun(runId: string): Promise<string[]> {
    const docs = await this.events.find({ pipeline_run_id: runId }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  /** The events of one step of a pipeline run: what a later step's promotion and gate read. */
  async stepEvents(
    runId: string,
    step: number,
  ): Promise<Pick<EventDoc, '_id' | 'status' | 'start' | 'started_at' | 'finished_at' | 'manifest'>[]> {
    return this.events
      .find(
        { pipeline_run_id: runId, step },
        { projection: { status: 1, start: 1, started_at: 1, finished_at: 1, manifest: 1 } },
      )
      .sort({ _id: 1 })
      .toArray();
  }

  /** A plan's own (cron-made) events that have not started yet. */
  async upcomingEventsOfPlan(planId: string): Promise<UpcomingEvent[]> {
    return this.upcoming({ plan_id: planId, origin: 'schedule' });
  }

  /** The events a pipeline's runs have created that have not started yet. */
  async upcomingEventsOfPipeline(pipelineId: string): Promise<UpcomingEvent[]> {
    return this.upcoming({ pipeline_id: pipelineId, origin: 'pipeline' });
  }

  private async upcoming(filter: Filter<EventDoc>): Promise<UpcomingEvent[]> {
    const docs = await this.events
      .find(
        { ...filter, status: { $in: [...UPCOMING_EVENT_STATUSES] } },
        { projection: { start: 1, end: 1, pipeline_run_id: 1 } },
      )
      .toArray();
    return docs.map((d) => ({
      id: d._id,
      start: d.start,
      end: d.end,
      ...(d.pipeline_run_id ? { pipeline_run_id: d.pipeline_run_id } : {}),
    }));
  }

  async updateEvent(eventId: string, set: Partial<EventDoc>): Promise<void> {
    const { plan_snapshot, ...fields } = set;
    if (plan_snapshot) await this.putSnapshot(eventId, plan_snapshot, true);
    const keyed = fields.status ? { ...fields, ...(await this.statusKeyOf(eventId, fields.status)) } : fields;
    await this.events.updateOne(
      { _id: eventId },
      {
        $set: { ...keyed, updated_at: new Date().toISOString() },
        // An inline snapshot of an older record would shadow the new one.
        ...(plan_snapshot ? { $unset: { plan_snapshot: '' } } : {}),
      },
    );
  }

  /** The listing key that follows the status (customer and start never change; read by `_id`). */
  private async statusKeyOf(eventId: string, status: string): Promise<Partial<EventKeys>> {
    const doc = await this.events.findOne({ _id: eventId }, { projection: { customer_id: 1, start: 1 } });
    return doc ? { status_key: statusKey(doc.customer_id, status, doc.start, eventId) } : {};
  }

  /** A freeze moved an upcoming event: new start and end, and the listing keys that follow the start. */
  async moveEvent(eventId: string, start: string, end: string): Promise<void> {
    const doc = await this.events.findOne({ _id: eventId });
    if (!doc) return;
    const { _id, ...rest } = doc;
    const keys = eventKeys({ ...rest, _id, start } as Parameters<typeof eventKeys>[0]);
    await this.events.updateOne(
      { _id: eventId },
      { $set: { start, end, ...keys, updated_at: new Date().toISOString() } },
    );
  }

  /** The external maintenance objects kept for this event (docs/behaviour.md#maintenance). */
  async maintenanceOf(eventId: string): Promise<MaintenanceRecord[]> {
    const d = await this.events.findOne({ _id: eventId }, { projection: { maintenance: 1 } });
    return d?.maintenance ?? [];
  }

  /**
   * One maintenance object created, moved or lifted: it replaces the record of the same plan entry (`key`).
   * Only the event's workflow writes these, one sync at a time, so read-then-write is safe; a retried write
   * writes the same.
   */
  async recordMaintenance(eventId: string, rec: MaintenanceRecord): Promise<void> {
    const kept = (await this.maintenanceOf(eventId)).filter((r) => r.key !== rec.key);
    await this.events.updateOne(
      { _id: eventId },
      { $set: { maintenance: [...kept, rec], updated_at: new Date().toISOString() } },
    );
  }

  /** The event's freeze verdict, or none (removed). */
  async setEventFreeze(eventId: string, freeze: EventFreeze | undefined): Promise<void> {
    await this.events.updateOne(
      { _id: eventId },
      freeze
        ? { $set: { freeze, updated_at: new Date().toISOString() } }
        : { $unset: { freeze: '' }, $set: { updated_at: new Date().toISOString() } },
    );
  }

  /**
   * An approval and the targets it was given on (docs/behaviour.md#approve). It replaces the previous one: a
   * re-approval is what the next window opening compares with. Idempotent (a retried activity writes the same).
   */
  async recordApproval(eventId: string, approval: ApprovalRecord, targets: string[]): Promise<void> {
    await this.updateEvent(eventId, { approval, approval_targets: targets });
  }

  /** The last approval and its targets, or null when the event was never approved. */
  async approvalOf(eventId: string): Promise<{ approval: ApprovalRecord; targets: string[] } | null> {
    const d = await this.events.findOne(
      { _id: eventId },
      { projection: { approval: 1, approval_targets: 1 } },
    );
    return d?.approval ? { approval: d.approval, targets: d.approval_targets ?? [] } : null;
  }

  async setEventStatus(eventId: string, status: EventStatus, extra: Partial<EventDoc> = {}): Promise<void> {
    await this.updateEvent(eventId, { ...extra, status });
  }

  /** Creates machine documents for a run; existing ones (a retried activity) are left as they are. */
  async initMachines(docs: EventMachineDoc[]): Promise<void> {
    // Unordered inserts, duplicates ignored: the same result as upserts with $setOnInsert, but one multi-row
    // insert instead of a look-up per document (FerretDB: 1,000 machines 1.2 s → 0.09 s; this delays the
    // window's first command, issue 7).
    for (let i = 0; i < docs.length; i += 1000) {
      try {
        await this.machines.insertMany(docs.slice(i, i + 1000), { ordered: false });
      } catch (err) {
        if (!onlyDuplicateKeys(err)) throw err;
      }
    }
  }

  async getMachine(eventId: string, machineId: string): Promise<EventMachineDoc | null> {
    return this.machines.findOne({ _id: machineDocId(eventId, machineId) });
  }

  /** Re-opens machines for partial run `runNo`: PENDING again, without the previous run's outcome. */
  async resetForPartialRun(eventId: string, machineIds: string[], runNo: number): Promise<void> {
    const now = new Date().toISOString();
    for (let i = 0; i < machineIds.length; i += 1000) {
      await this.machines.updateMany(
        { _id: { $in: machineIds.slice(i, i + 1000).map((m) => machineDocId(eventId, m)) } },
        {
          $set: { status: 'PENDING', run_no: runNo, hooks: [], updated_at: now },
          $unset: {
            reason: '',
            started_at: '',
            ended_at: '',
            command_id: '',
            installed: '',
            action_taken: '',
            hold: '',
          },
        },
      );
    }
  }

  async updateMachine(eventId: string, machineId: string, set: Partial<EventMachineDoc>): Promise<void> {
    await this.machines.updateOne(
      { _id: machineDocId(eventId, machineId) },
      { $set: { ...set, updated_at: new Date().toISOString() } },
    );
  }

  /** Sets a status on many machines of an event, but only on those still in one of `onlyIf` statuses. */
  async setMachinesStatus(
    eventId: string,
    machineIds: string[],
    status: MachineStatus,
    reason: string,
    onlyIf: MachineStatus[],
  ): Promise<number> {
    if (machineIds.length === 0) return 0;
    const now = new Date().toISOString();
    let changed = 0;
    for (let i = 0; i < machineIds.length; i += 1000) {
      const ids = machineIds.slice(i, i + 1000).map((m) => machineDocId(eventId, m));
      const r = await this.machines.updateMany(
        { _id: { $in: ids }, status: { $in: onlyIf } },
        { $set: { status, reason, updated_at: now } },
      );
      changed += r.modifiedCount;
    }
    return changed;
  }

  /** How many events of one pipeline step are still in `status` (the API waits on a step's approval). */
  async countStepEventsIn(pipelineRunId: string, step: number, status: EventStatus): Promise<number> {
    return this.events.countDocuments({ pipeline_run_id: pipelineRunId, step, status });
  }

  async listMachines(eventId: string): Promise<EventMachineDoc[]> {
    return this.machines.find({ event_id: eventId }).sort({ order: 1, machine_id: 1 }).toArray();
  }

  async recordHookRun(doc: HookRunDoc): Promise<void> {
    await this.hookRuns.replaceOne({ _id: doc._id }, doc, { upsert: true });
    // Readers see hooks on the event / machine document; rebuild that list from the source of truth.
    if (doc.machine_id) {
      const runs = await this.hookRuns
        .find({ event_id: doc.event_id, machine_id: doc.machine_id, run_no: doc.run_no })
        .sort({ started_at: 1 })
        .toArray();
      await this.updateMachine(doc.event_id, doc.machine_id, { hooks: runs.map(stripHookDoc) });
    } else {
      const runs = await this.hookRuns
        .find({ event_id: doc.event_id, machine_id: { $exists: false } })
        .sort({ run_no: 1, started_at: 1 })
        .toArray();
      await this.updateEvent(doc.event_id, { hooks: runs.map(stripHookDoc) });
    }
  }

  /** The recorded run of one hook, if it ran already (a retried activity must not call it again). */
  async findHookRun(
    eventId: string,
    runNo: number,
    machineId: string | undefined,
    name: string,
  ): Promise<HookRunDoc | null> {
    return this.hookRuns.findOne({ _id: hookRunDocId(eventId, runNo, machineId, name) });
  }

  /** Hook runs that happened before `before` in this event, or in any event of the same pipeline run. */
  async previousHookRuns(args: { eventId: string; pipelineRunId?: string }): Promise<HookRunDoc[]> {
    const filter = args.pipelineRunId ? { pipeline_run_id: args.pipelineRunId } : { event_id: args.eventId };
    return this.hookRuns.find(filter).sort({ finished_at: 1, started_at: 1 }).toArray();
  }

  async addTimeline(eventId: string, key: string, entry: TimelineEntry): Promise<void> {
    const seq = Date.parse(entry.at) || 0;
    await this.timeline.updateOne(
      { _id: `${eventId}/${key}` },
      { $setOnInsert: { ...entry, _id: `${eventId}/${key}`, event_id: eventId, seq } },
      { upsert: true },
    );
  }

  /**
   * Claims a command request before its command is sent: answers what an earlier attempt left (undefined for the
   * first). An earlier claim without a command id means an attempt may have sent it and died before recording it:
   * the caller asks SSM before sending again. By `_id`, so one index look-up on every store; it holds across worker
   * restarts, where an attempt counter does not (a local activity starts again at attempt 1 after a crash).
   */
  async claimCommandRequest(requestKey: string): Promise<{ commandId?: string } | undefined> {
    const before = await this.requests.findOneAndUpdate(
      { _id: requestKey },
      { $setOnInsert: { claimed_at: new Date().toISOString() } },
      { upsert: true, returnDocument: 'before' },
    );
    return before ? { ...(before.command_id ? { commandId: before.command_id } : {}) } : undefined;
  }

  /** The command a claimed request sent. */
  async recordRequestSent(requestKey: string, commandId: string): Promise<void> {
    await this.requests.updateOne({ _id: requestKey }, { $set: { command_id: commandId } });
  }

  async findCommandByRequest(requestKey: string): Promise<CommandDoc | null> {
    return this.commands.findOne({ request_key: requestKey });
  }

  async getCommand(commandId: string): Promise<CommandDoc | null> {
    return this.commands.findOne({ _id: commandId });
  }

  async recordCommand(doc: CommandDoc): Promise<void> {
    await this.commands.updateOne({ _id: doc._id }, { $setOnInsert: doc }, { upsert: true });
  }

  async finishCommand(commandId: string, set: Partial<CommandDoc>): Promise<void> {
    await this.commands.updateOne({ _id: commandId }, { $set: set });
  }
}

function stripHookDoc(d: HookRunDoc): HookRun {
  const { _id, event_id, customer_id, pipeline_run_id, plan_name, ...run } = d;
  void _id;
  void event_id;
  void customer_id;
  void pipeline_run_id;
  void plan_name;
  return run;
}

/** A bulk insert whose only failures are documents that exist already (a retried activity). */
function onlyDuplicateKeys(err: unknown): boolean {
  if (!(err instanceof MongoBulkWriteError)) return false;
  const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  return errors.length > 0 && errors.every(isDuplicateKey);
}
