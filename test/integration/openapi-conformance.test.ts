/**
 * Independent conformance: schemathesis (PyPI, pinned and installed by scripts/setup.sh into
 * .tools/schemathesis) generates requests from GET /openapi.json and runs them against the live API of the
 * real stack (Temporal, worker, FerretDB, fleet lab) with an admin key, with a fixed seed and a bounded
 * number of cases. Every check must pass: no server error, every answer as the document says (status, content
 * type, headers, body schema), every invalid request refused, every valid request accepted (schemathesis counts
 * 2xx, 404 and 409 as accepted: a valid request that conflicts with stored objects or the server's
 * configuration answers 409), 405 for undeclared methods. The one exception is an opaque continuation token,
 * which no generator can know.
 *
 * "Valid" is what the document states: JSON Schema, plus the cross-field rules of `x-patchwave-rules` on an
 * operation, which the hooks file (test/conformance/schemathesis_hooks.py, SCHEMATHESIS_HOOKS) applies to the
 * generated valid requests, reading them from the document.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startStack, type Stack } from '../helpers/stack';

// The run is bounded by --max-examples; a loaded CI machine needs more than the few minutes it takes idle.
// Measured 2026-12-02: the API's answers are not the cost (3,166 requests took 93 s of response time in all; a
// machine write 190-360 ms); schemathesis's coverage phase on the plan bodies is (createPlan alone > 5 min of
// generation), so test/conformance/schemathesis.toml leaves that phase out for the three plan writes.
// 10 examples: about 1.5 min idle (measured 2026-12-02); the bound leaves room for a loaded CI machine.
jest.setTimeout(900_000);

const ST = resolve(__dirname, '../../.tools/schemathesis/bin/st');
const HOOKS = resolve(__dirname, '../conformance/schemathesis_hooks.py');
/** Per-operation settings: the plan writes skip the coverage phase (why: in the file). */
const CONFIG = resolve(__dirname, '../conformance/schemathesis.toml');
/** Fixed: a failure is reproduced by running the same command again. */
const SEED = '20261201';
/** Per operation and phase; keeps the run to a few minutes on a loaded CI machine. */
const MAX_EXAMPLES = process.env.PATCHWAVE_SCHEMATHESIS_EXAMPLES ?? '10';

let stack: Stack;
let dir: string;
beforeAll(async () => {
  if (!existsSync(ST)) throw new Error(`${ST} is missing: run scripts/setup.sh (it installs schemathesis)`);
  stack = await startStack('conformance');
  dir = mkdtempSync(join(tmpdir(), 'pw-schemathesis-'));
});
afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Failure {
  check: string;
  operation: string;
  detail: string;
}

/** The failures of the JUnit report, one per (operation, check) with its first message. */
function failuresOf(junit: string): Failure[] {
  const out: Failure[] = [];
  const cases = junit.split('<testcase').slice(1);
  for (const c of cases) {
    const operation = /name="([^"]*)"/.exec(c)?.[1] ?? '?';
    for (const m of c.matchAll(/<(failure|error)[^>]*?(?:message="([^"]*)")?[^>]*>([\s\S]*?)<\/\1>/g)) {
      const text = (m[2] ?? '') + '\n' + m[3];
      const check =
        /\b(not_a_server_error|status_code_conformance|content_type_conformance|response_headers_conformance|response_schema_conformance|negative_data_rejection|positive_data_acceptance|missing_required_header|unsupported_method|allow_header_conformance|object_level_authorization|use_after_free|ensure_resource_availability|ignored_auth)\b/.exec(
          text,
        )?.[1];
      out.push({
        check: check ?? (/ST202/.test(text) ? 'positive_data_acceptance' : m[1]),
        operation,
        detail: text.slice(0, 1500),
      });
    }
  }
  return out;
}

test('schemathesis finds nothing: no 5xx, no answer outside the document, invalid requests refused, 405 for undeclared methods', async () => {
  const junitPath = join(dir, 'junit.xml');
  const args = [
    '--config-file',
    CONFIG,
    'run',
    `${stack.apiUrl}/openapi.json`,
    '--header',
    `Authorization: Bearer ${stack.key}`,
    '--checks',
    'all',
    '--phases',
    'examples,coverage,fuzzing',
    '--seed',
    SEED,
    '--max-examples',
    MAX_EXAMPLES,
    '--generation-deterministic',
    '--workers',
    '2',
    '--request-timeout',
    '30',
    // Response time is load on a shared CI machine, not conformance: only a hang counts.
    '--max-response-time',
    '30',
    '--continue-on-failure',
    // Generation speed is the machine's load, not conformance.
    '--suppress-health-check',
    'too_slow',
    '--no-color',
    '--report',
    'junit',
    '--report-junit-path',
    junitPath,
  ];
  const run = await new Promise<{ code: number; out: string }>((res) =>
    execFile(
      ST,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        cwd: dir,
        // The hooks keep positive cases inside the documented cross-field rules (x-patchwave-rules), so the
        // acceptance check holds the server to exactly what the document states.
        env: { ...process.env, SCHEMATHESIS_HOOKS: HOOKS },
      },
      (err, stdout, stderr) =>
        res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` }),
    ),
  );
  const summary = run.out.split('\n').slice(-60).join('\n');
  if (!existsSync(junitPath)) throw new Error(`schemathesis wrote no report:\n${summary}`);
  const reported = failuresOf(readFileSync(junitPath, 'utf8'));
  // An opaque continuation token cannot be generated valid: the API refuses made-up ones (documented).
  const failures = reported.filter(
    (f) => !(f.check === 'positive_data_acceptance' && /continuation_token/.test(f.detail)),
  );
  const byCheck = failures.map((f) => `${f.check} ${f.operation}\n${f.detail}`);
  expect(byCheck).toEqual([]);
  // Those token refusals make schemathesis exit 1; any other non-zero exit is a run that went wrong.
  if (run.code !== 0 && !(run.code === 1 && reported.length > 0))
    throw new Error(`schemathesis exited ${run.code}:\n${summary}`);
});
