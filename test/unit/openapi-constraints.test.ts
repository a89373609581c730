/**
 * The OpenAPI document states the constraints the server enforces (issue 14 item 4), so a client that follows the
 * document is not refused with 400: merge patches with their own closed schemas, "exactly one of machines or
 * dynamic", action_taken for SUCCESS_MANUAL / FAILED_MANUAL, trimmed names, e-mail and URL patterns. Each
 * statement is checked against what the server does with the same input (the zod schema it validates with).
 */
import type { Db } from 'mongodb';
import { allRoutes } from '../../api/app';
import { buildContext } from '../../api/context';
import { buildOpenApiDocument } from '../../api/openapi';
import { loadConfig } from '../../common/config';
import type { OrchestratorPort } from '../../api/orchestrator-port';
import { ManualStatusBody, mergePatchOf } from '../../api/schemas';
import { MachineInput } from '../../domain/machine';
import { PlanInput } from '../../domain/plan';

const db = { collection: () => ({}) } as unknown as Db;
const doc = buildOpenApiDocument(
  allRoutes(
    buildContext({ db, orchestrator: {} as OrchestratorPort, config: loadConfig({ LOG_LEVEL: 'silent' }) }),
  ),
);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const schemas = doc.components!.schemas as Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const bodyOf = (path: string, method: 'patch' | 'post' | 'put'): any => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const s = (doc.paths![path] as any)[method].requestBody.content['application/json'].schema;
  return s.$ref ? schemas[s.$ref.split('/').pop()] : s;
};

test('every PATCH body is a closed merge patch of its resource', () => {
  const patches = Object.entries(doc.paths!).flatMap(([p, item]) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (item as any).patch ? [p] : [],
  );
  expect(patches.length).toBeGreaterThanOrEqual(6);
  for (const p of patches) {
    const s = bodyOf(p, 'patch');
    expect({ p, additionalProperties: s.additionalProperties }).toEqual({ p, additionalProperties: false });
    expect(s.required ?? []).toEqual([]);
  }
  const machine = bodyOf('/api/v1/machines/{id}', 'patch');
  // Optional fields may be removed (null); required ones may not; nested objects are patched field by field.
  expect(JSON.stringify(machine.properties.description)).toContain('null');
  expect(JSON.stringify(machine.properties.name)).not.toContain('null');
  expect(machine.properties.access.additionalProperties).toBe(false);
  expect(machine.properties.access.required ?? []).toEqual([]);

  // The server agrees: an unknown field or a removed required field is refused by the patch schema.
  const patch = mergePatchOf(MachineInput);
  expect(patch.safeParse({ colour: 'red' }).success).toBe(false);
  expect(patch.safeParse({ name: null }).success).toBe(false);
  expect(patch.safeParse({ description: null, access: { region: 'eu-west-1' } }).success).toBe(true);
});

test('a plan has exactly one of machines or dynamic, in the document as on the server', () => {
  expect(schemas.PlanInput.oneOf).toEqual([{ required: ['machines'] }, { required: ['dynamic'] }]);
  const base = { name: 'p', cron: '0 3 * * 0', window_hours: 1 };
  const dynamic = [{ tags: { env: ['prod'] }, regions: ['eu-west-1'] }];
  expect(PlanInput.safeParse({ ...base, machines: [] }).success).toBe(true);
  expect(PlanInput.safeParse({ ...base, dynamic }).success).toBe(true);
  expect(PlanInput.safeParse({ ...base }).success).toBe(false);
  expect(PlanInput.safeParse({ ...base, machines: [], dynamic }).success).toBe(false);
});

test('action_taken is required for SUCCESS_MANUAL and FAILED_MANUAL only, in the document as on the server', () => {
  const variants = schemas.ManualStatusInput.oneOf as {
    properties: { manual_status: { const?: string; enum?: string[] } };
    required: string[];
  }[];
  const required = Object.fromEntries(
    variants.map((v) => [
      v.properties.manual_status.const ?? v.properties.manual_status.enum?.[0],
      v.required.includes('action_taken'),
    ]),
  );
  expect(required).toEqual({
    SUCCESS_MANUAL: true,
    FAILED_MANUAL: true,
    IN_PROGRESS_MANUAL: false,
    REBOOTING_MANUAL: false,
  });
  const missing = ManualStatusBody.safeParse({ manual_status: 'FAILED_MANUAL' });
  expect(missing.success).toBe(false);
  expect(missing.error?.issues[0]).toMatchObject({
    path: ['action_taken'],
    message: 'is required for SUCCESS_MANUAL and FAILED_MANUAL',
  });
  expect(ManualStatusBody.safeParse({ manual_status: 'REBOOTING_MANUAL' }).success).toBe(true);
});

test('names carry the pattern of the trim the server applies', () => {
  const re = (p: string) => new RegExp(p, 'u');
  const name = schemas.MachineInput.properties.name;
  expect(re(name.pattern).test('   ')).toBe(false);
  expect(MachineInput.shape.name.safeParse('   ').success).toBe(false);
});
