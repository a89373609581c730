import {
  computeEventStatus,
  failureReasons,
  isMachineFailure,
  isMachineSuccess,
  type StatusInputs,
} from '../../../domain/event-status';
import { MachineStatus, type EventStatus } from '../../../domain/statuses';

type S = MachineStatus;
/** `m('SUCCESS')` = machine without failed host hook; `m('SUCCESS', true)` = one of its host hooks failed. */
const m = (status: S, hostHookFailed = false) => ({ status, hostHookFailed });
const inputs = (
  machines: StatusInputs['machines'],
  extra: Partial<StatusInputs> & { machineNames?: Record<number, string> } = {},
): StatusInputs & { machineNames?: Record<number, string> } => ({
  machines,
  globalHookFailed: false,
  ...extra,
});

describe('computeEventStatus — one machine, every status × host hook result (no global failure)', () => {
  // [status, expected with host hooks fine, expected with a failed host hook]
  const table: [S, EventStatus, EventStatus][] = [
    ['PENDING', 'IN_PROGRESS', 'IN_PROGRESS'],
    ['IN_PROGRESS', 'IN_PROGRESS', 'IN_PROGRESS'],
    ['SUCCESS', 'DONE', 'DONE_PARTIAL'],
    ['SUCCESS_NO_UPDATES', 'DONE', 'DONE_PARTIAL'],
    ['FAILED', 'DONE_ERROR', 'DONE_ERROR'],
    ['ERROR', 'DONE_ERROR', 'DONE_ERROR'],
    ['NOT_AVAILABLE', 'DONE_ERROR', 'DONE_ERROR'],
    ['OMITTED', 'DONE_ERROR', 'DONE_ERROR'],
    ['TIMED_OUT', 'DONE_ERROR', 'DONE_ERROR'],
    ['NOT_IN_TIME_WINDOW', 'DONE_ERROR', 'DONE_ERROR'],
    // EXCLUDED is neither failure nor success; a failed host hook is still a failure (rule 2 literally).
    ['EXCLUDED', 'DONE', 'DONE_ERROR'],
    // A scan that ran is a success whatever it found (docs/behaviour.md#scan-only).
    ['COMPLIANT', 'DONE', 'DONE_PARTIAL'],
    ['NON_COMPLIANT', 'DONE', 'DONE_PARTIAL'],
    // Seed 001: host hooks of a SUCCESS_MANUAL machine are not taken into account.
    ['SUCCESS_MANUAL', 'DONE_MANUAL', 'DONE_MANUAL'],
    ['FAILED_MANUAL', 'DONE_ERROR_MANUAL', 'DONE_ERROR_MANUAL'],
    ['IN_PROGRESS_MANUAL', 'IN_PROGRESS', 'IN_PROGRESS'],
    ['REBOOTING_MANUAL', 'IN_PROGRESS', 'IN_PROGRESS'],
  ];

  it('covers every machine status', () => {
    expect(table.map((r) => r[0]).sort()).toEqual([...MachineStatus.options].sort());
  });

  test.each(table)('%s → %s / with failed host hook → %s', (status, fine, hookFailed) => {
    expect(computeEventStatus(inputs([m(status)]))).toBe(fine);
    expect(computeEventStatus(inputs([m(status, true)]))).toBe(hookFailed);
  });
});

