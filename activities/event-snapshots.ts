import type { EventDoc, EventRecords } from '../store/event-records';

const KEEP = 32;

/**
 * The event documents that command activities read for every machine: `plan_snapshot` (machines, hooks) never
 * changes once a run has started, and the document grows with the fleet, so reading it once per machine made
 * starting commands cost O(machines) each (issue 7, scale sweep). Kept per worker process, most recent first;
 * a document without a snapshot yet is never kept.
 */
export class SnapshotCache {
  private readonly docs = new Map<string, EventDoc>();
  private readonly loading = new Map<string, Promise<EventDoc | null>>();

  constructor(private readonly records: Pick<EventRecords, 'getEvent'>) {}

  async get(eventId: string): Promise<EventDoc | null> {
    const hit = this.docs.get(eventId);
    if (hit) {
      this.docs.delete(eventId);
      this.docs.set(eventId, hit);
      return hit;
    }
    // Hundreds of machines of one event start together: one read serves them all.
    let p = this.loading.get(eventId);
    if (!p) {
      p = this.records.getEvent(eventId).finally(() => this.loading.delete(eventId));
      this.loading.set(eventId, p);
    }
    const doc = await p;
    if (doc?.plan_snapshot?.machines) {
      this.docs.set(eventId, doc);
      if (this.docs.size > KEEP) this.docs.delete(this.docs.keys().next().value!);
    }
    return doc;
  }
}
