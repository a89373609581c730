import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Db, MongoClient } from 'mongodb';
import { connectMongo } from '../../store/db';

/**
 * What integration tests need to reach the servers the jest global setup started (test/setup).
 * Every test file gets its own database and task queue names, so files never see each other's data.
 */

export interface TestEnv {
  temporalAddress: string;
  temporalNamespace: string;
  mongoUri: string;
  /** A database name nobody else uses in this run ("pw_<prefix>_<random>", ≤ 63 chars, FerretDB-safe). */
  uniqueDbName(prefix?: string): string;
  /** A task queue name nobody else uses in this run. */
  uniqueTaskQueue(prefix?: string): string;
}

export function testEnv(): TestEnv {
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  const mongoUri = process.env.MONGODB_URI;
  if (!temporalAddress || !mongoUri) {
    throw new Error(
      'TEMPORAL_ADDRESS / MONGODB_URI are not set: integration tests must run in the jest "integration" project ' +
        '(npx jest --selectProjects integration …), whose global setup starts the servers.',
    );
  }
  return {
    temporalAddress,
    temporalNamespace: process.env.TEMPORAL_NAMESPACE || 'default',
    mongoUri,
    uniqueDbName: (prefix = 'test') => `pw_${sanitize(prefix).slice(0, 40)}_${uniqueSuffix()}`,
    uniqueTaskQueue: (prefix = 'test') => `${prefix}-${uniqueSuffix()}`,
  };
}

function sanitize(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
}

function uniqueSuffix(): string {
  return `${process.pid.toString(36)}${randomBytes(5).toString('hex')}`;
}

export interface TestDb {
  client: MongoClient;
  db: Db;
  dbName: string;
  /** Drops the database and closes the client. */
  close(): Promise<void>;
}

/** A fresh database on the run's MongoDB/FerretDB, through the project's own connectMongo. */
export async function openTestDb(prefix?: string): Promise<TestDb> {
  const env = testEnv();
  const dbName = env.uniqueDbName(prefix);
  const { client, db } = await connectMongo(env.mongoUri, dbName);
  return {
    client,
    db,
    dbName,
    close: async () => {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}

export interface TestTemporal {
  connection: Connection;
  client: Client;
  namespace: string;
  close(): Promise<void>;
}

/** A client connection to the run's Temporal server. */
export async function openTestTemporal(): Promise<TestTemporal> {
  const env = testEnv();
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection, namespace: env.temporalNamespace });
  return { connection, client, namespace: env.temporalNamespace, close: () => connection.close() };
}
