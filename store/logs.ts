import type { Collection, Db } from 'mongodb';
import { COLLECTIONS } from './db';

/**
 * Patching logs: the output of every SSM command run on a machine for an event (the patch command and
 * script hooks), one document per command, `_id` = `<event_id>/<machine_id>/<command_id>`.
 * SSM itself returns at most 24 000 characters of stdout; the full output is in S3 (`output_url`) when the
 * command was sent with an output bucket. Each stream is capped here too, keeping its head and tail.
 */
export const MAX_LOG_STREAM_CHARS = 1_000_000;

export interface CommandLogInput {
  event_id: string;
  machine_id: string;
  run_no: number;
  command_id: string;
  document_name: string;
  stdout: string;
  stderr: string;
  /** SSM's S3 output location (s3://bucket/prefix/...) when it holds the untruncated output. */
  output_url?: string;
  /** SSM status of the command (Success, Failed, TimedOut, ...). */
  status: string;
  /** The tenant of the event: the API reads logs per customer. */
  customer_id: string;
  /** `patch` (default) or `hook` for a script hook; `hook_name` then says which. */
  purpose?: 'patch' | 'hook' | 'reboot';
  hook_name?: string;
  started_at?: string;
  ended_at?: string;
}

export interface CommandLogEntry extends Omit<CommandLogInput, 'event_id' | 'machine_id'> {
  purpose: 'patch' | 'hook' | 'reboot';
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  recorded_at: string;
}

type CommandLogDoc = CommandLogEntry & { _id: string; event_id: string; machine_id: string };

export interface MachineLog {
  event_id: string;
  machine_id: string;
  /** Every run of the machine in this event that has a log, ascending. */
  runs: number[];
  /** Chronological (oldest first): by run, then start time, then time recorded. */
  entries: CommandLogEntry[];
}

export const commandLogId = (eventId: string, machineId: string, commandId: string) =>
  `${eventId}/${machineId}/${commandId}`;

export function capStream(s: string, max = MAX_LOG_STREAM_CHARS): { text: string; truncated: boolean } {
  if (s.length <= max) return { text: s, truncated: false };
  const half = Math.floor(max / 2);
  const omitted = s.length - 2 * half;
  return {
    text: `${s.slice(0, half)}\n\n[... ${omitted} characters omitted by Patchwave ...]\n\n${s.slice(-half)}`,
    truncated: true,
  };
}

export class LogStore {
  private readonly coll: Collection<CommandLogDoc>;

  constructor(db: Db) {
    this.coll = db.collection<CommandLogDoc>(COLLECTIONS.logs);
  }

  async ensureIndexes(): Promise<void> {
    await this.coll.createIndex({ event_id: 1, machine_id: 1, run_no: 1 });
    await this.adoptLegacyLogs();
  }

  /**
   * Logs written before the writer recorded the tenant have no customer_id, so a tenant-scoped read never
   * found them: give each its event's customer (idempotent; nothing to do once every log has one).
   */
  async adoptLegacyLogs(): Promise<number> {
    const eventIds = (await this.coll.distinct('event_id', { customer_id: { $exists: false } })) as string[];
    let adopted = 0;
    for (const eventId of eventIds) {
      const ev = await this.coll.db
        .collection<{ _id: string; customer_id?: string }>(COLLECTIONS.events)
        .findOne({ _id: eventId }, { projection: { customer_id: 1 } });
      if (!ev?.customer_id) continue; // its event is gone: nobody can read it anyway
      const r = await this.coll.updateMany(
        { event_id: eventId, customer_id: { $exists: false } },
        { $set: { customer_id: ev.customer_id } },
      );
      adopted += r.modifiedCount;
    }
    return adopted;
  }

  /** Upsert: a retried activity rewrites the same document. */
  async save(input: CommandLogInput, now: Date): Promise<string> {
    const _id = commandLogId(input.event_id, input.machine_id, input.command_id);
    const stdout = capStream(input.stdout ?? '');
    const stderr = capStream(input.stderr ?? '');
    const doc: CommandLogDoc = {
      ...input,
      _id,
      purpose: input.purpose ?? 'patch',
      stdout: stdout.text,
      stderr: stderr.text,
      stdout_truncated: stdout.truncated,
      stderr_truncated: stderr.truncated,
      recorded_at: now.toISOString(),
    };
    await this.coll.replaceOne({ _id }, doc, { upsert: true });
    return _id;
  }
}

/**
 * A machine's log in an event, or undefined when nothing was recorded. All runs unless `runNo` is given;
 * `lastRunOnly` keeps only the latest run (what the API serves by default).
 */
export async function getMachineLog(
  db: Db,
  eventId: string,
  machineId: string,
  opts: { customerId?: string; runNo?: number; lastRunOnly?: boolean } = {},
): Promise<MachineLog | undefined> {
  const coll = db.collection<CommandLogDoc>(COLLECTIONS.logs);
  const filter = {
    event_id: eventId,
    machine_id: machineId,
    ...(opts.customerId ? { customer_id: opts.customerId } : {}),
  };
  const docs = await coll.find(filter).toArray();
  if (docs.length === 0) return undefined;
  const runs = [...new Set(docs.map((d) => d.run_no))].sort((a, b) => a - b);
  const wanted = opts.runNo ?? (opts.lastRunOnly ? runs[runs.length - 1] : undefined);
  const picked = docs
    .filter((d) => wanted === undefined || d.run_no === wanted)
    .sort(
      (a, b) =>
        a.run_no - b.run_no ||
        (a.started_at ?? a.recorded_at).localeCompare(b.started_at ?? b.recorded_at) ||
        a.recorded_at.localeCompare(b.recorded_at),
    );
  if (picked.length === 0) return undefined;
  return {
    event_id: eventId,
    machine_id: machineId,
    runs,
    entries: picked.map(({ _id, event_id, machine_id, ...e }) => {
      void _id;
      void event_id;
      void machine_id;
      return e;
    }),
  };
}

/** Plain-text rendering for `GET /events/:id/machines/:machine_id/log` and the CLI. */
export function renderMachineLogText(log: MachineLog): string {
  const out: string[] = [`# Patchwave log: event ${log.event_id}, machine ${log.machine_id}`];
  if (log.runs.length > 1)
    out.push(`# runs with logs: ${log.runs.join(', ')} (0 = scheduled run, 1.. = partial runs)`);
  for (const e of log.entries) {
    out.push('');
    const what =
      e.purpose === 'hook'
        ? `script hook ${e.hook_name ?? ''}`.trim()
        : e.purpose === 'reboot'
          ? 'reboot (reboot_policy ALWAYS)'
          : 'patching';
    out.push(
      `=== ${what} | run ${e.run_no} | command ${e.command_id} | ${e.document_name} | ${e.status} ===`,
    );
    if (e.started_at || e.ended_at) out.push(`started ${e.started_at ?? '?'}  ended ${e.ended_at ?? '?'}`);
    if (e.output_url) out.push(`full output: ${e.output_url}`);
    out.push('--- stdout ---', e.stdout || '(empty)');
    if (e.stdout_truncated) out.push('(stdout shortened by Patchwave; see the full output above)');
    if (e.stderr) out.push('--- stderr ---', e.stderr);
  }
  return `${out.join('\n')}\n`;
}
