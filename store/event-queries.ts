import type { Collection, Db, Document } from 'mongodb';
import type { PatchManifest } from '../domain/manifest';
import type { PromotionCheck } from '../domain/promotion-check';
import { COLLECTIONS } from './db';
import { decodeToken, encodeToken, InvalidTokenError, type Page } from './paging';
import { keyInstant, keyRange, keyTail, SEP, type KeyField } from './event-keys';
import {
  machineDocId,
  type EventDoc,
  type EventMachineDoc,
  type SnapshotDoc,
  type TimelineDoc,
} from './event-records';
import { EventSummary, type EventRecord } from '../domain/event';
import type { EventStatus } from '../domain/statuses';
import type { HookRun } from '../domain/hooks';

/**
 * Read-only views of the event record that activities write (store/event-records.ts). The API never writes
 * these collections: state changes go through the orchestrator (Temporal).
 */
export type { EventSummary };

export interface EventMachineView {
  machine_id: string;
  name: string;
  ssm_machine_id: string;
  order: number;
  status: string;
  reason?: string;
  started_at?: string;
  ended_at?: string;
  command_id?: string;
  hooks: HookRun[];
  installed?: string[];
  patches?: EventMachineDoc['patches'];
  reboot_required?: boolean;
  rebooted?: boolean;
  patched_at?: string;
  compliance?: EventMachineDoc['compliance'];
  action_taken?: string;
  hold?: EventMachineDoc['hold'];
  out_of_service?: EventMachineDoc['out_of_service'];
  operating_system?: string;
  snapshot_id?: string;
  run_no: number;
}

export interface EventDetail extends EventSummary {
  hooks: HookRun[];
  /** What the latest run installed on its successful machines, per operating system (domain/manifest.ts). */
  manifest?: PatchManifest;
  /** A promoted pipeline step: the promoted set compared with what each machine installed. */
  promotion_check?: PromotionCheck;
  machines: EventMachineView[];
  timeline: { at: string; type: string; machine_id?: string; message: string }[];
}

export interface EventFilter {
  from?: string;
  to?: string;
  statuses?: EventStatus[];
  plan_id?: string;
  pipeline_id?: string;
  machine_id?: string;
  /** Plans that list `machine_id`: their upcoming events match too (machines are recorded at start). */
  plan_ids_with_machine?: string[];
}

const UPCOMING: EventStatus[] = ['NEW', 'NOT_APPROVED', 'APPROVED'];

/** The summary's stored fields (`id` is `_id`). */
const SUMMARY_KEYS = Object.keys(EventSummary.shape).filter((k) => k !== 'id') as (keyof EventSummary)[];

/** What a summary reads: the plan snapshot and machine list are the bulk of an event document (issue 7). */
const SUMMARY_FIELDS: Document = Object.fromEntries(SUMMARY_KEYS.map((f) => [f, 1]));

export class EventQueries {
  private readonly events: Collection<EventDoc>;
  private readonly machines: Collection<EventMachineDoc>;
  private readonly timeline: Collection<TimelineDoc>;
  private readonly snapshots: Collection<SnapshotDoc>;

  constructor(db: Db) {
    this.snapshots = db.collection<SnapshotDoc>(COLLECTIONS.eventSnapshots);
    this.events = db.collection<EventDoc>(COLLECTIONS.events);
    this.machines = db.collection<EventMachineDoc>(COLLECTIONS.eventMachines);
    this.timeline = db.collection<TimelineDoc>(COLLECTIONS.timeline);
  }

