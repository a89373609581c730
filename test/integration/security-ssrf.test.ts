/**
 * SSRF guard (issue 8 §4): hook and webhook URLs must be https (plain http only to allow-listed hosts) and may
 * never reach loopback, link-local or cloud metadata addresses, whether written as an IP literal or as a name
 * that resolves to one. Refused when saved (409 egress_refused naming the field, nothing written: the request is
 * valid, this server's egress policy refuses the URL) and again when called
 * (a URL stored before the rules or the allow-list changed): the hook fails with code 500 and a clear message,
 * the webhook delivery fails, and nothing is contacted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { lookup } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { checkOutboundUrl } from '../../common/url-guard';
import { COLLECTIONS } from '../../store/db';
import { startApi, machineBody, planBody, TEST_SECRET_REF, type ApiHarness } from './api-harness';
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { answer, fleet, machineOf } from '../helpers/e2e-fleet';

jest.setTimeout(240_000);

/** A host name (not "localhost", which the pure check already refuses) that resolves to loopback here. */
async function loopbackName(): Promise<string> {
  for (const name of [
    os.hostname(),
    'vm',
    'runsc',
    'ip6-localhost',
    'ip6-loopback',
    'localhost.localdomain',
  ]) {
    try {
      const addrs = await lookup(name, { all: true });
      if (addrs.length > 0 && addrs.every((a) => a.address.startsWith('127.') || a.address === '::1'))
        return name;
    } catch {
      /* not this one */
    }
  }
  throw new Error(
    'no host name resolves to a loopback address here (e.g. add "127.0.0.1 <hostname>" to /etc/hosts)',
  );
}

