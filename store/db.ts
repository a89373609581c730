import { MongoClient, type Db } from 'mongodb';

/**
 * One MongoClient per process. Only features both MongoDB and FerretDB 1.x support are used:
 * plain CRUD, upserts, findOneAndUpdate, unique/compound indexes and simple aggregations.
 * No transactions, no change streams.
 */
export async function connectMongo(
  uri: string,
  dbName: string,
  /** Extra driver options (the benchmark's store trace turns on command monitoring). */
  extra: { monitorCommands?: boolean } = {},
): Promise<{ client: MongoClient; db: Db }> {
  const client = new MongoClient(uri, {
    ...extra,
    serverSelectionTimeoutMS: 10_000,
    connectTimeoutMS: 10_000,
    socketTimeoutMS: 60_000,
    maxPoolSize: 50,
    retryWrites: false, // FerretDB 1.x does not support retryable writes; our writes are idempotent upserts instead.
  });
  await client.connect();
  return { client, db: client.db(dbName) };
}

export const COLLECTIONS = {
  customers: 'customers',
  machines: 'machines',
  plans: 'plans',
  pipelines: 'pipelines',
  events: 'events',
  eventMachines: 'event_machines',
  /** An event's plan snapshot (machines, hooks), apart from the event so listings never decode it (issue 18). */
  eventSnapshots: 'event_snapshots',
  timeline: 'event_timeline',
  commands: 'commands',
  /** One per command request (its key): claimed before the command is sent, then names it (store/event-records.ts). */
  commandRequests: 'command_requests',
  hookRuns: 'hook_runs',
  notificationGroups: 'notification_groups',
  freezeCalendars: 'freeze_calendars',
  notifications: 'notifications',
  notificationClaims: 'notification_claims',
  apiKeys: 'api_keys',
  roles: 'roles',
  roleBindings: 'role_bindings',
  audit: 'audit',
  reports: 'reports',
  logs: 'patch_logs',
  compliance: 'machine_compliance',
} as const;

/** MongoDB's (and FerretDB's) error code for a unique-index violation. */
export const DUPLICATE_KEY = 11000;

/**
 * FerretDB 1.x answers an *update* or *replace* that breaks a unique index with its backend's error wrapped
 * as code 1 (InternalError), not 11000 (only inserts get 11000): "... constraint failed: UNIQUE constraint
 * failed: index '…' (2067)" on SQLite, "duplicate key value violates unique constraint" on PostgreSQL.
 */
const FERRETDB_UNIQUE_VIOLATION = /UNIQUE constraint failed|duplicate key value violates unique constraint/;

/** True for a write refused because a document with that unique key exists already (MongoDB and FerretDB). */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code === DUPLICATE_KEY) return true;
  return e?.code === 1 && typeof e.message === 'string' && FERRETDB_UNIQUE_VIOLATION.test(e.message);
}
