/**
 * The lab's BaselineOverride check accepts what botocore's SSM model and AWS's documentation accept for
 * `PatchRule.ComplianceLevel`, `PatchRule.EnableNonSecurity` and `Sources` (Linux only), and refuses the rest
 * with AWS-style text; the valid samples are also checked against botocore's `BaselineOverride` shape, so the lab
 * and the model agree on them. The lab's approval honours EnableNonSecurity for packages without an update notice.
 */
import { baselineOverrideProblems, COMPLIANCE_LEVELS } from '../../../lab/baseline-override';
import { decidePatches } from '../../../lab/patch-approval';
import { labPatch } from '../../../lab/patch-catalog';
import { MachineBehaviour } from '../../../lab/schemas';
import { validateAgainstModels } from '../../helpers/aws-model';

const rule = (extra: Record<string, unknown> = {}) => ({
  PatchFilterGroup: { PatchFilters: [{ Key: 'SEVERITY', Values: ['Critical'] }] },
  ApproveAfterDays: 0,
  ...extra,
});
const linux = (extra: Record<string, unknown> = {}, ruleExtra: Record<string, unknown> = {}) => ({
  OperatingSystem: 'AMAZON_LINUX_2023',
  ApprovalRules: { PatchRules: [rule(ruleExtra)] },
  ...extra,
});
const windows = (extra: Record<string, unknown> = {}, ruleExtra: Record<string, unknown> = {}) => ({
  OperatingSystem: 'WINDOWS',
  ApprovalRules: {
    PatchRules: [
      {
        PatchFilterGroup: { PatchFilters: [{ Key: 'MSRC_SEVERITY', Values: ['Critical'] }] },
        ApproveAfterDays: 0,
        ...ruleExtra,
      },
    ],
  },
  ...extra,
});
const problems = (...baselines: unknown[]) => baselineOverrideProblems(JSON.stringify(baselines));

const SOURCE = {
  Name: 'My-Repo_1.x',
  Products: ['AmazonLinux2023'],
  Configuration: '[main]\nname=MyRepo\nbaseurl=https://repo.example.com/al2023\nenabled=1',
};

const VALID = [
  ...COMPLIANCE_LEVELS.map((level) => linux({}, { ComplianceLevel: level })),
  windows(
    { ApprovedPatches: ['KB5031364'], ApprovedPatchesComplianceLevel: 'HIGH' },
    { ComplianceLevel: 'LOW' },
  ),
  linux({}, { EnableNonSecurity: true }),
  linux({}, { EnableNonSecurity: false }),
  linux({ ApprovedPatches: ['curl'], ApprovedPatchesEnableNonSecurity: true }),
  linux({ Sources: [] }),
  linux({ Sources: [SOURCE, { ...SOURCE, Name: 'abc', Products: Array(20).fill('Ubuntu22.04') }] }),
  linux({ Sources: Array.from({ length: 20 }, (_, i) => ({ ...SOURCE, Name: `repo-${i}` })) }),
  linux({ Sources: [{ ...SOURCE, Name: 'n'.repeat(50), Configuration: 'c'.repeat(1024) }] }),
];

test('what AWS accepts for the three fields, the lab accepts, and botocore’s model agrees', () => {
  for (const b of VALID) expect([b, problems(b)]).toEqual([b, []]);
  const report = validateAgainstModels(VALID.map((value) => ({ shape: 'BaselineOverride', value })) as never);
  expect(report.operations.BaselineOverride).toBe(VALID.length);
  expect(report.problems).toEqual([]);
});

