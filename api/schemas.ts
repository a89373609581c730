import { z } from 'zod';
import { EventStatus, MachineStatus, ManualMachineStatus } from '../domain/statuses';
import { HookRun } from '../domain/hooks';
import { Machine } from '../domain/machine';

/** Schemas of the API's own shapes (params, lists, errors, views). Resource inputs live in domain/. */

export const ID = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'is not a valid id');
export const IdParams = z.object({ id: ID });
export const EventMachineParams = z.object({ id: ID, machine_id: ID });

const IsoDate = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z',
});

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  continuation_token: z.string().min(1).max(2000).optional(),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), continuation_token: z.string().nullable() });
}

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown(),
    }),
  })
  .meta({
    id: 'Error',
    description: 'Every refusal. For 400, details is a list of {in, path, message}, one per bad field.',
  });

const STATUS_LIST = new RegExp(`^(${EventStatus.options.join('|')})(,(${EventStatus.options.join('|')}))*$`);
const StatusCsv = z
  .string()
  .regex(STATUS_LIST, `must be one or more of ${EventStatus.options.join(', ')}, comma-separated`);

export const EventListQuery = ListQuery.extend({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  /** Repeatable (`status=A&status=B`) or a comma list (`status=A,B`). */
  status: z.union([StatusCsv, z.array(StatusCsv).max(20)]).optional(),
  plan_id: ID.optional(),
  pipeline_id: ID.optional(),
  machine_id: ID.optional(),
});

export const AuditQuery = ListQuery.extend({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  resource: z.string().min(1).max(64).optional(),
  resource_id: ID.optional(),
  action: z.string().min(1).max(64).optional(),
  actor: ID.optional(),
});

export const RoleBindingQuery = ListQuery.extend({ api_key_id: ID.optional(), role_id: ID.optional() });
export const ApiKeyListQuery = ListQuery.extend({ customer_id: ID.optional() });

export const MachineView = Machine.extend({
  plans: z.array(z.string()).describe('ids of the plans that list this machine'),
  pipelines: z.array(z.string()).describe('ids of the pipelines that include one of those plans'),
}).meta({ id: 'Machine' });

export const EventSummaryView = z
  .object({
    id: z.string(),
    customer_id: z.string(),
    plan_id: z.string(),
    plan_name: z.string(),
    pipeline_id: z.string().optional(),
    pipeline_run_id: z.string().optional(),
    step: z.number().int().optional(),
    start: z.string(),
    end: z.string(),
    status: EventStatus,
    run_no: z.number().int(),
    started_at: z.string().optional(),
    finished_at: z.string().optional(),
    failure_reasons: z.array(z.string()),
    excluded_machine_ids: z.array(z.string()).optional(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'EventSummary' });

export const EventMachineView = z
  .object({
    machine_id: z.string(),
    name: z.string(),
    ssm_machine_id: z.string(),
    order: z.number().int(),
    status: MachineStatus,
    reason: z.string().optional(),
    started_at: z.string().optional(),
    ended_at: z.string().optional(),
    command_id: z.string().optional(),
    hooks: z.array(HookRun),
    installed: z.array(z.string()).optional(),
    rebooted: z.boolean().optional(),
    action_taken: z.string().optional(),
    run_no: z.number().int(),
  })
  .meta({ id: 'EventMachine' });

export const EventDetailView = EventSummaryView.extend({
  hooks: z.array(HookRun),
  machines: z.array(EventMachineView),
  timeline: z.array(
    z.object({ at: z.string(), type: z.string(), machine_id: z.string().optional(), message: z.string() }),
  ),
}).meta({ id: 'Event' });

export const CreateEventBody = z
  .strictObject({ plan_id: ID, start: IsoDate, end: IsoDate })
  .meta({ id: 'CreateEventInput' });

export const ExcludeBody = z
  .strictObject({ machine_ids: z.array(ID).min(1).max(20_000) })
  .meta({ id: 'ExcludeInput' });

export const ManualStatusBody = z
  .strictObject({
    manual_status: ManualMachineStatus,
    action_taken: z.string().trim().min(1).max(4000).optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.manual_status === 'SUCCESS_MANUAL' || b.manual_status === 'FAILED_MANUAL') && !b.action_taken)
      ctx.addIssue({ code: 'custom', path: ['action_taken'], message: `is required for ${b.manual_status}` });
  })
  .meta({ id: 'ManualStatusInput' });

export const PartialBody = z
  .strictObject({
    machine_ids: z
      .array(ID)
      .min(1)
      .max(20_000)
      .optional()
      .describe('machines to patch again; all by default'),
    pre_hooks: z.boolean().optional().describe('run the global pre hooks again (default true)'),
    post_hooks: z.boolean().optional().describe('run the global post hooks again (default true)'),
    host_hooks: z
      .record(ID, z.strictObject({ pre: z.boolean().optional(), post: z.boolean().optional() }))
      .optional()
      .describe('per machine id: run its pre/post host hooks again (all by default)'),
  })
  .meta({ id: 'PartialRunInput' });

export const PipelineRunView = z
  .object({ run_id: z.string(), event_ids: z.array(z.string()) })
  .meta({ id: 'PipelineRun' });

export const AuditRecordView = z
  .object({
    id: z.string(),
    at: z.string(),
    customer_id: z.string(),
    actor: z.string().describe('API key id'),
    action: z.string(),
    resource: z.string(),
    resource_id: z.string(),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    details: z.unknown().optional(),
  })
  .meta({ id: 'AuditRecord' });

/** PATCH bodies: any subset of the resource's fields; merged into the stored object, then validated whole. */
export const PatchBody = z.record(z.string(), z.unknown()).meta({
  id: 'MergePatch',
  description: 'Any subset of the fields of the resource input; merged, then the whole object is validated.',
});

export const HealthView = z.object({ status: z.string() });
export const ReadyView = z.object({ status: z.string(), checks: z.record(z.string(), z.string()) });

export function splitStatuses(q: string | string[] | undefined): EventStatus[] | undefined {
  if (q === undefined) return undefined;
  const list = (Array.isArray(q) ? q : [q]).flatMap((s) => s.split(','));
  return [...new Set(list)] as EventStatus[];
}

export function isoNormalised(s: string | undefined): string | undefined {
  return s === undefined ? undefined : new Date(s).toISOString();
}
