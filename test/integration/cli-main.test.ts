/**
 * The `patchwave` CLI, built (cli/tsconfig.json → dist/cli/main.js) and run as a child process against
 * a running API. Route-level: the API uses the RECORDING FAKE orchestrator (see api-harness.ts), and the
 * test moves events forward by writing their records as the orchestrator's activities would.
 */
import { spawn, execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { COLLECTIONS } from '../../store/db';
import { machineBody, planBody, seedEvent, startApi, type ApiHarness } from './api-harness';

// Each case spawns the CLI (a Node process) several times: seconds each on a loaded machine.
jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'dist/cli/main.js');
let h: ApiHarness;
let dir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `until` lets the test act while it runs (e.g. finish an event it is waiting on). */
function cli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; until?: (p: RunningCli) => Promise<void> } = {},
): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PATCHWAVE_API_URL: h.url,
    PATCHWAVE_API_KEY: h.adminKey,
    PATCHWAVE_CONFIG: join(dir, 'config.json'),
    ...opts.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd: dir });
  const running = new RunningCli();
  child.stdout.on('data', (d) => running.add('stdout', String(d)));
  child.stderr.on('data', (d) => running.add('stderr', String(d)));
  const done = new Promise<Run>((res) =>
    child.on('close', (code) => {
      running.closed();
      res({ code, stdout: running.stdout, stderr: running.stderr });
    }),
  );
  return (async () => {
    if (opts.until) await opts.until(running);
    return done;
  })();
}

class RunningCli extends EventEmitter {
  stdout = '';
  stderr = '';
  private ended = false;
  add(stream: 'stdout' | 'stderr', text: string) {
    this[stream] += text;
    this.emit('change');
  }
  closed() {
    this.ended = true;
    this.emit('change');
  }
  /** Resolves once stderr contains `text` (the CLI prints progress there); fails if the CLI exits first. */
  stderrContains(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.stderr.includes(text)) {
          this.off('change', check);
          resolve();
        } else if (this.ended) {
          this.off('change', check);
          reject(new Error(`CLI exited without printing "${text}"; stderr:\n${this.stderr}`));
        }
      };
      this.on('change', check);
      check();
    });
  }
}