test.each<[string, unknown, RegExp]>([
  [
    'a ComplianceLevel outside the enum',
    linux({}, { ComplianceLevel: 'Critical' }),
    /^\[0\]\.ApprovalRules\.PatchRules\[0\]\.ComplianceLevel: Value 'Critical' failed to satisfy constraint: Member must satisfy enum value set: \[CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNSPECIFIED\]$/,
  ],
  ['a ComplianceLevel that is not a string', linux({}, { ComplianceLevel: 3 }), /ComplianceLevel: Value '3'/],
  [
    'an ApprovedPatchesComplianceLevel outside the enum',
    linux({ ApprovedPatches: ['curl'], ApprovedPatchesComplianceLevel: 'SEVERE' }),
    /ApprovedPatchesComplianceLevel: Value 'SEVERE' failed to satisfy constraint/,
  ],
  [
    'EnableNonSecurity as a string',
    linux({}, { EnableNonSecurity: 'true' }),
    /PatchRules\[0\]\.EnableNonSecurity: Value 'true' failed to satisfy constraint: Member must be a boolean/,
  ],
  [
    'EnableNonSecurity in a Windows baseline',
    windows({}, { EnableNonSecurity: true }),
    /PatchRules\[0\]\.EnableNonSecurity: applies to Linux managed nodes only, not WINDOWS/,
  ],
  [
    'ApprovedPatchesEnableNonSecurity in a Windows baseline',
    windows({ ApprovedPatches: ['KB5031364'], ApprovedPatchesEnableNonSecurity: true }),
    /ApprovedPatchesEnableNonSecurity: applies to Linux managed nodes only/,
  ],
  [
    'Sources in a Windows baseline',
    windows({ Sources: [SOURCE] }),
    /\.Sources: applies to Linux managed nodes only/,
  ],
  ['Sources that is not a list', linux({ Sources: SOURCE }), /\.Sources: a list of PatchSource/],
  [
    'more than 20 Sources',
    linux({ Sources: Array.from({ length: 21 }, (_, i) => ({ ...SOURCE, Name: `repo-${i}` })) }),
    /\.Sources: Value '21 items' failed to satisfy constraint: Member must have length less than or equal to 20/,
  ],
  [
    'a source Name off the pattern',
    linux({ Sources: [{ ...SOURCE, Name: 'my repo' }] }),
    /Sources\[0\]\.Name: Value 'my repo' failed to satisfy constraint: Member must satisfy regular expression pattern: \^\[a-zA-Z0-9_\\-\.\]\{3,50\}\$/,
  ],
  [
    'a source Name too short',
    linux({ Sources: [{ ...SOURCE, Name: 'ab' }] }),
    /Sources\[0\]\.Name: Value 'ab'/,
  ],
  ['a source Name too long', linux({ Sources: [{ ...SOURCE, Name: 'n'.repeat(51) }] }), /Sources\[0\]\.Name/],
  [
    'a source without Products',
    linux({ Sources: [{ ...SOURCE, Products: undefined }] }),
    /Products: required/,
  ],
  ['a source with no product', linux({ Sources: [{ ...SOURCE, Products: [] }] }), /Products: Value '\[\]'/],
  [
    'a source with 21 products',
    linux({ Sources: [{ ...SOURCE, Products: Array(21).fill('X') }] }),
    /Sources\[0\]\.Products: .*1-20 products/,
  ],
  [
    'a product over 128 characters',
    linux({ Sources: [{ ...SOURCE, Products: ['p'.repeat(129)] }] }),
    /Sources\[0\]\.Products\[0\]: .*1-128 characters/,
  ],
  [
    'a Configuration over 1024 characters (not echoed: sensitive)',
    linux({ Sources: [{ ...SOURCE, Configuration: 'c'.repeat(1025) }] }),
    /^\[0\]\.Sources\[0\]\.Configuration: failed to satisfy constraint: Member must be a string of 1-1024 characters$/,
  ],
  ['an empty Configuration', linux({ Sources: [{ ...SOURCE, Configuration: '' }] }), /Configuration: failed/],
  [
    'a source without Name',
    linux({ Sources: [{ ...SOURCE, Name: undefined }] }),
    /Sources\[0\]\.Name: required/,
  ],
  [
    'a member PatchSource does not have',
    linux({ Sources: [{ ...SOURCE, Priority: 1 }] }),
    /Sources\[0\]\.Priority: not a member of PatchSource/,
  ],
])('refused: %s', (_name, baseline, message) => {
  expect(problems(baseline)).toEqual([expect.stringMatching(message)]);
});

test('EnableNonSecurity decides whether a rule approves a Linux package without an update notice', () => {
  const now = Date.parse('2025-06-01T00:00:00Z');
  const b = MachineBehaviour.parse({
    patches: {
      'openssl-3.0.15': { severity: 'Critical', classification: 'Bugfix' },
      'htop-3.3.0': { severity: 'Critical', update_notice: false },
    },
  });
  const pkgs = ['openssl-3.0.15', 'htop-3.3.0'].map((p) => labPatch(b, 'AMAZON_LINUX_2023', p, now));
  const decide = (baseline: Record<string, unknown>) =>
    decidePatches(baseline, pkgs, false, now).map((d) => [d.title, d.approved, d.reason]);
  // A package with an update notice counts as security whatever its classification.
  expect(decide(linux())).toEqual([
    ['openssl-3.0.15', true, 'rule 1'],
    ['htop-3.3.0', false, 'no update notice (non-security): the rule has no EnableNonSecurity'],
  ]);
  expect(decide(linux({}, { EnableNonSecurity: false }))[1][1]).toBe(false);
  expect(decide(linux({}, { EnableNonSecurity: true }))).toEqual([
    ['openssl-3.0.15', true, 'rule 1'],
    ['htop-3.3.0', true, 'rule 1'],
  ]);
  // The approved list needs its own flag; a rule with EnableNonSecurity may still approve the package.
  const listOnly = {
    OperatingSystem: 'AMAZON_LINUX_2023',
    ApprovalRules: { PatchRules: [] },
    ApprovedPatches: ['htop'],
  };
  expect(decide(listOnly)[1]).toEqual([
    'htop-3.3.0',
    false,
    'in ApprovedPatches, but no update notice (non-security) and no ApprovedPatchesEnableNonSecurity',
  ]);
  expect(decide({ ...listOnly, ApprovedPatchesEnableNonSecurity: true })[1]).toEqual([
    'htop-3.3.0',
    true,
    'ApprovedPatches',
  ]);
  // Windows KBs are all security-related for this purpose (the field does not apply there).
  const win = labPatch(MachineBehaviour.parse({ platform: 'Windows' }), 'WINDOWS', 'KB5031364', now);
  expect(win.security).toBe(true);
});

test('the refusals the model can state, botocore’s model states too (the Windows ones are AWS’s documentation)', () => {
  const bad = [
    linux({}, { ComplianceLevel: 'Critical' }),
    linux({}, { EnableNonSecurity: 'true' }),
    linux({ Sources: [{ ...SOURCE, Name: 'my repo' }] }),
    linux({ Sources: Array.from({ length: 21 }, (_, i) => ({ ...SOURCE, Name: `repo-${i}` })) }),
    linux({ Sources: [{ ...SOURCE, Products: [] }] }),
    linux({ Sources: [{ ...SOURCE, Configuration: 'c'.repeat(1025) }] }),
    linux({ Sources: [{ ...SOURCE, Name: undefined }] }),
  ];
  const report = validateAgainstModels(bad.map((value) => ({ shape: 'BaselineOverride', value })) as never);
  const flagged = new Set(report.problems.map((p) => Number(/^#(\d+) /.exec(p)?.[1])));
  expect([...flagged].sort()).toEqual(bad.map((_, i) => i));
  for (const b of bad) expect(problems(b)).not.toEqual([]);
});
