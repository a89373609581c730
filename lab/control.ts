import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJsonBody, send, sendJson } from './http';
import { MachineId, ResetRequest } from './schemas';
import type { LabState } from './state';
import { handleMonitoringControl } from './monitoring';
import { handleAutoScalingControl } from './autoscaling';
import { handleElbv2Control } from './elbv2';
import { TERMINAL_EVENT_STATUSES } from './sqs';
import { ACCOUNT_ID } from './http';

/** PUT /_lab/command-events: the EventBridge-like rule (lab/sqs.ts). */
const CommandEventRuleInput = z
  .object({
    queue: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'a queue name: 1-80 letters, digits, - or _'),
    statuses: z
      .array(
        z.enum([
          'Pending',
          'InProgress',
          'Delayed',
          'Success',
          'Cancelled',
          'TimedOut',
          'Failed',
          'Cancelling',
        ]),
      )
      .min(1)
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
      .optional(),
  })
  .strict();
const SqsSwitch = z.object({ available: z.boolean() }).strict();

/** The lab's own JSON control API under /_lab (tests, demos and benchmarks drive the lab through it). */

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function json(body: Buffer): unknown {
  try {
    return parseJsonBody(body) ?? {};
  } catch (e) {
    throw new ControlError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
}

/** One line per problem, each naming the field: `commands.0.outcome: Invalid option: …`. */
function describeIssues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}

function notFound(what: string): never {
  throw new ControlError(404, `${what} not found`);
}

function machineIdParam(raw: string): string {
  const id = decodeURIComponent(raw);
  const r = MachineId.safeParse(id);
  if (!r.success)
    throw new ControlError(400, `machine id ${JSON.stringify(id)}: ${r.error.issues[0].message}`);
  return id;
}

export function handleControl(
  state: LabState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  path: string,
): void {
  try {
    route(state, req, res, body, path);
  } catch (e) {
    if (e instanceof ControlError) return sendJson(res, e.status, { error: e.message });
    if (e instanceof z.ZodError) return sendJson(res, 400, { error: describeIssues(e) });
    throw e;
  }
}

