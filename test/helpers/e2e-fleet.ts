/**
 * Fixtures for the end-to-end event tests (e2e-hooks, e2e-failures, e2e-ordering, e2e-window): lab machines
 * registered through the API, hook functions in the lab with their Patchwave hook definitions, plans,
 * events, and what the lab saw. Every name is unique so tests in one file share a lab without interfering.
 */
import { randomBytes } from 'node:crypto';
import { newSsmId, waitForEventStatus, type EventView, type Stack } from './stack';
import { COLLECTIONS } from '../../store/db';
import type { CommandDoc } from '../../store/event-records';

export const ACCOUNT = '123456789012';

export const uid = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export interface LabCommand {
  command_id: string;
  document_name: string;
  parameters: Record<string, string[]>;
  comment: string;
  requested_at: string;
  started_at: string | null;
  ended_at: string | null;
  status: string;
  status_details: string;
  response_code: number;
  /** Script documents: the files the script wrote (the hook payload), by variable (lab/script-runner.ts). */
  script_files?: Record<string, string>;
}

export interface HookInvocation {
  method?: string;
  code?: string | null;
  payload: HookPayloadSeen;
  received_at: string;
}

export interface HookPayloadSeen {
  event_id: string;
  customer_id: string;
  machines: {
    id: string;
    status: string;
    name: string;
    subscription_id?: string;
    subscription_name?: string;
    resource_group_name?: string;
  }[];
  hook_outputs: {
    code: number;
    message: string;
    hook: { type: string; source: string; method?: string; name: string };
    output: string;
    machine_id?: string;
    command_id?: string;
    plan_name?: string;
    event_id?: string;
  }[];
}

export interface LabResponse {
  delay_s?: number;
  status: number | 'error';
  body?: unknown;
}

export interface CommandEntry {
  duration_s: number;
  outcome: 'success' | 'no_updates' | 'failed' | 'hang';
  installed?: string[];
  stdout?: string;
  reboot_s?: number;
}

export interface FleetMachine {
  id: string;
  ssmId: string;
  name: string;
}

export interface EventDetailView extends EventView {
  finished_at?: string;
  started_at?: string;
  failure_reasons: string[];
  machines: (EventView['machines'][number] & {
    name: string;
    ssm_machine_id: string;
    started_at?: string;
    ended_at?: string;
  })[];
  hooks: (EventView['hooks'][number] & {
    type: string;
    source: string;
    started_at: string;
    finished_at: string;
  })[];
}

