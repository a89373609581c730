import {
  expressibleOses,
  hasPatchFilters,
  nodeOperatingSystem,
  patchFilterIssues,
  renderBaselineOverride,
} from '../../../domain/baseline-override';

describe('renderBaselineOverride', () => {
  test('no filters: nothing to send', () => {
    expect(renderBaselineOverride({})).toBeUndefined();
    expect(renderBaselineOverride({ update_severity: [], include_kbs: [] })).toBeUndefined();
    expect(hasPatchFilters({ published_days_old: 0 })).toBe(true);
  });

  test('Windows severities and classifications become MSRC_SEVERITY and CLASSIFICATION on WINDOWS only', () => {
    const doc = renderBaselineOverride({
      update_severity: ['critical', 'Important'],
      update_category: ['SecurityUpdates'],
      published_days_old: 7,
      exclude_kbs: ['KB5030211'],
    })!;
    expect(doc.map((b) => b.OperatingSystem)).toEqual(['WINDOWS']);
    expect(doc[0]).toEqual({
      OperatingSystem: 'WINDOWS',
      ApprovalRules: {
        PatchRules: [
          {
            PatchFilterGroup: {
              PatchFilters: [
                { Key: 'CLASSIFICATION', Values: ['SecurityUpdates'] },
                { Key: 'MSRC_SEVERITY', Values: ['Critical', 'Important'] },
              ],
            },
            ApproveAfterDays: 7,
          },
        ],
      },
      RejectedPatches: ['KB5030211'],
      RejectedPatchesAction: 'BLOCK',
    });
  });

  test('a severity every family knows gives one baseline per family with its own key', () => {
    const doc = renderBaselineOverride({ update_severity: ['Important'] })!;
    const byOs = Object.fromEntries(doc.map((b) => [b.OperatingSystem, b]));
    expect(byOs.WINDOWS.ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Key).toBe(
      'MSRC_SEVERITY',
    );
    expect(byOs.AMAZON_LINUX_2023.ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Key).toBe(
      'SEVERITY',
    );
    expect(byOs.UBUNTU.ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Key).toBe('PRIORITY');
    // Ubuntu/Debian rules take no ApproveAfterDays; every other rule must have one.
    expect(byOs.UBUNTU.ApprovalRules.PatchRules[0].ApproveAfterDays).toBeUndefined();
    expect(byOs.REDHAT_ENTERPRISE_LINUX.ApprovalRules.PatchRules[0].ApproveAfterDays).toBe(0);
  });

  test('Amazon Linux values: Medium severity and Bugfix (non-security, so EnableNonSecurity)', () => {
    const doc = renderBaselineOverride({ update_severity: ['Medium'], update_category: ['Bugfix'] })!;
    expect(doc.map((b) => b.OperatingSystem)).toEqual([
      'AMAZON_LINUX',
      'AMAZON_LINUX_2',
      'AMAZON_LINUX_2023',
    ]);
    expect(doc[0].ApprovalRules.PatchRules[0]).toEqual({
      PatchFilterGroup: {
        PatchFilters: [
          { Key: 'CLASSIFICATION', Values: ['Bugfix'] },
          { Key: 'SEVERITY', Values: ['Medium'] },
        ],
      },
      ApproveAfterDays: 0,
      EnableNonSecurity: true,
    });
  });

  test('only KBs to install: no rule, exactly those approved', () => {
    const doc = renderBaselineOverride({ include_kbs: ['KB5030211', 'openssl'] })!;
    expect(doc).toHaveLength(expressibleOses({}).length);
    const win = doc.find((b) => b.OperatingSystem === 'WINDOWS')!;
    expect(win.ApprovalRules.PatchRules).toEqual([]);
    expect(win.ApprovedPatches).toEqual(['KB5030211', 'openssl']);
    expect(doc.find((b) => b.OperatingSystem === 'SUSE')!.ApprovedPatchesEnableNonSecurity).toBe(true);
  });

  test('only an age: every product after N days, not on Ubuntu/Debian', () => {
    const doc = renderBaselineOverride({ published_days_old: 14 })!;
    expect(doc.map((b) => b.OperatingSystem)).not.toContain('UBUNTU');
    expect(doc[0].ApprovalRules.PatchRules[0]).toEqual({
      PatchFilterGroup: { PatchFilters: [{ Key: 'PRODUCT', Values: ['*'] }] },
      ApproveAfterDays: 14,
    });
  });

  test('throws for filters no OS can express', () => {
    expect(() => renderBaselineOverride({ update_severity: ['Medium', 'Moderate'] })).toThrow(
      /update_severity/,
    );
  });
});

