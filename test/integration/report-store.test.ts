import type { Db } from 'mongodb';
import { ApplicationFailure } from '@temporalio/common';
import { createReportActivities } from '../../activities/report';
import { createLogActivities } from '../../activities/logs';
import type { ReportsPort } from '../../store/reports-port';
import { COLLECTIONS } from '../../store/db';
import type { EventDoc, EventMachineDoc } from '../../store/event-records';
import {
  LogStore,
  MAX_LOG_STREAM_CHARS,
  getMachineLog,
  renderMachineLogText,
  type CommandLogInput,
} from '../../store/logs';
import { createReportsPort, getEventReport, ReportStore } from '../../store/reports';
import { openTestDb, type TestDb } from '../helpers/servers';
import { startApi, type ApiHarness } from './api-harness';
import { CUSTOMER, EVENT_ID, mixedEvent, mixedMachines, pdfPages } from '../unit/notifications-fixtures';

jest.setTimeout(60_000);

const squash = (s: string) => s.replace(/\s+/g, ' ');

/** Writes the mixed event as the orchestrator's activities store it. */
async function seedMixedEvent(db: Db, customerId = CUSTOMER.id, eventId = EVENT_ID) {
  const { id, ...rest } = mixedEvent;
  void id;
  await db
    .collection<EventDoc>(COLLECTIONS.events)
    .insertOne({ ...rest, _id: eventId, customer_id: customerId });
  await db.collection<EventMachineDoc>(COLLECTIONS.eventMachines).insertMany(
    mixedMachines.map((m) => ({
      ...m,
      _id: `${eventId}/${m.machine_id}`,
      event_id: eventId,
      customer_id: customerId,
    })),
  );
  await db
    .collection(COLLECTIONS.pipelines)
    .insertOne({ _id: 'ppl_prod' as never, customer_id: customerId, name: 'Production rollout' });
}

function patchLog(over: Partial<CommandLogInput> = {}): CommandLogInput {
  return {
    event_id: EVENT_ID,
    machine_id: 'mch_db1',
    run_no: 0,
    command_id: 'cmd-0001',
    document_name: 'AWS-RunPatchBaseline',
    stdout: 'Loaded plugins\nResolving dependencies\nError: package conflict: postgresql15-libs\n',
    stderr: 'yum exited with code 1\n',
    status: 'Failed',
    customer_id: CUSTOMER.id,
    started_at: '2025-03-04T06:25:00.000Z',
    ended_at: '2025-03-04T06:31:00.000Z',
    ...over,
  };
}

