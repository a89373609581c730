import {
  hookOfStep,
  isWithHooksDocument,
  usesInstallHooks,
  withHooksCommand,
} from '../../../domain/install-hooks';
import { machineSettingIssues } from '../../../domain/machine-settings';

describe('AWS-RunPatchBaselineWithHooks (seed 002)', () => {
  it('sends Operation, RebootOption and only the hooks that are set (AWS-Noop is the default of the others)', () => {
    expect(
      withHooksCommand({
        reboot_policy: 'NEVER',
        install_hooks: { pre_install: 'Stop-App', on_exit: 'Start-App' },
      }),
    ).toEqual({
      kind: 'baseline',
      documentName: 'AWS-RunPatchBaselineWithHooks',
      parameters: {
        Operation: ['Install'],
        RebootOption: ['NoReboot'],
        PreInstallHookDocName: ['Stop-App'],
        OnExitHookDocName: ['Start-App'],
      },
    });
    expect(
      (
        withHooksCommand({ reboot_policy: 'IF_NEEDED', install_hooks: {} }).parameters as Record<
          string,
          string[]
        >
      ).RebootOption,
    ).toEqual(['RebootIfNeeded']);
    expect(
      (
        withHooksCommand({ reboot_policy: 'ALWAYS', install_hooks: {} }).parameters as Record<
          string,
          string[]
        >
      ).RebootOption,
    ).toEqual(['NoReboot']);
  });

  it('is used only when a hook is set', () => {
    expect(usesInstallHooks({})).toBe(false);
    expect(usesInstallHooks({ install_hooks: {} })).toBe(false);
    expect(usesInstallHooks({ install_hooks: { post_install: 'X-Doc' } })).toBe(true);
  });

  it('knows the document by name or ARN, and names hook steps by their parameter', () => {
    expect(isWithHooksDocument('AWS-RunPatchBaselineWithHooks')).toBe(true);
    expect(isWithHooksDocument('arn:aws:ssm:us-east-1::document/AWS-RunPatchBaselineWithHooks')).toBe(true);
    expect(isWithHooksDocument('AWS-RunPatchBaseline')).toBe(false);
    expect(hookOfStep('PreInstallHook')).toBe('PreInstallHookDocName');
    expect(hookOfStep('PostInstallHook')).toBe('PostInstallHookDocName');
    expect(hookOfStep('OnExitHook')).toBe('OnExitHookDocName');
    expect(hookOfStep('InstallWithNoReboot')).toBeUndefined();
  });

  it('is refused with a custom script or document, and with patch filters (no BaselineOverride parameter)', () => {
    const hooks = { install_hooks: { pre_install: 'Stop-App' } };
    expect(machineSettingIssues({ ...hooks, s3_custom_script: 's3://b/k.sh' })[0].message).toMatch(
      /s3_custom_script replaces/,
    );
    expect(machineSettingIssues({ ...hooks, custom_document_arn: 'Doc' })[0].path).toBe('install_hooks');
    expect(machineSettingIssues({ ...hooks, published_days_old: 7 })[0].message).toMatch(
      /published_days_old: AWS-RunPatchBaselineWithHooks takes no BaselineOverride/,
    );
    expect(machineSettingIssues(hooks)).toEqual([]);
  });
});
