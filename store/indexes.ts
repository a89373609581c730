import type { Db } from 'mongodb';
import { COLLECTIONS } from './db';

/** Indexes of the collections the API owns (configuration, keys, audit). Idempotent. */
export async function ensureApiIndexes(db: Db): Promise<void> {
  const c = (name: string) => db.collection(name);
  await Promise.all([
    c(COLLECTIONS.machines).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.machines).createIndex(
      { customer_id: 1, 'access.ssm_machine_id': 1 },
      { unique: true, name: 'machine_ssm_id_per_customer' },
    ),
    c(COLLECTIONS.plans).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.plans).createIndex({ customer_id: 1, machine_ids: 1 }),
    c(COLLECTIONS.pipelines).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.pipelines).createIndex({ customer_id: 1, plan_ids: 1 }),
    c(COLLECTIONS.notificationGroups).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.freezeCalendars).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.customers).createIndex({ created_at: 1, _id: 1 }),
    c(COLLECTIONS.apiKeys).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.roles).createIndex(
      { customer_id: 1, name: 1 },
      { unique: true, name: 'role_name_per_customer' },
    ),
    c(COLLECTIONS.roles).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.roleBindings).createIndex(
      { customer_id: 1, api_key_id: 1, role_id: 1 },
      { unique: true, name: 'binding_once' },
    ),
    c(COLLECTIONS.roleBindings).createIndex({ customer_id: 1, role_id: 1 }),
    c(COLLECTIONS.roleBindings).createIndex({ customer_id: 1, created_at: 1, _id: 1 }),
    c(COLLECTIONS.audit).createIndex({ customer_id: 1, at: -1, _id: -1 }),
    c(COLLECTIONS.audit).createIndex({ customer_id: 1, resource: 1, resource_id: 1, at: -1 }),
  ]);
}