describe('computeEventStatus — docs/behaviour.md#final-status rules', () => {
  const FAILING: S[] = [
    'FAILED',
    'ERROR',
    'NOT_AVAILABLE',
    'OMITTED',
    'TIMED_OUT',
    'NOT_IN_TIME_WINDOW',
    'FAILED_MANUAL',
  ];

  test.each<[string, StatusInputs, EventStatus]>([
    // Rule 1: manual "still working" statuses win over everything.
    ['IN_PROGRESS_MANUAL among successes', inputs([m('SUCCESS'), m('IN_PROGRESS_MANUAL')]), 'IN_PROGRESS'],
    ['REBOOTING_MANUAL among failures', inputs([m('FAILED'), m('REBOOTING_MANUAL')]), 'IN_PROGRESS'],
    [
      'IN_PROGRESS_MANUAL with a global hook failure',
      inputs([m('IN_PROGRESS_MANUAL')], { globalHookFailed: true }),
      'IN_PROGRESS',
    ],
    [
      'REBOOTING_MANUAL with a failed scan',
      inputs([m('REBOOTING_MANUAL')], { dynamicScanFailed: true }),
      'IN_PROGRESS',
    ],
    ['a machine still PENDING (ours)', inputs([m('SUCCESS'), m('PENDING')]), 'IN_PROGRESS'],
    [
      'a machine still IN_PROGRESS (ours)',
      inputs([m('FAILED'), m('IN_PROGRESS')], { globalHookFailed: true }),
      'IN_PROGRESS',
    ],

    // Rule 3: no failure.
    ['no machines, nothing failed', inputs([]), 'DONE'],
    ['all SUCCESS / SUCCESS_NO_UPDATES', inputs([m('SUCCESS'), m('SUCCESS_NO_UPDATES')]), 'DONE'],
    ['one SUCCESS_MANUAL among successes', inputs([m('SUCCESS'), m('SUCCESS_MANUAL')]), 'DONE_MANUAL'],
    ['all EXCLUDED, nothing failed', inputs([m('EXCLUDED'), m('EXCLUDED')]), 'DONE'],
    ['EXCLUDED next to a success', inputs([m('EXCLUDED'), m('SUCCESS')]), 'DONE'],
    ['EXCLUDED next to SUCCESS_MANUAL', inputs([m('EXCLUDED'), m('SUCCESS_MANUAL')]), 'DONE_MANUAL'],
    [
      'SUCCESS_MANUAL whose host hook failed (seed 001)',
      inputs([m('SUCCESS'), m('SUCCESS_MANUAL', true)]),
      'DONE_MANUAL',
    ],
    ['dynamicScanFailed explicitly false', inputs([m('SUCCESS')], { dynamicScanFailed: false }), 'DONE'],

    // Rule 2 + 4: each kind of failure next to a success → DONE_PARTIAL.
    ...FAILING.map((s): [string, StatusInputs, EventStatus] => [
      `${s} next to SUCCESS`,
      inputs([m('SUCCESS'), m(s)]),
      'DONE_PARTIAL',
    ]),
    ['FAILED next to SUCCESS_NO_UPDATES', inputs([m('SUCCESS_NO_UPDATES'), m('FAILED')]), 'DONE_PARTIAL'],
    ['FAILED next to SUCCESS_MANUAL', inputs([m('SUCCESS_MANUAL'), m('FAILED')]), 'DONE_PARTIAL'],
    ['failed host hook of a SUCCESS machine', inputs([m('SUCCESS'), m('SUCCESS', true)]), 'DONE_PARTIAL'],
    [
      'failed host hook of a SUCCESS_NO_UPDATES machine',
      inputs([m('SUCCESS_NO_UPDATES', true)]),
      'DONE_PARTIAL',
    ],
    [
      'global hook failed, machines succeeded',
      inputs([m('SUCCESS')], { globalHookFailed: true }),
      'DONE_PARTIAL',
    ],
    [
      'dynamic scan failed, found machines succeeded',
      inputs([m('SUCCESS')], { dynamicScanFailed: true }),
      'DONE_PARTIAL',
    ],
    [
      'failure, EXCLUDED and a success',
      inputs([m('EXCLUDED'), m('TIMED_OUT'), m('SUCCESS')]),
      'DONE_PARTIAL',
    ],

    // Rule 5: failure and no success.
    ...FAILING.filter((s) => s !== 'FAILED_MANUAL').map((s): [string, StatusInputs, EventStatus] => [
      `only ${s}`,
      inputs([m(s), m(s)]),
      'DONE_ERROR',
    ]),
    [
      'global pre hook failed → every machine OMITTED',
      inputs([m('OMITTED'), m('OMITTED'), m('OMITTED')], { globalHookFailed: true }),
      'DONE_ERROR',
    ],
    ['global hook failed, no machines', inputs([], { globalHookFailed: true }), 'DONE_ERROR'],
    ['global hook failed, all EXCLUDED', inputs([m('EXCLUDED')], { globalHookFailed: true }), 'DONE_ERROR'],
    ['dynamic scan failed, no machines', inputs([], { dynamicScanFailed: true }), 'DONE_ERROR'],
    ['NOT_IN_TIME_WINDOW and TIMED_OUT', inputs([m('NOT_IN_TIME_WINDOW'), m('TIMED_OUT')]), 'DONE_ERROR'],
    ['failures and EXCLUDED only', inputs([m('EXCLUDED'), m('NOT_AVAILABLE')]), 'DONE_ERROR'],
    ['FAILED_MANUAL only', inputs([m('FAILED_MANUAL')]), 'DONE_ERROR_MANUAL'],
    [
      'FAILED_MANUAL next to automatic failures',
      inputs([m('FAILED'), m('FAILED_MANUAL'), m('OMITTED')]),
      'DONE_ERROR_MANUAL',
    ],
    [
      'FAILED_MANUAL with a global hook failure',
      inputs([m('FAILED_MANUAL')], { globalHookFailed: true }),
      'DONE_ERROR_MANUAL',
    ],
  ])('%s', (_name, i, expected) => {
    expect(computeEventStatus(i)).toBe(expected);
  });
});

