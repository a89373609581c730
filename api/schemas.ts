import { z } from 'zod';
import { EventStatus, MachineStatus, PlanOperation } from '../domain/statuses';
import { HookRun } from '../domain/hooks';
import { Machine } from '../domain/machine';
import { EventSummary, MachineOutOfService } from '../domain/event';
import { PatchManifest } from '../domain/manifest';
import { PromotionCheck } from '../domain/promotion-check';

/** Schemas of the API's own shapes (params, lists, errors, views). Resource inputs live in domain/. */

export const ID = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'is not a valid id');
export const IdParams = z.object({ id: ID });
export const EventMachineParams = z.object({ id: ID, machine_id: ID });

const IsoDateBase = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z',
});
/** The document states zod's own pattern: `format: date-time` alone also allows `t`/`z` and leap seconds. */
const IsoDate = IsoDateBase.meta({ pattern: IsoDateBase._zod.pattern.source });

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  // Our tokens are far shorter; a bound this low keeps a too-long one (percent-encoded) under the 16 KiB
  // header limit of the HTTP server, so it is refused with 400, not 431.
  continuation_token: z.string().min(1).max(512).optional(),
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

export const EventSummaryView = EventSummary.meta({ id: 'EventSummary' });

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
    hold: z
      .object({ reason: z.string(), until: z.string(), set_by: z.string() })
      .optional()
      .describe('The machine was on hold when the run began (status OMITTED): its hold then'),
    out_of_service: MachineOutOfService.optional().describe(
      "Plan out_of_service: the instance's Auto Scaling standby in this run (auto_scaling_group and state: entering, standby, in_service, enter_failed, exit_failed) and the load-balancer target groups it was taken out of (target_groups[].state: deregistering, draining, deregistered, registered, healthy, deregister_failed, register_failed, unhealthy)",
    ),
    hooks: z.array(HookRun),
    installed: z.array(z.string()).optional().describe('Titles of the patches this run installed'),
    patches: z
      .array(
        z.object({
          title: z.string(),
          kb_id: z.string(),
          classification: z.string(),
          severity: z.string(),
          state: z.string().describe('INSTALLED or INSTALLED_PENDING_REBOOT (SSM patch state)'),
          installed_time: z.string(),
          cve_ids: z.array(z.string()).optional(),
        }),
      )
      .optional()
      .describe(
        'AWS-RunPatchBaseline runs: the patches this run installed, from SSM DescribeInstancePatches',
      ),
    reboot_required: z.boolean().optional().describe('A patch of this run is pending a reboot'),
    rebooted: z
      .boolean()
      .optional()
      .describe('Derived: the run installed patches and none is pending a reboot (see docs/aws-fields.md)'),
    patched_at: z.string().optional().describe("When the patch command ended (SSM's ExecutionEndDateTime)"),
    compliance: z
      .object({
        missing_count: z.number().int(),
        failed_count: z.number().int(),
        installed_pending_reboot_count: z.number().int(),
        scanned_at: z.string(),
      })
      .optional()
      .describe(
        'Scan-only runs (COMPLIANT / NON_COMPLIANT): what the scan found, from SSM DescribeInstancePatchStates',
      ),
    action_taken: z.string().optional(),
    operating_system: z
      .string()
      .optional()
      .describe("botocore's OperatingSystem of the node when its patch command was sent"),
    snapshot_id: z
      .string()
      .optional()
      .describe('The SnapshotId its AWS-RunPatchBaseline command was sent with'),
    run_no: z.number().int(),
  })
  .meta({ id: 'EventMachine' });

export const EventDetailView = EventSummaryView.extend({
  hooks: z.array(HookRun),
  manifest: PatchManifest.optional().describe(
    'Set when a run ends: the patches installed on machines that ended SUCCESS / SUCCESS_MANUAL, per operating system (docs/behaviour.md#manifest)',
  ),
  promotion_check: PromotionCheck.optional().describe(
    'A pipeline step with promotion exact_previous_step or publish_date_cutoff, set when a run ends: the promoted set compared with what each machine installed (docs/behaviour.md#promotion-check)',
  ),
  machines: z.array(EventMachineView),
  timeline: z.array(
    z.object({ at: z.string(), type: z.string(), machine_id: z.string().optional(), message: z.string() }),
  ),
}).meta({ id: 'Event' });