function route(state: LabState, req: IncomingMessage, res: ServerResponse, body: Buffer, path: string): void {
  const method = req.method ?? 'GET';
  const parts = path.split('/').slice(2); // ['', '_lab', ...]
  const [head, second, third] = parts;
  const ok = (value: unknown, status = 200): void => sendJson(res, status, value);
  // Alertmanager silences, Statuspage incidents, Pingdom maintenance windows and a webhook receiver (plan
  // `maintenance`), and their down switches.
  if (
    (head === 'alertmanager' ||
      head === 'statuspage' ||
      head === 'pingdom' ||
      head === 'maintenance-receiver') &&
    state.maintenance.serve(req, res, body, parts)
  )
    return;
  if (head === 'maintenance-services') {
    const input = method === 'PUT' ? json(body) : undefined;
    if (state.maintenance.control(method, res, input, parts)) return;
  }
  if (head === 'cloudwatch' || head === 'alertmanager' || (head === 'health' && parts.length === 2)) {
    const raw = req.url ?? '';
    const query = new URLSearchParams(raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '');
    const input = method === 'PUT' ? json(body) : undefined;
    if (handleMonitoringControl(state.monitoring, req, res, input, parts, query)) return;
  }

  if (head === 'autoscaling') {
    const input = method === 'PUT' ? json(body) : undefined;
    if (handleAutoScalingControl(state.autoscaling, req, res, input, parts)) return;
  }
  if (head === 'elbv2') {
    const input = method === 'PUT' ? json(body) : undefined;
    if (handleElbv2Control(state.elbv2, req, res, input, parts)) return;
  }

  if (method === 'GET' && head === 'health' && parts.length === 1) {
    return ok({
      ok: true,
      speed: state.speed,
      machines: state.machines.size,
      uptime_s: (state.now() - state.startedAt) / 1000,
    });
  }
  if (head === 'machines') {
    if (parts.length === 1 && method === 'GET') {
      const now = state.now();
      return ok(
        state.orderedMachineIds().map((id) => {
          const m = state.machines.get(id);
          return (
            m && {
              id,
              platform: m.behaviour.platform,
              online: m.behaviour.online,
              ping_status: state.pingStatus(m, now).status,
              commands_received: m.invocations.length,
            }
          );
        }),
      );
    }
    if (parts.length === 2) {
      const id = machineIdParam(second);
      if (method === 'PUT') {
        state.putMachine(id, json(body) as object);
        return ok(state.machineInfo(id));
      }
      if (method === 'GET') return ok(state.machineInfo(id) ?? notFound(`machine ${id}`));
      if (method === 'DELETE')
        return state.deleteMachine(id) ? send(res, 204, '') : notFound(`machine ${id}`);
    }
    if (parts.length === 3 && third === 'commands' && method === 'GET') {
      const id = machineIdParam(second);
      return ok(state.machineCommands(id) ?? notFound(`machine ${id}`));
    }
  }
  if ((head === 'lambdas' || head === 'azure') && second) {
    const name = decodeURIComponent(second);
    const registry = head === 'lambdas' ? state.lambdas : state.azure;
    if (parts.length === 2 && method === 'PUT') {
      const input = json(body) as object;
      const fn = head === 'lambdas' ? state.putLambda(name, input) : state.putAzure(name, input);
      return ok({ name, code: fn.code, responses: fn.responses });
    }
    if (parts.length === 2 && method === 'GET') {
      const fn = registry.get(name) ?? notFound(`${head} function ${name}`);
      return ok({ name, code: fn.code, responses: fn.responses, calls: fn.invocations.length });
    }
    if (parts.length === 3 && third === 'invocations' && method === 'GET') {
      return ok((registry.get(name) ?? notFound(`${head} function ${name}`)).invocations);
    }
  }
  if (head === 'documents' && second && parts.length === 2) {
    const name = decodeURIComponent(second);
    if (!/^[a-zA-Z0-9_.-]{3,128}$/.test(name))
      throw new ControlError(400, `document name ${name} is not valid`);
    if (method === 'PUT') return ok({ name, ...state.putDocument(name, json(body) as object) });
    if (method === 'GET') return ok({ name, ...(state.documents.get(name) ?? notFound(`document ${name}`)) });
  }
  if (head === 's3' && parts.length >= 3) {
    const bucket = decodeURIComponent(second);
    const key = parts.slice(2).map(decodeURIComponent).join('/');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      throw new ControlError(400, `bucket name ${bucket} is not valid`);
    if (method === 'PUT') {
      const obj = state.putObject(
        bucket,
        key,
        body,
        String(req.headers['content-type'] ?? 'binary/octet-stream'),
      );
      return ok({ bucket, key, size: obj.body.length, etag: obj.etag });
    }
    if (method === 'GET') {
      const found = state.getObject(bucket, key);
      if (typeof found === 'string') return notFound(`s3://${bucket}/${key}`);
      return send(res, 200, found.body, { 'content-type': found.contentType });
    }
  }
  if (method === 'POST' && head === 'reset' && parts.length === 1) {
    state.reset(ResetRequest.parse(json(body)).reload_fleet);
    return ok({ ok: true, machines: state.machines.size });
  }
  if (method === 'POST' && head === 'fleet' && parts.length === 1) {
    const loaded = state.loadFleet(json(body));
    return ok({ loaded, machines: state.machines.size });
  }
  if (method === 'GET' && head === 'stats' && parts.length === 1) return ok(state.stats());
  if (method === 'GET' && head === 'overlaps' && parts.length === 1) return ok(state.overlaps());
  if (head === 'faults' && parts.length === 1) {
    if (method === 'PUT') return ok(state.setFaults(json(body) as object));
    if (method === 'GET') return ok(state.faults);
  }
  if (head === 'command-events' && parts.length === 1) {
    const view = () => ({
      rule: state.sqs.rule,
      queue_url: state.sqs.rule
        ? `http://${req.headers.host ?? '127.0.0.1'}/${ACCOUNT_ID}/${state.sqs.rule.queue}`
        : null,
      events_sent: state.sqs.eventsSent,
    });
    if (method === 'PUT') {
      const input = CommandEventRuleInput.parse(json(body));
      // The queue is created when missing, as an operator would create it with the rule.
      state.sqs.createQueue(input.queue);
      state.sqs.setRule({
        queue: input.queue,
        statuses: input.statuses ?? TERMINAL_EVENT_STATUSES,
        region: input.region ?? 'us-east-1',
      });
      return ok(view());
    }
    if (method === 'GET') return ok(view());
    if (method === 'DELETE') {
      state.sqs.setRule(null);
      return send(res, 204, '');
    }
  }
  if (head === 'sqs' && parts.length === 1) {
    if (method === 'PUT') {
      state.sqs.available = SqsSwitch.parse(json(body)).available;
      return ok({ available: state.sqs.available });
    }
    if (method === 'GET')
      return ok({
        available: state.sqs.available,
        queues: [...state.sqs.queues.values()].map((q) => ({ name: q.name, messages: q.messages.length })),
      });
  }
  if (method === 'GET' && head === 'sts' && second === 'calls' && parts.length === 2)
    return ok(state.stsCalls);
  throw new ControlError(404, `no lab route ${method} ${path}`);
}
