import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { COLLECTIONS } from './db';
import { pageBy, TenantRepo, type TenantDoc } from './tenant-repo';
import { newId } from '../common/ids';
import {
  ADMIN_RULES,
  type ApiKey,
  type Customer,
  type Role,
  type RoleBinding,
  type RoleRule,
} from '../domain/auth';

/**
 * API keys are `pw_<key id>.<32 random bytes, base64url>`. The key id lets us fetch one document and compare
 * hashes in constant time. SHA-256 (not a slow password hash) is right here: the secret has 256 bits of
 * entropy, so there is nothing to brute-force and a slow hash would only slow every request.
 */
const KEY_FORMAT = /^pw_(key_[a-z0-9]{4,64})\.([A-Za-z0-9_-]{20,200})$/;
/** Where a bootstrap key given in env in some other form is stored. */
export const ENV_BOOTSTRAP_KEY_ID = 'key_bootstrap';
export const BOOTSTRAP_CUSTOMER_ID = 'default';

export function adminRoleId(customerId: string): string {
  return `role_admin_${customerId}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newKeySecret(keyId: string): string {
  return `pw_${keyId}.${randomBytes(32).toString('base64url')}`;
}

export function keyIdOf(secret: string): string | undefined {
  return KEY_FORMAT.exec(secret)?.[1];
}

export type ApiKeyDoc = TenantDoc & {
  name: string;
  secret_hash: string;
  created_at: string;
  created_by?: string;
  last_used_at?: string;
};

export interface Principal {
  key: ApiKey;
  customer: Customer;
  rules: RoleRule[];
}

/**
 * How long an authenticated key's principal (key, customer, role rules) is reused without reading the store
 * again. Every write through the same API process forgets them at once (`forgetPrincipals`); a key revoked or
 * a role changed through another API process is honoured here within this time.
 */
export const PRINCIPAL_TTL_MS = 2_000;

export class AuthStore {
  /** By the presented secret's SHA-256 (never the secret itself); successes only. */
  private readonly principals = new Map<string, { at: number; doc: ApiKeyDoc; principal: Principal }>();
  /** Bumped by every forget: a look-up that overlapped a write does not cache what it read. */
  private generation = 0;
  readonly customers: TenantRepo<Customer & { customer_id: string }>;
  readonly roles: TenantRepo<Role>;
  readonly bindings: TenantRepo<RoleBinding>;
  private readonly keys: Collection<ApiKeyDoc>;
  private readonly customerColl: Collection<{ _id: string } & Record<string, unknown>>;

  constructor(db: Db) {
    // A customer's own id is its customer_id, so the generic tenant scoping applies to it as well.
    this.customers = new TenantRepo(db, COLLECTIONS.customers, ['customer_id']);
    this.roles = new TenantRepo<Role>(db, COLLECTIONS.roles);
    this.bindings = new TenantRepo<RoleBinding>(db, COLLECTIONS.roleBindings);
    this.keys = db.collection<ApiKeyDoc>(COLLECTIONS.apiKeys);
    this.customerColl = db.collection(COLLECTIONS.customers);
  }

  // ---------- customers ----------

  /** Creates a customer and its built-in `admin` role. */
  async createCustomer(
    fields: { name: string; description?: string },
    opts: { id?: string; bootstrap?: boolean } = {},
  ): Promise<{ customer: Customer; adminRoleId: string }> {
    this.forgetPrincipals();
    const id = opts.id ?? newId('cus');
    const now = new Date().toISOString();
    await this.customers.insert(id, id, { ...fields, bootstrap: opts.bootstrap ?? false }, now);
    const roleId = adminRoleId(id);
    await this.roles.insert(
      id,
      roleId,
      {
        name: 'admin',
        description: 'Every action on every resource of this customer',
        rules: ADMIN_RULES,
        builtin: true,
      },
      now,
    );
    return { customer: (await this.getCustomer(id))!, adminRoleId: roleId };
  }

  async getCustomer(id: string): Promise<Customer | null> {
    return this.customers.get(id, id);
  }

  async listAllCustomers(limit: number, token?: string) {
    return this.customers.listAll(limit, token);
  }

  /** Removes every way into a customer (keys, bindings, roles) and the customer itself; its data stays. */
  async deleteCustomer(id: string): Promise<boolean> {
    this.forgetPrincipals();
    const existed = await this.customerColl.deleteOne({ _id: id });
    await this.keys.deleteMany({ customer_id: id });
    await this.bindings.deleteWhere(id);
    await this.roles.deleteWhere(id);
    return existed.deletedCount === 1;
  }

  // ---------- keys ----------

  async countKeys(): Promise<number> {
    return this.keys.countDocuments({});
  }

  async createKey(args: {
    customerId: string;
    name: string;
    createdBy?: string;
    /** A given secret (bootstrap from env); otherwise a new one is generated. */
    secret?: string;
  }): Promise<{ key: ApiKey; secret: string }> {
    this.forgetPrincipals();
    const id = args.secret ? (keyIdOf(args.secret) ?? ENV_BOOTSTRAP_KEY_ID) : newId('key');
    const secret = args.secret ?? newKeySecret(id);
    const doc: ApiKeyDoc = {
      _id: id,
      customer_id: args.customerId,
      name: args.name,
      secret_hash: hashSecret(secret),
      created_at: new Date().toISOString(),
      ...(args.createdBy ? { created_by: args.createdBy } : {}),
    };
    await this.keys.insertOne(doc);
    return { key: toApiKey(doc), secret };
  }

  /** Makes a given secret valid (bootstrap key from env, possibly rotated): same id, new hash. */
  async upsertKeySecret(
    customerId: string,
    name: string,
    secret: string,
  ): Promise<{ key: ApiKey; created: boolean }> {
    this.forgetPrincipals();
    const id = keyIdOf(secret) ?? ENV_BOOTSTRAP_KEY_ID;
    const r = await this.keys.updateOne(
      { _id: id },
      {
        $set: { secret_hash: hashSecret(secret) },
        $setOnInsert: { customer_id: customerId, name, created_at: new Date().toISOString() },
      },
      { upsert: true },
    );
    const doc = (await this.keys.findOne({ _id: id }))!;
    return { key: toApiKey(doc), created: r.upsertedCount === 1 };
  }

  async getKey(customerId: string, id: string): Promise<ApiKey | null> {
    const doc = await this.keys.findOne({ _id: id, customer_id: customerId });
    return doc ? toApiKey(doc) : null;
  }

  async listKeys(customerId: string, limit: number, token?: string, onlyIds?: Iterable<string>) {
    const filter: Record<string, unknown> = { customer_id: customerId };
    if (onlyIds) filter._id = { $in: [...onlyIds] };
    const page = await pageBy(this.keys, filter, 'created_at', 1, limit, token);
    return { items: page.items.map(toApiKey), continuation_token: page.continuation_token };
  }

  async keyIdsExisting(customerId: string, ids: readonly string[]): Promise<Set<string>> {
    const docs = await this.keys
      .find({ customer_id: customerId, _id: { $in: [...ids] } }, { projection: { _id: 1 } })
      .toArray();
    return new Set(docs.map((d) => d._id));
  }

  /** Deletes the key first (so it stops working at once), then its role bindings. */
  async deleteKey(customerId: string, id: string): Promise<boolean> {
    this.forgetPrincipals();
    const r = await this.keys.deleteOne({ _id: id, customer_id: customerId });
    if (r.deletedCount !== 1) return false;
    await this.bindings.deleteWhere(customerId, { api_key_id: id });
    return true;
  }

  // ---------- authentication ----------

  async authenticate(presented: string): Promise<Principal | null> {
    if (presented.length > 512) return null;
    const hash = hashSecret(presented);
    const now = Date.now();
    const cached = this.principals.get(hash);
    if (cached && now - cached.at < PRINCIPAL_TTL_MS) {
      this.touch(cached.doc);
      return cached.principal;
    }
    const generation = this.generation;
    const id = keyIdOf(presented) ?? ENV_BOOTSTRAP_KEY_ID;
    const doc = await this.keys.findOne({ _id: id });
    const expected = Buffer.from(doc?.secret_hash ?? '0'.repeat(64), 'hex');
    const actual = Buffer.from(hash, 'hex');
    // Compare even when the key is unknown so timing does not tell which key ids exist.
    const same = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (!doc || !same) return null;
    const customer = await this.getCustomer(doc.customer_id);
    if (!customer) return null;
    const rules = await this.rulesOf(doc.customer_id, doc._id);
    this.touch(doc);
    const principal = { key: toApiKey(doc), customer, rules };
    if (generation === this.generation) {
      if (this.principals.size >= 10_000) this.principals.clear();
      this.principals.set(hash, { at: now, doc, principal });
    }
    return principal;
  }

  /** After any write (a key revoked, a role or binding changed): the next request reads its principal anew. */
  forgetPrincipals(): void {
    this.generation++;
    this.principals.clear();
  }

  async rulesOf(customerId: string, keyId: string): Promise<RoleRule[]> {
    const bindings = await this.bindings.findDocs(customerId, { api_key_id: keyId }, { role_id: 1 });
    if (bindings.length === 0) return [];
    const roles = await this.roles.findDocs(customerId, {
      _id: { $in: bindings.map((b) => b.role_id as string) },
    });
    return roles.flatMap((r) => r.rules as RoleRule[]);
  }

  /** Records use at most once a minute per key, without holding up the request. */
  private touch(doc: ApiKeyDoc): void {
    const now = Date.now();
    if (doc.last_used_at && now - Date.parse(doc.last_used_at) < 60_000) return;
    doc.last_used_at = new Date(now).toISOString(); // a cached principal's document: once a minute, not every request
    void this.keys
      .updateOne({ _id: doc._id }, { $set: { last_used_at: new Date(now).toISOString() } })
      .catch(() => {});
  }

  // ---------- role bindings ----------

  async bind(customerId: string, apiKeyId: string, roleId: string): Promise<RoleBinding> {
    this.forgetPrincipals();
    const [existing] = await this.bindings.findDocs(customerId, { api_key_id: apiKeyId, role_id: roleId });
    if (existing) return this.bindings.toApi(existing);
    return this.bindings.insert(customerId, newId('rb'), { api_key_id: apiKeyId, role_id: roleId });
  }

  async bindingCountForRole(customerId: string, roleId: string): Promise<number> {
    return this.bindings.countWhere(customerId, { role_id: roleId });
  }

  async roleByName(customerId: string, name: string): Promise<Role | null> {
    const [doc] = await this.roles.findDocs(customerId, { name });
    return doc ? this.roles.toApi(doc) : null;
  }
}

function toApiKey(doc: ApiKeyDoc): ApiKey {
  return {
    id: doc._id,
    customer_id: doc.customer_id,
    name: doc.name,
    created_at: doc.created_at,
    ...(doc.created_by ? { created_by: doc.created_by } : {}),
    ...(doc.last_used_at ? { last_used_at: doc.last_used_at } : {}),
  };
}