  /**
   * Ordered by (start, id); `from`/`to` bound the start: from ≤ start < to. Every query below is a range on one
   * listing key (store/event-keys.ts), sorted by that key, with a limit; a filter the key does not carry is an
   * extra equality (or a short `$in`). Several statuses are one query per status, merged here.
   */
  async list(customerId: string, f: EventFilter, limit: number, token?: string): Promise<Page<EventSummary>> {
    const after = token ? tokenTail(token) : undefined;
    const bounds = { from: f.from, to: f.to, after };
    const statuses = f.statuses?.length ? [...new Set(f.statuses)] : undefined;
    const c = customerId;
    const queries: { key: KeyField; prefix: string; extra: Document }[] = [];
    const statusIn = (s: EventStatus[] | undefined): Document =>
      s ? { status: s.length === 1 ? s[0] : { $in: s } } : {};

    if (f.machine_id) {
      // Events the machine took part in (its event_machines documents), and upcoming events of plans listing it.
      const ids = await this.machines.distinct('event_id', { customer_id: c, machine_id: f.machine_id });
      const scoped: Document = {
        ...(f.plan_id ? { plan_id: f.plan_id } : {}),
        ...(f.pipeline_id ? { pipeline_id: f.pipeline_id } : {}),
      };
      if (ids.length)
        queries.push({
          key: 'list_key',
          prefix: `${c}${SEP}`,
          extra: { _id: { $in: ids }, ...scoped, ...statusIn(statuses) },
        });
      const upcoming = UPCOMING.filter((s) => !statuses || statuses.includes(s));
      for (const planId of f.plan_ids_with_machine ?? []) {
        if (upcoming.length === 0 || (f.plan_id && f.plan_id !== planId)) continue;
        queries.push({
          key: 'plan_key',
          prefix: `${c}${SEP}${planId}${SEP}`,
          extra: { ...(f.pipeline_id ? { pipeline_id: f.pipeline_id } : {}), ...statusIn(upcoming) },
        });
      }
    } else if (f.plan_id) {
      queries.push({
        key: 'plan_key',
        prefix: `${c}${SEP}${f.plan_id}${SEP}`,
        extra: { ...(f.pipeline_id ? { pipeline_id: f.pipeline_id } : {}), ...statusIn(statuses) },
      });
    } else if (f.pipeline_id) {
      queries.push({
        key: 'pipeline_key',
        prefix: `${c}${SEP}${f.pipeline_id}${SEP}`,
        extra: statusIn(statuses),
      });
    } else if (statuses) {
      for (const s of statuses)
        queries.push({ key: 'status_key', prefix: `${c}${SEP}${s}${SEP}`, extra: {} });
    } else {
      queries.push({ key: 'list_key', prefix: `${c}${SEP}`, extra: {} });
    }

    const pages = await Promise.all(
      queries.map((q) =>
        this.events
          .find({ [q.key]: keyRange(q.prefix, bounds), ...q.extra }, { projection: SUMMARY_FIELDS })
          .sort({ [q.key]: 1 })
          .limit(limit + 1)
          .toArray(),
      ),
    );
    const seen = new Set<string>();
    const docs = pages
      .flat()
      .map((d) => ({ d, tail: keyTail(d.start, d._id) }))
      .sort((a, b) => (a.tail < b.tail ? -1 : a.tail > b.tail ? 1 : 0))
      .filter(({ d }) => !seen.has(d._id) && Boolean(seen.add(d._id)));
    const more = docs.length > limit;
    const items = docs.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(({ d }) => toSummary(d)),
      continuation_token: more && last ? encodeToken([keyInstant(last.d.start), last.d._id]) : null,
    };
  }

  async getSummary(customerId: string, eventId: string): Promise<EventSummary | null> {
    const doc = await this.findOwn(customerId, eventId, SUMMARY_FIELDS);
    return doc ? toSummary(doc) : null;
  }

  /**
   * Look-up by `_id` alone, tenant checked here: a filter of only `_id` is the one FerretDB pushes down to SQL
   * (≈ 7× faster than `{_id, customer_id}` on 20,000 events); on MongoDB both are one index look-up.
   */
  private async findOwn(
    customerId: string,
    eventId: string,
    projection?: Document,
  ): Promise<EventDoc | null> {
    const doc = await this.events.findOne({ _id: eventId }, projection ? { projection } : {});
    return doc && doc.customer_id === customerId ? doc : null;
  }

  /** The hooks of an event's plan snapshot by name (what a partial run may choose from); null before it ran. */
  async hookNames(
    customerId: string,
    eventId: string,
  ): Promise<{
    pre: string[];
    post: string[];
    /** Absent when the snapshot does not list its machines (older records). */
    machines?: Record<string, { pre: string[]; post: string[] }>;
  } | null> {
    const doc = await this.findOwn(customerId, eventId, { customer_id: 1, plan_snapshot: 1 });
    if (!doc) return null;
    // Apart from the event since issue 18 (store/event-records.ts getEvent); inline in older records.
    const snap = doc.plan_snapshot ?? (await this.snapshots.findOne({ _id: eventId }))?.snapshot ?? undefined;
    if (!snap) return null;
    const names = (hooks: { name: string }[] | undefined) => (hooks ?? []).map((h) => h.name);
    return {
      pre: names(snap.pre_hooks),
      post: names(snap.post_hooks),
      ...(snap.machines
        ? {
            machines: Object.fromEntries(
              snap.machines.map((m) => [
                m.machine_id,
                { pre: names(m.pre_host_hooks), post: names(m.post_host_hooks) },
              ]),
            ),
          }
        : {}),
    };
  }

  async get(customerId: string, eventId: string): Promise<EventDetail | null> {
    const doc = await this.findOwn(customerId, eventId, {
      ...SUMMARY_FIELDS,
      hooks: 1,
      manifest: 1,
      promotion_check: 1,
    });
    if (!doc) return null;
    // An event's machines and timeline rows have `_id`s that start with `<event id>/`: each is one `_id` range,
    // sorted by `_id`, with a limit (the shape store/event-keys.ts uses for listings, answered from the `_id`
    // index on every store), ordered here for display. The tenant was checked on the event itself.
    const [machineDocs, timelineDocs] = await Promise.all([
      this.machines
        .find({ _id: idPrefixRange(eventId) })
        .sort({ _id: 1 })
        .limit(MAX_ROWS)
        .toArray(),
      this.timeline
        .find({ _id: idPrefixRange(eventId) })
        .sort({ _id: 1 })
        .limit(MAX_ROWS)
        .toArray(),
    ]);
    const machines = machineDocs
      .filter((m) => m.customer_id === customerId)
      .sort((a, b) => a.order - b.order || cmp(a.machine_id, b.machine_id));
    const timeline = timelineDocs.sort((a, b) => cmp(a.at, b.at) || a.seq - b.seq || cmp(a._id, b._id));
    return {
      ...toSummary(doc),
      hooks: doc.hooks ?? [],
      ...(doc.manifest ? { manifest: doc.manifest } : {}),
      ...(doc.promotion_check ? { promotion_check: doc.promotion_check } : {}),
      machines: machines.map(toMachineView),
      timeline: timeline.map((t) => ({
        at: t.at,
        type: t.type,
        ...(t.machine_id ? { machine_id: t.machine_id } : {}),
        message: t.message,
      })),
    };
  }

  async getMachine(customerId: string, eventId: string, machineId: string): Promise<EventMachineView | null> {
    const doc = await this.machines.findOne({ _id: machineDocId(eventId, machineId) });
    return doc && doc.customer_id === customerId ? toMachineView(doc) : null;
  }

  /** Counts for /metrics. */
  async countByStatus(): Promise<{ events: Record<string, number>; machines: Record<string, number> }> {
    const group = [{ $group: { _id: '$status', n: { $sum: 1 } } }];
    const [ev, ma] = await Promise.all([
      this.events.aggregate<{ _id: string; n: number }>(group).toArray(),
      this.machines.aggregate<{ _id: string; n: number }>(group).toArray(),
    ]);
    return {
      events: Object.fromEntries(ev.map((r) => [r._id, r.n])),
      machines: Object.fromEntries(ma.map((r) => [r._id, r.n])),
    };
  }
}

