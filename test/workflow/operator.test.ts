/**
 * What people do to an event (docs/behaviour.md §5: pipelines and approvals, manual status, partial runs), sent to the
 * real event workflow through the Temporal client as the API sends them: approve a NOT_APPROVED event; set a
 * machine's status by hand on a finished event; re-run chosen machines and hooks. Stub activities.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { approveUpdate, manualStatusUpdate, partialRunUpdate } from '../../workflows/defs';
import { startHarness, waitFor, type Harness } from './harness/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('operator');
});
afterAll(async () => {
  await h?.close();
});

const by = { requested_by: 'key-operator' };

describe('approvals', () => {
  test('a NOT_APPROVED event waits; approved, it becomes NEW and runs at its start', async () => {
    const m = h.id('appr');
    const ev = await h.startEvent({
      initialStatus: 'NOT_APPROVED',
      startInMs: 2_000,
      windowMs: 30_000,
      machines: [{ id: m }],
    });
    expect(await ev.view()).toMatchObject({ status: 'NOT_APPROVED', running: false });
    expect(await ev.handle.executeUpdate(approveUpdate, { args: [by] })).toBe('NEW');
    expect(await ev.finished()).toMatchObject({ status: 'DONE' });
    const [begin] = h.fleet.callsOf('beginEventRun', { eventId: ev.eventId });
    expect(begin.at).toBeGreaterThanOrEqual(ev.startMs);
    // Approving again is refused: it is no longer NOT_APPROVED.
    await expect(ev.handle.executeUpdate(approveUpdate, { args: [by] })).rejects.toBeInstanceOf(
      WorkflowUpdateFailedError,
    );
  });

  test('an event approved after its start runs at once, inside its window', async () => {
    const m = h.id('late');
    const ev = await h.startEvent({
      initialStatus: 'NOT_APPROVED',
      startInMs: 200,
      windowMs: 30_000,
      machines: [{ id: m }],
    });
    await waitFor('the start to pass', () => (Date.now() > ev.startMs + 500 ? true : undefined));
    expect(await ev.view()).toMatchObject({ status: 'NOT_APPROVED', running: false });
    await ev.handle.executeUpdate(approveUpdate, { args: [by] });
    expect(await ev.finished()).toMatchObject({ status: 'DONE' });
  });

  test('a NOT_APPROVED event whose window passes never runs, and a NEW event cannot be approved', async () => {
    const m = h.id('never');
    const ev = await h.startEvent({
      initialStatus: 'NOT_APPROVED',
      startInMs: 200,
      windowMs: 1_000,
      machines: [{ id: m }],
    });
    await ev.handle.result();
    expect(await ev.view()).toMatchObject({ status: 'NOT_APPROVED', running: false, runNo: 0 });
    expect(h.fleet.callsOf('beginEventRun', { eventId: ev.eventId })).toEqual([]);
    await expect(ev.machineRun(m).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const fresh = await h.startEvent({ startInMs: 60_000, windowMs: 1_000, machines: [{ id: h.id('new') }] });
    await expect(fresh.handle.executeUpdate(approveUpdate, { args: [by] })).rejects.toBeInstanceOf(
      WorkflowUpdateFailedError,
    );
    expect(await fresh.view()).toMatchObject({ status: 'NEW' });
  });
});

describe('writes that come with the first workflow task', () => {
  test('an approval sent right after the start waits for the record, then is stored (no write races the insert)', async () => {
    const ev = await h.startEvent({
      initialStatus: 'NOT_APPROVED',
      startInMs: 60_000,
      windowMs: 1_000,
      machines: [{ id: h.id('early') }],
      recordMs: 700,
    });
    expect(await ev.handle.executeUpdate(approveUpdate, { args: [by] })).toBe('NEW');
    const created = h.fleet.callsOf('createEventRecord', { eventId: ev.eventId })[0];
    const stored = h.fleet.callsOf('recordEventStatus', { eventId: ev.eventId, status: 'NEW' })[0];
    expect(created.doneAt).toBeDefined();
    expect(stored.at).toBeGreaterThanOrEqual(created.doneAt as number);
    expect(h.fleet.callsOf('recordApproval', { eventId: ev.eventId })).toHaveLength(1);
  });
});

describe('re-approval (docs/behaviour.md#reapproval)', () => {
  test('targets changed beyond the threshold at the window: NOT_APPROVED again, nothing runs; approved again, it runs', async () => {
    const m = h.id('reappr');
    const ev = await h.startEvent({
      initialStatus: 'NOT_APPROVED',
      startInMs: 1_500,
      windowMs: 30_000,
      machines: [{ id: m }],
    });
    const reason = 'target set changed: +3 −0 machines since approval by key-operator at …';
    h.fleet.targetChecks.set(ev.eventId, [{ reapprove: true, reason }]);
    expect(await ev.handle.executeUpdate(approveUpdate, { args: [by] })).toBe('NEW');
    // The approval was recorded before the update answered.
    expect(h.fleet.callsOf('recordApproval', { eventId: ev.eventId, via: 'update' })).toHaveLength(1);

    await waitFor('the event to ask for approval again', async () =>
      (await ev.view()).status === 'NOT_APPROVED' ? true : undefined,
    );
    expect(h.fleet.callsOf('beginEventRun', { eventId: ev.eventId })).toEqual([]);
    // The status shows at once (the query); the timeline, audit and notice follow as activities.
    await waitFor('the not_approved_patching notice', () =>
      h.fleet.callsOf('notifyEvent', { eventId: ev.eventId, type: 'not_approved_patching', reason }).length
        ? true
        : undefined,
    );
    expect(
      h.fleet.callsOf('notifyEvent', { eventId: ev.eventId, type: 'not_approved_patching', reason }),
    ).toHaveLength(1);
    expect(
      h.fleet.callsOf('recordEventStatus', { eventId: ev.eventId, status: 'NOT_APPROVED' }),
    ).toHaveLength(1);

    // Approved again: recorded anew, compared again at once (the window is open), and it runs.
    expect(await ev.handle.executeUpdate(approveUpdate, { args: [by] })).toBe('NEW');
    expect(await ev.finished()).toMatchObject({ status: 'DONE' });
    expect(h.fleet.callsOf('recordApproval', { eventId: ev.eventId })).toHaveLength(2);
    expect(h.fleet.callsOf('checkApprovedTargets', { eventId: ev.eventId })).toHaveLength(2);
  });

  test('an event never approved is not compared at its window', async () => {
    const ev = await h.startEvent({ startInMs: 200, windowMs: 30_000, machines: [{ id: h.id('plain') }] });
    expect(await ev.finished()).toMatchObject({ status: 'DONE' });
    expect(h.fleet.callsOf('checkApprovedTargets', { eventId: ev.eventId })).toEqual([]);
  });
});

describe('manual status', () => {
  test('DONE_PARTIAL → DONE_MANUAL; IN_PROGRESS_MANUAL re-opens the event; action_taken is required', async () => {
    const [bad, good] = ['bad', 'good'].map(h.id);
    const ev = await h.startEvent({
      windowMs: 30_000,
      machines: [{ id: bad, patch: { status: 'FAILED' } }, { id: good }],
    });
    expect(await ev.finished()).toMatchObject({ status: 'DONE_PARTIAL' });

    // Refused, and nothing is written.
    await expect(
      ev.handle.executeUpdate(manualStatusUpdate, {
        args: [{ machine_id: bad, manual_status: 'SUCCESS_MANUAL', ...by }],
      }),
    ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    expect(h.fleet.callsOf('applyManualStatus', { eventId: ev.eventId })).toEqual([]);

    const reopen = await ev.handle.executeUpdate(manualStatusUpdate, {
      args: [{ machine_id: bad, manual_status: 'IN_PROGRESS_MANUAL', ...by }],
    });
    expect(reopen).toBe('IN_PROGRESS');
    expect(await ev.view()).toMatchObject({ status: 'IN_PROGRESS', running: false });

    const done = await ev.handle.executeUpdate(manualStatusUpdate, {
      args: [{ machine_id: bad, manual_status: 'SUCCESS_MANUAL', action_taken: 'patched by hand', ...by }],
    });
    expect(done).toBe('DONE_MANUAL');
    expect(await ev.view()).toMatchObject({ status: 'DONE_MANUAL' });
    expect(h.fleet.machineStatus(ev.eventId, bad)).toBe('SUCCESS_MANUAL');
  });

  test('refused while the event runs', async () => {
    const m = h.id('busy');
    const ev = await h.startEvent({
      startInMs: 0,
      windowMs: 30_000,
      machines: [{ id: m, patch: { status: 'SUCCESS', ms: 3_000 } }],
    });
    await waitFor('the run to start', async () => ((await ev.view()).running ? true : undefined));
    await expect(
      ev.handle.executeUpdate(manualStatusUpdate, {
        args: [{ machine_id: m, manual_status: 'FAILED_MANUAL', action_taken: 'gave up', ...by }],
      }),
    ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    expect(await ev.finished()).toMatchObject({ status: 'DONE' });
    expect(h.fleet.callsOf('applyManualStatus', { eventId: ev.eventId })).toEqual([]);
  });
});

describe('partial runs', () => {
  test('re-running the failed machine: only it runs again, hooks as asked; the event becomes DONE', async () => {
    const [flaky, fine] = ['flaky', 'fine'].map(h.id);
    const ev = await h.startEvent({
      windowMs: 30_000,
      preHooks: [{ name: 'global-pre', type: 'lambda' }],
      postHooks: [{ name: 'global-post', type: 'lambda' }],
      machines: [
        {
          id: flaky,
          pre: [{ name: 'flaky-pre', type: 'lambda' }],
          post: [{ name: 'flaky-post', type: 'lambda' }],
          patch: [{ status: 'FAILED' }, { status: 'SUCCESS' }],
        },
        { id: fine },
      ],
    });
    expect(await ev.finished()).toMatchObject({ status: 'DONE_PARTIAL', runNo: 0 });

    const runNo = await ev.handle.executeUpdate(partialRunUpdate, {
      args: [{ machine_ids: [flaky], pre_hooks: false, host_hooks: { [flaky]: { pre: false } }, ...by }],
    });
    expect(runNo).toBe(1);
    expect(await ev.finished(1)).toMatchObject({
      status: 'DONE',
      runNo: 1,
    });
    expect(await ev.machineRun(flaky, 1).result()).toMatchObject({ status: 'SUCCESS', runNo: 1 });
    await expect(ev.machineRun(fine, 1).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const hooksOfRun = (runNo: number) =>
      h.fleet.callsOf('runRemoteHook', { eventId: ev.eventId, runNo }).map((c) => c.args.name);
    expect(hooksOfRun(0)).toEqual(['global-pre', 'flaky-pre', 'flaky-post', 'global-post']);
    expect(hooksOfRun(1)).toEqual(['flaky-post', 'global-post']);
    expect(
      h.fleet.callsOf('beginMachineRun', { eventId: ev.eventId, runNo: 1 }).map((c) => c.args.machineId),
    ).toEqual([flaky]);
  });

  test('refused before the event has finished', async () => {
    const ev = await h.startEvent({ startInMs: 60_000, windowMs: 1_000, machines: [{ id: h.id('up') }] });
    await expect(ev.handle.executeUpdate(partialRunUpdate, { args: [by] })).rejects.toBeInstanceOf(
      WorkflowUpdateFailedError,
    );
    expect(await ev.view()).toMatchObject({ status: 'NEW', runNo: 0 });
  });
});
