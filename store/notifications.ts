import type { Collection, Db } from 'mongodb';
import { COLLECTIONS, isDuplicateKey } from './db';
import { isAllowed, type RoleRule } from '../domain/auth';
import type { NotificationEventType, Severity } from '../domain/notifications';
import type { ChannelType } from '../domain/notification-group';

/**
 * One delivery = one notification to one channel of one group, `_id` = `<key>/<group_id>/<channel_index>`.
 * Before the channel is called the delivery is claimed (status `sending`, with a lease); after, it is
 * finished (`sent` | `failed`). A retried notify activity therefore skips what was sent, and a concurrent
 * attempt skips what is in flight. It never holds the channel URL or the message text.
 *
 * Claiming must be atomic, and FerretDB 1.x implements findAndModify as a read then a write, so two
 * attempts could both "win" a conditional update. The one atomic operation both FerretDB and MongoDB
 * guarantee is an insert of a unique `_id`: each claim inserts `<delivery id>#<generation>` into
 * `notification_claims`, and only one inserter per generation wins. A takeover after a crash (lease
 * expired) or a new try of a failed delivery claims the next generation.
 */
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed';

export interface DeliveryDoc {
  _id: string;
  key: string;
  customer_id: string;
  event_id?: string;
  machine_id?: string;
  group_id: string;
  channel_index: number;
  channel_type: ChannelType;
  notification_type: NotificationEventType;
  severity: Severity;
  status: DeliveryStatus;
  /** Calls made to the channel, over every claim. */
  attempts: number;
  last_error?: string;
  /** Generation of the latest claim (see notification_claims). */
  claim_gen?: number;
  lease_until?: string;
  created_at: string;
  updated_at: string;
  sent_at?: string;
}

interface ClaimDoc {
  _id: string;
  delivery_id: string;
  claimed_at: string;
}

export type DeliveryView = Omit<DeliveryDoc, '_id' | 'lease_until' | 'claim_gen'> & { id: string };

export const deliveryId = (key: string, groupId: string, channelIndex: number) =>
  `${key}/${groupId}/${channelIndex}`;

export type DeliverySeed = Omit<
  DeliveryDoc,
  'status' | 'attempts' | 'last_error' | 'claim_gen' | 'lease_until' | 'created_at' | 'updated_at' | 'sent_at'
>;

export class NotificationDeliveries {
  private readonly coll: Collection<DeliveryDoc>;
  private readonly claims: Collection<ClaimDoc>;

  constructor(private readonly db: Db) {
    this.coll = db.collection<DeliveryDoc>(COLLECTIONS.notifications);
    this.claims = db.collection<ClaimDoc>(COLLECTIONS.notificationClaims);
  }

  async ensureIndexes(): Promise<void> {
    await this.coll.createIndex({ event_id: 1, created_at: 1 });
  }

  /**
   * Takes the delivery for sending. Answers the current record and whether this caller owns it now:
   * not when it was sent already, or when another attempt holds an unexpired lease or won the claim.
   */
  async claim(
    seed: DeliverySeed,
    now: Date,
    leaseMs: number,
  ): Promise<{ claimed: boolean; doc: DeliveryDoc | null }> {
    const at = now.toISOString();
    try {
      await this.coll.updateOne(
        { _id: seed._id },
        {
          $setOnInsert: {
            ...seed,
            status: 'pending',
            attempts: 0,
            claim_gen: 0,
            created_at: at,
            updated_at: at,
          },
        },
        { upsert: true },
      );
    } catch (err) {
      // Two attempts upserting the same record at once: the loser finds it created, which is all it needed.
      if (!isDuplicateKey(err)) throw err;
    }
    const doc = await this.coll.findOne({ _id: seed._id });
    if (!doc || doc.status === 'sent') return { claimed: false, doc };
    if (doc.status === 'sending' && (doc.lease_until ?? '') >= at) return { claimed: false, doc };
    const gen = (doc.claim_gen ?? 0) + 1;
    try {
      await this.claims.insertOne({ _id: `${seed._id}#${gen}`, delivery_id: seed._id, claimed_at: at });
    } catch (err) {
      if (isDuplicateKey(err)) return { claimed: false, doc };
      throw err;
    }
    const lease_until = new Date(now.getTime() + leaseMs).toISOString();
    await this.coll.updateOne(
      { _id: seed._id },
      { $set: { status: 'sending', claim_gen: gen, lease_until, updated_at: at } },
    );
    return { claimed: true, doc: { ...doc, status: 'sending', claim_gen: gen, lease_until } };
  }

