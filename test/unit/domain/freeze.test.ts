import { icsProblem, icsSpans } from '../../../domain/ics';
import {
  closedSpans,
  freezeAt,
  judgeWindow,
  attachCovers,
  freezeApprovalLine,
  freezeApprovalRefusal,
  FreezeRule,
  type ClosedSpan,
} from '../../../domain/freeze';
import { calendarClosedSpans } from '../../../domain/freeze-spans';

const H = 3600_000;
const D = 24 * H;
const t = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

/** A calendar as Outlook exports one: a VTIMEZONE, a weekly series with an EXDATE, a moved and a cancelled occurrence. */
const OUTLOOK = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN',
  'BEGIN:VTIMEZONE',
  'TZID:W. Europe Standard Time',
  'BEGIN:STANDARD',
  'DTSTART:16011028T030000',
  'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'END:STANDARD',
  'BEGIN:DAYLIGHT',
  'DTSTART:16010325T020000',
  'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'END:DAYLIGHT',
  'END:VTIMEZONE',
  'BEGIN:VEVENT',
  'UID:release-freeze',
  'SUMMARY:Release freeze',
  'DTSTART;TZID=W. Europe Standard Time:20261102T180000',
  'DTEND;TZID=W. Europe Standard Time:20261102T220000',
  'RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6',
  'EXDATE;TZID=W. Europe Standard Time:20261109T180000',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:release-freeze',
  'RECURRENCE-ID;TZID=W. Europe Standard Time:20261116T180000',
  'SUMMARY:Release freeze (moved)',
  'DTSTART;TZID=W. Europe Standard Time:20261117T080000',
  'DTEND;TZID=W. Europe Standard Time:20261117T100000',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:release-freeze',
  'RECURRENCE-ID;TZID=W. Europe Standard Time:20261123T180000',
  'STATUS:CANCELLED',
  'DTSTART;TZID=W. Europe Standard Time:20261123T180000',
  'DTEND;TZID=W. Europe Standard Time:20261123T220000',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:year-end',
  'SUMMARY:Year-end freeze',
  'DTSTART;VALUE=DATE:20261224',
  'DTEND;VALUE=DATE:20270102',
  'END:VEVENT',
  'END:VCALENDAR',
].join('\r\n');

describe('icsSpans', () => {
  const spans = icsSpans(OUTLOOK, t('2026-11-01T00:00:00Z'), t('2027-01-31T00:00:00Z'));

  it('expands the weekly RRULE in the calendar time zone, without the EXDATE and the cancelled occurrence', () => {
    expect(spans.map((s) => [iso(s.startMs), iso(s.endMs), s.summary])).toEqual([
      ['2026-11-02T17:00:00.000Z', '2026-11-02T21:00:00.000Z', 'Release freeze'],
      // 9 Nov excluded; 16 Nov moved to the 17th morning
      ['2026-11-17T07:00:00.000Z', '2026-11-17T09:00:00.000Z', 'Release freeze (moved)'],
      // 23 Nov cancelled; COUNT=6 ends with 30 Nov and 7 Dec
      ['2026-11-30T17:00:00.000Z', '2026-11-30T21:00:00.000Z', 'Release freeze'],
      ['2026-12-07T17:00:00.000Z', '2026-12-07T21:00:00.000Z', 'Release freeze'],
      ['2026-12-24T00:00:00.000Z', '2027-01-02T00:00:00.000Z', 'Year-end freeze'],
    ]);
  });

  it('keeps only the spans overlapping the period (one that began before it counts)', () => {
    const s = icsSpans(OUTLOOK, t('2026-12-31T00:00:00Z'), t('2027-03-01T00:00:00Z'));
    expect(s.map((x) => x.summary)).toEqual(['Year-end freeze']);
  });

  it('follows an open-ended daily rule that began years before the period', () => {
    const daily = [
      'BEGIN:VCALENDAR',
      'BEGIN:VEVENT',
      'UID:nightly',
      'SUMMARY:Batch',
      'DTSTART:20200101T010000Z',
      'DURATION:PT2H',
      'RRULE:FREQ=DAILY',
      'END:VEVENT',
      'END:VCALENDAR',
    ].join('\n');
    const s = icsSpans(daily, t('2026-12-01T00:00:00Z'), t('2026-12-03T00:00:00Z'));
    expect(s.map((x) => iso(x.startMs))).toEqual(['2026-12-01T01:00:00.000Z', '2026-12-02T01:00:00.000Z']);
    expect(s[0].endMs - s[0].startMs).toBe(2 * H);
  });
});

describe('icsProblem', () => {
  it('accepts a readable calendar', () => expect(icsProblem(OUTLOOK)).toBeUndefined());
  it.each([
    ['not iCalendar', 'hello', /is not iCalendar text/],
    ['no event', 'BEGIN:VCALENDAR\nEND:VCALENDAR', /has no VEVENT/],
    ['no DTSTART', 'BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR', /no DTSTART/],
    ['a vCard', 'BEGIN:VCARD\nFN:x\nEND:VCARD', /VCALENDAR/],
  ])('names what is wrong: %s', (_n, text, re) => expect(icsProblem(text)).toMatch(re));
});

const cal = { id: 'frz_1', name: 'Releases', mode: 'closed_during_events' as const };

