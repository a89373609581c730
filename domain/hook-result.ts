import { isTerminalSsmStatus, normalizeSsmWord } from './ssm-status';

/**
 * Whatever a hook answered → `{code, message, output}` (docs/behaviour.md#hook-run, #hook-payload).
 * Success iff 200 ≤ code ≤ 299 (domain/hooks isHookSuccess). Anything that is not a well-formed answer is
 * code 500 with a message saying what went wrong, so an operator can tell "hook said no" from "hook broke".
 */
export type RawHookAnswer =
  | { kind: 'answer'; httpStatus?: number; body: string }
  | { kind: 'function_error'; message: string }
  | { kind: 'transport_error'; message: string }
  | { kind: 'timeout'; message?: string; atWindowEnd?: boolean };

export interface HookResult {
  code: number;
  message: string;
  output: string;
}

export const FAILURE_CODE = 500;
/** SSM keeps the first 24,000 characters of a command's stdout; we keep the same for script hooks. */
export const SCRIPT_OUTPUT_MAX_CHARS = 24_000;
/**
 * Outputs travel in every later hook payload of the event and of the pipeline run, and in workflow
 * histories (Temporal payloads ≤ 2 MB), so one runaway hook must not break the rest. Truncation is said
 * in the message.
 */
export const HOOK_OUTPUT_MAX_CHARS = 256_000;
export const HOOK_MESSAGE_MAX_CHARS = 4_000;
const SNIPPET_CHARS = 200;

function cap(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

function snippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat;
}

function fail(message: string, output = ''): HookResult {
  return {
    code: FAILURE_CODE,
    message: cap(message, HOOK_MESSAGE_MAX_CHARS),
    output: cap(output, HOOK_OUTPUT_MAX_CHARS),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * Common real-world wrappings of `{code,msg,output}`: a Lambda that returns JSON.stringify(result) (payload is
 * a JSON string), or an API-Gateway-style `{statusCode, body: "<json>"}`. Unwrapped one level each.
 */
function unwrap(value: unknown): unknown {
  if (typeof value === 'string') {
    const inner = tryJson(value);
    if (inner.ok) value = inner.value;
  }
  if (isRecord(value) && !('code' in value) && typeof value.body === 'string') {
    const inner = tryJson(value.body);
    if (inner.ok && isRecord(inner.value)) return inner.value;
  }
  if (isRecord(value) && !('code' in value) && isRecord(value.body)) return value.body;
  return value;
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function normalizeHookAnswer(a: RawHookAnswer): HookResult {
  switch (a.kind) {
    case 'function_error':
      return fail(`hook function error: ${a.message}`);
    case 'transport_error':
      return fail(`hook could not be called: ${a.message}`);
    case 'timeout':
      return fail(
        a.atWindowEnd
          ? `hook timed out at window end${a.message ? ` (${a.message})` : ''}`
          : `hook timed out${a.message ? ` ${a.message}` : ''}`,
      );
    case 'answer':
      return normalizeBody(a.body, a.httpStatus);
  }
}

function normalizeBody(body: string, httpStatus: number | undefined): HookResult {
  const httpFailed = httpStatus !== undefined && (httpStatus < 200 || httpStatus > 299);
  const prefix = httpFailed ? `HTTP ${httpStatus}: ` : '';
  if (body.trim() === '') return fail(`${prefix}hook gave no answer (empty body)`);

  const parsed = tryJson(body);
  if (!parsed.ok) return fail(`${prefix}hook answered non-JSON: ${snippet(body)}`, body);
  const value = unwrap(parsed.value);
  if (!isRecord(value)) return fail(`${prefix}hook answer is not a JSON object: ${snippet(body)}`, body);
  if (typeof value.code !== 'number' || !Number.isInteger(value.code))
    return fail(`${prefix}hook answer has no numeric code: ${snippet(body)}`, body);

  // A JSON code wins over the HTTP status: the hook said what it meant (seed 000's Azure examples set both).
  const output = asText(value.output);
  const truncated = output.length > HOOK_OUTPUT_MAX_CHARS;
  const message =
    asText(value.msg) + (truncated ? ` [output truncated to ${HOOK_OUTPUT_MAX_CHARS} chars]` : '');
  return {
    code: value.code,
    message: cap(message, HOOK_MESSAGE_MAX_CHARS),
    output: cap(output, HOOK_OUTPUT_MAX_CHARS),
  };
}

/**
 * A script hook (run through SSM like patching): code 200 iff the script exited 0, else 500; output = its
 * stdout, capped. An exit code of 0 with a failed/cancelled/timed-out SSM status still fails, and a
 * missing exit code with SSM Success counts as 0 (SSM omits it on some agents).
 */
export function scriptHookResult(r: {
  exitCode: number | undefined;
  stdout: string;
  ssmStatus: string;
}): HookResult {
  const status = normalizeSsmWord(r.ssmStatus);
  const ssmOk = status === 'success' || !isTerminalSsmStatus(r.ssmStatus);
  const ok = ssmOk && (r.exitCode === 0 || (r.exitCode === undefined && status === 'success'));
  const exit = r.exitCode === undefined || r.exitCode === -1 ? 'no exit code' : `exit code ${r.exitCode}`;
  return {
    code: ok ? 200 : FAILURE_CODE,
    message: `script ${ok ? 'succeeded' : 'failed'} (SSM ${r.ssmStatus || 'unknown'}, ${exit})`,
    output: cap(r.stdout, SCRIPT_OUTPUT_MAX_CHARS),
  };
}
