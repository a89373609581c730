import type { z } from 'zod';

export interface FieldIssue {
  /** Where the bad value was: body, query or params. */
  in: 'body' | 'query' | 'params' | 'header';
  /** Dotted path inside it, e.g. `machines.2.machine_id`; '' for the whole value. */
  path: string;
  message: string;
  /**
   * Set when the refusal depends on the server's state or configuration, not on the request alone: the
   * request is valid as written (the OpenAPI document states every rule it could break) but conflicts with
   * what is stored or configured, so it is answered 409 with this code (see `refusal`).
   */
  code?: StateIssueCode;
}

/** Why a valid request conflicts with the server's state or configuration (409). */
export type StateIssueCode =
  /** An id that names nothing of this customer (a plan, machine, role, notification group, API key, …). */
  | 'unknown_reference'
  /** A URL this server's egress (SSRF) policy refuses to call: its allow-list and address rules. */
  | 'egress_refused'
  /** A secret reference (secret_ref) that does not resolve on this server. */
  | 'secret_unresolved'
  /** A name or other unique value another object already holds. */
  | 'name_taken'
  /** A merge patch whose fields are valid alone but not together with the stored object's. */
  | 'conflicts_with_stored'
  /** A name that does not exist in the event (a hook or machine a partial run chooses). */
  | 'not_in_event';

/** Every refusal the API makes; rendered as `{error: {code, message, details}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

export const validationError = (issues: FieldIssue[]) =>
  new ApiError(400, 'validation_error', summarise(issues), issues);

/**
 * The answer to a request with problems, naming every bad field in one answer: 400 when any of them is
 * wrong in the request itself (schema, or a rule the OpenAPI document states), else 409 when every one
 * conflicts with state or configuration, with the shared code (`conflict` when they differ).
 */
export function refusal(issues: FieldIssue[]): ApiError {
  if (issues.some((i) => !i.code)) return validationError(issues);
  const codes = new Set(issues.map((i) => i.code));
  const code = codes.size === 1 ? issues[0].code! : 'conflict';
  return new ApiError(
    409,
    code,
    summarise(issues).replace(/^invalid request/, 'conflicts with state'),
    issues,
  );
}
export const unauthorized = (
  message = 'a valid API key is required (Authorization: Bearer <key> or x-api-key)',
) => new ApiError(401, 'unauthorized', message, null, { 'www-authenticate': 'Bearer' });
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (what: string, id: string) =>
  new ApiError(404, 'not_found', `${what} ${id} not found`);
export const conflict = (message: string, details: unknown = null) =>
  new ApiError(409, 'conflict', message, details);

function summarise(issues: FieldIssue[]): string {
  const first = issues.slice(0, 3).map((i) => `${i.in}${i.path ? '.' + i.path : ''}: ${i.message}`);
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `invalid request: ${first.join('; ')}${more}`;
}

/** One FieldIssue per bad field, including one per unknown field. */
export function zodIssues(where: FieldIssue['in'], error: z.ZodError): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys)
        out.push({ in: where, path: [...base, k].join('.'), message: 'is not a known field' });
    } else {
      out.push({ in: where, path: base.join('.'), message: issue.message });
    }
  }
  return out;
}
