/**
 * The console's only way out: the public REST API under /api/v1, same origin. The key lives in
 * sessionStorage (gone when the tab closes), is sent only in the Authorization header, and never appears in a
 * URL or a log.
 */
const KEY_STORAGE = 'patchwave.apiKey';
const TIMEOUT_MS = 30_000;

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}
export function storeKey(key: string | null) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export interface FieldIssue {
  in: 'body' | 'query' | 'params';
  path: string;
  message: string;
}

/** A refusal from the API, with its code, message and (for 400, and a 409 naming fields) every bad field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
  /** Field messages of a 400 or 409, by dotted path (`machines.0.machine_id`). */
  fields(): Record<string, string> {
    const out: Record<string, string> = {};
    if (Array.isArray(this.details))
      for (const d of this.details as FieldIssue[])
        if (d && typeof d.path === 'string')
          out[d.path] = out[d.path] ? `${out[d.path]}; ${d.message}` : d.message;
    return out;
  }
}

let onUnauthorized: (() => void) | undefined;
/** Called when a stored key stops working (deleted, rotated): the app signs out. */
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

async function call(method: string, path: string, body?: unknown, key = storedKey()): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    const timeout = (e as Error).name === 'TimeoutError';
    throw new ApiError(
      0,
      timeout ? 'timeout' : 'network',
      timeout ? `no answer within ${TIMEOUT_MS / 1000} s` : 'the API cannot be reached',
      null,
    );
  }
  if (!res.ok) {
    let err: { code?: string; message?: string; details?: unknown } = {};
    try {
      err = ((await res.json()) as { error?: typeof err }).error ?? {};
    } catch {
      /* not JSON: keep the status line */
    }
    if (res.status === 401 && key && key === storedKey()) onUnauthorized?.();
    throw new ApiError(
      res.status,
      err.code ?? 'http_error',
      err.message ?? `${res.status} ${res.statusText}`,
      err.details ?? null,
    );
  }
  return res;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await call(method, path, body);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Checks a key without storing it (sign-in). */
export async function meWith<T>(key: string): Promise<T> {
  const res = await call('GET', '/me', undefined, key);
  return (await res.json()) as T;
}

export async function getText(path: string): Promise<string> {
  return (await call('GET', path)).text();
}

/** Downloads a file the API answers (the PDF report): fetched with the key, then saved from a blob URL. */
export async function download(path: string, fallbackName: string): Promise<void> {
  const res = await call('GET', path);
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function qs(params: Record<string, string | number | undefined | null | string[]>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length) u.set(k, v.join(','));
    } else u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  items: T[];
  continuation_token: string | null;
}

/** Every page of a list (for pickers: machines, plans, groups, roles); bounded so a huge tenant cannot hang the tab. */
export async function listAll<T>(path: string, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let token: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api<Page<T>>(
      'GET',
      `${path}${sep}limit=500${token ? `&continuation_token=${encodeURIComponent(token)}` : ''}`,
    );
    out.push(...page.items);
    token = page.continuation_token;
    if (!token) break;
  }
  return out;
}
