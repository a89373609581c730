import { checkOutboundUrl, checkOutboundUrlResolved } from '../../common/url-guard';
import { cronError } from '../../api/cron';
import { RateLimiter } from '../../api/rate-limit';
import { mergePatch } from '../../api/validate';
import { redactForAudit } from '../../api/audit-log';
import { grantFor, isAllowed } from '../../domain/auth';
import { keyIdOf, newKeySecret } from '../../store/auth';

describe('checkOutboundUrl', () => {
  const allow = ['lab.local', '127.0.0.1:4566'];
  it.each([
    ['https://fn.azurewebsites.net/api/x?code=abc', undefined],
    ['https://10.0.0.5/hook', undefined],
    ['http://fn.azurewebsites.net/api/x', /https/],
    ['ftp://example.com/x', /https/],
    ['not a url', /valid/],
    ['https://169.254.169.254/latest/meta-data', /metadata/],
    ['https://[fd00:ec2::254]/', /metadata/],
    ['https://[::1]/', /loopback/],
    ['https://[::ffff:127.0.0.1]/', /loopback/],
    ['https://127.0.0.2/', /loopback/],
    ['https://2130706433/', /loopback/], // decimal form of 127.0.0.1
    ['https://0x7f.1/', /loopback/],
    ['https://localhost/', /loopback/],
    ['https://api.localhost/', /loopback/],
    ['https://metadata.google.internal/', /metadata/],
    ['https://[fe80::1]/', /link-local/],
    ['http://lab.local:4566/_lab/azure/a?code=x', undefined],
    ['http://127.0.0.1:4566/_lab/azure/a', undefined],
    ['http://127.0.0.1:9999/other-port', /https/],
  ])('%s', (url, expected) => {
    const r = checkOutboundUrl(url, allow);
    if (expected === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(expected);
  });

  it('refuses at call time a name that resolves to a blocked address', async () => {
    const resolve = async (host: string) =>
      host === 'evil.example.com' ? ['169.254.169.254'] : ['93.184.216.34'];
    expect(await checkOutboundUrlResolved('https://evil.example.com/x', [], resolve)).toMatch(/metadata/);
    expect(await checkOutboundUrlResolved('https://good.example.com/x', [], resolve)).toBeUndefined();
    expect(
      await checkOutboundUrlResolved('https://nx.example.com/', [], async () => {
        throw new Error('ENOTFOUND');
      }),
    ).toMatch(/cannot be resolved/);
  });
});

describe('cronError', () => {
  it('accepts 5-field UTC crons and refuses others with a reason', () => {
    expect(cronError('0 3 * * 6')).toBeUndefined();
    expect(cronError('*/15 2-4 * * 1-5')).toBeUndefined();
    expect(cronError('0 3 * * 6 2030')).toMatch(/exactly 5 fields/);
    expect(cronError('0 0 * *')).toMatch(/exactly 5 fields/);
    expect(cronError('61 * * * *')).toMatch(/invalid cron expression/);
    expect(cronError('0 0 31 2 *')).toMatch(/invalid cron expression/);
    expect(cronError('H 3 * * *')).toMatch(/not supported/);
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 0;
    const rl = new RateLimiter(2, 3, () => now);
    expect([rl.take('a').ok, rl.take('a').ok, rl.take('a').ok, rl.take('a').ok]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(rl.take('b').ok).toBe(true);
    now += 500;
    expect(rl.take('a').ok).toBe(true);
    const r = rl.take('a');
    expect(r).toEqual({ ok: false, retryAfterSec: 1 });
  });
});

describe('grants', () => {
  const rules = [
    { resources: ['machine' as const], actions: ['get' as const], resource_ids: ['m1'] },
    { resources: ['machine' as const, 'plan' as const], actions: ['list' as const] },
    { resources: ['machine' as const], actions: ['get' as const], resource_ids: ['m2'] },
  ];
  it('is the union of the rules', () => {
    expect(isAllowed(rules, 'machine', 'get', 'm1')).toBe(true);
    expect(isAllowed(rules, 'machine', 'get', 'm2')).toBe(true);
    expect(isAllowed(rules, 'machine', 'get', 'm3')).toBe(false);
    expect(isAllowed(rules, 'plan', 'list')).toBe(true);
    expect(isAllowed(rules, 'plan', 'get', 'p')).toBe(false);
    expect(grantFor(rules, 'machine', 'get')).toEqual({ kind: 'ids', ids: new Set(['m1', 'm2']) });
    expect(grantFor(rules, 'event', 'get')).toEqual({ kind: 'none' });
  });
});

describe('mergePatch', () => {
  it('merges objects, replaces arrays, removes nulls and keeps only input fields', () => {
    const stored = {
      id: 'x',
      name: 'a',
      description: 'd',
      access: { region: 'r', ssm_machine_id: 's' },
      metadata: [1],
    };
    const out = mergePatch(stored, { description: null, access: { region: 'r2' }, metadata: [2] }, [
      'name',
      'description',
      'access',
      'metadata',
    ]);
    expect(out).toEqual({ name: 'a', access: { region: 'r2', ssm_machine_id: 's' }, metadata: [2] });
  });
});

describe('redactForAudit', () => {
  it('cuts hook codes, webhook URLs and secrets', () => {
    const out = JSON.stringify(
      redactForAudit({
        pre_hooks: [{ type: 'azure', source: 'https://fn.example.com/api/h?code=TOPSECRET' }],
        channels: [{ type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/TOKEN' }],
        secret: 'pw_x',
        secret_hash: 'abc',
      }),
    );
    expect(out).not.toMatch(/TOPSECRET|TOKEN|pw_x|abc/);
    expect(out).toContain('https://fn.example.com/api/h?…');
  });
});

describe('API key format', () => {
  it('carries its key id so lookup is by id', () => {
    const s = newKeySecret('key_abc123');
    expect(s).toMatch(/^pw_key_abc123\.[A-Za-z0-9_-]{43}$/);
    expect(keyIdOf(s)).toBe('key_abc123');
    expect(keyIdOf('something-else')).toBeUndefined();
  });
});