export const CreateEventBody = z
  .strictObject({
    plan_id: ID,
    start: IsoDate,
    end: IsoDate,
    /** This event only: `scan` runs AWS-RunPatchBaseline Scan (no installs, no reboots); default the plan's. */
    operation: PlanOperation.optional(),
  })
  .meta({ id: 'CreateEventInput' });

export const ExcludeBody = z
  .strictObject({ machine_ids: z.array(ID).min(1).max(20_000) })
  .meta({ id: 'ExcludeInput' });

const ActionTaken = z
  .string({
    error: (iss) =>
      iss.input === undefined ? 'is required for SUCCESS_MANUAL and FAILED_MANUAL' : 'must be a string',
  })
  .trim()
  .min(1, 'must not be empty')
  .max(4000)
  .meta({ pattern: '\\S' });

/** One variant per status, so the document states the rule: SUCCESS_MANUAL and FAILED_MANUAL need action_taken. */
export const ManualStatusBody = z
  .discriminatedUnion('manual_status', [
    z.strictObject({ manual_status: z.literal('SUCCESS_MANUAL'), action_taken: ActionTaken }),
    z.strictObject({ manual_status: z.literal('FAILED_MANUAL'), action_taken: ActionTaken }),
    z.strictObject({ manual_status: z.literal('IN_PROGRESS_MANUAL'), action_taken: ActionTaken.optional() }),
    z.strictObject({ manual_status: z.literal('REBOOTING_MANUAL'), action_taken: ActionTaken.optional() }),
  ])
  .meta({ id: 'ManualStatusInput' });

/** All (true), none (false), or the named hooks of one phase (names are positions: pre_0, pre_1, …). */
function hookChoice(phase: 'pre' | 'post' | 'pre_host' | 'post_host', what: string) {
  return z
    .union([
      z.boolean(),
      z
        .array(
          z
            .string()
            .regex(new RegExp(`^${phase}_\\d+$`), `must be a ${phase} hook name (${phase}_0, ${phase}_1, …)`),
        )
        .max(100),
    ])
    .optional()
    .describe(
      `${what}: true = all (default), false = none, or the names of the ones to run (${phase}_0, ${phase}_1, …)`,
    );
}

export const PartialBody = z
  .strictObject({
    machine_ids: z
      .array(ID)
      .min(1)
      .max(20_000)
      .optional()
      .describe('machines to patch again; all by default'),
    pre_hooks: hookChoice('pre', 'the global pre hooks to run again'),
    post_hooks: hookChoice('post', 'the global post hooks to run again'),
    host_hooks: z
      .record(
        ID,
        z.strictObject({
          pre: hookChoice('pre_host', "the machine's pre host hooks to run again"),
          post: hookChoice('post_host', "the machine's post host hooks to run again"),
        }),
      )
      .optional()
      .describe('per machine id: which of its host hooks run again (a machine not listed runs all of them)'),
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
export const PatchBody = z.record(z.string(), z.unknown());

/** The schema without its optional/default/nullable wrappers, and whether one made it optional. */
function unwrapField(s: z.ZodType): { base: z.ZodType; optional: boolean } {
  let cur = s;
  let optional = false;
  for (;;) {
    const def = (cur as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) {
      optional = true;
      cur = def.innerType;
    } else return { base: cur, optional };
  }
}

/**
 * The JSON merge patch (RFC 7396) of an input object, as its own schema: every field optional, no unknown
 * fields, `null` (removal) only where the input allows the field to be absent, and nested objects patched field by
 * field in turn. What it cannot state — how the merged object fits the stored one (e.g. a plan's `dynamic` next to
 * its stored `machines`) — answers 409.
 */
export function mergePatchOf(input: z.ZodObject): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, field] of Object.entries(input.shape as Record<string, z.ZodType>)) {
    const { base, optional } = unwrapField(field);
    const patched = base instanceof z.ZodObject ? mergePatchOf(base) : base;
    shape[k] = (optional ? patched.nullable() : patched).optional();
  }
  return z.strictObject(shape);
}

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
