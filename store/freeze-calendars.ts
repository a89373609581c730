import type { Db } from 'mongodb';
import { COLLECTIONS } from './db';
import { TenantRepo } from './tenant-repo';
import type { FreezeCalendar } from '../domain/freeze';

/** A freeze calendar as stored: its input, what the worker last fetched from its URL (hidden), and `fetch`. */
export type StoredFreezeCalendar = Omit<FreezeCalendar, 'upcoming_freezes' | 'problem'> & {
  fetched_ics?: string;
};

/**
 * Freeze calendars: `_id` = calendar id. `fetched_ics` keeps the text last fetched from a URL calendar, so
 * a failed refresh leaves the previous freezes in force; the API never shows it (its `upcoming_freezes` do).
 */
export class FreezeCalendarStore extends TenantRepo<StoredFreezeCalendar> {
  constructor(db: Db) {
    super(db, COLLECTIONS.freezeCalendars, ['fetched_ics']);
  }

  /** Every enabled calendar of the customer with its fetched text (a customer has a handful: no paging). */
  async enabledOf(customerId: string): Promise<StoredFreezeCalendar[]> {
    const docs = await this.findDocs(customerId, { enabled: { $ne: false } });
    return docs.map((d) => ({ ...this.toApi(d), fetched_ics: d.fetched_ics as string | undefined }));
  }

  /** One calendar with its fetched text. */
  async getWithText(customerId: string, id: string): Promise<StoredFreezeCalendar | null> {
    const d = (await this.findDocs(customerId, { _id: id }))[0];
    return d ? { ...this.toApi(d), fetched_ics: d.fetched_ics as string | undefined } : null;
  }

  /** A calendar whose URL changed forgets what it fetched from the old one. */
  async clearFetch(customerId: string, id: string): Promise<void> {
    await this.coll.updateOne(
      { _id: id, customer_id: customerId },
      { $unset: { fetched_ics: '', fetch: '' } },
    );
  }

  async recordFetch(
    customerId: string,
    id: string,
    r: { text: string; at: string } | { error: string; at: string },
  ): Promise<void> {
    const set =
      'text' in r
        ? { fetched_ics: r.text, 'fetch.fetched_at': r.at }
        : { 'fetch.error': r.error, 'fetch.error_at': r.at };
    const unset = 'text' in r ? { 'fetch.error': '', 'fetch.error_at': '' } : {};
    await this.coll.updateOne(
      { _id: id, customer_id: customerId },
      { $set: set, ...(Object.keys(unset).length ? { $unset: unset } : {}) },
    );
  }
}
