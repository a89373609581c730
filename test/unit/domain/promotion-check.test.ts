import { comparePromotion, type PromotionCheckInput } from '../../../domain/promotion-check';

const p = (kb_id: string, title: string) => ({ kb_id, title });
const OPENSSL = p('openssl.x86_64', 'openssl-3.0.13');
const CURL = p('curl.x86_64', 'curl-8.5.0');
const ZLIB = p('zlib.x86_64', 'zlib-1.3.1');
const KB = p('KB5031364', 'KB5031364');

const base = (over: Partial<PromotionCheckInput>): PromotionCheckInput => ({
  mode: 'exact_previous_step',
  previousStep: 0,
  fromEvents: ['ev-dev'],
  manifest: { AMAZON_LINUX_2023: [OPENSSL, CURL], WINDOWS: [KB] },
  exclusions: [],
  machines: [],
  checkedAt: '2025-01-01T00:00:00.000Z',
  ...over,
});

describe('comparePromotion: exact_previous_step', () => {
  test('a clean promotion: each machine installed its OS set, nothing missing, nothing unexpected', () => {
    const c = comparePromotion(
      base({
        machines: [
          {
            machine_id: 'a',
            name: 'A',
            status: 'SUCCESS',
            operating_system: 'AMAZON_LINUX_2023',
            patches: [CURL, OPENSSL],
          },
          { machine_id: 'w', name: 'W', status: 'SUCCESS', operating_system: 'WINDOWS', patches: [KB] },
        ],
      }),
    );
    expect(c.clean).toBe(true);
    expect(c.promoted).toEqual([
      { operating_system: 'AMAZON_LINUX_2023', patches: [CURL, OPENSSL] },
      { operating_system: 'WINDOWS', patches: [KB] },
    ]);
    expect(c.machines.map((m) => [m.machine_id, m.installed, m.missing, m.unexpected])).toEqual([
      ['a', [CURL, OPENSSL], [], []],
      ['w', [KB], [], []],
    ]);
  });

  test('a patch not installed is missing; one installed outside the set is unexpected', () => {
    const c = comparePromotion(
      base({
        machines: [
          {
            machine_id: 'a',
            name: 'A',
            status: 'FAILED',
            operating_system: 'AMAZON_LINUX_2023',
            patches: [OPENSSL, ZLIB],
          },
        ],
      }),
    );
    expect(c.clean).toBe(false);
    expect(c.machines[0]).toMatchObject({ installed: [OPENSSL], missing: [CURL], unexpected: [ZLIB] });
  });

  test('matching ignores case; duplicates count once', () => {
    const c = comparePromotion(
      base({
        machines: [
          {
            machine_id: 'a',
            name: 'A',
            status: 'SUCCESS',
            operating_system: 'AMAZON_LINUX_2023',
            patches: [p('OPENSSL.x86_64', 'OpenSSL-3.0.13'), CURL, CURL],
          },
        ],
      }),
    );
    expect(c.machines[0].missing).toEqual([]);
    expect(c.machines[0].unexpected).toEqual([]);
    expect(c.machines[0].installed).toHaveLength(2);
  });

  test('excluded patches leave the set (the step’s for all, the machine’s own for it); EXCLUDED machines are left out', () => {
    const c = comparePromotion(
      base({
        exclusions: ['curl.x86_64'],
        machines: [
          {
            machine_id: 'a',
            name: 'A',
            status: 'SUCCESS',
            operating_system: 'AMAZON_LINUX_2023',
            patches: [],
            exclude_kbs: ['openssl-3.0.13'],
          },
          { machine_id: 'x', name: 'X', status: 'EXCLUDED' },
        ],
      }),
    );
    expect(c.promoted![0]).toEqual({ operating_system: 'AMAZON_LINUX_2023', patches: [OPENSSL] });
    expect(c.machines).toHaveLength(1);
    expect(c.machines[0]).toMatchObject({ missing: [], unexpected: [] });
    expect(c.excluded).toEqual(['curl.x86_64']);
  });

  test('a machine of an OS the manifest does not list (or never patched) has an empty set', () => {
    const c = comparePromotion(base({ machines: [{ machine_id: 'u', name: 'U', status: 'OMITTED' }] }));
    expect(c.machines[0]).toMatchObject({
      operating_system: 'UNKNOWN',
      installed: [],
      missing: [],
      unexpected: [],
    });
  });
});

describe('comparePromotion: publish_date_cutoff', () => {
  test('names the cutoff and what each machine installed; missing and unexpected are not given', () => {
    const c = comparePromotion(
      base({
        mode: 'publish_date_cutoff',
        manifest: undefined,
        previousStart: '2025-03-10T08:00:00.000Z',
        cutoff: '2025-03-09',
        machines: [
          {
            machine_id: 'a',
            name: 'A',
            status: 'SUCCESS',
            operating_system: 'AMAZON_LINUX_2023',
            patches: [OPENSSL],
          },
        ],
      }),
    );
    expect(c).toMatchObject({
      mode: 'publish_date_cutoff',
      cutoff: '2025-03-09',
      previous_start: '2025-03-10T08:00:00.000Z',
    });
    expect(c.promoted).toBeUndefined();
    expect(c.clean).toBeUndefined();
    expect(c.machines[0]).toEqual({
      machine_id: 'a',
      name: 'A',
      status: 'SUCCESS',
      operating_system: 'AMAZON_LINUX_2023',
      installed: [OPENSSL],
    });
  });
});
