/** Maintenance integrations (domain/maintenance.ts): the plan field and the one rule that keeps them in step. */
import {
  maintenanceStep,
  nextMaintenanceDueMs,
  resolveApiKey,
  type MaintenanceRecord,
} from '../../../domain/maintenance';
import { PlanInput } from '../../../domain/plan';

const H = 3600_000;
const T0 = Date.parse('2030-01-10T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const window = (startMs: number, endMs: number, over: Partial<{ live: boolean; deleted: boolean }> = {}) => ({
  start: iso(startMs),
  end: iso(endMs),
  live: true,
  deleted: false,
  ...over,
});
const am = { type: 'alertmanager', lead_minutes: 24 * 60 };
const sp = { type: 'statuspage', lead_minutes: 60 };
const rec = (type: 'alertmanager' | 'statuspage', startMs: number, endMs: number): MaintenanceRecord => ({
  key: `0-${type}`,
  type,
  url: 'https://x.example',
  external_id: 'id1',
  starts_at: iso(startMs),
  ends_at: iso(endMs),
  state: 'scheduled',
});

describe('plan field', () => {
  const base = { name: 'p', cron: '0 3 * * 0', window_hours: 2, dynamic: undefined, machines: [] };
  test('defaults: 24 h lead, Statuspage API URL', () => {
    const p = PlanInput.parse({
      ...base,
      maintenance: [
        { type: 'alertmanager', url: 'https://am.example', matchers: { service: 'billing' } },
        { type: 'statuspage', page_id: 'pg1', component_ids: ['c1'], api_key_ref: 'env:SP_KEY' },
      ],
    });
    expect(p.maintenance).toEqual([
      {
        type: 'alertmanager',
        url: 'https://am.example',
        lead_minutes: 1440,
        matchers: { service: 'billing' },
      },
      {
        type: 'statuspage',
        url: 'https://api.statuspage.io',
        lead_minutes: 1440,
        page_id: 'pg1',
        component_ids: ['c1'],
        api_key_ref: 'env:SP_KEY',
      },
    ]);
  });
  test.each([
    [{ type: 'alertmanager', url: 'https://am.example', matchers: {} }],
    [{ type: 'alertmanager', url: 'ftp://am.example', matchers: { a: 'b' } }],
    [{ type: 'alertmanager', url: 'https://am.example', matchers: { 'bad-label': 'b' } }],
    [{ type: 'statuspage', page_id: 'pg1', component_ids: ['c1'] }],
    [{ type: 'statuspage', page_id: 'pg1', component_ids: ['c1'], api_key_ref: 'the-key-itself' }],
    [{ type: 'pingdom', url: 'https://api.pingdom.com' }],
  ])('refuses %j', (m) => {
    expect(PlanInput.safeParse({ ...base, maintenance: [m] }).success).toBe(false);
  });
});

describe('maintenanceStep', () => {
  const start = T0;
  const end = T0 + 2 * H;
  test('nothing before the lead time; created once it has come', () => {
    expect(maintenanceStep(am, undefined, window(start, end), start - 25 * H)).toEqual({ kind: 'none' });
    expect(maintenanceStep(am, undefined, window(start, end), start - 24 * H)).toEqual({
      kind: 'create',
      startsAt: iso(start),
      endsAt: iso(end),
    });
  });
  test('generated inside the lead time: created at once', () => {
    expect(maintenanceStep(sp, undefined, window(start, end), start - 5 * 60_000).kind).toBe('create');
  });
  test('in step: nothing; the window moved: moved', () => {
    expect(maintenanceStep(am, rec('alertmanager', start, end), window(start, end), start - H)).toEqual({
      kind: 'none',
    });
    expect(maintenanceStep(am, rec('alertmanager', start, end), window(start + H, end + H), start)).toEqual({
      kind: 'move',
      startsAt: iso(start + H),
      endsAt: iso(end + H),
    });
  });
  test('moved later than its lead time: moved, not lifted', () => {
    const later = start + 48 * H;
    expect(
      maintenanceStep(am, rec('alertmanager', start, end), window(later, later + 2 * H), start - H).kind,
    ).toBe('move');
  });
  test('ended early: silence expired, incident completed', () => {
    const ended = window(start, end, { live: false });
    expect(maintenanceStep(am, rec('alertmanager', start, end), ended, start + H)).toEqual({
      kind: 'lift',
      how: 'expire',
    });
    expect(maintenanceStep(sp, rec('statuspage', start, end), ended, start + H)).toEqual({
      kind: 'lift',
      how: 'complete',
    });
  });
  test('deleted before its start: the incident is deleted; after the start it is completed', () => {
    const deleted = window(start, end, { live: false, deleted: true });
    expect(maintenanceStep(sp, rec('statuspage', start, end), deleted, start - H)).toEqual({
      kind: 'lift',
      how: 'delete',
    });
    expect(maintenanceStep(sp, rec('statuspage', start, end), deleted, start + 60_000)).toEqual({
      kind: 'lift',
      how: 'complete',
    });
  });
  test('removed from the plan: lifted; already lifted: nothing', () => {
    expect(maintenanceStep(undefined, rec('alertmanager', start, end), window(start, end), start).kind).toBe(
      'lift',
    );
    const lifted = { ...rec('alertmanager', start, end), state: 'lifted' as const };
    expect(maintenanceStep(am, lifted, window(start, end, { live: false }), start + H)).toEqual({
      kind: 'none',
    });
  });
  test('window over: never created late', () => {
    expect(maintenanceStep(am, undefined, window(start, end), end + 1)).toEqual({ kind: 'none' });
  });
});

describe('nextMaintenanceDueMs', () => {
  test('the earliest lead time still ahead of entries not created yet', () => {
    const ev = window(T0, T0 + 2 * H);
    expect(nextMaintenanceDueMs([am, sp], [], ev, T0 - 48 * H)).toBe(T0 - 24 * H);
    expect(nextMaintenanceDueMs([am, sp], [], ev, T0 - 2 * H)).toBe(T0 - H);
    expect(nextMaintenanceDueMs([am, sp], [rec('alertmanager', T0, T0 + 2 * H)], ev, T0 - 48 * H)).toBe(
      T0 - H,
    );
    expect(nextMaintenanceDueMs([am, sp], [], ev, T0 - 30 * 60_000)).toBeUndefined();
    expect(nextMaintenanceDueMs([am], [], { ...ev, live: false }, T0 - 48 * H)).toBeUndefined();
  });
});

test('resolveApiKey reads the named variable only', () => {
  const env: Record<string, string> = { SP_KEY: 's3cret', EMPTY: '' };
  expect(resolveApiKey('env:SP_KEY', (n) => env[n])).toBe('s3cret');
  expect(resolveApiKey('env:EMPTY', (n) => env[n])).toBeUndefined();
  expect(resolveApiKey(undefined, (n) => env[n])).toBeUndefined();
});
