import { Plan, PlanInput } from '../../domain/plan';
import type { HookDef } from '../../domain/hooks';
import { PlanStore, PLAN_INPUT_KEYS } from '../../store/plans';
import type { ApiContext } from '../context';
import { conflict, notFound, type FieldIssue } from '../errors';
import { cronError, explainCron } from '../cron';
import { checkOutboundUrl, checkOutboundUrlAtSave } from '../../common/url-guard';
import { crudRoutes } from './crud';
import { route } from '../route-table';
import { EventSummaryView, IdParams } from '../schemas';
import { writeAudit } from '../audit-log';
import { eventRecordView } from '../../store/event-queries';
import { configNotice } from '../../domain/config-notice';
import { resolveApiKey } from '../../domain/maintenance';
import { missingWebhookSecret } from '../../domain/notification-group';

/** Azure hook URLs pass the SSRF guard; `global` hooks may not be scripts (those run on a machine). */
export function hookIssues(
  hooks: HookDef[],
  path: string,
  allowlist: string[],
  global: boolean,
): FieldIssue[] {
  const out: FieldIssue[] = [];
  hooks.forEach((h, i) => {
    if (h.type === 'azure') {
      const why = checkOutboundUrl(h.source, allowlist);
      if (why) out.push({ in: 'body', path: `${path}.${i}.source`, message: why, code: 'egress_refused' });
    }
    if (global && h.type === 'script')
      out.push({
        in: 'body',
        path: `${path}.${i}.type`,
        message: 'script hooks run on a machine: use them as host hooks',
      });
  });
  return out;
}

export function referenceIssues(
  ids: readonly string[],
  existing: Set<string>,
  path: string,
  what: string,
): FieldIssue[] {
  return ids.flatMap((id, i) =>
    existing.has(id)
      ? []
      : [
          {
            in: 'body' as const,
            path: `${path}.${i}`,
            message: `no ${what} ${id} for this customer`,
            code: 'unknown_reference' as const,
          },
        ],
  );
}

export async function planIssues(
  api: ApiContext,
  customerId: string,
  p: Partial<PlanInput>,
): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const cron = p.cron === undefined ? undefined : cronError(p.cron);
  if (cron) issues.push({ in: 'body', path: 'cron', message: cron });
  issues.push(...hookIssues(p.pre_hooks ?? [], 'pre_hooks', api.allowlist, true));
  issues.push(...hookIssues(p.post_hooks ?? [], 'post_hooks', api.allowlist, true));
  const hosts = [
    ...(p.machines ?? []).map((m, i) => ({ m, path: `machines.${i}` })),
    ...(p.dynamic ?? []).map((m, i) => ({ m, path: `dynamic.${i}` })),
  ];
  for (const { m, path } of hosts) {
    issues.push(...hookIssues(m.pre_host_hooks, `${path}.pre_host_hooks`, api.allowlist, false));
    issues.push(...hookIssues(m.post_host_hooks, `${path}.post_host_hooks`, api.allowlist, false));
  }
  if (p.machines?.length) {
    const existing = await api.machines.existingIds(
      customerId,
      p.machines.map((m) => m.machine_id),
    );
    p.machines.forEach((m, i) => {
      if (!existing.has(m.machine_id))
        issues.push({
          in: 'body',
          path: `machines.${i}.machine_id`,
          message: `no machine ${m.machine_id} for this customer`,
          code: 'unknown_reference',
        });
    });
  }
  const groupIds = p.notification_groups ?? [];
  const groups = await api.groups.existingIds(customerId, groupIds);
  issues.push(...referenceIssues(groupIds, groups, 'notification_groups', 'notification group'));
  issues.push(...(await resolvedHookIssues(p, api.allowlist, issues)));
  issues.push(...(await probeUrlIssues(p, api.allowlist)));
  issues.push(...(await maintenanceIssues(p, api.allowlist, api.config.PATCHWAVE_WEBHOOK_SECRET)));
  return issues;
}

/**
 * Maintenance integrations (docs/behaviour.md#maintenance): URLs pass the SSRF guard as hooks do, and an
 * `api_key_ref` must name a variable set on this server (the API and the worker share their environment, as for
 * webhook channels' `secret_ref`). Both conflict with the server's configuration: 409. A `webhook` entry is
 * signed as webhook channels are: its `secret_ref` must resolve (409), and without one the server's default
 * secret must be set (400).
 */
async function maintenanceIssues(
  p: Partial<PlanInput>,
  allowlist: string[],
  defaultSecret: string | undefined,
): Promise<FieldIssue[]> {
  const out: FieldIssue[] = [];
  const readEnv = (n: string) => process.env[n];
  for (const [i, m] of (p.maintenance ?? []).entries()) {
    const why = checkOutboundUrl(m.url, allowlist) ?? (await checkOutboundUrlAtSave(m.url, allowlist));
    if (why) out.push({ in: 'body', path: `maintenance.${i}.url`, message: why, code: 'egress_refused' });
    if (m.type === 'webhook') {
      const noSecret = missingWebhookSecret(m, defaultSecret, readEnv);
      if (noSecret)
        out.push({
          in: 'body',
          path: `maintenance.${i}.secret_ref`,
          message: noSecret,
          ...(m.secret_ref ? { code: 'secret_unresolved' as const } : {}),
        });
    } else if (m.api_key_ref && !resolveApiKey(m.api_key_ref, readEnv))
      out.push({
        in: 'body',
        path: `maintenance.${i}.api_key_ref`,
        message: `${m.api_key_ref.replace(/^env:/, '')} (named by api_key_ref ${m.api_key_ref}) is not set`,
        code: 'secret_unresolved',
      });
  }
  return out;
}

