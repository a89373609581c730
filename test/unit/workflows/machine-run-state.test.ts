/**
 * A machine run's decisions (workflows/machine-run-state.ts), without Temporal: the status from the way the
 * patch command ended, the notice that goes with it, a failed pre host hook, the request key and the version
 * flag old inputs carry.
 */
import {
  afterExplicitReboot,
  afterFailedPreHook,
  commandRequestKey,
  patchNotice,
  patchVerdict,
  usesLocalWrites,
  type MachineVerdict,
} from '../../../workflows/machine-run-state';
import type { CommandFinal, CommandWaitOutcome } from '../../../workflows/defs';

const final = (
  machineStatus: CommandFinal['machineStatus'],
  extra: Partial<CommandFinal> = {},
): CommandFinal => ({
  commandId: 'cmd-1',
  ssmStatus: 'Success',
  statusDetails: 'Success',
  machineStatus,
  detail: `detail of ${machineStatus}`,
  startedAt: '2026-06-01T10:00:00Z',
  endedAt: '2026-06-01T10:10:00Z',
  ...extra,
});

describe('patch outcome → machine status, reason and notice', () => {
  test.each<[string, CommandWaitOutcome, MachineVerdict, ReturnType<typeof patchNotice>]>([
    [
      'completed, updates installed',
      { kind: 'completed', final: final('SUCCESS', { installed: ['KB1'] }) },
      { status: 'SUCCESS', reason: undefined, commandId: 'cmd-1', installed: ['KB1'] },
      'machine_patching_finish',
    ],
    [
      'completed, nothing to install',
      { kind: 'completed', final: final('SUCCESS_NO_UPDATES') },
      { status: 'SUCCESS_NO_UPDATES', reason: undefined, commandId: 'cmd-1', installed: undefined },
      'machine_patching_finish',
    ],
    [
      'completed, failed: the detail is the reason',
      { kind: 'completed', final: final('FAILED') },
      { status: 'FAILED', reason: 'detail of FAILED', commandId: 'cmd-1', installed: undefined },
      'machine_patching_finish',
    ],
    [
      'completed, agent gone',
      { kind: 'completed', final: final('NOT_AVAILABLE') },
      {
        status: 'NOT_AVAILABLE',
        reason: 'detail of NOT_AVAILABLE',
        commandId: 'cmd-1',
        installed: undefined,
      },
      'machine_access_err',
    ],
    [
      'still running at the window end',
      { kind: 'timed_out', commandId: 'cmd-2' },
      {
        status: 'TIMED_OUT',
        reason: 'command cmd-2 was still running when the window ended; it goes on in the background',
        commandId: 'cmd-2',
      },
      'machine_patching_finish',
    ],
    [
      'queued until the window end',
      { kind: 'not_started', reason: 'busy' },
      { status: 'NOT_IN_TIME_WINDOW', reason: 'busy' },
      'machine_not_in_window',
    ],
    [
      'no command could be built',
      { kind: 'not_sent', start: { kind: 'unbuildable', reason: 'no baseline' } },
      { status: 'OMITTED', reason: 'no baseline' },
      'machine_patching_finish',
    ],
    [
      'machine offline',
      { kind: 'not_sent', start: { kind: 'offline', reason: 'agent offline' } },
      { status: 'NOT_AVAILABLE', reason: 'agent offline' },
      'machine_access_err',
    ],
    [
      'too late to send',
      { kind: 'not_sent', start: { kind: 'too_late', reason: 'window over' } },
      { status: 'NOT_IN_TIME_WINDOW', reason: 'window over' },
      'machine_not_in_window',
    ],
    [
      'sending failed',
      { kind: 'not_sent', start: { kind: 'error', reason: 'SSM unreachable' } },
      { status: 'ERROR', reason: 'SSM unreachable' },
      'machine_patching_finish',
    ],
  ])('%s', (_name, outcome, verdict, notice) => {
    expect(patchVerdict(outcome)).toEqual(verdict);
    expect(patchNotice(verdict.status)).toBe(notice);
  });
});

describe('a failed pre host hook', () => {
  test.each<[boolean, MachineVerdict]>([
    [false, { status: 'OMITTED', reason: 'a pre host hook failed' }],
    [true, { status: 'NOT_IN_TIME_WINDOW', reason: 'the window ended during the pre host hooks' }],
  ])('window over: %s', (windowOver, verdict) => {
    expect(afterFailedPreHook(windowOver)).toEqual(verdict);
  });
});

test('command request keys: event / run / machine / what (the form existing requests carry)', () => {
  expect(commandRequestKey({ eventId: 'evt_1', runNo: 2, machineId: 'mch_9' }, 'patch')).toBe(
    'evt_1/2/mch_9/patch',
  );
  expect(commandRequestKey({ eventId: 'evt_1', runNo: 0, machineId: 'mch_9' }, 'pre-check')).toBe(
    'evt_1/0/mch_9/pre-check',
  );
});

test.each<[string, { localWrites?: true; steps?: 2 }, boolean]>([
  ['new inputs say localWrites', { localWrites: true }, true],
  ['inputs recorded before the rename say steps: 2', { steps: 2 }, true],
  ['v1 inputs say neither', {}, false],
])('%s', (_name, input, v2) => {
  expect(usesLocalWrites(input)).toBe(v2);
});

describe('reboot_policy ALWAYS: the explicit reboot after a successful patch', () => {
  const patched: MachineVerdict = { status: 'SUCCESS', commandId: 'cmd-1', installed: ['KB1'] };
  test.each<[string, CommandWaitOutcome, Partial<MachineVerdict>]>([
    ['rebooted: the patch verdict stands', { kind: 'completed', final: final('SUCCESS') }, patched],
    [
      'the reboot script failed',
      { kind: 'completed', final: final('FAILED') },
      { status: 'FAILED', reason: 'patched, but the reboot (reboot_policy ALWAYS) failed: detail of FAILED' },
    ],
    [
      'still rebooting at the window end',
      { kind: 'timed_out', commandId: 'cmd-2' },
      { status: 'TIMED_OUT', reason: expect.stringMatching(/reboot command cmd-2 was still running/) },
    ],
    [
      'never sent (agent offline)',
      { kind: 'not_sent', start: { kind: 'offline', reason: 'SSM agent is ConnectionLost' } },
      { status: 'FAILED', reason: expect.stringMatching(/was not run: SSM agent is ConnectionLost/) },
    ],
    [
      'queued until the window ended',
      { kind: 'not_started', reason: 'busy' },
      { status: 'FAILED', reason: expect.stringMatching(/was not run: busy/) },
    ],
  ])('%s', (_name, reboot, expected) => {
    const v = afterExplicitReboot(patched, reboot);
    expect(v).toMatchObject(expected);
    // The patch command stays the machine's command either way: it is what patched it.
    expect(v.commandId).toBe('cmd-1');
    expect(v.installed).toEqual(['KB1']);
  });
});