describe('report and log store (FerretDB)', () => {
  let store: TestDb;
  beforeAll(async () => {
    store = await openTestDb('report_store');
    await store.db
      .collection(COLLECTIONS.customers)
      .insertOne({ _id: CUSTOMER.id as never, name: CUSTOMER.name });
    await seedMixedEvent(store.db);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('stores the event report and regenerates it after a manual change, keeping one document', async () => {
    let clock = new Date('2025-03-04T07:02:10.000Z');
    const { storeEventReport } = createReportActivities({
      reports: new ReportStore(store.db),
      now: () => clock,
    });
    const first = await storeEventReport({ event_id: EVENT_ID });
    expect(first.report_id).toBe(EVENT_ID);
    expect(first.bytes).toBeGreaterThan(2000);

    const pdf = await getEventReport(store.db, EVENT_ID);
    expect(pdf!.length).toBe(first.bytes);
    const text = squash((await pdfPages(pdf!)).join('\n'));
    expect(text).toContain('Customer Acme Corp (cus_acme)'); // customer name read from the store
    expect(text).toContain('Pipeline Production rollout (ppl_prod), step 2');
    expect(text).toContain('Final status DONE_PARTIAL');
    expect(text).toContain('3 db-1 i-0a1b2c3d4e5f60003 FAILED');

    // An operator marks db-1 SUCCESS_MANUAL; the event is recomputed and the report regenerated.
    await store.db.collection(COLLECTIONS.eventMachines).updateOne(
      { _id: `${EVENT_ID}/mch_db1` as never },
      {
        $set: {
          status: 'SUCCESS_MANUAL',
          action_taken: 'Resolved the conflict by hand; yum update completed',
        },
      },
    );
    clock = new Date('2025-03-05T09:00:00.000Z');
    await storeEventReport({ event_id: EVENT_ID });
    const docs = await store.db
      .collection(COLLECTIONS.reports)
      .find({ _id: EVENT_ID as never })
      .toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({
      customer_id: CUSTOMER.id,
      run_no: 0,
      generated_at: '2025-03-05T09:00:00.000Z',
    });
    const again = squash((await pdfPages((await getEventReport(store.db, EVENT_ID))!)).join('\n'));
    expect(again).toContain('3 db-1 i-0a1b2c3d4e5f60003 SUCCESS_MANUAL');
    expect(again).toContain('Action taken Resolved the conflict by hand; yum update completed');
    expect(again).toContain('Report generated 2025-03-05 09:00 UTC');
  });

  it('fails without retry for an unknown event, and has no report for it', async () => {
    const { storeEventReport } = createReportActivities({ reports: new ReportStore(store.db) });
    const err = await storeEventReport({ event_id: 'pln_nope-20250101T000000Z' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect(await getEventReport(store.db, 'pln_nope-20250101T000000Z')).toBeUndefined();
  });

  it('keeps every SSM command output per event and machine, idempotently, and answers the last run by default', async () => {
    const { storeCommandLog } = createLogActivities({
      logs: new LogStore(store.db),
      now: () => new Date('2025-03-04T06:31:05.000Z'),
    });
    const { log_id } = await storeCommandLog(patchLog());
    expect(log_id).toBe(`${EVENT_ID}/mch_db1/cmd-0001`);
    await storeCommandLog(patchLog()); // a retried activity
    await storeCommandLog(
      patchLog({
        command_id: 'cmd-0000',
        purpose: 'hook',
        hook_name: 'pre_host_0',
        document_name: 'AWS-RunShellScript',
        stdout: 'drained',
        stderr: '',
        status: 'Success',
        started_at: '2025-03-04T06:24:00.000Z',
        ended_at: '2025-03-04T06:25:00.000Z',
      }),
    );
    const big = `HEAD-MARK\n${'x'.repeat(MAX_LOG_STREAM_CHARS)}\nTAIL-MARK`;
    await storeCommandLog(
      patchLog({
        command_id: 'cmd-0101',
        run_no: 1,
        stdout: big,
        stderr: '',
        status: 'Success',
        output_url: 's3://acme-ssm-output/cmd-0101/',
        started_at: '2025-03-05T08:00:00.000Z',
        ended_at: '2025-03-05T08:20:00.000Z',
      }),
    );
    expect(
      await store.db
        .collection(COLLECTIONS.logs)
        .countDocuments({ event_id: EVENT_ID, machine_id: 'mch_db1' }),
    ).toBe(3);

    const all = (await getMachineLog(store.db, EVENT_ID, 'mch_db1'))!;
    expect(all.runs).toEqual([0, 1]);
    expect(all.entries.map((e) => e.command_id)).toEqual(['cmd-0000', 'cmd-0001', 'cmd-0101']); // chronological
    const last = all.entries[2];
    expect(last.stdout_truncated).toBe(true);
    expect(last.stdout.length).toBeLessThan(MAX_LOG_STREAM_CHARS + 200);
    expect(last.stdout.startsWith('HEAD-MARK')).toBe(true);
    expect(last.stdout.endsWith('TAIL-MARK')).toBe(true);

    const lastRun = (await getMachineLog(store.db, EVENT_ID, 'mch_db1', { lastRunOnly: true }))!;
    expect(lastRun.entries.map((e) => e.command_id)).toEqual(['cmd-0101']);
    const run0 = (await getMachineLog(store.db, EVENT_ID, 'mch_db1', { runNo: 0 }))!;
    const text = renderMachineLogText(run0);
    expect(text).toContain(
      '=== script hook pre_host_0 | run 0 | command cmd-0000 | AWS-RunShellScript | Success ===',
    );
    expect(text).toContain('=== patching | run 0 | command cmd-0001 | AWS-RunPatchBaseline | Failed ===');
    expect(text).toContain('Error: package conflict: postgresql15-libs');
    expect(text).toContain('--- stderr ---\nyum exited with code 1');
    expect(text.indexOf('cmd-0000')).toBeLessThan(text.indexOf('cmd-0001'));
    expect(await getMachineLog(store.db, EVENT_ID, 'mch_web1')).toBeUndefined();
    expect(await getMachineLog(store.db, EVENT_ID, 'mch_db1', { customerId: 'cus_other' })).toBeUndefined();
  });
});

describe('logs written before the tenant was recorded', () => {
  let store: TestDb;
  beforeAll(async () => {
    store = await openTestDb('legacy_logs');
    await seedMixedEvent(store.db);
  });
  afterAll(async () => {
    await store?.close();
  });

  it("are given their event's customer when the worker starts (ensureIndexes), once", async () => {
    const { customer_id, ...legacy } = patchLog({ command_id: 'cmd-legacy' });
    void customer_id;
    await store.db
      .collection(COLLECTIONS.logs)
      .insertOne({ ...legacy, _id: `${EVENT_ID}/mch_db1/cmd-legacy` as never, purpose: 'patch' });
    expect(await getMachineLog(store.db, EVENT_ID, 'mch_db1', { customerId: CUSTOMER.id })).toBeUndefined();
    await new LogStore(store.db).ensureIndexes();
    const log = await getMachineLog(store.db, EVENT_ID, 'mch_db1', { customerId: CUSTOMER.id });
    expect(log?.entries.map((e) => e.command_id)).toEqual(['cmd-legacy']);
    expect(await getMachineLog(store.db, EVENT_ID, 'mch_db1', { customerId: 'cus_other' })).toBeUndefined();
    expect(await new LogStore(store.db).adoptLegacyLogs()).toBe(0);
  });
});

describe('report and log through the REST API', () => {
  let h: ApiHarness;
  let customer: { customerId: string; adminKey: string };
  let other: { customerId: string; adminKey: string };
  let portDb: Db | undefined;
  // The harness creates its database; the port reads it once it exists.
  const port: ReportsPort = {
    eventReport: (c, e) => createReportsPort(portDb!).eventReport(c, e),
    machineLog: (c, e, m, r) => createReportsPort(portDb!).machineLog(c, e, m, r),
  };

  beforeAll(async () => {
    h = await startApi('report_api', { reports: port });
    portDb = h.db;
    customer = await h.newCustomer('Acme Corp');
    other = await h.newCustomer('Other Inc');
    await seedMixedEvent(h.db, customer.customerId);
    await createReportActivities({ reports: new ReportStore(h.db) }).storeEventReport({ event_id: EVENT_ID });
    const logs = createLogActivities({ logs: new LogStore(h.db) });
    await logs.storeCommandLog(patchLog({ customer_id: customer.customerId }));
    await logs.storeCommandLog(
      patchLog({
        customer_id: customer.customerId,
        command_id: 'cmd-0102',
        run_no: 1,
        stdout: 'Installed: postgresql15-libs-15.6\nInstalledCount: 1',
        stderr: '',
        status: 'Success',
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /events/:id/report answers the PDF to its customer only', async () => {
    const res = await fetch(`${h.url}/api/v1/events/${EVENT_ID}/report`, {
      headers: { authorization: `Bearer ${customer.adminKey}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/pdf/);
    const pdf = Buffer.from(await res.arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(squash((await pdfPages(pdf))[0])).toContain('Customer Acme Corp');
    const foreign = await h.request('GET', `/api/v1/events/${EVENT_ID}/report`, { key: other.adminKey });
    expect(foreign.status).toBe(404);
  });

  it("GET /events/:id/machines/:machine_id/log answers the last run's log as text", async () => {
    const res = await h.request('GET', `/api/v1/events/${EVENT_ID}/machines/mch_db1/log`, {
      key: customer.adminKey,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toContain(
      '=== patching | run 1 | command cmd-0102 | AWS-RunPatchBaseline | Success ===',
    );
    expect(res.text).toContain('Installed: postgresql15-libs-15.6');
    expect(res.text).not.toContain('cmd-0001');
    expect(
      (await h.request('GET', `/api/v1/events/${EVENT_ID}/machines/mch_web1/log`, { key: customer.adminKey }))
        .status,
    ).toBe(404);
    expect(
      (await h.request('GET', `/api/v1/events/${EVENT_ID}/machines/mch_db1/log`, { key: other.adminKey }))
        .status,
    ).toBe(404);
  });
});
