import type { Collection, Document, Filter } from 'mongodb';

export interface Page<T> {
  items: T[];
  continuation_token: string | null;
}

/** Opaque token: the sort key of the last item returned. Stable order = (sortField, _id). */
export function encodeToken(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

export function decodeToken(token: string): (string | number)[] {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v;
  } catch {
    /* fall through */
  }
  throw new InvalidTokenError();
}

export class InvalidTokenError extends Error {
  constructor() {
    super('continuation_token is not valid');
  }
}

/** Pages over `filter` ordered by _id ascending. */
export async function pageById<T extends Document>(
  coll: Collection<T>,
  filter: Filter<T>,
  limit: number,
  token?: string,
): Promise<Page<T>> {
  const f: Filter<T> = { ...filter };
  if (token) {
    const [last] = decodeToken(token);
    (f as Record<string, unknown>)._id = { $gt: last };
  }
  const docs = await coll
    .find(f)
    .sort({ _id: 1 })
    .limit(limit + 1)
    .toArray();
  const more = docs.length > limit;
  const items = (more ? docs.slice(0, limit) : docs) as T[];
  const lastId = items.length ? (items[items.length - 1] as Document)._id : undefined;
  return { items, continuation_token: more && lastId !== undefined ? encodeToken([String(lastId)]) : null };
}
