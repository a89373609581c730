import { isWithinWindow, msUntil, windowEnd } from '../../../domain/window';

const T0 = Date.parse('2024-05-01T06:00:00.000Z');

describe('msUntil', () => {
  test.each<[string, string | number, number, number]>([
    ['ISO one hour ahead', '2024-05-01T07:00:00.000Z', T0, 3_600_000],
    ['epoch ms ahead', T0 + 1500, T0, 1500],
    ['exactly now', '2024-05-01T06:00:00Z', T0, 0],
    ['in the past → 0', '2024-05-01T05:00:00Z', T0, 0],
    ['epoch ms in the past → 0', T0 - 1, T0, 0],
    ['offset notation', '2024-05-01T08:00:00+02:00', T0, 0],
    ['offset notation ahead', '2024-05-01T08:00:01+02:00', T0, 1000],
  ])('%s', (_name, target, now, expected) => {
    expect(msUntil(target, now)).toBe(expected);
  });

  test.each<[string | number]>([['not a date'], [''], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'invalid %p throws',
    (t) => {
      expect(() => msUntil(t, T0)).toThrow(RangeError);
    },
  );
});

describe('windowEnd', () => {
  test.each<[string, number, string]>([
    ['2024-05-01T06:00:00.000Z', 1, '2024-05-01T07:00:00.000Z'],
    ['2024-05-01T06:00:00.000Z', 0.75, '2024-05-01T06:45:00.000Z'],
    ['2024-05-01T06:00:00.000Z', 1 / 60, '2024-05-01T06:01:00.000Z'],
    ['2024-05-01T06:00:00.000Z', 1 / 3, '2024-05-01T06:20:00.000Z'],
    ['2024-05-01T23:30:00Z', 2, '2024-05-02T01:30:00.000Z'],
    ['2024-03-31T00:30:00Z', 3, '2024-03-31T03:30:00.000Z'], // Europe's DST night: UTC is unaffected
    ['2024-05-01T08:00:00+02:00', 1, '2024-05-01T07:00:00.000Z'],
    ['2024-05-01T06:00:00.000Z', 24 * 14, '2024-05-15T06:00:00.000Z'],
  ])('%s + %f h → %s', (start, hours, end) => {
    expect(windowEnd(start, hours)).toBe(end);
  });

  test.each<[string, number]>([
    ['2024-05-01T06:00:00Z', 0],
    ['2024-05-01T06:00:00Z', -1],
    ['2024-05-01T06:00:00Z', Number.NaN],
    ['2024-05-01T06:00:00Z', Number.POSITIVE_INFINITY],
    ['garbage', 1],
  ])('windowEnd(%p, %p) throws', (start, hours) => {
    expect(() => windowEnd(start, hours)).toThrow(RangeError);
  });
});

describe('isWithinWindow [start, end)', () => {
  const start = '2024-05-01T06:00:00.000Z';
  const end = '2024-05-01T06:45:00.000Z';
  test.each<[string, number, boolean]>([
    ['before start', T0 - 1, false],
    ['at start', T0, true],
    ['inside', T0 + 10 * 60_000, true],
    ['last millisecond', Date.parse(end) - 1, true],
    ['at end (hard stop)', Date.parse(end), false],
    ['after end', Date.parse(end) + 1, false],
  ])('%s', (_name, now, expected) => {
    expect(isWithinWindow(now, start, end)).toBe(expected);
  });
});
