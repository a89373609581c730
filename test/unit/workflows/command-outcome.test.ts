import type { CommandFinal, CommandWaitOutcome } from '../../../workflows/defs';
import { patchVerdict, scriptHookVerdict } from '../../../workflows/machine-run-state';

const final = (over: Partial<CommandFinal>): CommandFinal => ({
  commandId: 'cmd-1',
  ssmStatus: 'Success',
  statusDetails: 'Success',
  responseCode: 0,
  machineStatus: 'SUCCESS',
  detail: 'patched',
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:10:00.000Z',
  ...over,
});

describe('one command outcome, two readers', () => {
  const cases: [
    string,
    CommandWaitOutcome,
    ReturnType<typeof patchVerdict>,
    ReturnType<typeof scriptHookVerdict>,
  ][] = [
    [
      'completed with updates',
      { kind: 'completed', final: final({ installed: ['openssl'], stdout: '{"code":200,"message":"ok"}' }) },
      { status: 'SUCCESS', commandId: 'cmd-1', installed: ['openssl'] },
      {
        code: 200,
        message: 'script succeeded (SSM Success, exit code 0)',
        output: '{"code":200,"message":"ok"}',
        commandId: 'cmd-1',
      },
    ],
    [
      'completed and failed',
      {
        kind: 'completed',
        final: final({
          machineStatus: 'FAILED',
          detail: 'yum exited 1',
          ssmStatus: 'Failed',
          responseCode: 3,
        }),
      },
      { status: 'FAILED', reason: 'yum exited 1', commandId: 'cmd-1' },
      expect.objectContaining({ code: 500, commandId: 'cmd-1' }),
    ],
    [
      'still running at the window end',
      { kind: 'timed_out', commandId: 'cmd-2' },
      {
        status: 'TIMED_OUT',
        reason: 'command cmd-2 was still running when the window ended; it goes on in the background',
        commandId: 'cmd-2',
      },
      {
        code: 500,
        message: 'timed out at window end (command cmd-2 goes on in the background)',
        output: '',
        commandId: 'cmd-2',
      },
    ],
    [
      'queued until the window ended',
      { kind: 'not_started', reason: 'the machine was busy' },
      { status: 'NOT_IN_TIME_WINDOW', reason: 'the machine was busy' },
      { code: 500, message: 'not run: the machine was busy', output: '' },
    ],
    [
      'refused by the machine workflow',
      { kind: 'rejected', reason: 'deadline passed' },
      { status: 'NOT_IN_TIME_WINDOW', reason: 'deadline passed' },
      { code: 500, message: 'not run: deadline passed', output: '' },
    ],
    [
      'could not be built',
      { kind: 'not_sent', start: { kind: 'unbuildable', reason: 'no such script' } },
      { status: 'OMITTED', reason: 'no such script' },
      { code: 500, message: 'not run: no such script', output: '' },
    ],
    [
      'machine offline',
      { kind: 'not_sent', start: { kind: 'offline', reason: 'ConnectionLost' } },
      { status: 'NOT_AVAILABLE', reason: 'ConnectionLost' },
      { code: 500, message: 'not run: ConnectionLost', output: '' },
    ],
    [
      'too late to send',
      { kind: 'not_sent', start: { kind: 'too_late', reason: 'window ended' } },
      { status: 'NOT_IN_TIME_WINDOW', reason: 'window ended' },
      { code: 500, message: 'not run: window ended', output: '' },
    ],
    [
      'SSM refused',
      { kind: 'not_sent', start: { kind: 'error', reason: 'InvalidDocument' } },
      { status: 'ERROR', reason: 'InvalidDocument' },
      { code: 500, message: 'not run: InvalidDocument', output: '' },
    ],
  ];
  test.each(cases)('%s', (_name, outcome, patch, hook) => {
    expect(patchVerdict(outcome)).toEqual(patch);
    expect(scriptHookVerdict(outcome)).toEqual(hook);
  });
});
