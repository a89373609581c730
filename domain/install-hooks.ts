import type { Machine } from './machine';
import type { PatchCommandSpec } from './patch-command';

/**
 * Seed 002: AWS-RunPatchBaselineWithHooks, AWS's wrapper around AWS-RunPatchBaseline with three lifecycle hooks
 * (AWS: "SSM Command document for patching: AWS-RunPatchBaselineWithHooks"). Its steps, in order: a Scan; a
 * check of the local patch states; the PreInstallHookDocName document; Install with NoReboot; the
 * PostInstallHookDocName document (after the install, before any reboot); a reboot check; Install with
 * RebootIfNeeded (the reboot, when RebootOption allows it and something needs it); the OnExitHookDocName
 * document (after the reboot). With nothing missing and nothing pending a reboot, it goes straight to the on-exit
 * hook. A failed hook step skips to the on-exit hook and the command ends Failed.
 *
 * Its parameters are Operation, SnapshotId, RebootOption and the three hook names: no BaselineOverride and no
 * InstallOverrideList, so patch filters cannot be combined with it (machineSettingIssues).
 */
export const WITH_HOOKS_DOCUMENT = 'AWS-RunPatchBaselineWithHooks';

export function isWithHooksDocument(name: string): boolean {
  return name === WITH_HOOKS_DOCUMENT || name.endsWith(`:document/${WITH_HOOKS_DOCUMENT}`);
}

export function usesInstallHooks(m: Pick<Machine, 'install_hooks'>): boolean {
  const h = m.install_hooks;
  return Boolean(h && (h.pre_install || h.post_install || h.on_exit));
}

/** The machine's patch command with its install hooks; reboot_policy maps as for AWS-RunPatchBaseline. */
export function withHooksCommand(m: Pick<Machine, 'install_hooks' | 'reboot_policy'>): PatchCommandSpec {
  const h = m.install_hooks ?? {};
  return {
    kind: 'baseline',
    documentName: WITH_HOOKS_DOCUMENT,
    parameters: {
      Operation: ['Install'],
      RebootOption: [
        m.reboot_policy === 'IF_NEEDED' || m.reboot_policy === undefined ? 'RebootIfNeeded' : 'NoReboot',
      ],
      ...(h.pre_install ? { PreInstallHookDocName: [h.pre_install] } : {}),
      ...(h.post_install ? { PostInstallHookDocName: [h.post_install] } : {}),
      ...(h.on_exit ? { OnExitHookDocName: [h.on_exit] } : {}),
    },
  };
}

/** Which hook a step of the document is, by the parameter it runs (for the timeline); undefined for the others. */
export function hookOfStep(
  stepName: string,
): 'PreInstallHookDocName' | 'PostInstallHookDocName' | 'OnExitHookDocName' | undefined {
  if (/pre.?install/i.test(stepName)) return 'PreInstallHookDocName';
  if (/post.?install/i.test(stepName)) return 'PostInstallHookDocName';
  if (/on.?exit/i.test(stepName)) return 'OnExitHookDocName';
  return undefined;
}