/** Health-gate probe URLs pass the same SSRF guard as Azure hooks (pure check, then with DNS). */
async function probeUrlIssues(p: Partial<PlanInput>, allowlist: string[]): Promise<FieldIssue[]> {
  const out: FieldIssue[] = [];
  for (const [i, probe] of (p.health_gates?.probes ?? []).entries()) {
    // A `hook` probe's Lambda is an AWS call; its Azure function URL is guarded like an Azure hook's.
    const target =
      probe.type === 'hook'
        ? probe.hook.type === 'azure'
          ? { url: probe.hook.source, path: `health_gates.probes.${i}.hook.source` }
          : undefined
        : probe.type === 'cloudwatch_alarm'
          ? undefined
          : { url: probe.url, path: `health_gates.probes.${i}.url` };
    if (!target) continue;
    const why =
      checkOutboundUrl(target.url, allowlist) ?? (await checkOutboundUrlAtSave(target.url, allowlist));
    if (why) out.push({ in: 'body', path: target.path, message: why, code: 'egress_refused' });
  }
  return out;
}

/** A host name that resolves to a blocked address passes the pure check: resolve the Azure hook hosts too. */
async function resolvedHookIssues(
  p: Partial<PlanInput>,
  allowlist: string[],
  known: FieldIssue[],
): Promise<FieldIssue[]> {
  const lists: [string, HookDef[] | undefined][] = [
    ['pre_hooks', p.pre_hooks],
    ['post_hooks', p.post_hooks],
    ...[
      ...(p.machines ?? []).map((m, i) => ({ m, path: `machines.${i}` })),
      ...(p.dynamic ?? []).map((m, i) => ({ m, path: `dynamic.${i}` })),
    ].flatMap(({ m, path }): [string, HookDef[] | undefined][] => [
      [`${path}.pre_host_hooks`, m.pre_host_hooks],
      [`${path}.post_host_hooks`, m.post_host_hooks],
    ]),
  ];
  const out: FieldIssue[] = [];
  for (const [path, hooks] of lists) {
    for (const [i, h] of (hooks ?? []).entries()) {
      const at = `${path}.${i}.source`;
      if (h.type !== 'azure' || known.some((k) => k.path === at)) continue;
      const why = await checkOutboundUrlAtSave(h.source, allowlist);
      if (why) out.push({ in: 'body', path: at, message: why, code: 'egress_refused' });
    }
  }
  return out;
}

const PlanView = Plan.meta({ id: 'Plan' });

export const planRoutes = [
  ...crudRoutes({
    resource: 'plan',
    tag: 'plans',
    basePath: '/api/v1/plans',
    singular: 'plan',
    idPrefix: 'pln',
    input: PlanInput.meta({ id: 'PlanInput' }),
    inputKeys: PLAN_INPUT_KEYS,
    view: PlanView,
    repo: (api) => api.plans,
    toStored: (input) => ({ machine_ids: PlanStore.withDerived(input).machine_ids }),
    check: planIssues,
    explain: explainCron,
    rules: [
      { rule: 'cron_fires', in: 'body', field: 'cron' },
      { rule: 'unique_by', in: 'body', array: 'machines', key: 'machine_id' },
      { rule: 'not_value', in: 'body', array: 'pre_hooks', key: 'type', value: 'script' },
      { rule: 'not_value', in: 'body', array: 'post_hooks', key: 'type', value: 'script' },
      { rule: 'ascending', in: 'body', field: 'waves', ends_at: 100 },
      { rule: 'requires', in: 'body', field: 'wave_by', requires: ['waves'] },
      { rule: 'fixed_when', in: 'body', field: 'waves', array: 'machines', key: 'order', value: 0 },
      { rule: 'fixed_when', in: 'body', field: 'waves', array: 'dynamic', key: 'order', value: 0 },
    ],
    async beforeDelete(api, customerId, plan) {
      const pipelines = await api.pipelines.idsUsingPlans(customerId, [plan.id]);
      if (pipelines.length)
        throw conflict(
          `plan ${plan.id} is a step of pipelines ${pipelines.join(', ')}; remove it from them first`,
          {
            pipelines,
          },
        );
    },
    async afterWrite(api, actor, kind, id, { item, auditId }) {
      if (kind === 'delete') await api.orchestrator.planDeleted(id, actor);
      else await api.orchestrator.planChanged(id, actor);
      await api.orchestrator.sendConfigNotice(configNotice('plan', kind, item, auditId, actor.api_key_id));
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/plans/:id/execute',
    operationId: 'executePlan',
    summary: 'Start an event of this plan now (window = the plan’s window_hours)',
    tag: 'plans',
    permission: { resource: 'plan', action: 'execute', idParam: 'id' },
    params: IdParams,
    response: { status: 201, description: 'The created event', schema: EventSummaryView },
    errors: [409],
    async handle({ api, params, actor }) {
      if (!(await api.plans.get(actor.customer_id, params.id))) throw notFound('plan', params.id);
      const event = await api.orchestrator.executePlanNow(params.id, actor);
      await writeAudit(api, actor, {
        action: 'execute',
        resource: 'plan',
        resource_id: params.id,
        after: { event_id: event.id, start: event.start, end: event.end, status: event.status },
      });
      return eventRecordView(event);
    },
  }),
];
