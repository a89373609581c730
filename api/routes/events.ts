import { EventPreview } from '../../domain/preview';
import { RawAnswer, route } from '../route-table';
import {
  CreateEventBody,
  EventDetailView,
  EventListQuery,
  EventMachineParams,
  EventSummaryView,
  ExcludeBody,
  IdParams,
  ManualStatusBody,
  PartialBody,
  isoNormalised,
  pageOf,
  splitStatuses,
} from '../schemas';
import type { ApiContext } from '../context';
import { ApiError, notFound, type FieldIssue } from '../errors';
import { throwIfIssues } from '../validate';
import { writeAudit } from '../audit-log';
import type { Actor, PartialRunRequest } from '../orchestrator-port';
import type { HookChoice } from '../../workflows/defs';
import { eventRecordView, type EventSummary } from '../../store/event-queries';
import { isEventFinished } from '../../domain/finished';
import { WindowHours } from '../../domain/plan';
import { AbortBody, OverrideBody } from '../gate-schemas';

/** How far in the past an ad-hoc event may start (clock skew, a slow client); older is a mistake. */
export const AD_HOC_MAX_PAST_MS = 5 * 60_000;

/** How long GET /events/:id/report waits for a finished event's report to be rendered. */
export const REPORT_WAIT_MS = 15_000;

async function loadEvent(api: ApiContext, customerId: string, id: string): Promise<EventSummary> {
  const ev = await api.events.getSummary(customerId, id);
  if (!ev) throw notFound('event', id);
  return ev;
}

/** Runs an operator action through the orchestrator, then records it with the status before and after. */
async function operatorAction(
  api: ApiContext,
  actor: Actor,
  eventId: string,
  action: string,
  details: unknown,
  run: () => Promise<void>,
) {
  const before = await loadEvent(api, actor.customer_id, eventId);
  await run();
  const after = await api.events.getSummary(actor.customer_id, eventId);
  await writeAudit(api, actor, {
    action,
    resource: 'event',
    resource_id: eventId,
    before: { status: before.status },
    after: after ? { status: after.status } : undefined,
    details,
  });
  return after ?? before;
}

/** Hook names and machines a partial run names must exist in the event (its plan snapshot). */
async function partialChoiceIssues(
  api: ApiContext,
  customerId: string,
  eventId: string,
  body: PartialRunRequest,
): Promise<FieldIssue[]> {
  const known = await api.events.hookNames(customerId, eventId);
  if (!known) return []; // never ran: the workflow refuses it (409), which says why
  const issues: FieldIssue[] = [];
  const check = (path: string, choice: HookChoice | undefined, names: string[], what: string) => {
    if (!Array.isArray(choice)) return;
    choice.forEach((n, i) => {
      if (!names.includes(n))
        issues.push({
          in: 'body',
          path: `${path}.${i}`,
          message: `no ${what} ${n} in this event (it has ${names.length ? names.join(', ') : 'none'})`,
          code: 'not_in_event',
        });
    });
  };
  check('pre_hooks', body.pre_hooks, known.pre, 'global pre hook');
  check('post_hooks', body.post_hooks, known.post, 'global post hook');
  const machines = known.machines;
  if (!machines) return issues;
  for (const id of body.machine_ids ?? [])
    if (!machines[id])
      issues.push({
        in: 'body',
        path: 'machine_ids',
        message: `machine ${id} is not part of this event`,
        code: 'not_in_event',
      });
  for (const [id, c] of Object.entries(body.host_hooks ?? {})) {
    const m = machines[id];
    if (!m) {
      issues.push({
        in: 'body',
        path: `host_hooks.${id}`,
        message: `machine ${id} is not part of this event`,
        code: 'not_in_event',
      });
      continue;
    }
    check(`host_hooks.${id}.pre`, c.pre, m.pre, 'pre host hook');
    check(`host_hooks.${id}.post`, c.post, m.post, 'post host hook');
  }
  return issues;
}

function notConfigured(what: string): never {
  throw new ApiError(
    501,
    'not_implemented',
    `${what} are not available on this server (no report store configured)`,
  );
}

const EventPreviewView = EventPreview.meta({ id: 'EventPreview' });