export function fleet(stack: Stack) {
  async function machine(
    opts: {
      name?: string;
      platform?: 'Linux' | 'Windows';
      online?: boolean;
      commands?: CommandEntry[];
      fields?: Record<string, unknown>;
      /** The lab's patch catalog (classification, severity, released_days_ago… per package). */
      patches?: Record<string, Record<string, unknown>>;
      /** More of the lab machine's behaviour (lab/schemas.ts MachineBehaviour), e.g. `missing` patches. */
      lab?: Record<string, unknown>;
    } = {},
  ): Promise<FleetMachine> {
    const ssmId = newSsmId();
    const name = opts.name ?? uid('host');
    await stack.lab_('PUT', `/_lab/machines/${ssmId}`, {
      platform: opts.platform ?? 'Linux',
      online: opts.online ?? true,
      commands: opts.commands ?? [{ duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13'] }],
      ...(opts.patches ? { patches: opts.patches } : {}),
      ...opts.lab,
    });
    const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
      name,
      access: { ssm_machine_id: ssmId, region: 'us-east-1' },
      reboot_policy: 'NEVER',
      ...opts.fields,
    });
    if (r.status !== 201) throw new Error(`machine not created: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.id, ssmId, name };
  }

  /** A Lambda in the lab answering from `responses`; returns its hook definition. */
  async function lambda(responses: LabResponse[], name = uid('fn')) {
    await stack.lab_('PUT', `/_lab/lambdas/${name}`, {
      responses: responses.map((r) => ({ delay_s: 0, ...r })),
    });
    return {
      name,
      hook: { type: 'lambda' as const, source: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}` },
    };
  }

  /** An Azure function in the lab (with a function key); returns its hook definition. */
  async function azure(responses: LabResponse[], method: 'GET' | 'POST' = 'GET', name = uid('az')) {
    const code = `k${randomBytes(6).toString('hex')}`;
    await stack.lab_('PUT', `/_lab/azure/${name}`, {
      code,
      responses: responses.map((r) => ({ delay_s: 0, ...r })),
    });
    return {
      name,
      code,
      hook: { type: 'azure' as const, source: `${stack.lab.url}/_lab/azure/${name}?code=${code}`, method },
      redacted: `${stack.lab.url}/_lab/azure/${name}?code=***`,
    };
  }

  async function script(body: string, key = `${uid('scripts')}/run.sh`) {
    await stack.lab_('PUT', `/_lab/s3/patchwave-test/${key}`, body);
    return `s3://patchwave-test/${key}`;
  }

  async function plan(body: Record<string, unknown>): Promise<string> {
    const r = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
      name: uid('plan'),
      cron: '0 3 1 1 *',
      window_hours: 0.05,
      // The scheduler must not create events of its own in these tests.
      enabled: false,
      ...body,
    });
    if (r.status !== 201) throw new Error(`plan not created: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
  }

  async function execute(planId: string): Promise<string> {
    const r = await stack.api<{ id: string }>('POST', `/api/v1/plans/${planId}/execute`);
    if (r.status !== 201) throw new Error(`execute failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
  }

  /**
   * An ad-hoc event whose one-minute window (the shortest the contract allows) is already running, so only
   * `remainingS` seconds of it are left: windows ends come fast without a scaled clock.
   */
  async function eventEndingIn(
    planId: string,
    remainingS: number,
  ): Promise<{ id: string; start: string; end: string }> {
    const end = Math.ceil((Date.now() + remainingS * 1000) / 1000) * 1000;
    const start = end - 60_000;
    const r = await stack.api<{ id: string; start: string; end: string }>('POST', '/api/v1/events', {
      plan_id: planId,
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
    });
    if (r.status !== 201) throw new Error(`event not created: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async function finished(eventId: string, timeoutMs = 120_000): Promise<EventDetailView> {
    return (await waitForEventStatus(stack, eventId, undefined, timeoutMs)) as EventDetailView;
  }

  const commands = (ssmId: string) => stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssmId}/commands`);
  const lambdaCalls = (name: string) =>
    stack.lab_<HookInvocation[]>('GET', `/_lab/lambdas/${name}/invocations`);
  const azureCalls = (name: string) => stack.lab_<HookInvocation[]>('GET', `/_lab/azure/${name}/invocations`);
  const overlaps = () => stack.lab_<unknown[]>('GET', '/_lab/overlaps');
  const commandDoc = (commandId: string) =>
    stack.db.db.collection<CommandDoc>(COLLECTIONS.commands).findOne({ _id: commandId });

  return {
    machine,
    lambda,
    azure,
    script,
    plan,
    execute,
    eventEndingIn,
    finished,
    commands,
    lambdaCalls,
    azureCalls,
    overlaps,
    commandDoc,
  };
}

/** `{code, msg, output}` as a hook answers it. */
export const answer = (code: number, msg: string, output: string, delay_s = 0): LabResponse => ({
  status: 200,
  delay_s,
  body: { code, msg, output },
});

export const statusOf = (ev: EventDetailView, machineId: string) =>
  ev.machines.find((m) => m.machine_id === machineId)?.status;
export const machineOf = (ev: EventDetailView, machineId: string) => {
  const m = ev.machines.find((x) => x.machine_id === machineId);
  if (!m) throw new Error(`machine ${machineId} is not in event ${ev.id}`);
  return m;
};
