/** The /_lab control API, fleet files (including the shipped demo fleet), stats and reset. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeInstanceInformationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { Lab } from '../../../lab/server';
import { decodeAwsChunked } from '../../../lab/http';
import { LabFleet, MACHINE_ID } from '../../../lab/schemas';
import { clientsFor, control, M, startLab } from './helpers';

const demoPath = path.resolve(__dirname, '../../../lab/fleets/demo.json');
const demo = JSON.parse(readFileSync(demoPath, 'utf8'));

describe('control API', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ speed: 100, fleet: { machines: { [M.linux1]: { tags: { Env: 'seed' } } } } });
  });
  afterAll(async () => {
    await lab.close();
  });
  beforeEach(async () => {
    await control(lab, 'POST', '/_lab/reset', { reload_fleet: true });
  });

  it('health', async () => {
    const res = await control(lab, 'GET', '/_lab/health');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ok: true, speed: 100, machines: 1 });
  });

  it('PUT then GET a machine, with defaults filled in', async () => {
    const put = await control(lab, 'PUT', `/_lab/machines/${M.win1}`, {
      platform: 'Windows',
      tags: { Env: 'prod' },
    });
    expect(put.status).toBe(200);
    const got = await control(lab, 'GET', `/_lab/machines/${M.win1}`);
    expect(got.json).toMatchObject({
      id: M.win1,
      platform: 'Windows',
      online: true,
      tags: { Env: 'prod' },
      ping_status: 'Online',
      commands: [{ duration_s: 5, outcome: 'success', installed: ['openssl-3.0.13', 'curl-8.5.0'] }],
      commands_received: 0,
    });
    expect((await control(lab, 'GET', `/_lab/machines/${M.linux2}`)).status).toBe(404);
    expect((await control(lab, 'GET', `/_lab/machines/${M.linux2}/commands`)).status).toBe(404);
    expect((await control(lab, 'DELETE', `/_lab/machines/${M.win1}`)).status).toBe(204);
    expect((await control(lab, 'GET', `/_lab/machines/${M.win1}`)).status).toBe(404);
  });

  it.each([
    ['a bad machine id', '/_lab/machines/server-1', {}, /SSM managed instance ID/],
    ['a bad platform', `/_lab/machines/${M.linux2}`, { platform: 'MacOS' }, /platform/],
    ['an unknown field', `/_lab/machines/${M.linux2}`, { onlin: false }, /onlin/],
    ['a bad outcome', `/_lab/machines/${M.linux2}`, { commands: [{ outcome: 'exploded' }] }, /outcome/],
    ['a negative duration', `/_lab/machines/${M.linux2}`, { commands: [{ duration_s: -1 }] }, /duration_s/],
    ['an empty command list', `/_lab/machines/${M.linux2}`, { commands: [] }, /commands/],
    ['a bad azure code', '/_lab/azure/f', { code: '', responses: [] }, /code/],
  ])('answers 400 with a clear message for %s', async (_what, url, body, message) => {
    const res = await control(lab, 'PUT', url, body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(message);
  });

  it('answers 400 for malformed JSON and 404 for unknown routes', async () => {
    const bad = await control(lab, 'PUT', `/_lab/machines/${M.linux2}`, '{not json');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/JSON/);
    expect((await control(lab, 'GET', '/_lab/nothing-here')).status).toBe(404);
  });

  it('POST /_lab/fleet loads machines and generates thousands for benchmarks', async () => {
    const res = await control(lab, 'POST', '/_lab/fleet', {
      machines: { [M.linux2]: { online: false } },
      generate: {
        count: 10_000,
        prefix: 'i-0f',
        behaviour: { tags: { Env: 'bench' }, commands: [{ duration_s: 600 }] },
      },
      lambdas: { l1: { responses: [] } },
      azure: { a1: { responses: [] } },
      s3: { 'bench-bucket/x.sh': 'echo x' },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ loaded: { machines: 10_001, lambdas: 1, azure: 1, s3: 1 }, machines: 10_002 });
    const ids = lab.state.orderedMachineIds();
    expect(ids.every((id) => MACHINE_ID.test(id))).toBe(true);
    expect(ids).toContain('i-0f00000000000270f');
    const bad = await control(lab, 'POST', '/_lab/fleet', { generate: { count: 10, prefix: 'x-' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/prefix/);
  });

  it('POST /_lab/reset forgets everything, or reloads the fleet it started with', async () => {
    await control(lab, 'PUT', `/_lab/machines/${M.linux2}`, {});
    await control(lab, 'PUT', '/_lab/lambdas/l', {});
    expect((await control(lab, 'POST', '/_lab/reset')).json.machines).toBe(0);
    expect((await control(lab, 'GET', '/_lab/lambdas/l')).status).toBe(404);
    expect((await control(lab, 'POST', '/_lab/reset', { reload_fleet: true })).json.machines).toBe(1);
    expect((await control(lab, 'GET', `/_lab/machines/${M.linux1}`)).json.tags).toEqual({ Env: 'seed' });
  });

  it('GET /_lab/stats counts AWS calls per operation and commands per machine', async () => {
    const { ssm, s3 } = clientsFor(lab);
    try {
      await control(lab, 'PUT', `/_lab/machines/${M.linux2}`, {});
      for (let i = 0; i < 3; i++) {
        await ssm.send(
          new SendCommandCommand({
            InstanceIds: [M.linux1],
            DocumentName: 'AWS-RunShellScript',
            Parameters: { commands: ['true'] },
          }),
        );
      }
      await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1, M.linux2],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      await ssm.send(new DescribeInstanceInformationCommand({}));
      await s3.send(new GetObjectCommand({ Bucket: 'nope', Key: 'x' })).catch(() => undefined);
      const stats = (await control(lab, 'GET', '/_lab/stats')).json;
      expect(stats.calls).toEqual({
        'ssm:SendCommand': 4,
        'ssm:DescribeInstanceInformation': 1,
        's3:GetObject': 1,
      });
      expect(stats.calls_by_service).toEqual({ ssm: 5, s3: 1 });
      expect(stats.total_calls).toBe(6);
      expect(stats.commands).toMatchObject({
        total: 4,
        per_machine: { [M.linux1]: 4, [M.linux2]: 1 },
        max_per_machine: 4,
      });
      expect(stats.machines).toBe(2);
    } finally {
      ssm.destroy();
      s3.destroy();
    }
  });

  it('lists machines with their ping status', async () => {
    await control(lab, 'PUT', `/_lab/machines/${M.offline}`, { online: false });
    const res = await control(lab, 'GET', '/_lab/machines');
    expect(res.json).toEqual([
      { id: M.linux1, platform: 'Linux', online: true, ping_status: 'Online', commands_received: 0 },
      {
        id: M.offline,
        platform: 'Linux',
        online: false,
        ping_status: 'ConnectionLost',
        commands_received: 0,
      },
    ]);
  });
});

describe('the demo fleet (lab/fleets/demo.json)', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ speed: 1000, fleet: demo });
  });
  afterAll(async () => {
    await lab.close();
  });

  it('is a valid fleet with the advertised mix', () => {
    const fleet = LabFleet.parse(demo);
    const machines = Object.entries(fleet.machines);
    expect(machines.length).toBeGreaterThanOrEqual(8);
    expect(machines.every(([id]) => MACHINE_ID.test(id))).toBe(true);
    const all = machines.map(([, m]) => m);
    expect(new Set(all.map((m) => m.platform))).toEqual(new Set(['Linux', 'Windows']));
    expect(new Set(all.map((m) => m.tags.Env))).toEqual(new Set(['dev', 'staging', 'prod']));
    expect(new Set(all.map((m) => m.tags.Role))).toEqual(new Set(['web', 'db']));
    expect(all.filter((m) => !m.online)).toHaveLength(1);
    const entries = all.flatMap((m) => m.commands);
    expect(entries.some((c) => c.outcome === 'failed')).toBe(true);
    expect(entries.some((c) => c.outcome === 'no_updates')).toBe(true);
    expect(entries.some((c) => (c.reboot_s ?? 0) > 0)).toBe(true);
  });

  it('serves its script, Lambda and Azure hooks', async () => {
    const { s3, lambda } = clientsFor(lab);
    try {
      const script = await s3.send(
        new GetObjectCommand({ Bucket: 'patchwave-scripts', Key: 'hooks/check.sh' }),
      );
      expect(await script.Body!.transformToString()).toMatch(/^#!\/bin\/sh/);
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:demo-hook',
          Payload: '{}',
        }),
      );
      expect(JSON.parse(new TextDecoder().decode(out.Payload))).toMatchObject({
        code: 200,
        msg: 'ok',
        output: expect.any(String),
      });
      const code = demo.azure['demo-hook'].code;
      const res = await fetch(`${lab.url}/_lab/azure/demo-hook?code=${code}`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ code: 200, msg: 'ok' });
    } finally {
      s3.destroy();
      lambda.destroy();
    }
  });
});

describe('decodeAwsChunked', () => {
  it('joins the chunks and drops signatures and trailers', () => {
    const body = Buffer.from(
      '5;chunk-signature=abc\r\nhello\r\n7\r\n, world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n',
    );
    expect(decodeAwsChunked(body).toString()).toBe('hello, world');
  });
});
