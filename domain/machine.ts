import { z } from 'zod';

export const SSM_MACHINE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const IAM_ROLE_ARN = /^arn:aws[a-zA-Z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/;
const KB = /^(KB\d{6,8}|[A-Za-z0-9._+:-]{1,128})$/;

export const Provider = z.enum(['AWS', 'AZURE', 'ON_PREMISE']);
export const RebootPolicy = z.enum(['IF_NEEDED', 'ALWAYS', 'NEVER']);
export type RebootPolicy = z.infer<typeof RebootPolicy>;

export const MachineAccess = z.strictObject({
  ssm_machine_id: z.string().regex(SSM_MACHINE_ID, 'must be an SSM managed instance ID (i-… or mi-…)'),
  region: z.string().regex(REGION, 'must be an AWS region such as eu-west-1'),
  iam_role: z.string().regex(IAM_ROLE_ARN, 'must be an IAM role ARN').optional(),
});

/** Fields a client sends to create or replace a machine. product.md §1 "Machine". */
export const MachineInput = z.strictObject({
  name: z.string().trim().min(1).max(255),
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
  published_days_old: z.number().int().min(0).max(3650).optional(),
  update_severity: z.array(z.string().min(1).max(64)).max(20).optional(),
  update_category: z.array(z.string().min(1).max(64)).max(20).optional(),
  include_kbs: z.array(z.string().regex(KB, 'must be a KB or package name')).max(500).optional(),
  exclude_kbs: z.array(z.string().regex(KB, 'must be a KB or package name')).max(500).optional(),
  s3_custom_script: z.string().regex(S3_URI, 'must be an s3://bucket/key URI').optional(),
  custom_document_arn: z.string().min(1).max(1024).optional(),
});
export type MachineInput = z.infer<typeof MachineInput>;

/** A machine as stored and returned. */
export const Machine = MachineInput.extend({
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  ping_status: z.string().optional(),
  ping_error: z.string().optional(),
  last_patching: z.object({ event_id: z.string(), status: z.string() }).optional(),
});
export type Machine = z.infer<typeof Machine>;
