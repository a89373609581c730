import { z } from 'zod';

/**
 * Shapes accepted by the lab's control API and fleet files (one set of schemas for both, so a fleet file is
 * exactly a batch of control calls). Every `_s` field is in lab seconds: real time = lab time / speed.
 */

export const MACHINE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;
export const MachineId = z
  .string()
  .regex(MACHINE_ID, 'must be an SSM managed instance ID (i-… or mi-… with hex digits)');

export const DEFAULT_INSTALLED = ['openssl-3.0.13', 'curl-8.5.0'];

export const CommandOutcome = z.enum(['success', 'no_updates', 'failed', 'hang']);
export type CommandOutcome = z.infer<typeof CommandOutcome>;

export const CommandEntry = z.strictObject({
  duration_s: z.number().min(0).default(5),
  outcome: CommandOutcome.default('success'),
  /** Packages the patch run reports as installed; ignored for no_updates. */
  installed: z.array(z.string().min(1)).default(DEFAULT_INSTALLED),
  /** Replaces the generated stdout (patching) or is the script's stdout. */
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  /** After the main duration the machine is ConnectionLost this long while the command stays InProgress. */
  reboot_s: z.number().min(0).optional(),
});
export type CommandEntry = z.infer<typeof CommandEntry>;

export const DEFAULT_COMMAND: CommandEntry = {
  duration_s: 5,
  outcome: 'success',
  installed: DEFAULT_INSTALLED,
};

export const PatchInfo = z.strictObject({
  classification: z.string().min(1).optional(),
  /** SEVERITY / MSRC_SEVERITY / PRIORITY value, per the node's OS. */
  severity: z.string().min(1).optional(),
  product: z.string().min(1).optional(),
  kb_id: z.string().min(1).optional(),
  cve_ids: z.array(z.string().regex(/^CVE-\d{4}-\d{4,}$/)).optional(),
  /** Days before now the patch was released (ApproveAfterDays compares with it); default 30. */
  released_days_ago: z.number().min(0).optional(),
  /**
   * Linux: false for a package that comes with no update notice (not in the repository's updateinfo.xml, or
   * outside Ubuntu/Debian's security pocket). Patch Manager counts every package with a notice as security-related
   * whatever its classification, and approves one without only when the rule has `EnableNonSecurity` (or, for
   * ApprovedPatches, the baseline has `ApprovedPatchesEnableNonSecurity`). Default true.
   */
  update_notice: z.boolean().optional(),
});
/**
 * A patch the node's baseline approves and the node lacks: a Scan (or an Install, which scans first) reports it
 * MISSING through DescribeInstancePatches, counts it in MissingCount, and DescribeAvailablePatches gives its
 * release date; it stops being missing once an Install run installed a package with its KB id.
 */
export const MissingPatch = z.strictObject({
  title: z.string().min(1),
  /** Windows: `KB5034441`; Linux: the package with its architecture (`openssl.x86_64`). Default from the title. */
  kb_id: z.string().min(1).optional(),
  classification: z.string().min(1).optional(),
  severity: z.string().min(1).optional(),
  /** YYYY-MM-DD or an ISO instant. */
  release_date: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be a date'),
  cve_ids: z.array(z.string().min(1)).optional(),
});
export type MissingPatch = z.infer<typeof MissingPatch>;

export const MachineBehaviour = z.strictObject({
  platform: z.enum(['Linux', 'Windows']).default('Linux'),
  online: z.boolean().default(true),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
  name: z.string().min(1).max(255).optional(),
  /** OS name reported by DescribeInstanceInformation; a per-platform default otherwise. */
  platform_name: z.string().min(1).optional(),
  /**
   * What a command sent while the machine is offline ends as. SSM reports Undeliverable for a registered node
   * whose agent does not answer; DeliveryTimedOut (after the command's TimeoutSeconds) is kept for tests.
   */
  offline_result: z.enum(['Undeliverable', 'DeliveryTimedOut']).default('Undeliverable'),
  commands: z.array(CommandEntry).min(1).default([DEFAULT_COMMAND]),
  /**
   * Properties of the machine's patches, by the package string its `installed` lists use; unset ones are
   * derived from the package and the OS (lab/patch-catalog.ts). A BaselineOverride's rules read them.
   */
  patches: z.record(z.string().min(1), PatchInfo).default({}),
  /**
   * Patches the node lacks (see MissingPatch). Unset: a Scan run reports its command entry's `installed`
   * packages as missing (what an Install would put on the node), with release dates derived from their names.
   */
  missing: z.array(MissingPatch).max(5_000).optional(),
});
export type MachineBehaviour = z.infer<typeof MachineBehaviour>;
export type MachineBehaviourInput = z.input<typeof MachineBehaviour>;

