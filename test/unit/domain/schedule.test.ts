import { occurrencesBetween, validateCron } from '../../../domain/schedule';

const d = (iso: string) => new Date(iso);
const isoList = (ds: Date[]) => ds.map((x) => x.toISOString());

describe('validateCron', () => {
  test.each([
    ['0 6 * * 1'],
    ['*/15 * * * *'],
    ['0 22 * * MON-FRI'],
    ['30 3 * * THU'],
    ['0 0 L * *'],
    ['0 2 * * 1#1'],
    ['0 0 29 2 *'],
    ['  0 6 * * 1  '],
    ['0 6 1,15 * *'],
    ['0 0 * JAN,JUL *'],
  ])('accepts %p', (expr) => {
    expect(validateCron(expr)).toEqual({ ok: true });
  });

  test.each<[string, RegExp]>([
    ['', /exactly 5 fields .*UTC.*got 0/],
    ['* * * *', /exactly 5 fields .*got 4/],
    ['0 0 6 * * 1', /exactly 5 fields .*got 6/],
    ['@daily', /exactly 5 fields .*got 1/],
    ['60 * * * *', /invalid cron expression "60 \* \* \* \*": .*0-59/],
    ['0 24 * * *', /invalid cron expression.*0-23/],
    ['0 0 32 * *', /invalid cron expression/],
    ['0 0 * 13 *', /invalid cron expression.*1-12/],
    ['0 0 * * 8', /invalid cron expression.*0-7/],
    ['a b c d e', /invalid cron expression/],
    ['*/0 * * * *', /invalid cron expression/],
    ['0 0 31 2 *', /invalid cron expression/], // never fires
    ['H 2 * * *', /"H".*not supported/],
    ['H(0-10) 2 * * *', /"H".*not supported/],
  ])('refuses %p', (expr, message) => {
    const r = validateCron(expr);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });
});

describe('occurrencesBetween [from, to)', () => {
  test.each<[string, string, string, string, string[]]>([
    [
      'from is included',
      '0 6 * * *',
      '2024-05-01T06:00:00Z',
      '2024-05-03T06:00:00Z',
      ['2024-05-01T06:00:00.000Z', '2024-05-02T06:00:00.000Z'],
    ],
    ['to is excluded', '0 6 * * *', '2024-05-01T06:00:00.001Z', '2024-05-02T06:00:00Z', []],
    [
      '3-day horizon, weekdays only',
      '0 22 * * MON-FRI',
      '2024-05-03T00:00:00Z',
      '2024-05-06T00:00:00Z',
      ['2024-05-03T22:00:00.000Z'],
    ],
    [
      'every 15 min in one hour',
      '*/15 * * * *',
      '2024-05-01T06:00:00Z',
      '2024-05-01T07:00:00Z',
      [
        '2024-05-01T06:00:00.000Z',
        '2024-05-01T06:15:00.000Z',
        '2024-05-01T06:30:00.000Z',
        '2024-05-01T06:45:00.000Z',
      ],
    ],
    [
      'from mid-minute',
      '* * * * *',
      '2024-05-01T06:00:30Z',
      '2024-05-01T06:03:00Z',
      ['2024-05-01T06:01:00.000Z', '2024-05-01T06:02:00.000Z'],
    ],
    [
      'day-of-month OR day-of-week (classic cron)',
      '0 0 1 * 1',
      '2024-04-28T00:00:00Z',
      '2024-05-10T00:00:00Z',
      ['2024-04-29T00:00:00.000Z', '2024-05-01T00:00:00.000Z', '2024-05-06T00:00:00.000Z'],
    ],
    [
      'last day of month',
      '0 0 L * *',
      '2024-02-01T00:00:00Z',
      '2024-04-01T00:00:00Z',
      ['2024-02-29T00:00:00.000Z', '2024-03-31T00:00:00.000Z'],
    ],
    [
      'first Monday',
      '0 2 * * 1#1',
      '2024-05-01T00:00:00Z',
      '2024-07-01T00:00:00Z',
      ['2024-05-06T02:00:00.000Z', '2024-06-03T02:00:00.000Z'],
    ],
    ['empty range', '* * * * *', '2024-05-01T06:00:00Z', '2024-05-01T06:00:00Z', []],
    ['reversed range', '* * * * *', '2024-05-01T07:00:00Z', '2024-05-01T06:00:00Z', []],
    [
      'UTC regardless of host TZ',
      '0 0 * * *',
      '2024-03-30T12:00:00Z',
      '2024-04-01T12:00:00Z',
      ['2024-03-31T00:00:00.000Z', '2024-04-01T00:00:00.000Z'],
    ],
  ])('%s', (_name, expr, from, to, expected) => {
    expect(isoList(occurrencesBetween(expr, d(from), d(to)))).toEqual(expected);
  });

  it('refuses a runaway horizon', () => {
    expect(() =>
      occurrencesBetween('* * * * *', d('2024-05-01T00:00:00Z'), d('2024-05-02T00:00:00Z'), 100),
    ).toThrow(/more than 100/);
  });

  it('refuses an invalid expression', () => {
    expect(() =>
      occurrencesBetween('61 * * * *', d('2024-05-01T00:00:00Z'), d('2024-05-02T00:00:00Z')),
    ).toThrow(RangeError);
  });
});
