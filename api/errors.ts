import type { z } from 'zod';

export interface FieldIssue {
  /** Where the bad value was: body, query or params. */
  in: 'body' | 'query' | 'params' | 'header';
  /** Dotted path inside it, e.g. `machines.2.machine_id`; '' for the whole value. */
  path: string;
  message: string;
}

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
