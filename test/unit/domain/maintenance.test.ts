/** Maintenance integrations (domain/maintenance.ts): the plan field and the one rule that keeps them in step. */
import {
  maintenanceStep,
  nextMaintenanceDueMs,
  resolveApiKey,
  resolveMaintenanceTargets,
  silenceMatchers,
  MaintenanceIntegration,
  type MaintenanceMachine,
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

describe('pingdom and webhook entries, tag mappings (plan field)', () => {
  const base = { name: 'p', cron: '0 3 * * 0', window_hours: 2, machines: [] };
  const issues = (m: unknown) => {
    const r = PlanInput.safeParse({ ...base, maintenance: [m] });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  test('pingdom: default URL and lead time; checks fixed, from a tag, or both', () => {
    const p = PlanInput.parse({
      ...base,
      maintenance: [
        { type: 'pingdom', check_ids: [123], api_key_ref: 'env:PD' },
        { type: 'pingdom', check_ids_from_tag: 'PingdomCheck', api_key_ref: 'env:PD', lead_minutes: 30 },
        { type: 'webhook', url: 'https://hooks.example/m' },
      ],
    });
    expect(p.maintenance).toEqual([
      {
        type: 'pingdom',
        url: 'https://api.pingdom.com',
        lead_minutes: 1440,
        check_ids: [123],
        api_key_ref: 'env:PD',
      },
      {
        type: 'pingdom',
        url: 'https://api.pingdom.com',
        lead_minutes: 30,
        check_ids_from_tag: 'PingdomCheck',
        api_key_ref: 'env:PD',
      },
      { type: 'webhook', url: 'https://hooks.example/m', lead_minutes: 1440 },
    ]);
  });
  test.each([
    [
      { type: 'pingdom', api_key_ref: 'env:PD' },
      'maintenance.0.check_ids: give check_ids, check_ids_from_tag or both',
    ],
    [{ type: 'pingdom', check_ids: ['abc'], api_key_ref: 'env:PD' }, 'maintenance.0.check_ids.0:'],
    [{ type: 'pingdom', check_ids: [1] }, 'maintenance.0.api_key_ref:'],
    [{ type: 'pingdom', check_ids: [1], api_key_ref: 'env:PD', page_id: 'x' }, 'maintenance.0:'],
    [
      { type: 'statuspage', page_id: 'pg', api_key_ref: 'env:SP' },
      'maintenance.0.component_ids: give component_ids, component_ids_from_tag or both',
    ],
    [
      { type: 'alertmanager', url: 'https://am.example' },
      'maintenance.0.matchers: give matchers, matchers_from_tags or both',
    ],
    [
      { type: 'alertmanager', url: 'https://am.example', matchers_from_tags: { 'bad-label': 'Service' } },
      'maintenance.0.matchers_from_tags',
    ],
    [{ type: 'webhook', url: 'https://h.example', secret_ref: 'plain-secret' }, 'maintenance.0.secret_ref:'],
    [{ type: 'webhook', url: 'https://h.example', api_key_ref: 'env:X' }, 'maintenance.0:'],
  ])('refuses %j naming the field', (m, prefix) => {
    const got = issues(m);
    expect(got.length).toBeGreaterThan(0);
    expect(got.some((i) => i.startsWith(prefix))).toBe(true);
  });
});

describe('resolveMaintenanceTargets', () => {
  const machine = (name: string, tags: [string, string][]): MaintenanceMachine => ({
    id: `mch_${name}`,
    name,
    tags: tags.map(([key, value]) => ({ key, value })),
  });
  const web1 = machine('web1', [
    ['StatuspageComponent', 'cmp_web'],
    ['PingdomCheck', '101, 102'],
    ['Service', 'web'],
  ]);
  const web2 = machine('web2', [
    ['StatuspageComponent', 'cmp_web'],
    ['PingdomCheck', '102'],
    ['Service', 'web'],
  ]);
  const api = machine('api', [
    ['StatuspageComponent', 'cmp_api'],
    ['PingdomCheck', 'not-a-check'],
    ['Service', 'api'],
  ]);
  const bare = machine('bare', []);
  const entry = (m: unknown) => MaintenanceIntegration.parse(m);

  test('statuspage: fixed first, then the union of the tag over the machines, without repeats', () => {
    const e = entry({
      type: 'statuspage',
      page_id: 'pg',
      api_key_ref: 'env:SP',
      component_ids: ['cmp_db'],
      component_ids_from_tag: 'StatuspageComponent',
    });
    expect(resolveMaintenanceTargets(e, [web1, web2, api])).toEqual({
      component_ids: ['cmp_db', 'cmp_web', 'cmp_api'],
      ignored: [],
      empty: false,
    });
  });
  test('pingdom: comma lists split, invalid ids left out and named', () => {
    const e = entry({ type: 'pingdom', api_key_ref: 'env:PD', check_ids_from_tag: 'PingdomCheck' });
    expect(resolveMaintenanceTargets(e, [web1, web2, api])).toEqual({
      check_ids: [101, 102],
      ignored: ['PingdomCheck=not-a-check on api'],
      empty: false,
    });
  });
  test('alertmanager: label ← tag; several values become one anchored regex matcher', () => {
    const e = entry({
      type: 'alertmanager',
      url: 'https://am.example',
      matchers: { env: 'prod' },
      matchers_from_tags: { service: 'Service' },
    });
    const t = resolveMaintenanceTargets(e, [web1, web2, api]);
    expect(t.matchers).toEqual({ env: ['prod'], service: ['web', 'api'] });
    expect(silenceMatchers(t.matchers!)).toEqual([
      { name: 'env', value: 'prod', isRegex: false, isEqual: true },
      { name: 'service', value: 'web|api', isRegex: true, isEqual: true },
    ]);
    expect(silenceMatchers({ path: ['a.b', 'c|d'] })[0].value).toBe('a\\.b|c\\|d');
  });
  test('nothing to cover: empty (skipped, never a failure); a webhook is never empty', () => {
    const e = entry({ type: 'pingdom', api_key_ref: 'env:PD', check_ids_from_tag: 'PingdomCheck' });
    expect(resolveMaintenanceTargets(e, [bare]).empty).toBe(true);
    expect(resolveMaintenanceTargets(e, []).empty).toBe(true);
    const am2 = entry({
      type: 'alertmanager',
      url: 'https://am.example',
      matchers_from_tags: { s: 'Service' },
    });
    expect(resolveMaintenanceTargets(am2, [bare])).toEqual({ matchers: {}, ignored: [], empty: true });
    expect(resolveMaintenanceTargets(entry({ type: 'webhook', url: 'https://h.example' }), []).empty).toBe(
      false,
    );
  });
});
