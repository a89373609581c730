/**
 * The cross-field rules the OpenAPI document publishes as `x-patchwave-rules` (domain/request-rules.ts) are the
 * ones the server enforces: each machine rule, broken by a sample, is refused by the server's own checks, and a
 * sample that keeps every rule is not; the documented operations carry them and say them in their description.
 * The conformance run's hooks (test/conformance/schemathesis_hooks.py) read these same objects.
 */
import type { Db } from 'mongodb';
import { allRoutes } from '../../api/app';
import { buildContext } from '../../api/context';
import { buildOpenApiDocument } from '../../api/openapi';
import { loadConfig } from '../../common/config';
import type { OrchestratorPort } from '../../api/orchestrator-port';
import { MACHINE_RULES } from '../../domain/machine-rules';
import { machineSettingIssues } from '../../domain/machine-settings';
import { patchFilterIssues } from '../../domain/baseline-override';
import type { MachineInput } from '../../domain/machine';
import { cronError } from '../../api/cron';

const db = { collection: () => ({}) } as unknown as Db;
const doc = buildOpenApiDocument(
  allRoutes(
    buildContext({ db, orchestrator: {} as OrchestratorPort, config: loadConfig({ LOG_LEVEL: 'silent' }) }),
  ),
);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const op = (path: string, method: string): any => (doc.paths![path] as any)[method];

const serverRefuses = (m: Partial<MachineInput>) =>
  [...machineSettingIssues(m), ...patchFilterIssues(m)].map((i) => i.path.split('.')[0]);

test('the operations with cross-field rules publish them, machine-readable and in the description', () => {
  const expected: [string, string, string[]][] = [
    ['/api/v1/events', 'get', ['after']],
    ['/api/v1/events', 'post', ['not_in_past', 'after', 'window_hours']],
    [
      '/api/v1/plans',
      'post',
      [
        'cron_fires',
        'unique_by',
        'not_value',
        'not_value',
        'ascending',
        'requires',
        'fixed_when',
        'fixed_when',
      ],
    ],
    [
      '/api/v1/plans/{id}',
      'put',
      [
        'cron_fires',
        'unique_by',
        'not_value',
        'not_value',
        'ascending',
        'requires',
        'fixed_when',
        'fixed_when',
      ],
    ],
    [
      '/api/v1/plans/{id}',
      'patch',
      [
        'cron_fires',
        'unique_by',
        'not_value',
        'not_value',
        'ascending',
        'requires',
        'fixed_when',
        'fixed_when',
      ],
    ],
    ['/api/v1/pipelines', 'post', ['cron_fires', 'first_item', 'first_item', 'cumulative_max']],
    ['/api/v1/machines', 'post', MACHINE_RULES.map((r) => r.rule)],
    ['/api/v1/machines/{id}', 'patch', MACHINE_RULES.map((r) => r.rule)],
    ['/api/v1/machines/{id}/hold', 'put', ['not_in_past']],
    ['/api/v1/freeze-calendars', 'post', ['icalendar']],
    ['/api/v1/freeze-calendars/{id}', 'put', ['icalendar']],
    ['/api/v1/freeze-calendars/{id}', 'patch', ['icalendar']],
  ];
  for (const [path, method, rules] of expected) {
    const o = op(path, method);
    expect([path, method, (o['x-patchwave-rules'] ?? []).map((r: { rule: string }) => r.rule)]).toEqual([
      path,
      method,
      rules,
    ]);
    expect(o.description).toContain('x-patchwave-rules');
  }
});

test.each<[string, Partial<MachineInput>, string]>([
  [
    'custom_document_parameters requires custom_document_arn',
    { custom_document_parameters: { M: ['a'] } },
    'custom_document_parameters',
  ],
  [
    'custom_document_parameters excludes s3_custom_script',
    {
      custom_document_parameters: { M: ['a'] },
      custom_document_arn: 'Doc',
      s3_custom_script: 's3://bucket/x.sh',
    },
    'custom_document_parameters',
  ],
  [
    'install_hooks excludes custom_document_arn',
    { install_hooks: { pre_install: 'Pre-Doc' }, custom_document_arn: 'Doc' },
    'install_hooks',
  ],
  [
    'install_hooks excludes include_kbs',
    { install_hooks: { on_exit: 'Exit-Doc' }, include_kbs: ['KB5030211'] },
    'install_hooks',
  ],
  [
    'include_kbs and exclude_kbs are disjoint',
    { include_kbs: ['KB5030211'], exclude_kbs: ['kb5030211'] },
    'exclude_kbs',
  ],
  [
    'values of one vocabulary',
    { update_severity: ['Medium'], update_category: ['CriticalUpdates'] },
    'update_category',
  ],
  ['a value of no vocabulary', { update_severity: ['Whenever'] }, 'update_severity'],
  [
    'published_days_old needs a vocabulary that allows it',
    { update_severity: ['Extra'], published_days_old: 7 },
    'published_days_old',
  ],
  [
    'enable_non_security needs a vocabulary that allows it (Linux)',
    { update_category: ['SecurityUpdates'], enable_non_security: false },
    'enable_non_security',
  ],
  [
    'install_hooks excludes enable_non_security',
    { install_hooks: { on_exit: 'Exit-Doc' }, enable_non_security: true },
    'install_hooks',
  ],
])('breaking "%s" is refused by the server', (_name, machine, field) => {
  expect(serverRefuses(machine)).toContain(field);
});

test("a machine inside every rule is accepted, and the vocabularies are the server's", () => {
  expect(
    serverRefuses({
      custom_document_arn: 'Doc',
      custom_document_parameters: { M: ['a'] },
      update_severity: ['critical'],
      update_category: ['SecurityUpdates'],
      published_days_old: 7,
      include_kbs: ['KB1'],
      exclude_kbs: ['KB2'],
    }),
  ).toEqual([]);
  const vocab = MACHINE_RULES.find((r) => r.rule === 'one_vocabulary')!;
  expect(vocab.rule === 'one_vocabulary' && Object.keys(vocab.vocabularies)).toContain('WINDOWS');
});

test("the cron rule is the scheduler's", () => {
  expect(cronError('0 3 * * 0')).toBeUndefined();
  expect(cronError('0 0 30 2 *')).toBeDefined();
});