describe('at save time', () => {
  let h: ApiHarness;
  let dnsName: string;
  beforeAll(async () => {
    dnsName = await loopbackName();
    // 127.0.0.1 is deliberately not allow-listed here.
    h = await startApi('ssrf_save', { env: { PATCHWAVE_HTTP_ALLOWLIST: 'lab.local' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const refused = () => [
    ['plain http to a host not allow-listed', 'http://fn.example.com/api/hook?code=c'],
    ['AWS metadata (IPv4)', 'https://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['AWS metadata (IPv6)', 'https://[fd00:ec2::254]/latest/meta-data/'],
    ['loopback not allow-listed', 'https://127.0.0.1/api/hook?code=c'],
    ['loopback as a decimal number', 'https://2130706433/api/hook'],
    ['loopback as IPv4-mapped IPv6', 'https://[::ffff:127.0.0.1]/api/hook'],
    ['link-local', 'https://169.254.10.1/api/hook'],
    ['a DNS name resolving to loopback', `https://${dnsName}/api/hook?code=c`],
  ];

  async function count(collection: string): Promise<number> {
    return h.db.collection(collection).countDocuments({});
  }

  test('the DNS case really needs DNS: the pure check alone lets it through', () => {
    expect(checkOutboundUrl(`https://${dnsName}/api/hook`, ['lab.local'])).toBeUndefined();
  });

  test('Azure hook URLs (global and host hooks, create and patch) are refused with 409 naming the field', async () => {
    const machine = (await h.request('POST', '/api/v1/machines', { body: machineBody(777_001) })).body
      .id as string;
    const plan = (await h.request('POST', '/api/v1/plans', { body: planBody([machine]) })).body.id as string;
    const plansBefore = await count(COLLECTIONS.plans);
    const planDoc = JSON.stringify(await h.db.collection(COLLECTIONS.plans).findOne({ _id: plan as never }));
    for (const [what, url] of refused()) {
      const hook = { type: 'azure', source: url };
      const attempts: [string, string, unknown, string][] = [
        ['POST', '/api/v1/plans', planBody([machine], { pre_hooks: [hook] }), 'pre_hooks.0.source'],
        [
          'POST',
          '/api/v1/plans',
          planBody([machine], {
            post_hooks: [
              { type: 'lambda', source: 'arn:aws:lambda:us-east-1:123456789012:function:f' },
              hook,
            ],
          }),
          'post_hooks.1.source',
        ],
        [
          'POST',
          '/api/v1/plans',
          { ...planBody([]), machines: [{ machine_id: machine, pre_host_hooks: [hook] }] },
          'machines.0.pre_host_hooks.0.source',
        ],
        ['PATCH', `/api/v1/plans/${plan}`, { post_hooks: [hook] }, 'post_hooks.0.source'],
        ['PUT', `/api/v1/plans/${plan}`, planBody([machine], { pre_hooks: [hook] }), 'pre_hooks.0.source'],
      ];
      for (const [method, path, body, field] of attempts) {
        const r = await h.request(method, path, { body });
        const where = `${what}: ${method} ${path} ${field}`;
        expect([where, r.status, r.body.error.code]).toEqual([where, 409, 'egress_refused']);
        const detail = (r.body.error.details as { path: string; message: string }[]).find(
          (d) => d.path === field,
        );
        expect([where, detail?.message]).toEqual([
          where,
          expect.stringMatching(/https|loopback|link-local|metadata/),
        ]);
      }
    }
    expect(await count(COLLECTIONS.plans)).toBe(plansBefore);
    expect(JSON.stringify(await h.db.collection(COLLECTIONS.plans).findOne({ _id: plan as never }))).toBe(
      planDoc,
    );
    expect(h.orchestrator.callsOf('planChanged').length).toBe(1); // only the valid create above

    // The same shapes with an acceptable URL are saved: the refusals above are about the URL only.
    const fine = await h.request('POST', '/api/v1/plans', {
      body: planBody([machine], {
        pre_hooks: [{ type: 'azure', source: 'https://fn.example.com/api/hook?code=c' }],
      }),
    });
    expect(fine.status).toBe(201);
    const allowListed = await h.request('POST', '/api/v1/plans', {
      body: planBody([machine], {
        pre_hooks: [{ type: 'azure', source: 'http://lab.local/api/hook?code=c' }],
      }),
    });
    expect(allowListed.status).toBe(201);
  });

  test('webhook, Slack and Teams URLs are refused with 409 naming the field', async () => {
    const groupsBefore = await count(COLLECTIONS.notificationGroups);
    const group = (
      await h.request('POST', '/api/v1/notification-groups', {
        body: { name: 'ok', channels: [{ type: 'email', to: ['ops@example.com'] }] },
      })
    ).body.id as string;
    for (const [what, url] of refused()) {
      for (const type of ['webhook', 'slack', 'teams']) {
        for (const [method, path] of [
          ['POST', '/api/v1/notification-groups'],
          ['PATCH', `/api/v1/notification-groups/${group}`],
        ]) {
          // A webhook gets a signing secret that resolves, so the URL is the only refusal.
          const channel = type === 'webhook' ? { type, url, secret_ref: TEST_SECRET_REF } : { type, url };
          const body =
            method === 'POST'
              ? { name: 'g', channels: [channel] }
              : {
                  channels: [{ type: 'email', to: ['a@example.com'] }, channel],
                };
          const r = await h.request(method, path, { body });
          const field = method === 'POST' ? 'channels.0.url' : 'channels.1.url';
          const where = `${what}: ${type} ${method}`;
          expect([where, r.status, r.body.error.code]).toEqual([where, 409, 'egress_refused']);
          expect([where, (r.body.error.details as { path: string }[]).some((d) => d.path === field)]).toEqual(
            [where, true],
          );
        }
      }
    }
    expect(await count(COLLECTIONS.notificationGroups)).toBe(groupsBefore + 1);
  });
});

describe('at call time', () => {
  let stack: Stack;
  let f: ReturnType<typeof fleet>;
  let dnsName: string;
  beforeAll(async () => {
    dnsName = await loopbackName();
    // The lab is reachable as "localhost" only; 127.0.0.1 and every other loopback name are not allow-listed.
    stack = await startStack('ssrf_call', {
      env: {
        PATCHWAVE_HTTP_ALLOWLIST: 'localhost',
        PATCHWAVE_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
      },
    });
    f = fleet(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('hooks and webhooks stored with forbidden URLs are refused when called; nothing is contacted', async () => {
    const port = stack.lab.port;
    const code = `k${randomBytes(6).toString('hex')}`;
    const target = `az-${randomBytes(4).toString('hex')}`;
    const control = `az-${randomBytes(4).toString('hex')}`;
    for (const name of [target, control])
      await stack.lab_('PUT', `/_lab/azure/${name}`, { code, responses: [answer(200, 'reached', '')] });
    const m = await f.machine();

    const forbidden = [
      `http://127.0.0.1:${port}/_lab/azure/${target}?code=${code}`,
      `https://127.0.0.1:${port}/_lab/azure/${target}?code=${code}`,
      `https://${dnsName}:${port}/_lab/azure/${target}?code=${code}`,
      'https://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'https://[fd00:ec2::254]/latest/meta-data/',
    ];
    const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
      name: 'ssrf',
      min_severity: 'DEBUG',
      channels: [
        { type: 'webhook', url: 'https://hooks.example.com/a' },
        { type: 'webhook', url: 'https://hooks.example.com/b' },
      ],
    });
    expect(group.status).toBe(201);
    const planId = await f.plan({
      window_hours: 0.5,
      notification_groups: [group.body.id],
      pre_hooks: forbidden.map(() => ({ type: 'azure', source: 'https://fn.example.com/api/hook?code=c' })),
      machines: [{ machine_id: m.id }],
    });
    // Stored before the rules (or the allow-list) changed: the API would refuse these today.
    const preHooks = [
      ...forbidden.map((source) => ({ type: 'azure', source, method: 'POST' })),
      {
        type: 'azure',
        source: `http://localhost:${port}/_lab/azure/${control}?code=${code}`,
        method: 'POST',
      },
    ];
    await stack.db.db
      .collection(COLLECTIONS.plans)
      .updateOne({ _id: planId as never }, { $set: { pre_hooks: preHooks } });
    await stack.db.db.collection(COLLECTIONS.notificationGroups).updateOne(
      { _id: group.body.id as never },
      {
        $set: {
          channels: [
            { type: 'webhook', url: `https://${dnsName}:${port}/_lab/azure/${target}?code=${code}` },
            { type: 'webhook', url: 'https://169.254.169.254/latest/meta-data/' },
          ],
        },
      },
    );

    const ev = await f.finished(await f.execute(planId));
    expect(ev.hooks.map((x) => x.name)).toEqual(preHooks.map((_, i) => `pre_${i}`));
    for (const run of ev.hooks.slice(0, forbidden.length)) {
      expect([run.name, run.code]).toEqual([run.name, 500]);
      expect([run.name, run.message]).toEqual([
        run.name,
        expect.stringMatching(/hook URL refused: .*(https|loopback|link-local|metadata)/),
      ]);
    }
    // The allow-listed control hook went through: the guard refuses only what it must.
    expect(ev.hooks[forbidden.length].code).toBe(200);
    expect(await f.azureCalls(control)).toHaveLength(1);
    expect(await f.azureCalls(target)).toHaveLength(0);
    expect(machineOf(ev, m.id).status).toBe('OMITTED');
    expect(ev.status).toBe('DONE_ERROR');

    // Notifications are sent after the status is stored: wait until every delivery has reached a final state
    // ('sending' is a claim in flight, not an outcome).
    const deliveries = await waitFor('deliveries settled', async () => {
      const ds = await stack.db.db
        .collection<{ channel_index: number; status: string; last_error?: string }>(COLLECTIONS.notifications)
        .find({ group_id: group.body.id })
        .toArray();
      return ds.length >= 2 && ds.every((d) => d.status === 'sent' || d.status === 'failed') ? ds : undefined;
    });
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    for (const d of deliveries) {
      expect(d.status).toBe('failed');
      expect(d.last_error).toMatch(/channel URL refused/);
    }
    expect(new Set(deliveries.map((d) => d.channel_index))).toEqual(new Set([0, 1]));
  });

  test('a hook that answers with a redirect is not followed past the guard', async () => {
    // "Metadata" on a loopback address that is not allow-listed, and a hook host that redirects to it.
    const hits: string[] = [];
    const metadata = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('{"code":200,"msg":"AKIA-SECRET-CREDENTIALS","output":"AKIA-SECRET-CREDENTIALS"}');
    });
    await new Promise<void>((r) => metadata.listen(0, '127.0.0.1', () => r()));
    const target = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}/latest/meta-data/iam/security-credentials/`;
    const redirector = http.createServer((req, res) => {
      req.resume();
      res.writeHead(req.url?.includes('307') ? 307 : 302, { location: target }).end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
    const base = `http://localhost:${(redirector.address() as AddressInfo).port}`;
    try {
      const m = await f.machine();
      const planId = await f.plan({
        window_hours: 0.5,
        pre_hooks: [
          { type: 'azure', source: `${base}/api/hook302?code=c`, method: 'POST' },
          { type: 'azure', source: `${base}/api/hook307?code=c`, method: 'POST' },
          { type: 'azure', source: `${base}/api/hook302?code=c`, method: 'GET' },
        ],
        machines: [{ machine_id: m.id }],
      });
      const ev = await f.finished(await f.execute(planId));
      expect(ev.hooks).toHaveLength(3);
      for (const run of ev.hooks) {
        expect([run.name, run.code]).toEqual([run.name, 500]);
        expect(JSON.stringify(run)).not.toContain('AKIA-SECRET-CREDENTIALS');
      }
      expect(hits).toEqual([]);
    } finally {
      await new Promise<void>((r) => metadata.close(() => r()));
      await new Promise<void>((r) => redirector.close(() => r()));
    }
  });
});
