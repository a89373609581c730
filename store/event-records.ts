import { MongoBulkWriteError, type Collection, type Db } from 'mongodb';
import { COLLECTIONS, isDuplicateKey } from './db';
import type { EventMachineRecord, EventRecord, TimelineEntry } from '../domain/event';
import type { HookRun } from '../domain/hooks';
import type { EventStatus, MachineStatus } from '../domain/statuses';

/**
 * The durable record of events, written only by activities. Every write is an upsert keyed by a business
 * ID, so a retried activity rewrites the same document instead of adding a second one.
 *
 * Hook runs live in their own collection (`hook_runs`, `_id` = event/run/scope/name) because that makes
 * them idempotent and lets `hook_outputs` be one sorted query across all events of a pipeline run; the
 * event and machine documents carry a denormalised `hooks` array for readers, rebuilt after each run.
 */
export type EventDoc = Omit<EventRecord, 'id'> & {
  _id: string;
  plan_snapshot?: PlanSnapshot;
  excluded_machine_ids?: string[];
  scan_error?: string;
  origin?: 'schedule' | 'adhoc' | 'pipeline';
  partial?: { run_no: number; requested_by: string; requested_at: string }[];
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
export interface CommandDoc {
  _id: string; // SSM command id
  request_key: string;
  customer_id: string;
  machine_id: string;
  ssm_machine_id: string;
  region: string;
  event_id: string;
  run_no: number;
  purpose: 'patch' | 'hook';
  hook_name?: string;
  document_name: string;
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
  order: number;
  pre_host_hooks: SnapshotHook[];
  post_host_hooks: SnapshotHook[];
  subscription_id?: string;
  subscription_name?: string;
  resource_group_name?: string;
}
export interface PlanSnapshot {
  plan_id: string;
  plan_name: string;
  window_hours: number;
  pre_hooks: SnapshotHook[];
  post_hooks: SnapshotHook[];
  max_concurrency?: number;
  max_errors?: number;
  notification_groups: string[];
  machines?: SnapshotMachine[];
}

export const machineDocId = (eventId: string, machineId: string) => `${eventId}/${machineId}`;
export const hookRunDocId = (eventId: string, runNo: number, machineId: string | undefined, name: string) =>
  `${eventId}/${runNo}/${machineId ?? '_event'}/${name}`;

export class EventRecords {
  readonly events: Collection<EventDoc>;
  readonly machines: Collection<EventMachineDoc>;
  readonly timeline: Collection<TimelineDoc>;
  readonly hookRuns: Collection<HookRunDoc>;
  readonly commands: Collection<CommandDoc>;

  constructor(db: Db) {
    this.events = db.collection<EventDoc>(COLLECTIONS.events);
    this.machines = db.collection<EventMachineDoc>(COLLECTIONS.eventMachines);
    this.timeline = db.collection<TimelineDoc>(COLLECTIONS.timeline);
    this.hookRuns = db.collection<HookRunDoc>(COLLECTIONS.hookRuns);
    this.commands = db.collection<CommandDoc>(COLLECTIONS.commands);
  }

  async ensureIndexes(): Promise<void> {
    await Promise.all([
      this.events.createIndex({ customer_id: 1, start: 1, _id: 1 }),
      this.events.createIndex({ plan_id: 1, start: 1 }),
      this.events.createIndex({ plan_id: 1, origin: 1, status: 1 }),
      this.events.createIndex({ pipeline_run_id: 1 }),
      this.events.createIndex({ status: 1, start: 1 }),
      // GET /api/v1/events?status=… pages one customer's events of some statuses by (start, _id) (issue 7).
      this.events.createIndex({ customer_id: 1, status: 1, start: 1, _id: 1 }),
      this.machines.createIndex({ event_id: 1, order: 1, machine_id: 1 }),
      this.machines.createIndex({ machine_id: 1, event_id: 1 }),
      this.timeline.createIndex({ event_id: 1, at: 1, seq: 1 }),
      this.hookRuns.createIndex({ event_id: 1, finished_at: 1 }),
      this.hookRuns.createIndex({ pipeline_run_id: 1, finished_at: 1 }),
      this.commands.createIndex({ request_key: 1 }, { unique: true }),
      this.commands.createIndex({ machine_id: 1, sent_at: 1 }),
    ]);
  }

  /** Creates the event document once; later calls leave an existing one untouched. */
  async createEvent(doc: EventDoc): Promise<EventDoc> {
    await this.events.updateOne({ _id: doc._id }, { $setOnInsert: doc }, { upsert: true });
    return (await this.events.findOne({ _id: doc._id }))!;
  }

  async getEvent(eventId: string): Promise<EventDoc | null> {
    return this.events.findOne({ _id: eventId });
  }

  async updateEvent(eventId: string, set: Partial<EventDoc>): Promise<void> {
    await this.events.updateOne({ _id: eventId }, { $set: { ...set, updated_at: new Date().toISOString() } });
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

  async findCommandByRequest(requestKey: string): Promise<CommandDoc | null> {
    return this.commands.findOne({ request_key: requestKey });
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