/** `status`: an HTTP status, or "error" for a Lambda function error (Unhandled). */
export const HookResponse = z.strictObject({
  delay_s: z.number().min(0).default(0),
  status: z.union([z.number().int().min(100).max(599), z.literal('error')]).default(200),
  body: z.unknown().optional(),
});
export type HookResponse = z.infer<typeof HookResponse>;

export const DEFAULT_HOOK_RESPONSE: HookResponse = {
  delay_s: 0,
  status: 200,
  body: { code: 200, msg: 'ok', output: '' },
};

const Responses = z.array(HookResponse).default([]);

export const LambdaConfig = z.strictObject({ responses: Responses });
export type LambdaConfigInput = z.input<typeof LambdaConfig>;

export const AzureConfig = z.strictObject({
  /** When set, calls must carry it as `?code=` (or the x-functions-key header), as Azure function keys do. */
  code: z.string().min(1).optional(),
  responses: Responses,
});
export type AzureConfigInput = z.input<typeof AzureConfig>;

const HEX_PREFIX = /^(i-|mi-)[0-9a-f]*$/;

export const GenerateSpec = z
  .strictObject({
    count: z.number().int().min(1).max(200_000),
    /** `i-` or `mi-` plus optional hex digits; the rest of the 17 hex digits is the machine's index. */
    prefix: z.string().regex(HEX_PREFIX, 'must be "i-" or "mi-" followed by hex digits').default('i-0'),
    behaviour: MachineBehaviour.default(MachineBehaviour.parse({})),
  })
  .superRefine((g, ctx) => {
    const free = 17 - (g.prefix.length - (g.prefix.startsWith('mi-') ? 3 : 2));
    if (free < 1 || 16 ** Math.min(free, 13) < g.count) {
      ctx.addIssue({
        code: 'custom',
        path: ['prefix'],
        message: `leaves too few hex digits for ${g.count} machines`,
      });
    }
  });
export type GenerateSpec = z.infer<typeof GenerateSpec>;

/** A customer's SSM document the lab accepts in SendCommand (AWS-owned ones are built in: lab/documents.ts). */
export const DocumentSpec = z.strictObject({
  /** Step names (plugin names) in order; a step with a platform runs only there. */
  steps: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(100),
        platform: z.enum(['Linux', 'Windows', 'MacOS']).optional(),
      }),
    )
    .min(1)
    .default([{ name: 'runCommands' }]),
  parameters: z
    .record(
      z.string().min(1),
      z.strictObject({ allowed: z.array(z.string()).optional(), required: z.boolean().optional() }),
    )
    .default({}),
});
export type DocumentSpecInput = z.input<typeof DocumentSpec>;

/** `s3` keys are "bucket/key" → text content. */
export const LabFleet = z.strictObject({
  description: z.string().optional(),
  machines: z.record(MachineId, MachineBehaviour).default({}),
  generate: z.union([GenerateSpec, z.array(GenerateSpec)]).optional(),
  lambdas: z.record(z.string().min(1), LambdaConfig).default({}),
  /** Customer documents by name (SendCommand also takes them by ARN). */
  documents: z.record(z.string().regex(/^[a-zA-Z0-9_.-]{3,128}$/), DocumentSpec).default({}),
  azure: z.record(z.string().min(1), AzureConfig).default({}),
  s3: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/, 'must be "bucket/key"'), z.string())
    .default({}),
});
export type LabFleet = z.input<typeof LabFleet>;
export type ParsedLabFleet = z.infer<typeof LabFleet>;

export const SsmFaults = z.strictObject({
  throttle_rate: z.number().min(0).max(1).default(0),
  error_5xx_rate: z.number().min(0).max(1).default(0),
  reset_rate: z.number().min(0).max(1).default(0),
  delay_ms: z.number().int().min(0).max(120_000).default(0),
});

export const Faults = z.strictObject({
  ssm: SsmFaults.default(SsmFaults.parse({})),
  /** Lab seconds after SendCommand during which its invocations are unknown (InvocationDoesNotExist). */
  unknown_after_send_s: z.number().min(0).default(0),
});
export type Faults = z.infer<typeof Faults>;
export type FaultsInput = z.input<typeof Faults>;

export const ResetRequest = z.strictObject({ reload_fleet: z.boolean().default(false) });

/** Machine IDs generated for a `generate` spec, in order. */
export function generatedIds(g: Pick<GenerateSpec, 'count' | 'prefix'>): string[] {
  const digits = 17 - (g.prefix.length - (g.prefix.startsWith('mi-') ? 3 : 2));
  const ids: string[] = [];
  for (let i = 0; i < g.count; i++) ids.push(g.prefix + i.toString(16).padStart(digits, '0'));
  return ids;
}
