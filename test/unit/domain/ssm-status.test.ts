import {
  interpretInvocation,
  isInvocationUnknownError,
  isTerminalSsmStatus,
  type CommandOutcome,
  type InvocationView,
} from '../../../domain/ssm-status';

const NOTHING = 'Installed packages:\nInstalledCount: 0\n';
const TWO = 'Installed: openssl-3.0.8\nInstalled: kernel-6.1\nInstalledCount: 2\n';
const WINDOWS_SUMMARY =
  'Patch Summary for\nInstalledCount              : 0\nMissingCount                : 0\nInstalledPendingRebootCount : 0\n';

describe('interpretInvocation — still running', () => {
  test.each<[string, InvocationView]>([
    ['Pending', { Status: 'Pending', StatusDetails: 'Pending' }],
    ['InProgress', { Status: 'InProgress', StatusDetails: 'InProgress' }],
    ['InProgress (spaced details)', { Status: 'InProgress', StatusDetails: 'In Progress' }],
    ['Delayed (agent retrying, e.g. during a reboot)', { Status: 'Delayed', StatusDetails: 'Delayed' }],
    ['Cancelling', { Status: 'Cancelling', StatusDetails: 'Cancelling' }],
    ['only details, spaced', { StatusDetails: 'In Progress' }],
    ['nothing known yet', {}],
    ['empty strings', { Status: '', StatusDetails: '' }],
    ['a status we do not know', { Status: 'Hibernating' }],
  ])('%s', (_name, inv) => {
    expect(interpretInvocation(inv, { isPatch: true })).toEqual({ kind: 'running' });
  });
});