describe('computeEventStatus — recomputed after manual changes (seed 001)', () => {
  type Step = [string, StatusInputs, EventStatus];
  test.each<[string, Step[]]>([
    [
      'host hook failure is the only reason: SUCCESS_MANUAL turns DONE_PARTIAL into DONE_MANUAL',
      [
        ['after the run', inputs([m('SUCCESS'), m('SUCCESS', true)]), 'DONE_PARTIAL'],
        ['machine 2 → SUCCESS_MANUAL', inputs([m('SUCCESS'), m('SUCCESS_MANUAL', true)]), 'DONE_MANUAL'],
      ],
    ],
    [
      'in-progress manual work holds the event IN_PROGRESS until it ends',
      [
        ['after the run', inputs([m('SUCCESS'), m('TIMED_OUT')]), 'DONE_PARTIAL'],
        ['machine 2 → REBOOTING_MANUAL', inputs([m('SUCCESS'), m('REBOOTING_MANUAL')]), 'IN_PROGRESS'],
        ['machine 2 → IN_PROGRESS_MANUAL', inputs([m('SUCCESS'), m('IN_PROGRESS_MANUAL')]), 'IN_PROGRESS'],
        ['machine 2 → SUCCESS_MANUAL', inputs([m('SUCCESS'), m('SUCCESS_MANUAL')]), 'DONE_MANUAL'],
      ],
    ],
    [
      'all failed, then fixed by hand one by one',
      [
        ['after the run', inputs([m('FAILED'), m('NOT_AVAILABLE')]), 'DONE_ERROR'],
        ['machine 1 → FAILED_MANUAL', inputs([m('FAILED_MANUAL'), m('NOT_AVAILABLE')]), 'DONE_ERROR_MANUAL'],
        ['machine 2 → SUCCESS_MANUAL', inputs([m('FAILED_MANUAL'), m('SUCCESS_MANUAL')]), 'DONE_PARTIAL'],
        ['machine 1 → SUCCESS_MANUAL', inputs([m('SUCCESS_MANUAL'), m('SUCCESS_MANUAL')]), 'DONE_MANUAL'],
      ],
    ],
    [
      'a global hook failure cannot be fixed by manual machine statuses',
      [
        ['after the run', inputs([m('OMITTED')], { globalHookFailed: true }), 'DONE_ERROR'],
        [
          'machine → SUCCESS_MANUAL',
          inputs([m('SUCCESS_MANUAL')], { globalHookFailed: true }),
          'DONE_PARTIAL',
        ],
        ['partial run re-ran the hooks fine', inputs([m('SUCCESS_MANUAL')]), 'DONE_MANUAL'],
      ],
    ],
  ])('%s', (_name, steps) => {
    for (const [step, i, expected] of steps) expect([step, computeEventStatus(i)]).toEqual([step, expected]);
  });
});

describe('failureReasons', () => {
  test.each<[string, Parameters<typeof failureReasons>[0], string[]]>([
    ['nothing failed', inputs([m('SUCCESS'), m('EXCLUDED')]), []],
    [
      'global hook',
      inputs([m('OMITTED')], { globalHookFailed: true, machineNames: { 0: 'web-1' } }),
      ['a global hook failed', 'machine web-1 is OMITTED'],
    ],
    ['dynamic scan', inputs([], { dynamicScanFailed: true }), ['the dynamic machine scan failed']],
    [
      'failed status and failed host hook, unnamed machine',
      inputs([m('SUCCESS'), m('FAILED', true)]),
      ['machine #1 is FAILED', 'a host hook of machine #1 failed'],
    ],
    ['host hook of SUCCESS_MANUAL machine is not a reason', inputs([m('SUCCESS_MANUAL', true)]), []],
    [
      'manual failure',
      inputs([m('FAILED_MANUAL')], { machineNames: { 0: 'db' } }),
      ['machine db is FAILED_MANUAL'],
    ],
  ])('%s', (_name, i, expected) => {
    expect(failureReasons(i)).toEqual(expected);
  });
});

describe('isMachineFailure / isMachineSuccess', () => {
  test.each(MachineStatus.options.map((s) => [s]))('%s', (s) => {
    const failure = [
      'FAILED',
      'ERROR',
      'NOT_AVAILABLE',
      'OMITTED',
      'TIMED_OUT',
      'NOT_IN_TIME_WINDOW',
      'FAILED_MANUAL',
    ].includes(s);
    const success = [
      'SUCCESS',
      'SUCCESS_NO_UPDATES',
      'SUCCESS_MANUAL',
      'COMPLIANT',
      'NON_COMPLIANT',
    ].includes(s);
    expect([isMachineFailure(s), isMachineSuccess(s)]).toEqual([failure, success]);
  });
});