describe('closedSpans and freezeAt', () => {
  const events = [
    { startMs: 10 * H, endMs: 12 * H, summary: 'a' },
    { startMs: 12 * H, endMs: 14 * H, summary: 'b' },
    { startMs: 20 * H, endMs: 21 * H, summary: 'c' },
  ];
  it('closed_during_events: the events are the freezes; touching ones make one freeze', () => {
    const c = closedSpans(cal, events, 0, D);
    expect(c).toHaveLength(3);
    expect(freezeAt(c, 11 * H)).toMatchObject({ startMs: 10 * H, endMs: 14 * H, why: 'a' });
    expect(freezeAt(c, 14 * H)).toBeUndefined();
  });
  it('open_only_during_events: the gaps between the events are the freezes', () => {
    const c = closedSpans({ ...cal, mode: 'open_only_during_events' }, events, 0, D);
    expect(c.map((s) => [s.startMs / H, s.endMs / H])).toEqual([
      [0, 10],
      [14, 20],
      [21, 24],
    ]);
    expect(c[0].why).toBe('outside the open events of Releases');
  });
});

describe('judgeWindow', () => {
  const spans: ClosedSpan[] = closedSpans(
    cal,
    [{ startMs: 10 * H, endMs: 14 * H, summary: 'Release' }],
    0,
    3 * D,
  );
  const skip = { action: 'skip' as const, max_delay_hours: 72 };
  it('a window opening inside a freeze gets the plan rule and the reason', () => {
    expect(judgeWindow(spans, 11 * H, 13 * H, skip, 0)).toMatchObject({
      state: 'frozen',
      action: 'skip',
      reason: 'freeze calendar Releases: Release',
      from: iso(10 * H),
      until: iso(14 * H),
    });
  });
  it('shift_to_next_open moves the start to the freeze end within max_delay_hours, else skips', () => {
    expect(
      judgeWindow(spans, 11 * H, 13 * H, { action: 'shift_to_next_open', max_delay_hours: 3 }, 0),
    ).toMatchObject({ action: 'shift_to_next_open', shifted_to: iso(14 * H) });
    expect(
      judgeWindow(spans, 11 * H, 13 * H, { action: 'shift_to_next_open', max_delay_hours: 2 }, 0),
    ).toMatchObject({ action: 'skip' });
  });
  it('run_with_approval shows on the verdict of a window opening frozen; a later freeze still halts', () => {
    const rule = FreezeRule.parse({ action: 'run_with_approval' });
    expect(judgeWindow(spans, 11 * H, 13 * H, rule, 0)).toMatchObject({
      state: 'frozen',
      action: 'run_with_approval',
      reason: 'freeze calendar Releases: Release',
    });
    expect(judgeWindow(spans, 9 * H, 12 * H, rule, 0)).toMatchObject({ action: 'halt' });
  });
  it('a freeze beginning inside the window halts the run; one outside it is nothing', () => {
    expect(judgeWindow(spans, 9 * H, 12 * H, skip, 0)).toMatchObject({
      state: 'freeze_during_window',
      action: 'halt',
      from: iso(10 * H),
    });
    expect(judgeWindow(spans, 14 * H, 16 * H, skip, 0)).toBeUndefined();
  });
});

describe('attachCovers', () => {
  it('customer, plans and machine tags', () => {
    expect(attachCovers({ to: 'customer' }, 'pln_a', [])).toBe(true);
    expect(attachCovers({ to: 'plans', plan_ids: ['pln_b'] }, 'pln_a', [])).toBe(false);
    const tags = { to: 'machine_tags' as const, tags: { Env: ['prod'] } };
    expect(
      attachCovers(tags, 'pln_a', [[{ key: 'Env', value: 'dev' }], [{ key: 'Env', value: 'prod' }]]),
    ).toBe(true);
    expect(attachCovers(tags, 'pln_a', [[{ key: 'Env', value: 'dev' }]])).toBe(false);
  });
});

describe('calendarClosedSpans', () => {
  it('a URL calendar not fetched yet freezes nothing and says why', () => {
    expect(calendarClosedSpans({ ...cal, url: 'https://x.example/c.ics' }, 0, D)).toEqual({
      spans: [],
      problem: 'https://x.example/c.ics has not been fetched yet',
    });
  });
});

describe('the two-person rule of run_with_approval', () => {
  it('refuses a second approval by the same person, naming the reason', () => {
    expect(freezeApprovalRefusal([], 'key_a')).toBeUndefined();
    expect(freezeApprovalRefusal(['key_a'], 'key_b')).toBeUndefined();
    expect(freezeApprovalRefusal(['key_a'], 'key_a')).toBe(
      'key_a already approved this event to run inside its freeze (1 of 2); the next approval must come ' +
        'from another person (another API key)',
    );
  });
  it('says 1 of 2 and that a second person is needed, then names both approvers', () => {
    expect(freezeApprovalLine(['key_a'], 'freeze calendar F: Close')).toBe(
      'approved by key_a to run inside the freeze (1 of 2): needs a second person (another API key) before ' +
        'the window opens, or it is skipped (freeze calendar F: Close)',
    );
    expect(freezeApprovalLine(['key_a', 'key_b'], 'freeze calendar F: Close')).toBe(
      'approved by key_b to run inside the freeze (2 of 2, with key_a): it runs even if the window opens ' +
        'frozen (freeze calendar F: Close)',
    );
  });
  it('is a plan rule action; unknown actions are refused', () => {
    expect(FreezeRule.parse({ action: 'run_with_approval' })).toEqual({
      action: 'run_with_approval',
      max_delay_hours: 72,
    });
    expect(FreezeRule.safeParse({ action: 'run_anyway' }).success).toBe(false);
  });
});
