/** Waves by percentage (domain/waves.ts) and the plan fields that carry them (domain/plan.ts). */
import { assignWaves, stableHash, waveTarget } from '../../../domain/waves';
import { PlanInput } from '../../../domain/plan';

const fleet = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `mch_${String(i).padStart(3, '0')}` }));
const sizes = (w: Map<string, number>, waves: number) =>
  Array.from({ length: waves }, (_, k) => [...w.values()].filter((v) => v === k).length);

describe('waveTarget: ceil of the cumulative percentage, at least one', () => {
  test.each([
    [1, 4, 1],
    [25, 4, 1],
    [26, 4, 2],
    [100, 4, 4],
    [1, 250, 3],
    [10, 30, 3],
    [0.1, 30, 1],
    [50, 1, 1],
    [10, 0, 0],
  ])('%s%% of %s → %s', (p, n, want) => expect(waveTarget(p, n)).toBe(want));
});

describe('assignWaves by hash', () => {
  test('sizes follow the cumulative percentages', () => {
    expect(sizes(assignWaves(fleet(100), [1, 10, 50, 100]), 4)).toEqual([1, 9, 40, 50]);
    expect(sizes(assignWaves(fleet(4), [25, 100]), 2)).toEqual([1, 3]);
    // Small events: waves that would add nothing are left empty (the run skips them).
    expect(sizes(assignWaves(fleet(2), [1, 10, 50, 100]), 4)).toEqual([1, 0, 0, 1]);
  });

  test('stable: the same machines fall in the same wave whatever the listing order', () => {
    const a = assignWaves(fleet(50), [10, 100]);
    const b = assignWaves([...fleet(50)].reverse(), [10, 100]);
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
    expect(stableHash('mch_001')).toBe(stableHash('mch_001'));
    expect(stableHash('mch_001')).not.toBe(stableHash('mch_002'));
  });

  test('every machine has a wave', () => {
    const w = assignWaves(fleet(37), [3, 33, 100]);
    expect(w.size).toBe(37);
  });
});

describe('assignWaves by tag', () => {
  const tagged = (id: string, value?: string) => ({ id, tags: value ? [{ key: 'Ring', value }] : [] });

  test('ordered by value then id; one value never straddles two waves; untagged last', () => {
    const ms = [
      tagged('e', 'b'),
      tagged('a', 'a'),
      tagged('z'),
      tagged('c', 'b'),
      tagged('d', 'b'),
      tagged('y'),
    ];
    const w = assignWaves(ms, [20, 50, 100], { tag: 'Ring' });
    // 6 machines: targets 2, 3, 6. Wave 0 takes "a" (1) then all of "b" (3): 4 ≥ 2. Wave 1 has nothing to add.
    expect(Object.fromEntries(w)).toEqual({ a: 0, c: 0, d: 0, e: 0, y: 2, z: 2 });
  });

  test('untagged machines are cut one by one', () => {
    const w = assignWaves([tagged('b'), tagged('a'), tagged('c'), tagged('d')], [25, 100], { tag: 'Ring' });
    expect(Object.fromEntries(w)).toEqual({ a: 0, b: 1, c: 1, d: 1 });
  });
});

describe('plan fields', () => {
  const base = { name: 'p', cron: '0 3 * * 0', window_hours: 2, machines: [{ machine_id: 'mch_a' }] };
  const issues = (extra: Record<string, unknown>) => {
    const r = PlanInput.safeParse({ ...base, ...extra });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('accepted', () => {
    expect(issues({ waves: [1, 10, 50, 100] })).toEqual([]);
    expect(issues({ waves: [100], wave_by: { tag: 'Service' } })).toEqual([]);
    expect(issues({ max_unavailable: { tag: 'Service', max: 1 } })).toEqual([]);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['not ascending', { waves: [50, 10, 100] }, 'waves'],
    ['not ending at 100', { waves: [10, 50] }, 'waves'],
    ['zero', { waves: [0, 100] }, 'waves.0'],
    ['wave_by without waves', { wave_by: 'hash' }, 'wave_by'],
    [
      'an order with waves',
      { waves: [50, 100], machines: [{ machine_id: 'mch_a' }, { machine_id: 'mch_b', order: 2 }] },
      'machines.1.order',
    ],
    ['max_unavailable of 0', { max_unavailable: { tag: 'S', max: 0 } }, 'max_unavailable.max'],
  ])('refused: %s', (_n, extra, path) => {
    expect(issues(extra).map((i) => i.split(':')[0])).toContain(path);
  });
});