  async finish(
    id: string,
    outcome: { status: 'sent' | 'failed'; attempts: number; last_error?: string },
    now: Date,
  ): Promise<void> {
    const at = now.toISOString();
    await this.coll.updateOne(
      { _id: id },
      {
        $set: {
          status: outcome.status,
          updated_at: at,
          ...(outcome.status === 'sent' ? { sent_at: at } : {}),
          ...(outcome.last_error !== undefined ? { last_error: outcome.last_error } : {}),
        },
        $inc: { attempts: outcome.attempts },
        $unset: { lease_until: '' },
      },
    );
  }

  /** The customer's notification groups with these IDs, in the order given (the order the user configured). */
  async groups<G extends { _id: string; customer_id: string }>(
    customerId: string,
    ids: string[],
  ): Promise<G[]> {
    if (ids.length === 0) return [];
    const unique = [...new Set(ids)];
    const docs = await this.db
      .collection<{ _id: string; customer_id: string }>(COLLECTIONS.notificationGroups)
      .find({ _id: { $in: unique }, customer_id: customerId })
      .toArray();
    const byId = new Map(docs.map((d) => [d._id, d as G]));
    return unique.flatMap((id) => byId.get(id) ?? []);
  }

  async customerName(customerId: string): Promise<string | undefined> {
    const c = await this.db
      .collection<{ _id: string; name?: string }>(COLLECTIONS.customers)
      .findOne({ _id: customerId }, { projection: { name: 1 } });
    return c?.name;
  }

  /** Names of the customer's API keys that may approve this event (see findApproverKeyNames). */
  async approverKeyNames(customerId: string, eventId: string): Promise<string[]> {
    return findApproverKeyNames(this.db, customerId, eventId);
  }

  async list(eventId: string, customerId?: string): Promise<DeliveryView[]> {
    const docs = await this.coll
      .find({ event_id: eventId, ...(customerId ? { customer_id: customerId } : {}) })
      .sort({ created_at: 1, _id: 1 })
      .toArray();
    return docs.map(({ _id, lease_until, claim_gen, ...rest }) => {
      void lease_until;
      void claim_gen;
      return { id: _id, ...rest };
    });
  }
}

/** Every delivery made for an event, oldest first (for the event view and support). */
export async function listDeliveries(db: Db, eventId: string, customerId?: string): Promise<DeliveryView[]> {
  return new NotificationDeliveries(db).list(eventId, customerId);
}

/** Names of the customer's API keys that may approve this event (permission event:update). */
export async function findApproverKeyNames(
  db: Db,
  customerId: string,
  eventId: string,
  limit = 20,
): Promise<string[]> {
  const roles = await db
    .collection<{ _id: string; customer_id: string; rules: RoleRule[] }>(COLLECTIONS.roles)
    .find({ customer_id: customerId }, { projection: { _id: 1, rules: 1 } })
    .toArray();
  const roleIds = roles.filter((r) => isAllowed(r.rules ?? [], 'event', 'update', eventId)).map((r) => r._id);
  if (roleIds.length === 0) return [];
  const bindings = await db
    .collection<{ _id: string; api_key_id: string }>(COLLECTIONS.roleBindings)
    .find({ customer_id: customerId, role_id: { $in: roleIds } }, { projection: { api_key_id: 1 } })
    .toArray();
  const keyIds = [...new Set(bindings.map((b) => b.api_key_id))];
  if (keyIds.length === 0) return [];
  const keys = await db
    .collection<{ _id: string; name: string }>(COLLECTIONS.apiKeys)
    .find({ customer_id: customerId, _id: { $in: keyIds } }, { projection: { name: 1 } })
    .toArray();
  return keys
    .map((k) => k.name)
    .sort()
    .slice(0, limit);
}