describe('interpretInvocation — finished', () => {
  type Row = [
    string,
    InvocationView,
    boolean,
    Extract<CommandOutcome, { kind: 'done' }>['machineStatus'],
    string,
  ];
  test.each<Row>([
    // Success, and "nothing installed" only for patch commands whose output shows it.
    [
      'Success, patch, output shows nothing installed',
      { Status: 'Success', StandardOutputContent: NOTHING, ResponseCode: 0 },
      true,
      'SUCCESS_NO_UPDATES',
      'Success',
    ],
    [
      'Success, patch, packages installed',
      { Status: 'Success', StandardOutputContent: TWO },
      true,
      'SUCCESS',
      'Success',
    ],
    [
      'Success, patch, output we cannot read',
      { Status: 'Success', StandardOutputContent: 'done.' },
      true,
      'SUCCESS',
      'Success',
    ],
    ['Success, patch, no output', { Status: 'Success' }, true, 'SUCCESS', 'Success'],
    [
      'Success, patch, AWS summary (cumulative counts) is not "nothing installed"',
      { Status: 'Success', StandardOutputContent: WINDOWS_SUMMARY },
      true,
      'SUCCESS',
      'Success',
    ],
    [
      'Success, not a patch (script hook), even with count 0',
      { Status: 'Success', StandardOutputContent: NOTHING },
      false,
      'SUCCESS',
      'Success',
    ],
    ['Success, lower-case spelling', { Status: 'success' }, false, 'SUCCESS', 'success'],
    // Failures.
    ['Failed', { Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 1 }, true, 'FAILED', 'Failed'],
    ['Cancelled', { Status: 'Cancelled', StatusDetails: 'Cancelled' }, true, 'FAILED', 'Cancelled'],
    [
      'Canceled (US spelling in details)',
      { Status: 'Cancelled', StatusDetails: 'Canceled' },
      true,
      'FAILED',
      'Cancelled',
    ],
    [
      'TimedOut / Execution Timed Out',
      { Status: 'TimedOut', StatusDetails: 'Execution Timed Out' },
      true,
      'FAILED',
      'TimedOut',
    ],
    [
      'TimedOut / ExecutionTimedOut',
      { Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut' },
      true,
      'FAILED',
      'TimedOut',
    ],
    ['TimedOut without details', { Status: 'TimedOut' }, true, 'FAILED', 'TimedOut'],
    [
      'Terminated (MaxErrors cancellation) → FAILED',
      { Status: 'Cancelled', StatusDetails: 'Terminated' },
      true,
      'FAILED',
      'Cancelled',
    ],
    [
      'Terminated with Failed status',
      { Status: 'Failed', StatusDetails: 'Terminated' },
      true,
      'FAILED',
      'Failed',
    ],
    [
      'only details: Execution Timed Out',
      { StatusDetails: 'Execution Timed Out' },
      true,
      'FAILED',
      'Execution Timed Out',
    ],
    // Never reached the agent.
    [
      'Failed / Undeliverable',
      { Status: 'Failed', StatusDetails: 'Undeliverable' },
      true,
      'NOT_AVAILABLE',
      'Failed',
    ],
    [
      'TimedOut / Delivery Timed Out',
      { Status: 'TimedOut', StatusDetails: 'Delivery Timed Out' },
      true,
      'NOT_AVAILABLE',
      'TimedOut',
    ],
    [
      'TimedOut / DeliveryTimedOut',
      { Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut' },
      false,
      'NOT_AVAILABLE',
      'TimedOut',
    ],
    [
      'only details: Undeliverable',
      { StatusDetails: 'Undeliverable' },
      true,
      'NOT_AVAILABLE',
      'Undeliverable',
    ],
    [
      'Status spelled as a detail (lab)',
      { Status: 'DeliveryTimedOut' },
      true,
      'NOT_AVAILABLE',
      'DeliveryTimedOut',
    ],
  ])('%s', (_name, inv, isPatch, machineStatus, ssmStatus) => {
    const out = interpretInvocation(inv, { isPatch });
    expect(out).toMatchObject({ kind: 'done', machineStatus, ssmStatus });
  });

  test.each<[InvocationView, string]>([
    [
      { Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 2 },
      'SSM Failed, exit code 2: the command failed',
    ],
    [
      { Status: 'TimedOut', StatusDetails: 'Delivery Timed Out' },
      'SSM TimedOut (Delivery Timed Out): the command never reached the SSM agent (machine offline or agent not running)',
    ],
    [
      { Status: 'TimedOut', StatusDetails: 'Execution Timed Out', ResponseCode: -1 },
      'SSM TimedOut (Execution Timed Out): the command ran past its SSM execution timeout',
    ],
    [
      { Status: 'Cancelled', StatusDetails: 'Terminated' },
      'SSM Cancelled (Terminated): SSM terminated the invocation before it ran',
    ],
    [{ Status: 'Cancelled', ResponseCode: -1 }, 'SSM Cancelled: the command was cancelled'],
    [
      { Status: 'Success', StandardOutputContent: NOTHING, ResponseCode: 0 },
      'SSM Success, exit code 0: no updates were installed',
    ],
    [{ Status: 'Success' }, 'SSM Success: the command succeeded'],
  ])('detail of %j', (inv, detail) => {
    const out = interpretInvocation(inv, { isPatch: true });
    expect(out.kind === 'done' && out.detail).toBe(detail);
  });
});

describe('isTerminalSsmStatus', () => {
  test.each<[string | undefined, boolean]>([
    ['Success', true],
    ['Failed', true],
    ['Cancelled', true],
    ['TimedOut', true],
    ['Delivery Timed Out', true],
    ['Execution Timed Out', true],
    ['Undeliverable', true],
    ['Terminated', true],
    ['Pending', false],
    ['In Progress', false],
    ['Delayed', false],
    ['Cancelling', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (s, expected) => {
    expect(isTerminalSsmStatus(s)).toBe(expected);
  });
});

describe('isInvocationUnknownError', () => {
  test.each<[string, boolean]>([
    ['InvocationDoesNotExist', true],
    ['InvocationDoesNotExistException', true],
    ['InvalidInstanceId', false],
    ['ThrottlingException', false],
    ['InvalidCommandId', false],
    ['', false],
  ])('%s → %s', (name, expected) => {
    expect(isInvocationUnknownError(name)).toBe(expected);
  });
});
