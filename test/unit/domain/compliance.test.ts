import { complianceCsv, csvField, summarisePlan, type MachineCompliance } from '../../../domain/compliance';
import { amazonLinuxProduct, availablePatchesLookup } from '../../../domain/available-patches';

const reading = (over: Partial<MachineCompliance>): MachineCompliance => ({
  machine_id: 'mch_a',
  name: 'a',
  ssm_machine_id: 'i-0a',
  status: 'NON_COMPLIANT',
  scanned_at: '2026-12-01T05:00:00.000Z',
  operation: 'Scan',
  event_id: 'ev',
  plan_id: 'pln',
  command_id: 'c',
  counts: {
    missing: 2,
    failed: 0,
    installed: 10,
    installed_other: 0,
    installed_pending_reboot: 0,
    installed_rejected: 0,
    not_applicable: 0,
  },
  missing_by_severity: { Critical: 1, Low: 1 },
  missing_by_classification: { Security: 2 },
  oldest_missing: { kb_id: 'k1', title: 't1', release_date: '2026-01-01T00:00:00.000Z' },
  patches: [],
  ...over,
});

describe('csvField', () => {
  test.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['+1', "'+1"],
    ['-cmd', "'-cmd"],
    ['@SUM(A1)', "'@SUM(A1)"],
  ])('%j → %j', (v, out) => expect(csvField(v)).toBe(out));
});

test('the CSV has one row per patch, and one row for a machine with none or never scanned', () => {
  const machines = [
    { machine_id: 'mch_a', name: 'a', ssm_machine_id: 'i-0a' },
    { machine_id: 'mch_b', name: 'b, the second', ssm_machine_id: 'i-0b' },
  ];
  const csv = complianceCsv(machines, [
    reading({
      patches: [
        { title: 'p1', kb_id: 'k1', classification: 'Security', severity: 'Critical', state: 'MISSING' },
        {
          title: 'p2',
          kb_id: 'k2',
          classification: 'Security',
          severity: 'Low',
          state: 'FAILED',
          release_date: '2026-02-01T00:00:00.000Z',
          cve_ids: ['CVE-1', 'CVE-2'],
        },
      ],
    }),
  ]);
  const lines = csv.split('\r\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.slice(1, -1)).toEqual([
    'mch_a,a,i-0a,NON_COMPLIANT,2026-12-01T05:00:00.000Z,,MISSING,k1,p1,Security,Critical,,',
    'mch_a,a,i-0a,NON_COMPLIANT,2026-12-01T05:00:00.000Z,,FAILED,k2,p2,Security,Low,2026-02-01T00:00:00.000Z,CVE-1 CVE-2',
    'mch_b,"b, the second",i-0b,NOT_SCANNED,,,,,,,,,',
  ]);
});

test('the plan summary adds machines up and keeps the oldest missing patch', () => {
  const s = summarisePlan(
    'pln',
    [
      { machine_id: 'mch_a', name: 'a', ssm_machine_id: 'i-0a' },
      { machine_id: 'mch_b', name: 'b', ssm_machine_id: 'i-0b' },
      { machine_id: 'mch_c', name: 'c', ssm_machine_id: 'i-0c' },
    ],
    [
      reading({}),
      reading({
        machine_id: 'mch_b',
        scanned_at: '2026-12-01T06:00:00.000Z',
        missing_by_severity: { Critical: 3 },
        missing_by_classification: { Bugfix: 3 },
        counts: { ...reading({}).counts, missing: 3, failed: 1 },
        oldest_missing: { kb_id: 'k0', title: 't0', release_date: '2025-06-01T00:00:00.000Z' },
      }),
    ],
  );
  expect(s.totals).toEqual({
    machines: 3,
    compliant: 0,
    non_compliant: 2,
    not_scanned: 1,
    missing: 5,
    failed: 1,
    missing_by_severity: { Critical: 4, Low: 1 },
    missing_by_classification: { Security: 2, Bugfix: 3 },
  });
  expect(s.last_scan_at).toBe('2026-12-01T06:00:00.000Z');
  expect(s.oldest_missing).toEqual({
    kb_id: 'k0',
    title: 't0',
    release_date: '2025-06-01T00:00:00.000Z',
    machine_id: 'mch_b',
  });
  expect(s.machines[2]).toEqual({
    machine_id: 'mch_c',
    name: 'c',
    ssm_machine_id: 'i-0c',
    status: 'NOT_SCANNED',
  });
});

describe('DescribeAvailablePatches lookups', () => {
  test('Windows by KB', () => {
    const l = availablePatchesLookup({ type: 'Windows' })!;
    expect(l.keyOf('KB5044281')).toBe('KB5044281');
    expect(l.keyOf('not-a-kb')).toBeUndefined();
    expect(l.filters(['KB1234567'])).toEqual([{ Key: 'PATCH_ID', Values: ['KB1234567'] }]);
  });
  test('Amazon Linux by PRODUCT and NAME; other Linux not at all', () => {
    const l = availablePatchesLookup({ type: 'Linux', name: 'Amazon Linux', version: '2' })!;
    expect(l.keyOf('openssl.x86_64')).toBe('openssl');
    expect(l.keyOf('kernel.x86_64:0:4.14.238-182.amzn2')).toBe('kernel');
    expect(l.filters(['openssl'])).toEqual([
      { Key: 'PRODUCT', Values: ['AmazonLinux2'] },
      { Key: 'NAME', Values: ['openssl'] },
    ]);
    expect(availablePatchesLookup({ type: 'Linux', name: 'Ubuntu', version: '22.04' })).toBeUndefined();
    expect(amazonLinuxProduct('2023')).toBe('AmazonLinux2023');
    expect(amazonLinuxProduct('')).toBeUndefined();
  });
});
