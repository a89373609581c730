import type { z } from 'zod';
import { refusal, validationError, zodIssues, type FieldIssue } from './errors';

/** Parses or throws a 400 naming every bad field. */
export function parseOr400<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: FieldIssue['in'],
): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(issuesOf(schema, value, where, r.error));
  return r.data;
}

/** Every bad field of a value a schema refused: zod's issues, plus the unknown fields a union leaves unnamed. */
export function issuesOf(
  schema: z.ZodType,
  value: unknown,
  where: FieldIssue['in'],
  error: z.ZodError,
): FieldIssue[] {
  const issues = zodIssues(where, error);
  const named = new Set(issues.map((i) => i.path));
  return [...issues, ...unknownFieldsOfUnion(schema, value, where).filter((i) => !named.has(i.path))];
}

/**
 * A union of closed objects (one variant per manual status, say) answers only "no variant matches" for a body
 * it cannot place, so its unknown fields would go unnamed; name them as a closed object does.
 */
function unknownFieldsOfUnion(schema: z.ZodType, value: unknown, where: FieldIssue['in']): FieldIssue[] {
  const def = (schema as unknown as { def?: { type?: string; options?: unknown[] } }).def;
  if (def?.type !== 'union' || !value || typeof value !== 'object' || Array.isArray(value)) return [];
  const known = new Set<string>();
  for (const option of def.options ?? []) {
    const shape = (option as { shape?: Record<string, unknown> }).shape;
    if (!shape) return [];
    Object.keys(shape).forEach((k) => known.add(k));
  }
  return Object.keys(value)
    .filter((k) => !known.has(k))
    .map((k) => ({ in: where, path: k, message: 'is not a known field' }));
}

/**
 * Throws when checks found problems (400, or 409 when each one conflicts with state: see `refusal`); does
 * nothing otherwise.
 */
export function throwIfIssues(issues: FieldIssue[]): void {
  if (issues.length) throw refusal(issues);
}

/**
 * JSON merge patch (RFC 7396) of the client-owned fields of a stored object: `null` removes a field,
 * objects merge, anything else replaces. The result is validated as a whole by the caller.
 */
export function mergePatch(
  stored: Record<string, unknown>,
  patch: Record<string, unknown>,
  inputKeys: readonly string[],
) {
  const base: Record<string, unknown> = {};
  for (const k of inputKeys) if (stored[k] !== undefined) base[k] = stored[k];
  return mergeValue(base, patch) as Record<string, unknown>;
}

/** Below this depth a patch value replaces instead of merging: no input nests that deep, and it bounds recursion. */
const MAX_MERGE_DEPTH = 32;

function mergeValue(target: unknown, patch: unknown, depth = 0): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch) || depth > MAX_MERGE_DEPTH)
    return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    // An own `__proto__` key stays a plain (unknown, so refused) field instead of replacing the prototype.
    else
      Object.defineProperty(out, k, {
        value: mergeValue(out[k], v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}

/** Copies only defined values: stored documents never hold `undefined`. */
export function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The top-level fields of `raw` that are valid on their own (for an object schema), or undefined. Lets
 * store-backed checks run even when another field is malformed.
 */
export function validFields(schema: z.ZodType, raw: unknown): Record<string, unknown> | undefined {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape || !raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, fieldSchema] of Object.entries(shape)) {
    const r = fieldSchema.safeParse((raw as Record<string, unknown>)[k]);
    if (r.success && r.data !== undefined) out[k] = r.data;
  }
  return out;
}
