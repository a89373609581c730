import type { Machine } from './machine';
import { payloadPrelude, withPrelude } from './script-hook-payload';

/**
 * The SSM command that patches one machine (docs/behaviour.md#one-machine): AWS-RunPatchBaseline Install with the
 * machine's settings, or its `s3_custom_script`, or its `custom_document_arn`.
 */
export type PatchCommandSpec =
  | {
      kind: 'baseline';
      documentName: 'AWS-RunPatchBaseline' | 'AWS-RunPatchBaselineWithHooks';
      parameters: Record<string, string[]>;
    }
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
 * - reboot_policy ALWAYS → NoReboot, then an explicit reboot command (rebootCommand) once the patch command
 *   succeeded: the document has no "always" option, and RebootIfNeeded skips the reboot when nothing was
 *   installed. The reboot goes through the machine's command queue like any command (needsExplicitReboot).
 * - published_days_old, update_severity, update_category, include_kbs, exclude_kbs, enable_non_security are not
 *   command parameters:
 *   activities/baseline-override.ts renders them into a BaselineOverride file in S3 (domain/baseline-override.ts)
 *   and adds its s3:// URL as the BaselineOverride parameter.
 */
export function baselineCommand(m: BaselineSettings): PatchCommandSpec {
  return {
    kind: 'baseline',
    documentName: 'AWS-RunPatchBaseline',
    parameters: {
      Operation: ['Install'],
      RebootOption: [
        m.reboot_policy === 'IF_NEEDED' || m.reboot_policy === undefined ? 'RebootIfNeeded' : 'NoReboot',
      ],
    },
  };
}

/**
 * A scan-only event's command (plan `operation: scan`): AWS-RunPatchBaseline `Operation=Scan`. A Scan installs
 * nothing and never reboots (AWS documents RebootOption as ignored for Scan; NoReboot says so explicitly). No
 * BaselineOverride: a run with one uploads no compliance data outside patch policies, and the compliance data is
 * the scan's result. So the node is held to its own patch baseline, not to the machine's patch filters.
 */
export function scanCommand(): PatchCommandSpec {
  return {
    kind: 'baseline',
    documentName: 'AWS-RunPatchBaseline',
    parameters: { Operation: ['Scan'], RebootOption: ['NoReboot'] },
  };
}

/**
 * reboot_policy ALWAYS: after a successful patch command (baseline, custom script or custom document alike),
 * the machine is rebooted by a command of its own.
 */
export function needsExplicitReboot(m: Pick<Machine, 'reboot_policy'>): boolean {
  return m.reboot_policy === 'ALWAYS';
}

/**
 * The explicit reboot, the way AWS documents it for Run Command ("Handling reboots when running commands"):
 * a script that exits 194 (Linux) or 3010 (Windows) asks the SSM agent to reboot the node; the agent tells SSM
 * the connection will drop, reboots, and runs the script again afterwards. So the script is idempotent: a
 * marker file (named after the request, so two reboots never share one) says "this is the run after the
 * reboot", which exits 0 and ends the command Success.
 */
export function rebootCommand(platform: Platform, marker: string): PatchCommandSpec {
  const id = marker.replace(/[^a-zA-Z0-9_-]/g, '').slice(0, 64);
  if (platform === 'Windows')
    return {
      kind: 'script',
      documentName: 'AWS-RunPowerShellScript',
      source: 'reboot',
      parameters: {
        commands: [
          `$marker = Join-Path $env:ProgramData 'Amazon\\SSM\\patchwave-reboot-${id}'`,
          'if (Test-Path $marker) {',
          '  Remove-Item $marker -Force',
          "  Write-Output ('Patchwave: back after the reboot at ' + (Get-Date).ToUniversalTime().ToString('o'))",
          '  exit 0',
          '}',
          'New-Item -ItemType File -Path $marker -Force | Out-Null',
          "Write-Output 'Patchwave: rebooting (reboot_policy ALWAYS)'",
          'exit 3010',
        ],
      },
    };
  return {
    kind: 'script',
    documentName: 'AWS-RunShellScript',
    source: 'reboot',
    parameters: {
      commands: [
        `marker=/var/tmp/patchwave-reboot-${id}`,
        'if [ -f "$marker" ]; then',
        '  rm -f "$marker"',
        '  echo "Patchwave: back after the reboot at $(date -u +%Y-%m-%dT%H:%M:%SZ)"',
        '  exit 0',
        'fi',
        'touch "$marker"',
        'echo "Patchwave: rebooting (reboot_policy ALWAYS)"',
        'exit 194',
      ],
    },
  };
}