/** The public view of an event the orchestrator answered with (same whitelist as reads). */
export function eventRecordView(rec: EventRecord): EventSummary {
  const { id, ...rest } = rec;
  return toSummary({ ...rest, _id: id } as EventDoc);
}

function toSummary(d: EventDoc): EventSummary {
  // The summary's fields only, never a spread: the stored plan snapshot holds hook sources (secrets) and never
  // leaves the store.
  const out: Record<string, unknown> = { id: d._id };
  for (const k of SUMMARY_KEYS) if (d[k as keyof EventDoc] !== undefined) out[k] = d[k as keyof EventDoc];
  out.run_no ??= 0;
  out.failure_reasons ??= [];
  if (!d.excluded_machine_ids?.length) delete out.excluded_machine_ids;
  return out as EventSummary;
}

function toMachineView(m: EventMachineDoc): EventMachineView {
  const out: EventMachineView = {
    machine_id: m.machine_id,
    name: m.name,
    ssm_machine_id: m.ssm_machine_id,
    order: m.order,
    status: m.status,
    hooks: m.hooks ?? [],
    run_no: m.run_no ?? 0,
  };
  for (const k of [
    'reason',
    'started_at',
    'ended_at',
    'command_id',
    'installed',
    'patches',
    'reboot_required',
    'rebooted',
    'patched_at',
    'compliance',
    'action_taken',
    'hold',
    'out_of_service',
    'operating_system',
    'snapshot_id',
  ] as const) {
    if (m[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = m[k];
  }
  return out;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The continuation token of an event page: the last item's [start, id], as a key tail. */
function tokenTail(token: string): string {
  const parts = decodeToken(token);
  const [start, id] = parts;
  if (
    parts.length !== 2 ||
    typeof start !== 'string' ||
    typeof id !== 'string' ||
    Number.isNaN(Date.parse(start))
  )
    throw new InvalidTokenError();
  return keyTail(start, id);
}

/** More rows than any event has (a plan's machines, a timeline): the limit a range query carries. */
const MAX_ROWS = 1_000_000;

/** The `_id`s of an event's rows in another collection: `<event id>/…` (machineDocId, addTimeline). */
const idPrefixRange = (eventId: string) => ({ $gt: `${eventId}/`, $lt: `${eventId}0` });
