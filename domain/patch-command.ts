import type { Machine } from './machine';

/**
 * The SSM command that patches one machine (product.md §3.4): AWS-RunPatchBaseline Install with the
 * machine's settings, or its `s3_custom_script`, or its `custom_document_arn`.
 */
export type PatchCommandSpec =
  | { kind: 'baseline'; documentName: 'AWS-RunPatchBaseline'; parameters: Record<string, string[]> }
  | {
      kind: 'script';
      documentName: 'AWS-RunShellScript' | 'AWS-RunPowerShellScript';
      parameters: { commands: string[] };
      source: string;
    }
  | { kind: 'document'; documentName: string; parameters: Record<string, string[]> };

export type Platform = 'Linux' | 'Windows';

type BaselineSettings = Pick<
  Machine,
  | 'reboot_policy'
  | 'published_days_old'
  | 'update_severity'
  | 'update_category'
  | 'include_kbs'
  | 'exclude_kbs'
>;

/**
 * Which of the three a machine uses. A custom script wins over a custom document, and either over the
 * baseline: both are explicit requests to replace the default, and the script is the more specific one.
 */
export function patchCommandKind(
  m: Pick<Machine, 's3_custom_script' | 'custom_document_arn'>,
): PatchCommandSpec['kind'] {
  if (m.s3_custom_script) return 'script';
  if (m.custom_document_arn) return 'document';
  return 'baseline';
}

/**
 * AWS-RunPatchBaseline takes only Operation, RebootOption, SnapshotId, InstallOverrideList, BaselineOverride
 * and AssociationId. Which patches are approved (severity, classification, age, KB lists) is decided by the
 * patch baseline in effect on the node, not by command parameters. So:
 *
 * - reboot_policy NEVER → NoReboot; IF_NEEDED → RebootIfNeeded.
 * - reboot_policy ALWAYS → RebootIfNeeded. The document has no "always" option; RebootIfNeeded reboots
 *   whenever anything was installed (or a patch is pending a reboot), which covers every case where a
 *   reboot matters. A node that installed nothing is not rebooted; patchSettingWarnings says so.
 *   (A follow-up AWS-RunShellScript reboot would be a second command in the window — not done.)
 * - published_days_old, update_severity, update_category, include_kbs, exclude_kbs are NOT passed:
 *   InstallOverrideList and BaselineOverride both need a file in S3 (YAML list / JSON baselines), which a
 *   pure builder can't write. unsupportedFilters lists them so the API/UI can warn; a later version can
 *   upload a BaselineOverride from an activity.
 */
export function baselineCommand(m: BaselineSettings): PatchCommandSpec {
  return {
    kind: 'baseline',
    documentName: 'AWS-RunPatchBaseline',
    parameters: {
      Operation: ['Install'],
      RebootOption: [m.reboot_policy === 'NEVER' ? 'NoReboot' : 'RebootIfNeeded'],
    },
  };
}

const FILTER_FIELDS = [
  'published_days_old',
  'update_severity',
  'update_category',
  'include_kbs',
  'exclude_kbs',
] as const;
export type UnsupportedFilter = (typeof FILTER_FIELDS)[number];

/** The machine's patch filters that baselineCommand cannot pass to SSM (set and non-empty ones only). */
export function unsupportedFilters(m: Partial<BaselineSettings>): UnsupportedFilter[] {
  return FILTER_FIELDS.filter((f) => {
    const v = m[f];
    return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null;
  });
}

/**
 * Human-readable caveats for a machine's patch settings, for API responses and the UI. Empty when the
 * machine uses a custom script or document (then none of the baseline settings apply at all).
 */
export function patchSettingWarnings(
  m: Partial<BaselineSettings> & Pick<Machine, 's3_custom_script' | 'custom_document_arn'>,
): { field: string; message: string }[] {
  if (patchCommandKind(m) !== 'baseline') return [];
  const out: { field: string; message: string }[] = unsupportedFilters(m).map((field) => ({
    field,
    message: `${field} is not applied: AWS-RunPatchBaseline installs what the node's patch baseline approves; set this rule in the patch baseline`,
  }));
  if (m.reboot_policy === 'ALWAYS')
    out.push({
      field: 'reboot_policy',
      message:
        'ALWAYS is run as RebootIfNeeded: the machine reboots when anything was installed, not when nothing was',
    });
  return out;
}

/**
 * A custom script run instead of the baseline (Linux: shell; Windows: PowerShell). SSM writes the lines back
 * into one script file, so splitting by line is lossless; a BOM and one trailing newline are dropped.
 * Throws if the script is empty: §3.4 makes a command that can't be built an OMITTED machine.
 */
export function scriptCommand(platform: Platform, scriptBody: string, source: string): PatchCommandSpec {
  const body = scriptBody.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
  if (body.trim() === '') throw new Error(`script ${source} is empty`);
  return {
    kind: 'script',
    documentName: platform === 'Windows' ? 'AWS-RunPowerShellScript' : 'AWS-RunShellScript',
    parameters: { commands: body.split(/\r?\n/) },
    source,
  };
}

/** A custom SSM document: SendCommand takes its name or, for a shared document, its full ARN, as DocumentName. */
export function documentCommand(arn: string): PatchCommandSpec {
  const name = arn.trim();
  if (name === '') throw new Error('custom_document_arn is empty');
  return { kind: 'document', documentName: name, parameters: {} };
}

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;

/** `s3://bucket/key/with/slashes` → {bucket, key}; undefined for anything else (no key, bad bucket name, other scheme). */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = S3_URI.exec(uri.trim());
  if (!m) return undefined;
  return { bucket: m[1], key: m[2] };
}
