import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Exit codes: documented in docs/cli.md. */
export const EXIT = { ok: 0, api: 1, usage: 2, eventFailed: 3 } as const;

/** A refusal the user can fix on the command line (exit 2). */
export class UsageError extends Error {}

/** An error answer of the API (exit 1), with its `{error: {code, message, details}}`. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

export interface Connection {
  apiUrl: string;
  apiKey: string;
}

export interface ProfileFile {
  profiles: Record<string, { api_url?: string; api_key?: string }>;
}

export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PATCHWAVE_CONFIG) return env.PATCHWAVE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'patchwave', 'config.json');
}

export function readProfiles(env: NodeJS.ProcessEnv = process.env): ProfileFile {
  const path = profilePath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { profiles: {} };
  }
  try {
    const v = JSON.parse(text) as ProfileFile;
    return { profiles: v.profiles ?? {} };
  } catch {
    throw new UsageError(`${path} is not valid JSON`);
  }
}

/**
 * Where to connect: --api-url / an explicit --profile / PATCHWAVE_API_URL and PATCHWAVE_API_KEY / the
 * `default` profile, in that order of preference.
 */
export function resolveConnection(
  flags: { apiUrl?: string; profile?: string },
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const profiles = readProfiles(env).profiles;
  const explicitProfile = flags.profile ?? env.PATCHWAVE_PROFILE;
  if (explicitProfile && !profiles[explicitProfile])
    throw new UsageError(`no profile "${explicitProfile}" in ${profilePath(env)}`);
  const fromProfile = profiles[explicitProfile ?? 'default'] ?? {};
  const apiUrl =
    flags.apiUrl ??
    (explicitProfile ? fromProfile.api_url : undefined) ??
    env.PATCHWAVE_API_URL ??
    fromProfile.api_url ??
    'http://127.0.0.1:8080';
  const apiKey =
    (explicitProfile ? fromProfile.api_key : undefined) ?? env.PATCHWAVE_API_KEY ?? fromProfile.api_key;
  if (!apiKey)
    throw new UsageError(
      `no API key: set PATCHWAVE_API_KEY, or run \`patchwave profile save --api-url URL --api-key KEY\` (${profilePath(env)})`,
    );
  return { apiUrl: apiUrl.replace(/\/+$/, ''), apiKey };
}

export class Client {
  constructor(private readonly conn: Connection) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    if (!text) return undefined as T;
    return JSON.parse(text) as T;
  }

  /** For binary answers (reports). Throws ApiCallError on an error answer. */
  async download(path: string): Promise<{ body: Buffer; contentType: string }> {
    const res = await this.raw('GET', path);
    return { body: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '' };
  }

  private async raw(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.conn.apiKey}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.conn.apiUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiCallError(
        0,
        'unreachable',
        `cannot reach ${this.conn.apiUrl}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
        null,
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let err: { error?: { code?: string; message?: string; details?: unknown } } = {};
    try {
      err = JSON.parse(text);
    } catch {
      /* not our error shape */
    }
    throw new ApiCallError(
      res.status,
      err.error?.code ?? `http_${res.status}`,
      err.error?.message ?? (text.slice(0, 500) || res.statusText),
      err.error?.details ?? null,
    );
  }
}
