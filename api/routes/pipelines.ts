import { Pipeline, PipelineInput } from '../../domain/pipeline';
import { PipelineStore, PIPELINE_INPUT_KEYS } from '../../store/pipelines';
import type { ApiContext } from '../context';
import { notFound, type FieldIssue } from '../errors';
import { cronError, explainCron } from '../cron';
import { crudRoutes } from './crud';
import { referenceIssues } from './plans';
import { route } from '../route-table';
import { IdParams, PipelineRunView } from '../schemas';
import { writeAudit } from '../audit-log';
import { configNotice } from '../../domain/config-notice';

export async function pipelineIssues(
  api: ApiContext,
  customerId: string,
  p: Partial<PipelineInput>,
): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const cron = p.cron === undefined ? undefined : cronError(p.cron);
  if (cron) issues.push({ in: 'body', path: 'cron', message: cron });
  const steps = p.steps ?? [];
  const plans = await api.plans.existingIds(
    customerId,
    steps.flatMap((s) => s.plans),
  );
  steps.forEach((s, i) => issues.push(...referenceIssues(s.plans, plans, `steps.${i}.plans`, 'plan')));
  const groupIds = p.notification_groups ?? [];
  const groups = await api.groups.existingIds(customerId, groupIds);
  issues.push(...referenceIssues(groupIds, groups, 'notification_groups', 'notification group'));
  return issues;
}

export const pipelineRoutes = [
  ...crudRoutes({
    resource: 'pipeline',
    tag: 'pipelines',
    basePath: '/api/v1/pipelines',
    singular: 'pipeline',
    idPrefix: 'ppl',
    input: PipelineInput.meta({ id: 'PipelineInput' }),
    inputKeys: PIPELINE_INPUT_KEYS,
    view: Pipeline.meta({ id: 'Pipeline' }),
    repo: (api) => api.pipelines,
    toStored: (input) => ({ plan_ids: PipelineStore.withDerived(input).plan_ids }),
    check: pipelineIssues,
    explain: explainCron,
    rules: [
      { rule: 'cron_fires', in: 'body', field: 'cron' },
      // domain/pipeline.ts firstStepPromotes and exclusionsFit.
      { rule: 'first_item', in: 'body', array: 'steps', key: 'promotion', allowed: ['latest'] },
      { rule: 'first_item', in: 'body', array: 'steps', key: 'promotion_gate', allowed: [] },
      { rule: 'cumulative_max', in: 'body', array: 'steps', key: 'exclude_patches', max: 50 },
    ],
    async afterWrite(api, actor, kind, id, { item, auditId }) {
      if (kind === 'delete') await api.orchestrator.pipelineDeleted(id, actor);
      else await api.orchestrator.pipelineChanged(id, actor);
      await api.orchestrator.sendConfigNotice(
        configNotice('pipeline', kind, item, auditId, actor.api_key_id),
      );
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/pipelines/:id/execute',
    operationId: 'executePipeline',
    summary: 'Start a run of this pipeline now',
    tag: 'pipelines',
    permission: { resource: 'pipeline', action: 'execute', idParam: 'id' },
    params: IdParams,
    response: { status: 201, description: 'The run and the events it created', schema: PipelineRunView },
    errors: [409],
    async handle({ api, params, actor }) {
      if (!(await api.pipelines.get(actor.customer_id, params.id))) throw notFound('pipeline', params.id);
      const run = await api.orchestrator.executePipelineNow(params.id, actor);
      await writeAudit(api, actor, {
        action: 'execute',
        resource: 'pipeline',
        resource_id: params.id,
        after: run,
      });
      return run;
    },
  }),
];
