import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { EventMachineRecord, EventRecord } from '../../domain/event';
import type { HookRun } from '../../domain/hooks';

/**
 * A mixed-result event used by the notification and report tests: one machine of each interesting outcome,
 * a passing pre hook, a failing post hook and a failing host hook.
 */
export const CUSTOMER = { id: 'cus_acme', name: 'Acme Corp' };
export const EVENT_ID = 'pln_webfleet-20250304T060000Z';
export const AZURE_SECRET_CODE = 'c0de-SECRET-9f8e7d';

const T = (hhmm: string) => `2025-03-04T${hhmm}:00.000Z`;

function hook(p: Partial<HookRun> & Pick<HookRun, 'name' | 'type' | 'source' | 'code' | 'message'>): HookRun {
  return { output: '', started_at: T('06:00'), finished_at: T('06:01'), run_no: 0, ...p };
}

export const mixedEvent: EventRecord = {
  id: EVENT_ID,
  customer_id: CUSTOMER.id,
  plan_id: 'pln_webfleet',
  plan_name: 'Web fleet monthly',
  pipeline_id: 'ppl_prod',
  pipeline_run_id: 'ppl_prod-20250304T000000Z',
  step: 1,
  start: T('06:00'),
  end: T('07:00'),
  status: 'DONE_PARTIAL',
  workflow_id: `event/${EVENT_ID}`,
  hooks: [
    hook({
      name: 'pre_0',
      type: 'lambda',
      source: 'arn:aws:lambda:eu-west-1:123456789012:function:snapshot-volumes',
      code: 200,
      message: 'EBS snapshots taken for 8 volumes',
      started_at: T('06:00'),
      finished_at: T('06:01'),
    }),
    hook({
      name: 'post_0',
      type: 'azure',
      source: `https://acme-hooks.azurewebsites.net/api/health-check?code=${AZURE_SECRET_CODE}`,
      method: 'POST',
      code: 500,
      message: 'health check failed: 2 of 5 endpoints down',
      started_at: T('06:58'),
      finished_at: T('06:59'),
    }),
  ],
  failure_reasons: [
    'post hook post_0 failed with code 500: health check failed: 2 of 5 endpoints down',
    'machine db-1 FAILED',
    'machine db-2 NOT_AVAILABLE',
    'machine app-2 TIMED_OUT',
    'machine app-3 OMITTED',
    'machine cache-1 NOT_IN_TIME_WINDOW',
  ],
  started_at: T('06:00'),
  finished_at: T('06:59'),
  run_no: 0,
  created_at: '2025-03-01T06:00:00.000Z',
  updated_at: T('07:00'),
};

function machine(
  p: Partial<EventMachineRecord> &
    Pick<EventMachineRecord, 'machine_id' | 'name' | 'ssm_machine_id' | 'status' | 'order'>,
): EventMachineRecord {
  return { event_id: EVENT_ID, customer_id: CUSTOMER.id, hooks: [], run_no: 0, updated_at: T('07:00'), ...p };
}

export const mixedMachines: EventMachineRecord[] = [
  machine({
    machine_id: 'mch_web1',
    name: 'web-1',
    ssm_machine_id: 'i-0a1b2c3d4e5f60001',
    order: 0,
    status: 'SUCCESS',
    started_at: T('06:01'),
    ended_at: T('06:24'),
    command_id: '3f1c9a2e-0001-4c55-9d3e-aa00000000a1',
    rebooted: true,
    installed: [
      'openssl-3.0.7-27.el9.x86_64',
      'kernel-5.14.0-427.13.1.el9_4.x86_64',
      'curl-7.76.1-29.el9_4.x86_64',
    ],
    hooks: [
      hook({
        name: 'pre_host_0',
        type: 'script',
        source: 's3://acme-ops/hooks/drain-lb.sh',
        code: 200,
        message: 'removed from load balancer',
        machine_id: 'mch_web1',
        started_at: T('06:01'),
        finished_at: T('06:02'),
      }),
    ],
  }),
  machine({
    machine_id: 'mch_web2',
    name: 'web-2',
    ssm_machine_id: 'i-0a1b2c3d4e5f60002',
    order: 0,
    status: 'SUCCESS_NO_UPDATES',
    started_at: T('06:01'),
    ended_at: T('06:09'),
    rebooted: false,
    installed: [],
  }),
  machine({
    machine_id: 'mch_db1',
    name: 'db-1',
    ssm_machine_id: 'i-0a1b2c3d4e5f60003',
    order: 1,
    status: 'FAILED',
    reason: 'SSM command Failed: yum exited with code 1 (package conflict: postgresql15-libs)',
    started_at: T('06:25'),
    ended_at: T('06:31'),
    rebooted: false,
  }),
  machine({
    machine_id: 'mch_db2',
    name: 'db-2',
    ssm_machine_id: 'mi-0123456789abcdef0',
    order: 1,
    status: 'NOT_AVAILABLE',
    reason: 'SSM agent is not online (ping status ConnectionLost)',
  }),
  machine({
    machine_id: 'mch_app1',
    name: 'app-1',
    ssm_machine_id: 'i-0a1b2c3d4e5f60005',
    order: 2,
    status: 'SUCCESS_MANUAL',
    reason: 'command still running at the window end (TIMED_OUT)',
    action_taken: 'Finished yum update by hand after the window; services verified by J. Doe',
    started_at: T('06:31'),
    ended_at: T('07:00'),
    installed: ['glibc-2.34-100.el9.x86_64'],
    rebooted: true,
  }),
  machine({
    machine_id: 'mch_app2',
    name: 'app-2',
    ssm_machine_id: 'i-0a1b2c3d4e5f60006',
    order: 2,
    status: 'TIMED_OUT',
    reason: 'patch command still running at the window end (07:00 UTC)',
    started_at: T('06:31'),
    ended_at: T('07:00'),
  }),
  machine({
    machine_id: 'mch_app3',
    name: 'app-3',
    ssm_machine_id: 'i-0a1b2c3d4e5f60007',
    order: 2,
    status: 'OMITTED',
    reason: 'pre host hook pre_host_0 failed (code 500)',
    hooks: [
      hook({
        name: 'pre_host_0',
        type: 'script',
        source: 's3://acme-ops/hooks/stop-app.sh',
        code: 500,
        message: 'script exited with code 3: systemctl stop app failed',
        machine_id: 'mch_app3',
        started_at: T('06:31'),
        finished_at: T('06:32'),
      }),
    ],
  }),
  machine({
    machine_id: 'mch_cache1',
    name: 'cache-1',
    ssm_machine_id: 'i-0a1b2c3d4e5f60008',
    order: 3,
    status: 'NOT_IN_TIME_WINDOW',
    reason: 'the window ended before the machine could start (previous command still running)',
  }),
];

/**
 * Text of a PDF, per page, extracted with pdf-parse (pdfjs) — in a plain Node child process, because pdfjs
 * loads its worker with a dynamic import that jest's module sandbox refuses. Needs no poppler.
 */
const EXTRACT_PDF_TEXT = `
const { PDFParse } = require('pdf-parse');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  const parser = new PDFParse({ data: new Uint8Array(Buffer.concat(chunks)) });
  const r = await parser.getText();
  await parser.destroy();
  process.stdout.write(JSON.stringify(r.pages.map((p) => p.text)));
});`;

export async function pdfPages(pdf: Buffer): Promise<string[]> {
  const out = execFileSync(process.execPath, ['-e', EXTRACT_PDF_TEXT], {
    input: pdf,
    cwd: path.resolve(__dirname, '../..'),
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.toString('utf8')) as string[];
}
