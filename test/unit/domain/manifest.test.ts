import { buildManifest, type ManifestInput } from '../../../domain/manifest';
import { snapshotIdFor } from '../../../activities/snapshot-id';

const patch = (kb: string, title: string, extra: Record<string, unknown> = {}) => ({
  kb_id: kb,
  title,
  classification: 'Security',
  severity: 'Important',
  ...extra,
});

describe('buildManifest', () => {
  const machines: ManifestInput[] = [
    {
      machine_id: 'b',
      status: 'SUCCESS',
      operating_system: 'AMAZON_LINUX_2023',
      snapshot_id: 's0',
      patches: [
        patch('openssl.x86_64', 'openssl-3.0.13', { cve_ids: ['CVE-2024-1'] }),
        patch('curl.x86_64', 'curl-8.5.0'),
      ],
    },
    {
      machine_id: 'a',
      status: 'SUCCESS_MANUAL',
      operating_system: 'AMAZON_LINUX_2023',
      snapshot_id: 's0',
      patches: [patch('openssl.x86_64', 'openssl-3.0.13', { cve_ids: ['CVE-2024-1'] })],
    },
    // Failed and no-update machines add nothing; their patches are not proven.
    {
      machine_id: 'c',
      status: 'FAILED',
      operating_system: 'AMAZON_LINUX_2023',
      patches: [patch('zlib.x86_64', 'zlib-1.3')],
    },
    { machine_id: 'd', status: 'SUCCESS_NO_UPDATES', operating_system: 'WINDOWS', patches: [] },
    {
      machine_id: 'w',
      status: 'SUCCESS',
      operating_system: 'WINDOWS',
      snapshot_id: 's0',
      patches: [patch('KB5030211', '2023-09 Cumulative Update (KB5030211)')],
    },
    { machine_id: 'x', status: 'SUCCESS', patches: [] },
  ];

  test('groups the successful machines by operating system, one entry per patch with how many installed it', () => {
    const m = buildManifest(machines, 2, '2026-12-01T00:00:00.000Z');
    expect(m.run_no).toBe(2);
    expect(m.operating_systems.map((o) => o.operating_system)).toEqual([
      'AMAZON_LINUX_2023',
      'UNKNOWN',
      'WINDOWS',
    ]);
    const linux = m.operating_systems[0];
    expect(linux.machines).toEqual(['a', 'b']);
    expect(linux.snapshot_ids).toEqual(['s0']);
    expect(linux.patches).toEqual([
      {
        kb_id: 'curl.x86_64',
        title: 'curl-8.5.0',
        classification: 'Security',
        severity: 'Important',
        machines: 1,
      },
      {
        kb_id: 'openssl.x86_64',
        title: 'openssl-3.0.13',
        classification: 'Security',
        severity: 'Important',
        cve_ids: ['CVE-2024-1'],
        machines: 2,
      },
    ]);
    expect(m.operating_systems[2].machines).toEqual(['w']);
    expect(m.operating_systems[1]).toEqual({
      operating_system: 'UNKNOWN',
      machines: ['x'],
      snapshot_ids: [],
      patches: [],
    });
  });

  test('no successful machine: an empty manifest', () => {
    expect(buildManifest([machines[2]], 0, 't').operating_systems).toEqual([]);
  });
});

describe('snapshotIdFor', () => {
  test('a UUID, the same for a retry, different per event and run', () => {
    const id = snapshotIdFor('ev1', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(snapshotIdFor('ev1', 0)).toBe(id);
    expect(snapshotIdFor('ev1', 1)).not.toBe(id);
    expect(snapshotIdFor('ev2', 0)).not.toBe(id);
  });
});
