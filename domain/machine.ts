import { z } from 'zod';
import { MachineHold } from './machine-hold';

export const SSM_MACHINE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const IAM_ROLE_ARN = /^arn:aws[a-zA-Z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/;
/** SSM document parameter names: `{{ name }}` placeholders, letters, digits, `_`, `.` and `-`. */
const SSM_PARAMETER_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
/** An SSM document by name or ARN, as AWS-RunPatchBaselineWithHooks' hook parameters take it (their allowedPattern). */
const SSM_DOCUMENT_REF =
  /^([a-zA-Z0-9_\-.]{3,128}|arn:[a-z0-9][-.a-z0-9]{0,62}:[a-z0-9][-.a-z0-9]{0,62}:([a-z0-9][-.a-z0-9]{0,62})?:([a-z0-9][-.a-z0-9]{0,62})?:document\/[a-zA-Z0-9_\-.]{3,128})$/;
const DocumentRef = z.string().regex(SSM_DOCUMENT_REF, 'must be an SSM document name or document ARN');
const KB = /^(KB\d{6,8}|[A-Za-z0-9._+:-]{1,128})$/;

export const Provider = z.enum(['AWS', 'AZURE', 'ON_PREMISE']);
export const RebootPolicy = z.enum(['IF_NEEDED', 'ALWAYS', 'NEVER']);
export type RebootPolicy = z.infer<typeof RebootPolicy>;

export const MachineAccess = z.strictObject({
  ssm_machine_id: z.string().regex(SSM_MACHINE_ID, 'must be an SSM managed instance ID (i-… or mi-…)'),
  region: z.string().regex(REGION, 'must be an AWS region such as eu-west-1'),
  iam_role: z.string().regex(IAM_ROLE_ARN, 'must be an IAM role ARN').optional(),
});

/** Fields a client sends to create or replace a machine. docs/behaviour.md#machine. */
export const MachineInput = z.strictObject({
  // The pattern states the trim in the OpenAPI document: a name of spaces only is empty.
  name: z.string().trim().min(1).max(255).meta({ pattern: '\\S' }),
  description: z.string().max(2000).optional(),
  provider: Provider.default('AWS'),
  metadata: z
    .array(z.strictObject({ key: z.string().min(1).max(128), value: z.string().max(1024) }))
    .max(50)
    .default([]),
  access: MachineAccess,
  subscription_id: z.string().max(128).optional(),
  subscription_name: z.string().max(255).optional(),
  resource_group_name: z.string().max(255).optional(),
  reboot_policy: RebootPolicy.default('IF_NEEDED'),
  // Patch filters, sent as an AWS-RunPatchBaseline BaselineOverride (domain/baseline-override.ts); the limits
  // are AWS's (botocore SSM model: ApproveAfterDays 0-360, PatchFilterValueList ≤ 20, PatchIdList ≤ 50 of ≤ 100).
  published_days_old: z
    .number()
    .int()
    .min(0)
    .max(360, 'SSM approves patches at most 360 days after release (ApproveAfterDays 0-360)')
    .optional()
    .describe('BaselineOverride ApproveAfterDays: approve patches this many days after release'),
  update_severity: z
    .array(z.string().min(1).max(64))
    .max(20)
    .optional()
    .describe(
      'BaselineOverride severity filter (Windows MSRC_SEVERITY, Linux SEVERITY, Ubuntu/Debian PRIORITY); values of one operating system family, see docs/aws-fields.md',
    ),
  update_category: z
    .array(z.string().min(1).max(64))
    .max(20)
    .optional()
    .describe('BaselineOverride CLASSIFICATION filter; values of one operating system family'),
  include_kbs: z
    .array(z.string().max(100).regex(KB, 'must be a KB or package name'))
    .max(50, 'a BaselineOverride holds at most 50 ApprovedPatches')
    .optional()
    .describe('BaselineOverride ApprovedPatches'),
  exclude_kbs: z
    .array(z.string().max(100).regex(KB, 'must be a KB or package name'))
    .max(50, 'a BaselineOverride holds at most 50 RejectedPatches')
    .optional()
    .describe(
      'BaselineOverride RejectedPatches (RejectedPatchesAction BLOCK); none may also be in include_kbs',
    ),
  enable_non_security: z
    .boolean()
    .optional()
    .describe(
      "BaselineOverride EnableNonSecurity on every Linux baseline's rule: true also approves packages without a security update notice; false only security-related ones. Unset: true when update_category names a non-security Linux class or no severity/category is set. Linux only: a Windows node gets no baseline from a machine that sets it",
    ),
  s3_custom_script: z.string().regex(S3_URI, 'must be an s3://bucket/key URI').optional(),
  custom_document_arn: z.string().min(1).max(1024).optional(),
  /**
   * SendCommand's Parameters for the custom document (name → values, as SSM takes them). Only with
   * custom_document_arn (machineSettingIssues refuses them otherwise: they would be sent nowhere).
   */
  /**
   * Seed 002: patch with AWS-RunPatchBaselineWithHooks and these SSM documents as its lifecycle hooks
   * (PreInstallHookDocName / PostInstallHookDocName / OnExitHookDocName; unset ones are AWS-Noop). They run on
   * the machine inside the patch command; host hooks run around it (docs/behaviour.md#install-hooks).
   */
  install_hooks: z
    .strictObject({
      pre_install: DocumentRef.optional(),
      post_install: DocumentRef.optional(),
      on_exit: DocumentRef.optional(),
    })
    .optional(),
  custom_document_parameters: z
    .record(
      z.string().regex(SSM_PARAMETER_NAME, 'must be an SSM document parameter name (letters, digits, _ . -)'),
      z.array(z.string().max(4096)).max(100),
    )
    .refine((r) => Object.keys(r).length <= 50, 'must have at most 50 parameters')
    // The key rules in the OpenAPI document (zod's record keys are not carried over).
    .meta({ maxProperties: 50, propertyNames: { pattern: SSM_PARAMETER_NAME.source } })
    .optional(),
});
export type MachineInput = z.infer<typeof MachineInput>;

/** A machine as stored and returned. */
export const Machine = MachineInput.extend({
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  ping_status: z
    .string()
    .optional()
    .describe(
      "SSM's PingStatus (Online, ConnectionLost, Inactive) from DescribeInstanceInformation; NotRegistered when SSM does not know the ID; Unknown when the look-up failed (see ping_error)",
    ),
  ping_error: z.string().optional().describe('Why the last look-up gave no PingStatus'),
  pinged_at: z.string().optional().describe('When ping_status was last looked up'),
  /** The machine's latest patching: its event, status and when it ended (the patch command's end by SSM's clock when known). */
  last_patching: z.object({ event_id: z.string(), status: z.string(), at: z.string().optional() }).optional(),
  /** Present while the machine is on hold (docs/behaviour.md#machine-holds); an expired hold is not shown. */
  hold: MachineHold.optional(),
});
export type Machine = z.infer<typeof Machine>;

/**
 * The input of a machine that a dynamic plan's scan found in SSM and nobody registered: SSM's computer
 * name, an on-premises (hybrid) provider for `mi-` IDs, and every other field at its default.
 */
export function discoveredMachineInput(found: {
  ssmMachineId: string;
  computerName?: string;
  region: string;
  iamRole?: string;
}): MachineInput {
  return MachineInput.parse({
    name: (found.computerName?.trim() || found.ssmMachineId).slice(0, 255),
    provider: found.ssmMachineId.startsWith('mi-') ? 'ON_PREMISE' : 'AWS',
    access: {
      ssm_machine_id: found.ssmMachineId,
      region: found.region,
      ...(found.iamRole ? { iam_role: found.iamRole } : {}),
    },
  });
}
