/**
 * API key secrets (issue 8 §4): never logged — the API's pino output is captured at the most verbose level,
 * with no redaction configured, so the test proves the secret is never handed to the logger at all — and
 * stored only as a SHA-256 hash: no document in any collection holds a secret or its random part.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { COLLECTIONS } from '../../store/db';
import { startApi, machineBody, type ApiHarness } from './api-harness';

let h: ApiHarness;
const lines: string[] = [];
beforeAll(async () => {
  const capture = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  h = await startApi('sec_keys', { logger: pino({ level: 'trace' }, capture) });
});
afterAll(async () => {
  await h?.close();
});

/** The parts of a key that must stay secret: the whole key and its random part. */
function secretParts(key: string): string[] {
  const random = key.split('.')[1];
  expect(random?.length).toBeGreaterThanOrEqual(20);
  return [key, random];
}

async function everyStoredDocument(): Promise<string> {
  const out: string[] = [];
  for (const c of await h.db.listCollections().toArray()) {
    out.push(JSON.stringify(await h.db.collection(c.name).find({}).toArray()));
  }
  return out.join('\n');
}

test('keys are neither logged nor stored in clear, whatever the request does', async () => {
  const admin = h.adminKey;
  const created = await h.request('POST', '/api/v1/api-keys', { body: { name: 'ci' } });
  expect(created.status).toBe(201);
  const issued = created.body.secret as string;
  expect(issued).toMatch(/^pw_key_/);
  const { customerId, adminKey: tenantKey } = await h.newCustomer('sec-tenant');
  void customerId;
  const wrong = `${admin.split('.')[0]}.${'A'.repeat(43)}`; // a known key id with a wrong secret
  const keys = [admin, issued, tenantKey];

  const requests: [
    string,
    string,
    { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
    number,
  ][] = [
    ['GET', '/api/v1/machines', {}, 200],
    // The issued key has no role yet: authenticated (403, not 401) but not allowed.
    ['GET', '/api/v1/machines', { key: null, headers: { 'x-api-key': issued } }, 403],
    ['POST', '/api/v1/machines', { key: tenantKey, body: machineBody(88_001) }, 201],
    ['POST', '/api/v1/machines', { key: null, headers: { 'x-api-key': admin }, body: { name: 5 } }, 400],
    ['POST', '/api/v1/machines', { raw: '{"name": ' }, 400],
    ['GET', `/api/v1/machines?api_key=${encodeURIComponent(issued)}`, {}, 400],
    ['GET', '/api/v1/machines', { key: wrong }, 401],
    ['GET', '/api/v1/machines', { key: null, headers: { 'x-api-key': wrong } }, 401],
    ['GET', '/api/v1/machines', { key: null, headers: { authorization: `Basic ${issued}` } }, 401],
    ['DELETE', '/api/v1/customers/default', { key: tenantKey }, 404],
    ['GET', '/api/v1/nowhere', { key: issued }, 404],
    ['GET', '/api/v1/api-keys', {}, 200],
  ];
  for (const [method, path, opts, status] of requests) {
    const r = await h.request(method, path, opts);
    expect([method, path, r.status]).toEqual([method, path, status]);
  }

  // The log saw every request (so an empty log cannot pass) and names keys by id only.
  const log = lines.join('\n');
  expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(requests.length);
  expect(log).toContain(issued.split('.')[0].slice(3)); // key_… id
  for (const key of [...keys, wrong]) for (const part of secretParts(key)) expect(log).not.toContain(part);

  // Stored: a SHA-256 hash per key, and no secret anywhere in the database.
  const docs = await h.db
    .collection<{ _id: string; secret_hash: string }>(COLLECTIONS.apiKeys)
    .find({})
    .toArray();
  for (const key of keys) {
    const id = key.split('.')[0].slice(3);
    const doc = docs.find((d) => d._id === id);
    expect(doc?.secret_hash).toBe(createHash('sha256').update(key).digest('hex'));
  }
  const stored = await everyStoredDocument();
  for (const key of keys) for (const part of secretParts(key)) expect(stored).not.toContain(part);

  // Reading keys through the API never shows a secret or its hash.
  const listed = await h.request('GET', '/api/v1/api-keys');
  for (const key of keys) for (const part of secretParts(key)) expect(listed.text).not.toContain(part);
  expect(listed.text).not.toContain('secret_hash');
});