describe('patchFilterIssues (refused when a machine is saved)', () => {
  const paths = (f: Parameters<typeof patchFilterIssues>[0]) => patchFilterIssues(f).map((i) => i.path);

  test('expressible settings pass', () => {
    expect(patchFilterIssues({})).toEqual([]);
    expect(patchFilterIssues({ update_severity: ['Critical'], update_category: ['Security'] })).toEqual([]);
    expect(patchFilterIssues({ published_days_old: 360, include_kbs: ['KB1234567'] })).toEqual([]);
  });

  test('AWS limits', () => {
    expect(paths({ published_days_old: 361 })).toEqual(['published_days_old']);
    const many = Array.from({ length: 51 }, (_, i) => `KB${5000000 + i}`);
    expect(paths({ include_kbs: many, exclude_kbs: many.map((k) => k + '0') })).toEqual([
      'include_kbs',
      'exclude_kbs',
    ]);
  });

  test('a KB both included and excluded', () => {
    const issues = patchFilterIssues({ include_kbs: ['KB5030211'], exclude_kbs: ['kb5030211'] });
    expect(issues).toEqual([
      { path: 'exclude_kbs.0', message: expect.stringContaining('both approved and rejected') },
    ]);
  });

  test('a value no baseline knows names the value and the accepted ones', () => {
    const [issue] = patchFilterIssues({ update_severity: ['Critical', 'Urgent'] });
    expect(issue.path).toBe('update_severity.1');
    expect(issue.message).toMatch(/'Urgent'.*MSRC_SEVERITY: Critical, Important, Moderate, Low, Unspecified/);
  });

  test('values of different operating systems together', () => {
    expect(paths({ update_severity: ['Medium', 'Moderate'] })).toEqual(['update_severity']);
    // Windows classification with an Amazon Linux severity.
    const [issue] = patchFilterIssues({ update_severity: ['Medium'], update_category: ['SecurityUpdates'] });
    expect(issue.path).toBe('update_category');
    expect(issue.message).toMatch(
      /fits only Windows baselines, but update_severity Medium fits only Amazon Linux/,
    );
    // Debian/Ubuntu priorities take no age.
    const [days] = patchFilterIssues({ update_severity: ['Required'], published_days_old: 3 });
    expect(days.path).toBe('published_days_old');
    expect(days.message).toMatch(/Ubuntu, Debian baselines do not support ApproveAfterDays/);
  });
});

test('nodeOperatingSystem maps DescribeInstanceInformation platforms to OperatingSystem values', () => {
  expect(nodeOperatingSystem('Windows', 'Microsoft Windows Server 2022 Datacenter', '10.0.20348')).toBe(
    'WINDOWS',
  );
  expect(nodeOperatingSystem('Linux', 'Amazon Linux', '2023')).toBe('AMAZON_LINUX_2023');
  expect(nodeOperatingSystem('Linux', 'Amazon Linux', '2')).toBe('AMAZON_LINUX_2');
  expect(nodeOperatingSystem('Linux', 'Ubuntu', '22.04')).toBe('UBUNTU');
  expect(nodeOperatingSystem('Linux', 'Red Hat Enterprise Linux Server', '9.3')).toBe(
    'REDHAT_ENTERPRISE_LINUX',
  );
  expect(nodeOperatingSystem('Linux', 'SLES', '15.5')).toBe('SUSE');
  expect(nodeOperatingSystem('Linux', 'Gentoo', '1')).toBeUndefined();
});

describe('enable_non_security (EnableNonSecurity, Linux only)', () => {
  const rule = (doc: ReturnType<typeof renderBaselineOverride>, os: string) =>
    doc!.find((b) => b.OperatingSystem === os)?.ApprovalRules.PatchRules[0];

  test('unset: derived as before (severity only: no EnableNonSecurity; no severity/category: true)', () => {
    const bySeverity = renderBaselineOverride({ update_severity: ['Critical'] });
    expect(rule(bySeverity, 'AMAZON_LINUX_2023')).not.toHaveProperty('EnableNonSecurity');
    expect(bySeverity!.map((b) => b.OperatingSystem)).toContain('WINDOWS');
    expect(rule(renderBaselineOverride({ published_days_old: 3 }), 'SUSE')?.EnableNonSecurity).toBe(true);
  });

  test('set: every Linux rule carries the value and no Windows baseline is rendered', () => {
    const on = renderBaselineOverride({ update_severity: ['Critical'], enable_non_security: true })!;
    expect(on.map((b) => b.OperatingSystem)).not.toContain('WINDOWS');
    expect(on.length).toBeGreaterThan(0);
    for (const b of on) expect(b.ApprovalRules.PatchRules[0].EnableNonSecurity).toBe(true);
    const off = renderBaselineOverride({ update_category: ['Bugfix'], enable_non_security: false })!;
    for (const b of off) expect(b.ApprovalRules.PatchRules[0].EnableNonSecurity).toBe(false);
    expect(expressibleOses({ enable_non_security: false })).not.toContain('WINDOWS');
  });

  test('alone it is a filter: one PRODUCT * rule; with only include_kbs it sets ApprovedPatchesEnableNonSecurity', () => {
    const alone = renderBaselineOverride({ enable_non_security: false })!;
    expect(hasPatchFilters({ enable_non_security: false })).toBe(true);
    expect(rule(alone, 'AMAZON_LINUX_2023')).toEqual({
      PatchFilterGroup: { PatchFilters: [{ Key: 'PRODUCT', Values: ['*'] }] },
      ApproveAfterDays: 0,
      EnableNonSecurity: false,
    });
    const kbs = renderBaselineOverride({ include_kbs: ['openssl'], enable_non_security: false })!;
    const al = kbs.find((b) => b.OperatingSystem === 'AMAZON_LINUX_2023')!;
    expect(al.ApprovalRules.PatchRules).toEqual([]);
    expect(al.ApprovedPatchesEnableNonSecurity).toBe(false);
    expect(
      renderBaselineOverride({ include_kbs: ['openssl'] })!.find((b) => b.OperatingSystem === 'SUSE')!
        .ApprovedPatchesEnableNonSecurity,
    ).toBe(true);
  });

  test('with filters only Windows baselines accept, it is refused naming the field', () => {
    const issues = patchFilterIssues({ update_category: ['SecurityUpdates'], enable_non_security: true });
    expect(issues).toEqual([
      {
        path: 'enable_non_security',
        message:
          'EnableNonSecurity applies to Linux patch baselines only, and update_category SecurityUpdates fits only Windows',
      },
    ]);
    expect(patchFilterIssues({ update_severity: ['Moderate'], enable_non_security: false })).toEqual([]);
    expect(() =>
      renderBaselineOverride({ update_severity: ['Unspecified'], enable_non_security: false }),
    ).toThrow(/enable_non_security/);
  });
});