export const eventRoutes = [
  route({
    method: 'get',
    path: '/api/v1/events',
    operationId: 'listEvents',
    summary: 'List events, ordered by start then id',
    description:
      '`from`/`to` bound the start (from ≤ start < to). `status` is repeatable or a comma list. `machine_id` matches events the machine took part in and upcoming events of plans that list it.',
    tag: 'events',
    permission: { resource: 'event', action: 'list' },
    query: EventListQuery,
    rules: [{ rule: 'after', in: 'query', field: 'to', after: 'from' }],
    response: { status: 200, description: 'A page of events', schema: pageOf(EventSummaryView) },
    async handle({ api, query, actor, grant }) {
      const from = isoNormalised(query.from);
      const to = isoNormalised(query.to);
      if (from && to && to <= from)
        throwIfIssues([{ in: 'query', path: 'to', message: 'must be after from' }]);
      const planIdsWithMachine = query.machine_id
        ? await api.plans.idsUsingMachine(actor.customer_id, query.machine_id)
        : undefined;
      const page = await api.events.list(
        actor.customer_id,
        {
          from,
          to,
          statuses: splitStatuses(query.status),
          plan_id: query.plan_id,
          pipeline_id: query.pipeline_id,
          machine_id: query.machine_id,
          plan_ids_with_machine: planIdsWithMachine,
        },
        query.limit,
        query.continuation_token,
      );
      if (grant.kind === 'ids') page.items = page.items.filter((e) => grant.ids.has(e.id));
      return page;
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/events',
    operationId: 'createEvent',
    summary: 'Create an ad-hoc event of a plan with an exact window',
    tag: 'events',
    permission: { resource: 'event', action: 'create' },
    body: CreateEventBody,
    rules: [
      { rule: 'not_in_past', in: 'body', field: 'start', minutes: AD_HOC_MAX_PAST_MS / 60_000 },
      { rule: 'after', in: 'body', field: 'end', after: 'start' },
      { rule: 'window_hours', in: 'body', start: 'start', end: 'end', min_hours: 1 / 60, max_hours: 24 * 14 },
    ],
    response: { status: 201, description: 'The created event', schema: EventSummaryView },
    errors: [409],
    async handle({ api, body, actor }) {
      const start = Date.parse(body.start);
      const end = Date.parse(body.end);
      const issues: FieldIssue[] = [];
      if (start < Date.now() - AD_HOC_MAX_PAST_MS)
        issues.push({
          in: 'body',
          path: 'start',
          message: 'must not be in the past (more than 5 minutes ago)',
        });
      if (end <= start) issues.push({ in: 'body', path: 'end', message: 'must be after start' });
      else {
        const hours = WindowHours.safeParse((end - start) / 3_600_000);
        if (!hours.success)
          issues.push({ in: 'body', path: 'end', message: `window ${hours.error.issues[0].message}` });
      }
      if (!(await api.plans.get(actor.customer_id, body.plan_id)))
        issues.push({
          in: 'body',
          path: 'plan_id',
          message: `no plan ${body.plan_id} for this customer`,
          code: 'unknown_reference',
        });
      throwIfIssues(issues);
      const event = await api.orchestrator.createEvent(
        body.plan_id,
        new Date(start).toISOString(),
        new Date(end).toISOString(),
        actor,
        body.operation,
      );
      await writeAudit(api, actor, {
        action: 'create',
        resource: 'event',
        resource_id: event.id,
        after: {
          plan_id: event.plan_id,
          start: event.start,
          end: event.end,
          status: event.status,
          ...(body.operation ? { operation: body.operation } : {}),
        },
      });
      return eventRecordView(event);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/events/:id',
    operationId: 'getEvent',
    summary: 'Get an event with its machines, hook runs and timeline',
    tag: 'events',
    permission: { resource: 'event', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The event', schema: EventDetailView },
    async handle({ api, params, actor }) {
      const ev = await api.events.get(actor.customer_id, params.id);
      if (!ev) throw notFound('event', params.id);
      return ev;
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/events/:id',
    operationId: 'deleteEvent',
    summary: 'Delete an event that has not started (it becomes DELETED)',
    tag: 'events',
    permission: { resource: 'event', action: 'delete', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The event after the change', schema: EventSummaryView },
    errors: [409],
    async handle({ api, params, actor }) {
      return operatorAction(api, actor, params.id, 'delete', undefined, () =>
        api.orchestrator.deleteEvent(params.id, actor),
      );
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/events/:id/approve',
    operationId: 'approveEvent',
    summary: 'Approve an event (and every NOT_APPROVED event of its pipeline step)',
    description:
      "Records the approval on the event (`approval`: who, when and the targets it had then, a dynamic plan's selectors resolved now) before answering. When the window opens, targets that changed by more than the plan's `reapproval_threshold` (default 10 %) since this approval make the event NOT_APPROVED again, waiting for a new approval (docs/behaviour.md#reapproval). An event whose window opens inside a freeze under the plan's `freeze_rule.action: run_with_approval` needs approvals by two different API keys (two people): the first is counted and the event stays NOT_APPROVED (1 of 2, on the timeline); the same key approving again is refused with 409 naming the reason; the second key approves it and it runs inside the freeze (docs/behaviour.md#freeze-two-person).",
    tag: 'events',
    permission: { resource: 'event', action: 'update', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The event after the change', schema: EventSummaryView },
    errors: [409],
    async handle({ api, params, actor }) {
      return operatorAction(api, actor, params.id, 'approve', undefined, () =>
        api.orchestrator.approveEvent(params.id, actor),
      );
    },
  }),
  gateRoute(
    'resume',
    'resumeEvent',
    'Resume an event a health gate HALTED: the gates are read again before the next machine starts (409 unless HALTED)',
  ),
  gateRoute(
    'override',
    'overrideEventGates',
    'Override the health gates of a HALTED event for the rest of its run, with a recorded reason (409 unless HALTED)',
    OverrideBody,
  ),
  gateRoute(
    'abort',
    'abortEvent',
    'Abort a HALTED event: machines not started become OMITTED, running ones finish, post hooks run (409 unless HALTED)',
    AbortBody,
  ),
  route({
    method: 'post',
    path: '/api/v1/events/:id/exclude',
    operationId: 'excludeMachines',
    summary: 'Exclude machines from an event that has not started (they become EXCLUDED)',
    tag: 'events',
    permission: { resource: 'event', action: 'update', idParam: 'id' },
    params: IdParams,
    body: ExcludeBody,
    response: { status: 200, description: 'The event after the change', schema: EventSummaryView },
    errors: [409],
    async handle({ api, params, body, actor }) {
      const machine_ids = [...new Set(body.machine_ids)];
      return operatorAction(api, actor, params.id, 'exclude', { machine_ids }, () =>
        api.orchestrator.excludeMachines(params.id, machine_ids, actor),
      );
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/events/:id/machines/:machine_id/status',
    operationId: 'setManualStatus',
    summary: 'Set a manual status on a machine of a finished event',
    description:
      'action_taken is required for SUCCESS_MANUAL and FAILED_MANUAL. The event status is recomputed.',
    tag: 'events',
    permission: { resource: 'event', action: 'update', idParam: 'id' },
    params: EventMachineParams,
    body: ManualStatusBody,
    response: { status: 200, description: 'The event after the change', schema: EventSummaryView },
    errors: [409],
    async handle({ api, params, body, actor }) {
      await loadEvent(api, actor.customer_id, params.id);
      if (!(await api.events.getMachine(actor.customer_id, params.id, params.machine_id)))
        throw notFound(`machine of event ${params.id}`, params.machine_id);
      return operatorAction(
        api,
        actor,
        params.id,
        'manual_status',
        { machine_id: params.machine_id, ...body },
        () =>
          api.orchestrator.setManualStatus(
            params.id,
            params.machine_id,
            body.manual_status,
            body.action_taken,
            actor,
          ),
      );
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/events/:id/partial',
    operationId: 'partialRun',
    summary: 'Patch again some machines and hooks of a finished event',
    description: 'Everything runs by default: all machines, global pre and post hooks, and every host hook.',
    tag: 'events',
    permission: { resource: 'event', action: 'execute', idParam: 'id' },
    params: IdParams,
    body: PartialBody,
    response: { status: 202, description: 'The event, now IN_PROGRESS', schema: EventSummaryView },
    errors: [409],
    async handle({ api, params, body, actor }) {
      await loadEvent(api, actor.customer_id, params.id);
      throwIfIssues(await partialChoiceIssues(api, actor.customer_id, params.id, body));
      return operatorAction(api, actor, params.id, 'partial', body, () =>
        api.orchestrator.partialRun(params.id, body, actor),
      );
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/events/:id/preview',
    operationId: 'previewEvent',
    summary: 'What the event will do: targets, agents, hook reachability, order groups with predicted times',
    description:
      "Computed now on the worker (docs/behaviour.md#preview): a dynamic plan is resolved now (targets_re_resolved_at_start), each machine's SSM PingStatus and platform, one dry-run call per hook (payload dry_run: true; Azure also the header x-patchwave-dry-run: true), order groups with times predicted from the plan's last finished events.",
    tag: 'events',
    permission: { resource: 'event', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The preview', schema: EventPreviewView },
    async handle({ api, params, actor }) {
      await loadEvent(api, actor.customer_id, params.id);
      return api.orchestrator.previewEvent(params.id, actor);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/events/:id/report',
    operationId: 'getEventReport',
    summary: 'The event report (PDF)',
    tag: 'events',
    permission: { resource: 'report', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'PDF report', contentType: 'application/pdf' },
    description:
      'The PDF the worker renders when the event finishes (and again after a manual status change or a partial run). Right after the event reads finished, its report may still be being rendered: the API waits for it up to REPORT_WAIT_MS (15 s), then answers 503 `report_pending` with Retry-After. 404: the event has not finished yet (no report).',
    errors: [501, 503],
    async handle({ api, params, actor }) {
      const ev = await loadEvent(api, actor.customer_id, params.id);
      if (!api.reports) notConfigured('reports');
      const reports = api.reports;
      const read = () => reports.eventReport(actor.customer_id, params.id);
      let file = await read();
      // Finished events get their report just after the final status is stored: wait that moment out, so
      // "poll until finished, then fetch the report" works.
      for (const t0 = Date.now(); !file && isEventFinished(ev.status) && Date.now() - t0 < REPORT_WAIT_MS;) {
        await new Promise((r) => setTimeout(r, 250));
        file = await read();
      }
      if (!file && isEventFinished(ev.status))
        throw new ApiError(
          503,
          'report_pending',
          `the report of event ${params.id} is still being rendered; retry shortly`,
          null,
          { 'Retry-After': '5' },
        );
      if (!file) throw notFound('report of event', params.id);
      return new RawAnswer(file.contentType, file.body, file.filename ?? `${params.id}.pdf`);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/events/:id/machines/:machine_id/log',
    operationId: 'getMachineLog',
    summary: 'The patch log of one machine in an event (its last run)',
    tag: 'events',
    permission: { resource: 'update_log', action: 'get', idParam: 'id' },
    params: EventMachineParams,
    response: { status: 200, description: 'The log', contentType: 'text/plain' },
    errors: [501],
    async handle({ api, params, actor }) {
      await loadEvent(api, actor.customer_id, params.id);
      if (!api.reports) notConfigured('logs');
      const file = await api.reports.machineLog(actor.customer_id, params.id, params.machine_id);
      if (!file) throw notFound(`log of machine ${params.machine_id} in event`, params.id);
      return new RawAnswer(file.contentType, file.body, file.filename);
    },
  }),
];

/**
 * resume / override / abort: an operator's answer to a HALTED event (docs/behaviour.md#health-gates). The
 * reason, when the action takes one, is recorded in the audit log and passed to the workflow.
 */
function gateRoute(
  action: 'resume' | 'override' | 'abort',
  operationId: string,
  summary: string,
  body?: typeof OverrideBody | typeof AbortBody,
) {
  return route({
    method: 'post',
    path: `/api/v1/events/:id/${action}`,
    operationId,
    summary,
    tag: 'events',
    permission: { resource: 'event', action: 'update', idParam: 'id' },
    params: IdParams,
    body,
    response: { status: 200, description: 'The event after the change', schema: EventSummaryView },
    errors: [409],
    async handle({ api, params, body: input, actor }) {
      const reason = (input as { reason?: string } | undefined)?.reason;
      return operatorAction(api, actor, params.id, action, body ? { reason } : undefined, () =>
        api.orchestrator.gateAction(params.id, action, reason, actor),
      );
    },
  });
}