/**
 * Human-readable caveats for a machine's patch settings, for API responses and the UI. Empty when the
 * machine uses a custom script or document (then none of the baseline settings apply at all).
 */
export function patchSettingWarnings(
  m: Partial<BaselineSettings> & Pick<Machine, 's3_custom_script' | 'custom_document_arn'>,
): { field: string; message: string }[] {
  if (patchCommandKind(m) !== 'baseline') return [];
  // Patch filters are sent (as a BaselineOverride): no caveat for them.
  const out: { field: string; message: string }[] = [];
  return out;
}

/**
 * A custom script run instead of the baseline (Linux: shell; Windows: PowerShell). SSM writes the lines back
 * into one script file, so splitting by line is lossless; a BOM and one trailing newline are dropped.
 * Throws if the script is empty: docs/behaviour.md#one-machine makes a command that can't be built an OMITTED machine.
 */
export function scriptCommand(
  platform: Platform,
  scriptBody: string,
  source: string,
  /** A script host hook's payload, base64 (domain/script-hook-payload.ts); patch scripts get none. */
  payloadBase64?: string,
): PatchCommandSpec {
  const body = scriptBody.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
  if (body.trim() === '') throw new Error(`script ${source} is empty`);
  const lines = body.split(/\r?\n/);
  return {
    kind: 'script',
    documentName: platform === 'Windows' ? 'AWS-RunPowerShellScript' : 'AWS-RunShellScript',
    parameters: {
      commands:
        payloadBase64 === undefined ? lines : withPrelude(lines, payloadPrelude(platform, payloadBase64)),
    },
    source,
  };
}

/**
 * A custom SSM document: SendCommand takes its name or, for a shared document, its full ARN, as DocumentName,
 * and the machine's custom_document_parameters as Parameters (SSM checks them against the document).
 */
export function documentCommand(arn: string, parameters: Record<string, string[]> = {}): PatchCommandSpec {
  const name = arn.trim();
  if (name === '') throw new Error('custom_document_arn is empty');
  return { kind: 'document', documentName: name, parameters: { ...parameters } };
}

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;

/** `s3://bucket/key/with/slashes` → {bucket, key}; undefined for anything else (no key, bad bucket name, other scheme). */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = S3_URI.exec(uri.trim());
  if (!m) return undefined;
  return { bucket: m[1], key: m[2] };
}

/**
 * The document step whose result GetCommandInvocation must be asked for (its PluginName). AWS-RunPatchBaseline
 * has one step per operating system (PatchWindows, PatchLinux, PatchMacOS, each with a platform precondition);
 * for a multi-step document GetCommandInvocation without PluginName answers InvalidPluginName. Single-step
 * documents (AWS-RunShellScript, AWS-RunPowerShellScript) need none; for a custom document we do not know its
 * steps, so the follower asks SSM which step ran when GetCommandInvocation says InvalidPluginName.
 * `platformType` is DescribeInstanceInformation's PlatformType (Windows | Linux | MacOS).
 */
export function documentStepName(documentName: string, platformType: string | undefined): string | undefined {
  const baseline =
    documentName === 'AWS-RunPatchBaseline' || documentName.endsWith(':document/AWS-RunPatchBaseline');
  if (!baseline) return undefined;
  if (platformType === 'Windows') return 'PatchWindows';
  if (platformType === 'MacOS') return 'PatchMacOS';
  return 'PatchLinux';
}