beforeAll(async () => {
  // Build the CLI exactly as shipped (same compiler options as `npm run build`).
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'cli/tsconfig.json')],
    {
      cwd: ROOT,
    },
  );
  dir = mkdtempSync(join(tmpdir(), 'pw-cli-'));
  h = await startApi('cli', {
    reports: {
      eventReport: async (_c, id) => ({
        contentType: 'application/pdf',
        body: Buffer.from(`%PDF-1.4 report of ${id}`),
      }),
      machineLog: async (_c, _e, m) => ({ contentType: 'text/plain', body: `log line of ${m}\n` }),
    },
  });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('resources', () => {
  it('creates, lists, shows, patches and deletes a machine', async () => {
    writeFileSync(join(dir, 'm.json'), JSON.stringify(machineBody(1)));
    const created = await cli(['--output', 'json', 'machine', 'create', '--file', 'm.json']);
    expect(created.code).toBe(0);
    const id = JSON.parse(created.stdout).id;

    const list = await cli(['machine', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+PROVIDER\s+SSM ID\s+REGION/);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('mi-00000000000000001');

    const patched = await cli([
      '--output',
      'json',
      'machine',
      'patch',
      id,
      '--set',
      'reboot_policy=NEVER',
      '--set',
      'access.region=us-east-2',
    ]);
    expect(patched.code).toBe(0);
    expect(JSON.parse(patched.stdout)).toMatchObject({
      reboot_policy: 'NEVER',
      access: { region: 'us-east-2' },
    });

    const shown = await cli(['machine', 'get', id]);
    expect(shown.stdout).toMatch(/reboot_policy\s+NEVER/);

    const deleted = await cli(['machine', 'delete', id]);
    expect([deleted.code, deleted.stdout.trim()]).toEqual([0, `deleted machine ${id}`]);
  });

  it('prints the API error with every field detail and exits 1', async () => {
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ name: '', access: { ssm_machine_id: 'x', region: 'mars' }, colour: 1 }),
    );
    const r = await cli(['machine', 'create', '-f', 'bad.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error 400 (validation_error)');
    expect(r.stderr).toMatch(/- body\.name: /);
    expect(r.stderr).toMatch(/- body\.access\.ssm_machine_id: must be an SSM managed instance ID/);
    expect(r.stderr).toMatch(/- body\.access\.region: /);
    expect(r.stderr).toMatch(/- body\.colour: is not a known field/);
    const missing = await cli(['plan', 'get', 'pln_nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error 404 (not_found): plan pln_nope not found');
  });

  it('takes -o as the short form of --output, before or after the command', async () => {
    for (const args of [
      ['-o', 'json', 'machine', 'list'],
      ['machine', 'list', '-o', 'json'],
      ['machine', 'list', '-ojson'],
    ]) {
      const r = await cli(args);
      expect([args, r.code]).toEqual([args, 0]);
      expect(JSON.parse(r.stdout)).toMatchObject({ items: expect.any(Array) });
    }
    expect((await cli(['-o', 'yaml', 'machine', 'list'])).code).toBe(2);
  });

  it('exits 2 on usage errors and 1 on a refused key', async () => {
    expect((await cli(['machine', 'frobnicate'])).code).toBe(2);
    expect((await cli(['--output', 'yaml', 'machine', 'list'])).code).toBe(2);
    const noFile = await cli(['machine', 'create']);
    expect([noFile.code, noFile.stderr]).toEqual([2, expect.stringContaining('--file')]);
    const noKey = await cli(['machine', 'list'], { env: { PATCHWAVE_API_KEY: undefined } });
    expect([noKey.code, noKey.stderr]).toEqual([2, expect.stringContaining('no API key')]);
    const wrongKey = await cli(['machine', 'list'], {
      env: { PATCHWAVE_API_KEY: 'pw_key_wrong.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect([wrongKey.code, wrongKey.stderr]).toEqual([
      1,
      expect.stringContaining('Error 401 (unauthorized)'),
    ]);
    const down = await cli(['machine', 'list'], { env: { PATCHWAVE_API_URL: 'http://127.0.0.1:1' } });
    expect([down.code, down.stderr]).toEqual([1, expect.stringContaining('cannot reach')]);
    expect((await cli(['--help'])).code).toBe(0);
  });

  it('reads the URL and key from a saved profile', async () => {
    const saved = await cli([
      'profile',
      'save',
      '--name',
      'lab',
      '--api-url',
      h.url,
      '--api-key',
      h.adminKey,
    ]);
    expect(saved.code).toBe(0);
    expect(statSync(join(dir, 'config.json')).mode & 0o777).toBe(0o600);
    const r = await cli(['--profile', 'lab', '--output', 'json', 'customer', 'list'], {
      env: { PATCHWAVE_API_KEY: undefined, PATCHWAVE_API_URL: 'http://127.0.0.1:1' },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).items.map((c: { id: string }) => c.id)).toContain('default');
    const listed = await cli(['profile', 'list']);
    expect(listed.stdout).toContain('lab');
    expect(listed.stdout).not.toContain(h.adminKey);
    expect((await cli(['--profile', 'nope', 'machine', 'list'])).code).toBe(2);
  });

  it('creates an API key, printing its secret once, and binds roles', async () => {
    const r = await cli([
      '--output',
      'json',
      'api-key',
      'create',
      '--name',
      'ci',
      '--role',
      'role_admin_default',
    ]);
    expect(r.code).toBe(0);
    const key = JSON.parse(r.stdout);
    expect(key.secret).toMatch(/^pw_/);
    const use = await cli(['machine', 'list'], { env: { PATCHWAVE_API_KEY: key.secret } });
    expect(use.code).toBe(0);
    const bindings = await cli(['role-binding', 'list', '--api-key', key.id]);
    expect(bindings.stdout).toContain('role_admin_default');
  });
});

describe('events', () => {
  let machineId: string;
  let planId: string;
  beforeAll(async () => {
    machineId = (await h.request('POST', '/api/v1/machines', { body: machineBody(50) })).body.id;
    planId = (await h.request('POST', '/api/v1/plans', { body: planBody([machineId]) })).body.id;
  });

  const finish = async (
    eventId: string,
    status: string,
    machineStatus: string,
    extra: Record<string, unknown> = {},
  ) => {
    await h.db.collection(COLLECTIONS.eventMachines).updateOne(
      { _id: `${eventId}/${machineId}` as never },
      {
        $set: {
          event_id: eventId,
          customer_id: 'default',
          machine_id: machineId,
          name: 'web-50',
          ssm_machine_id: 'mi-00000000000000032',
          order: 0,
          status: machineStatus,
          hooks: [],
          run_no: 0,
          updated_at: new Date().toISOString(),
        },
      },
      { upsert: true },
    );
    await h.db
      .collection(COLLECTIONS.events)
      .updateOne({ _id: eventId as never }, { $set: { status, ...extra } });
  };

  it('plan execute --wait prints live progress and exits 0 when the event ends DONE', async () => {
    const r = await cli(['plan', 'execute', planId, '--wait', '--interval', '0.05'], {
      until: async (p) => {
        await p.stderrContains(': IN_PROGRESS');
        const id = /event (\S+) started/.exec(p.stderr)![1];
        await finish(id, 'IN_PROGRESS', 'IN_PROGRESS');
        await p.stderrContains('web-50');
        await finish(id, 'DONE', 'SUCCESS');
      },
    });
    expect(r.code).toBe(0);
    // Before the run records its machines, the progress line says so (never "machines 0/0 finished").
    expect(r.stderr).toMatch(/IN_PROGRESS — no machine started yet/);
    expect(r.stderr).not.toMatch(/0\/0/);
    expect(r.stderr).toMatch(/web-50 \(mch_\w+\): IN_PROGRESS/);
    expect(r.stderr).toMatch(/DONE — machines 1\/1 finished \(SUCCESS 1\)/);
    expect(r.stdout).toMatch(/status\s+DONE/);
    expect(r.stdout).toContain('MACHINES');
  });

  it('--wait exits 3 when the event ends in error', async () => {
    const plan2 = (await h.request('POST', '/api/v1/plans', { body: planBody([machineId], { name: 'p2' }) }))
      .body.id;
    const r = await cli(['--output', 'json', 'event', 'execute', plan2, '--wait', '--interval', '0.05'], {
      until: async (p) => {
        await p.stderrContains('started');
        const id = /event (\S+) started/.exec(p.stderr)![1];
        await finish(id, 'DONE_ERROR', 'FAILED');
      },
    });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).status).toBe('DONE_ERROR');
    expect(r.stderr).toMatch(/finished: \S+ DONE_ERROR/);
  });

  it('event change_status --file takes the seed form, statuses in any case', async () => {
    const ev = await seedEvent(h.db, {
      customerId: 'default',
      planId,
      start: '2031-03-01T00:00:00Z',
      status: 'DONE_PARTIAL',
      machines: [{ machine_id: machineId, status: 'FAILED' }],
    });
    writeFileSync(
      join(dir, 'change.json'),
      JSON.stringify({
        event_id: ev,
        machine_id: machineId,
        manual_status: 'Success_manual',
        action_taken: 'rebooted by hand',
      }),
    );
    const r = await cli(['event', 'change_status', '--file', 'change.json']);
    expect(r.code).toBe(0);
    expect(h.orchestrator.callsOf('setManualStatus').at(-1)!.args.slice(0, 4)).toEqual([
      ev,
      machineId,
      'SUCCESS_MANUAL',
      'rebooted by hand',
    ]);
    writeFileSync(
      join(dir, 'change2.json'),
      JSON.stringify({ event_id: ev, machine_id: machineId, manual_status: 'Failed_manual' }),
    );
    const refused = await cli(['event', 'change_status', '--file', 'change2.json']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/- body\.action_taken: is required for SUCCESS_MANUAL and FAILED_MANUAL/);
  });

  it('event partial --wait waits for the rerun, not the old result', async () => {
    const ev = await seedEvent(h.db, {
      customerId: 'default',
      planId,
      start: '2031-03-02T00:00:00Z',
      status: 'DONE_PARTIAL',
      machines: [{ machine_id: machineId, status: 'FAILED' }],
    });
    const r = await cli(
      [
        'event',
        'partial',
        ev,
        '--machines',
        machineId,
        '--no-pre-hooks',
        '--no-host-hooks',
        '--wait',
        '--interval',
        '0.05',
      ],
      {
        until: async (p) => {
          await p.stderrContains('DONE_PARTIAL');
          await finish(ev, 'DONE', 'SUCCESS', { run_no: 1 });
        },
      },
    );
    expect(r.code).toBe(0);
    expect(h.orchestrator.callsOf('partialRun').at(-1)!.args[1]).toEqual({
      machine_ids: [machineId],
      pre_hooks: false,
      post_hooks: true,
      host_hooks: { [machineId]: { pre: false, post: false } },
    });
    expect(r.stderr).toMatch(/DONE — machines 1\/1 finished/);
  });

  it('lists events with filters, downloads a report and prints a log', async () => {
    const list = await cli(['event', 'list', '--status', 'DONE_PARTIAL,DONE', '--plan', planId]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+PLAN\s+START\s+END\s+STATUS/);
    const ev = await seedEvent(h.db, {
      customerId: 'default',
      planId,
      start: '2031-03-03T00:00:00Z',
      status: 'DONE',
    });
    const rep = await cli(['event', 'report', ev, '--out-file', 'r.pdf']);
    expect(rep.code).toBe(0);
    expect(readFileSync(join(dir, 'r.pdf'), 'utf8')).toBe(`%PDF-1.4 report of ${ev}`);
    const log = await cli(['event', 'log', ev, machineId]);
    expect([log.code, log.stdout.trim()]).toEqual([0, `log line of ${machineId}`]);
    const approve = await cli(['event', 'approve', 'nope-20310101T000000Z']);
    expect(approve.code).toBe(1);
    const audit = await cli([
      '--output',
      'json',
      'audit',
      'list',
      '--resource',
      'event',
      '--action',
      'manual_status',
    ]);
    expect(JSON.parse(audit.stdout).items.length).toBeGreaterThan(0);
  });
});
