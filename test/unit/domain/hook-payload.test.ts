import { buildHookPayload, orderHookOutputs, toHookOutputEntry } from '../../../domain/hook-payload';
import { HookPayload, type HookOutputEntry, type HookRun } from '../../../domain/hooks';

const run = (over: Partial<HookRun>): HookRun => ({
  name: 'pre_0',
  type: 'lambda',
  source: 'arn:aws:lambda:eu-west-1:123456789012:function:start',
  code: 200,
  message: 'started',
  output: 'i-1',
  started_at: '2024-05-01T06:00:00.000Z',
  finished_at: '2024-05-01T06:00:05.000Z',
  run_no: 0,
  ...over,
});

describe('toHookOutputEntry', () => {
  test.each<[string, HookRun, Parameters<typeof toHookOutputEntry>[1], HookOutputEntry]>([
    [
      'global lambda hook of the same event: no plan_name/event_id/machine_id/command_id',
      run({}),
      { sameEvent: true, planName: 'Web', eventId: 'evt-1' },
      {
        code: 200,
        message: 'started',
        output: 'i-1',
        hook: {
          type: 'lambda',
          source: 'arn:aws:lambda:eu-west-1:123456789012:function:start',
          name: 'pre_0',
        },
      },
    ],
    [
      'azure hook from an earlier event of the pipeline run: plan_name, event_id and method',
      run({
        type: 'azure',
        source: 'https://fn.azurewebsites.net/api/stop?code=***',
        method: 'POST',
        name: 'post_1',
        code: 500,
        message: 'boom',
        output: '',
      }),
      { sameEvent: false, planName: 'DB', eventId: 'pln_db-20240501T060000Z' },
      {
        code: 500,
        message: 'boom',
        output: '',
        hook: {
          type: 'azure',
          source: 'https://fn.azurewebsites.net/api/stop?code=***',
          method: 'POST',
          name: 'post_1',
        },
        plan_name: 'DB',
        event_id: 'pln_db-20240501T060000Z',
      },
    ],
    [
      'script host hook: machine_id and command_id',
      run({
        type: 'script',
        source: 's3://b/check.sh',
        name: 'post_host_0',
        machine_id: 'mch_1',
        command_id: 'cmd-9',
      }),
      { sameEvent: true },
      {
        code: 200,
        message: 'started',
        output: 'i-1',
        hook: { type: 'script', source: 's3://b/check.sh', name: 'post_host_0' },
        machine_id: 'mch_1',
        command_id: 'cmd-9',
      },
    ],
    [
      'lambda host hook: machine_id, never a command_id',
      run({ name: 'pre_host_2', machine_id: 'mch_2', command_id: 'should-not-appear' }),
      { sameEvent: true },
      {
        code: 200,
        message: 'started',
        output: 'i-1',
        hook: {
          type: 'lambda',
          source: 'arn:aws:lambda:eu-west-1:123456789012:function:start',
          name: 'pre_host_2',
        },
        machine_id: 'mch_2',
      },
    ],
    [
      'other event but names unknown: nothing invented',
      run({}),
      { sameEvent: false },
      {
        code: 200,
        message: 'started',
        output: 'i-1',
        hook: {
          type: 'lambda',
          source: 'arn:aws:lambda:eu-west-1:123456789012:function:start',
          name: 'pre_0',
        },
      },
    ],
  ])('%s', (_name, r, ctx, expected) => {
    expect(toHookOutputEntry(r, ctx)).toEqual(expected);
  });
});

describe('buildHookPayload', () => {
  const previous = [toHookOutputEntry(run({}), { sameEvent: true })];
  test.each<[string, Parameters<typeof buildHookPayload>[0], HookPayload]>([
    [
      'event machines with Azure fields; unset fields left out',
      {
        eventId: 'evt-1',
        customerId: 'cus_1',
        machines: [
          {
            id: 'mch_1',
            status: 'PENDING',
            name: 'vm1',
            subscription_id: 'sub',
            subscription_name: 'Prod',
            resource_group_name: 'rg',
          },
          { id: 'mch_2', status: 'PENDING', name: 'i-2', subscription_id: undefined },
        ],
        previous,
      },
      {
        event_id: 'evt-1',
        customer_id: 'cus_1',
        machines: [
          {
            id: 'mch_1',
            status: 'PENDING',
            name: 'vm1',
            subscription_id: 'sub',
            subscription_name: 'Prod',
            resource_group_name: 'rg',
          },
          { id: 'mch_2', status: 'PENDING', name: 'i-2' },
        ],
        hook_outputs: previous,
      },
    ],
    [
      'first hook of the first event: no outputs yet',
      { eventId: 'evt-2', customerId: 'cus_1', machines: [], previous: [] },
      { event_id: 'evt-2', customer_id: 'cus_1', machines: [], hook_outputs: [] },
    ],
  ])('%s', (_name, args, expected) => {
    const p = buildHookPayload(args);
    expect(p).toEqual(expected);
    expect(Object.keys(p.machines[1] ?? {})).not.toContain('subscription_id');
    expect(HookPayload.parse(p)).toEqual(p); // matches the payload of docs/behaviour.md#hook-payload
  });
});

describe('orderHookOutputs', () => {
  type E = { id: string; started_at: string; finished_at: string };
  const e = (id: string, started_at: string, finished_at: string): E => ({ id, started_at, finished_at });
  test.each<[string, E[], string[]]>([
    ['already ordered', [e('a', '06:00', '06:01'), e('b', '06:02', '06:03')].map(iso), ['a', 'b']],
    [
      'by finished_at',
      [e('late', '06:00', '06:09'), e('early', '06:05', '06:06')].map(iso),
      ['early', 'late'],
    ],
    ['same finish → by start', [e('b', '06:02', '06:05'), e('a', '06:01', '06:05')].map(iso), ['a', 'b']],
    ['full tie keeps given order', [e('x', '06:00', '06:05'), e('y', '06:00', '06:05')].map(iso), ['x', 'y']],
    [
      'instants, not strings: offsets and precision',
      [
        e('utc', '2024-05-01T06:00:00Z', '2024-05-01T06:30:00.000Z'),
        e('cet', '2024-05-01T08:00:00+02:00', '2024-05-01T08:10:00+02:00'),
      ],
      ['cet', 'utc'],
    ],
    [
      'unparseable times last',
      [e('bad', 'x', 'y'), e('ok', '2024-05-01T06:00:00Z', '2024-05-01T06:01:00Z')],
      ['ok', 'bad'],
    ],
    ['empty', [], []],
  ])('%s', (_name, entries, ids) => {
    const copy = entries.map((x) => ({ ...x }));
    const out = orderHookOutputs(entries);
    expect(out.map((x) => x.id)).toEqual(ids);
    expect(entries).toEqual(copy); // input not mutated
  });

  function iso(x: E): E {
    return {
      ...x,
      started_at: `2024-05-01T${x.started_at}:00Z`,
      finished_at: `2024-05-01T${x.finished_at}:00Z`,
    };
  }
});
