import {
  dayBefore,
  installOverrideListYaml,
  promotedFilters,
  type StepPromotion,
} from '../../../activities/promotion';
import { renderBaselineOverride } from '../../../domain/baseline-override';
import { cumulativeExclusions, PipelineInput } from '../../../domain/pipeline';
import { parse } from 'yaml';

const promo = (p: Partial<StepPromotion>): StepPromotion => ({
  mode: 'latest',
  step: 1,
  exclusions: [],
  ...p,
});

describe('promotion of one machine’s patch command', () => {
  test('exclusions of earlier steps carry to later ones (case-insensitively once)', () => {
    const steps = [{ exclude_patches: ['KB1000001'] }, {}, { exclude_patches: ['kb1000001', 'zlib.x86_64'] }];
    expect(cumulativeExclusions(steps, 0)).toEqual(['KB1000001']);
    expect(cumulativeExclusions(steps, 1)).toEqual(['KB1000001']);
    expect(cumulativeExclusions(steps, 2)).toEqual(['KB1000001', 'zlib.x86_64']);
  });

  test('latest with exclusions: rejected with BLOCK, taken off the approved list', () => {
    const f = promotedFilters(
      { include_kbs: ['zlib.x86_64', 'curl.x86_64'], exclude_kbs: ['telnet'] },
      promo({ exclusions: ['ZLIB.x86_64'] }),
      0,
    );
    expect(f.exclude_kbs).toEqual(['telnet', 'ZLIB.x86_64']);
    expect(f.include_kbs).toEqual(['curl.x86_64']);
    const linux = renderBaselineOverride(f)!.find((b) => b.OperatingSystem === 'AMAZON_LINUX_2023')!;
    expect(linux.RejectedPatches).toEqual(['telnet', 'ZLIB.x86_64']);
    expect(linux.RejectedPatchesAction).toBe('BLOCK');
  });

  test('publish_date_cutoff: ApproveUntilDate the day before the previous step started, or older by the machine’s age', () => {
    const p = promo({ mode: 'publish_date_cutoff', previousStart: '2026-11-20T08:00:00.000Z' });
    const f = promotedFilters({ update_severity: ['Critical'] }, p, Date.parse('2026-12-01T00:00:00Z'));
    const docs = renderBaselineOverride(f)!;
    const al = docs.find((b) => b.OperatingSystem === 'AMAZON_LINUX_2023')!;
    expect(al.ApprovalRules.PatchRules[0]).toMatchObject({ ApproveUntilDate: '2026-11-19' });
    expect(al.ApprovalRules.PatchRules[0].ApproveAfterDays).toBeUndefined();
    // Ubuntu/Debian rules take no ApproveUntilDate: no baseline for them.
    expect(docs.map((b) => b.OperatingSystem)).not.toContain('UBUNTU');
    const older = promotedFilters({ published_days_old: 30 }, p, Date.parse('2026-12-01T00:00:00Z'));
    expect(older.approve_until_date).toBe('2026-11-01');
    expect(older.published_days_old).toBeUndefined();
    expect(dayBefore('2026-01-01T00:30:00Z')).toBe('2025-12-31');
  });

  test('the InstallOverrideList YAML has AWS’s shape: patches with id and title', () => {
    const y = installOverrideListYaml([
      { kb_id: 'openssl.x86_64', title: 'openssl-3.0.13' },
      { kb_id: 'KB5030211', title: "2023-09 Update: 'x'" },
    ]);
    expect(parse(y)).toEqual({
      patches: [
        { id: 'openssl.x86_64', title: 'openssl-3.0.13' },
        { id: 'KB5030211', title: "2023-09 Update: 'x'" },
      ],
    });
  });

  test('the first step can neither promote nor be gated; exclusions stay within 50 together', () => {
    const parse = (steps: unknown[]) => PipelineInput.safeParse({ name: 'p', cron: '0 0 1 1 *', steps });
    const paths = (steps: unknown[]) => {
      const r = parse(steps);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.')).sort();
    };
    expect(
      paths([{ plans: ['a'], promotion: 'publish_date_cutoff', promotion_gate: { min_soak_minutes: 5 } }]),
    ).toEqual(['steps.0.promotion', 'steps.0.promotion_gate']);
    const pkgs = (from: number) => Array.from({ length: 30 }, (_, i) => `pkg${from + i}`);
    expect(
      paths([
        { plans: ['a'], exclude_patches: pkgs(0) },
        { plans: ['b'], exclude_patches: pkgs(30), promotion: 'exact_previous_step' },
      ]),
    ).toEqual(['steps.1.exclude_patches']);
    expect(paths([{ plans: ['a'] }, { plans: ['b'], promotion: 'exact_previous_step' }])).toEqual([]);
  });
});
