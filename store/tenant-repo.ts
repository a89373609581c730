import type { Collection, Db, Document, Filter } from 'mongodb';
import { decodeToken, encodeToken, InvalidTokenError, type Page } from './paging';

/**
 * Configuration objects (machines, plans, pipelines, notification groups, roles, …) are stored as
 * `{_id: <id>, customer_id, ...fields, created_at, updated_at}` and returned as `{id, ...}`.
 * Every method takes the customer: a query without one cannot be written by accident.
 */
export type TenantDoc = Document & { _id: string; customer_id: string };

export interface ListOptions {
  limit: number;
  token?: string;
  /** Extra equality filters (values are already validated strings; never user-built operators). */
  where?: Document;
  /** Only these IDs (a role restricted to some objects). */
  onlyIds?: Iterable<string>;
}

export class TenantRepo<T extends { id: string; customer_id: string }> {
  protected readonly coll: Collection<TenantDoc>;

  /** `hidden`: stored helper fields (e.g. denormalised indexes) that the API never shows. */
  constructor(
    db: Db,
    collectionName: string,
    private readonly hidden: readonly string[] = [],
  ) {
    this.coll = db.collection<TenantDoc>(collectionName);
  }

  /** Keyset pages over every document of the collection (for administrators; no customer scope). */
  async listAll(limit: number, token?: string): Promise<Page<T>> {
    const page = await pageBy(this.coll, {}, 'created_at', 1, limit, token);
    return { items: page.items.map((d) => this.toApi(d)), continuation_token: page.continuation_token };
  }

  /** Raw documents of one customer matching plain equality filters (for the stores built on this one). */
  async findDocs(customerId: string, where: Document = {}, projection?: Document): Promise<TenantDoc[]> {
    return this.coll.find({ ...where, customer_id: customerId }, projection ? { projection } : {}).toArray();
  }

  /** Deletes every document of one customer that matches `where`. */
  async deleteWhere(customerId: string, where: Document = {}): Promise<number> {
    return (await this.coll.deleteMany({ ...where, customer_id: customerId })).deletedCount;
  }

  async countWhere(customerId: string, where: Document = {}): Promise<number> {
    return this.coll.countDocuments({ ...where, customer_id: customerId });
  }

  toApi(doc: TenantDoc): T {
    const { _id, ...rest } = doc;
    for (const h of this.hidden) delete (rest as Document)[h];
    return { id: _id, ...rest } as unknown as T;
  }

  async get(customerId: string, id: string): Promise<T | null> {
    const doc = await this.coll.findOne({ _id: id, customer_id: customerId });
    return doc ? this.toApi(doc) : null;
  }

  /** Which of `ids` exist for this customer. */
  async existingIds(customerId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const docs = await this.coll
      .find({ customer_id: customerId, _id: { $in: [...new Set(ids)] } }, { projection: { _id: 1 } })
      .toArray();
    return new Set(docs.map((d) => d._id));
  }

  async list(customerId: string, opts: ListOptions): Promise<Page<T>> {
    const filter: Document = { ...(opts.where ?? {}), customer_id: customerId };
    if (opts.onlyIds) filter._id = { $in: [...opts.onlyIds] };
    const page = await pageBy(this.coll, filter, 'created_at', 1, opts.limit, opts.token);
    return { items: page.items.map((d) => this.toApi(d)), continuation_token: page.continuation_token };
  }

  async insert(customerId: string, id: string, fields: Document, now = new Date().toISOString()): Promise<T> {
    const doc = {
      ...fields,
      _id: id,
      customer_id: customerId,
      created_at: now,
      updated_at: now,
    } as TenantDoc;
    await this.coll.insertOne(doc);
    return this.toApi(doc);
  }

  /**
   * Replaces the client-owned fields (`inputKeys`) with `fields` and leaves read-side fields that other
   * writers keep on the document (e.g. a machine's ping status) alone.
   */
  async replaceInput(
    customerId: string,
    id: string,
    fields: Document,
    inputKeys: readonly string[],
  ): Promise<T | null> {
    const unset: Record<string, ''> = {};
    for (const k of inputKeys) if (!(k in fields) || fields[k] === undefined) unset[k] = '';
    const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const update: Document = { $set: { ...set, updated_at: new Date().toISOString() } };
    if (Object.keys(unset).length) update.$unset = unset;
    const r = await this.coll.updateOne({ _id: id, customer_id: customerId }, update);
    if (r.matchedCount === 0) return null;
    return this.get(customerId, id);
  }

  async delete(customerId: string, id: string): Promise<boolean> {
    const r = await this.coll.deleteOne({ _id: id, customer_id: customerId });
    return r.deletedCount === 1;
  }
}

/**
 * Keyset paging over (sortField, _id): stable while documents are added, no skip/offset.
 * `direction` 1 = ascending, -1 = descending. The token carries the last item's (sortField, _id).
 */
export async function pageBy<D extends Document & { _id: string }>(
  coll: Collection<D>,
  filter: Document,
  sortField: string,
  direction: 1 | -1,
  limit: number,
  token?: string,
  projection?: Document,
): Promise<Page<D>> {
  const conditions: Document[] = [filter];
  if (token) {
    const parts = decodeToken(token);
    const [lastSort, lastId] = parts;
    if (parts.length !== 2 || typeof lastId !== 'string') throw new InvalidTokenError();
    const cmp = direction === 1 ? '$gt' : '$lt';
    conditions.push({
      $or: [{ [sortField]: { [cmp]: lastSort } }, { [sortField]: lastSort, _id: { [cmp]: lastId } }],
    });
  }
  const docs = (await coll
    .find(
      (conditions.length === 1 ? filter : { $and: conditions }) as Filter<D>,
      projection ? { projection } : {},
    )
    .sort({ [sortField]: direction, _id: direction })
    .limit(limit + 1)
    .toArray()) as D[];
  const more = docs.length > limit;
  const items = more ? docs.slice(0, limit) : docs;
  const last = items[items.length - 1] as Document | undefined;
  return {
    items,
    continuation_token:
      more && last ? encodeToken([last[sortField] as string | number, last._id as string]) : null,
  };
}
