import type { Collection, Db, Document } from 'mongodb';
import { COLLECTIONS } from './db';
import { pageBy } from './tenant-repo';
import type { Page } from './paging';
import { newId } from '../common/ids';

/** One change made by a person (through an API key), docs/behaviour.md#audit. */
export interface AuditRecord {
  id: string;
  at: string;
  customer_id: string;
  /** API key id of who did it. */
  actor: string;
  action: string;
  resource: string;
  resource_id: string;
  before?: unknown;
  after?: unknown;
  /** Extra facts about the action (e.g. machine ids of an exclusion). */
  details?: unknown;
}

export interface AuditFilter {
  resource?: string;
  resource_id?: string;
  action?: string;
  actor?: string;
  from?: string;
  to?: string;
}

type AuditDoc = Omit<AuditRecord, 'id'> & { _id: string };

export class AuditStore {
  private readonly coll: Collection<AuditDoc>;

  constructor(db: Db) {
    this.coll = db.collection<AuditDoc>(COLLECTIONS.audit);
  }

  async record(entry: Omit<AuditRecord, 'id' | 'at'> & { at?: string }): Promise<AuditRecord> {
    const doc: AuditDoc = { ...entry, _id: newId('aud'), at: entry.at ?? new Date().toISOString() };
    await this.coll.insertOne(doc);
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }

  /**
   * Records a change made by a workflow (a pipeline policy, a Temporal signal) under a key of the occurrence,
   * so an activity retried after a lost answer records it once.
   */
  async recordOnce(key: string, entry: Omit<AuditRecord, 'id' | 'at'> & { at?: string }): Promise<void> {
    const { at, ...rest } = entry;
    await this.coll.updateOne(
      { _id: key },
      { $setOnInsert: { ...rest, at: at ?? new Date().toISOString() } },
      { upsert: true },
    );
  }

  /** Newest first. */
  async list(customerId: string, f: AuditFilter, limit: number, token?: string): Promise<Page<AuditRecord>> {
    const filter: Document = { customer_id: customerId };
    for (const k of ['resource', 'resource_id', 'action', 'actor'] as const)
      if (f[k] !== undefined) filter[k] = f[k];
    if (f.from || f.to) filter.at = { ...(f.from ? { $gte: f.from } : {}), ...(f.to ? { $lt: f.to } : {}) };
    const page = await pageBy(this.coll, filter, 'at', -1, limit, token);
    return {
      items: page.items.map(({ _id, ...rest }) => ({ id: _id, ...rest })),
      continuation_token: page.continuation_token,
    };
  }
}
