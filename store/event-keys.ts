import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';

/**
 * Sortable composite keys of an event document, one per listing of GET /api/v1/events (issue 18).
 *
 * Each key is one string field: `<customer>|[<status|plan|pipeline>|]<start>|<event id>`. A page of a listing is
 * then a range on one field, sorted by that field, with a limit: the query shape every store we support can
 * answer from one index (MongoDB: a single-field index; FerretDB cannot push down a two-field sort or a filter
 * on several fields). `start` is the window start as a 24-character ISO instant, so string order is
 * (start, id) order, and `from`/`to` bounds on the start are bounds on the key.
 *
 * The keys are derived from fields that never change after the event is created (customer, plan, pipeline,
 * start) plus the status; EventRecords keeps `status_key` in step with `status`.
 */
export interface EventKeys {
  list_key: string;
  status_key: string;
  plan_key: string;
  pipeline_key?: string;
}

export const SEP = '|';
/** The character after SEP: `prefix + HIGH` is above every key that starts with `prefix + SEP`. */
const HIGH = String.fromCharCode(SEP.charCodeAt(0) + 1);

/** The window start as the fixed-width ISO form keys use (`2026-11-23T15:44:26.000Z`). */
export function keyInstant(start: string): string {
  const t = Date.parse(start);
  return Number.isNaN(t) ? start : new Date(t).toISOString();
}

/** The tail shared by all keys of one event: `<start>|<id>` (also what a continuation token carries). */
export const keyTail = (start: string, id: string) => `${keyInstant(start)}${SEP}${id}`;

export function eventKeys(d: {
  _id: string;
  customer_id: string;
  status: string;
  start: string;
  plan_id: string;
  pipeline_id?: string;
}): EventKeys {
  const tail = keyTail(d.start, d._id);
  const c = d.customer_id;
  return {
    list_key: `${c}${SEP}${tail}`,
    status_key: statusKey(c, d.status, d.start, d._id),
    plan_key: `${c}${SEP}${d.plan_id}${SEP}${tail}`,
    ...(d.pipeline_id ? { pipeline_key: `${c}${SEP}${d.pipeline_id}${SEP}${tail}` } : {}),
  };
}

export const statusKey = (customerId: string, status: string, start: string, id: string) =>
  `${customerId}${SEP}${status}${SEP}${keyTail(start, id)}`;

/** A document with its keys added (for writers that insert whole event documents). */
export function withEventKeys<D extends Parameters<typeof eventKeys>[0]>(d: D): D & EventKeys {
  return { ...d, ...eventKeys(d) };
}

export type KeyField = keyof EventKeys;
export const KEY_FIELDS: readonly KeyField[] = ['list_key', 'status_key', 'plan_key', 'pipeline_key'];

/**
 * The range of one listing on its key: `prefix` is everything before the start (`<customer>|` or
 * `<customer>|<status>|`, …); `from`/`to` bound the start (from ≤ start < to); `after` is the tail of the last
 * item of the previous page (exclusive). One lower bound and one upper bound, so the filter is a plain range.
 */
export function keyRange(prefix: string, bounds: { from?: string; to?: string; after?: string }): Document {
  const fromKey = bounds.from ? prefix + keyInstant(bounds.from) : prefix;
  const afterKey = bounds.after !== undefined ? prefix + bounds.after : undefined;
  const lower = afterKey !== undefined && afterKey >= fromKey ? { $gt: afterKey } : { $gte: fromKey };
  const upper = bounds.to ? prefix + keyInstant(bounds.to) : prefix.slice(0, -1) + HIGH;
  return { ...lower, $lt: upper };
}

/**
 * Adds the keys to event documents written before they existed. Idempotent (only documents without
 * `list_key` are touched, each by `_id`), and safe to run from several processes at once: every writer computes
 * the same values. One pass over the documents lacking keys (a cursor), written in bulks of 50 (FerretDB does
 * not answer a bulk of ≥ 100 updates).
 */
export async function backfillEventKeys(events: Collection<Document>): Promise<number> {
  const cursor = events.find(
    { list_key: { $exists: false } },
    { projection: { _id: 1, customer_id: 1, status: 1, start: 1, plan_id: 1, pipeline_id: 1 } },
  );
  let pending: AnyBulkWriteOperation[] = [];
  let done = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    await events.bulkWrite(pending, { ordered: false });
    done += pending.length;
    pending = [];
  };
  for await (const d of cursor) {
    if (typeof d.customer_id !== 'string' || typeof d.start !== 'string') continue;
    pending.push({
      updateOne: {
        filter: { _id: d._id },
        update: { $set: eventKeys(d as unknown as Parameters<typeof eventKeys>[0]) as Document },
      },
    });
    if (pending.length >= 50) await flush();
  }
  await flush();
  return done;
}
