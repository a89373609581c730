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
