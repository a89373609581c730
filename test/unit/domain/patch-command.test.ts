import {
  baselineCommand,
  documentCommand,
  needsExplicitReboot,
  parseS3Uri,
  rebootCommand,
  patchCommandKind,
  patchSettingWarnings,
  scriptCommand,
  type PatchCommandSpec,
} from '../../../domain/patch-command';

type Settings = Parameters<typeof baselineCommand>[0];
const base: Settings = { reboot_policy: 'IF_NEEDED' };

describe('baselineCommand', () => {
  test.each<[string, Settings, string]>([
    ['IF_NEEDED', { reboot_policy: 'IF_NEEDED' }, 'RebootIfNeeded'],
    ['NEVER', { reboot_policy: 'NEVER' }, 'NoReboot'],
    ['ALWAYS (NoReboot, then an explicit reboot command)', { reboot_policy: 'ALWAYS' }, 'NoReboot'],
    [
      'filters never leak into parameters',
      {
        reboot_policy: 'NEVER',
        published_days_old: 7,
        update_severity: ['Critical'],
        update_category: ['Security'],
        include_kbs: ['KB5031364'],
        exclude_kbs: ['KB000001'],
      },
      'NoReboot',
    ],
  ])('%s', (_name, m, reboot) => {
    expect(baselineCommand(m)).toEqual<PatchCommandSpec>({
      kind: 'baseline',
      documentName: 'AWS-RunPatchBaseline',
      parameters: { Operation: ['Install'], RebootOption: [reboot] },
    });
  });
});

describe('patchSettingWarnings', () => {
  test.each<[string, Parameters<typeof patchSettingWarnings>[0], string[]]>([
    ['plain baseline machine', base, []],
    ['ALWAYS reboot is done as asked: no warning', { reboot_policy: 'ALWAYS' }, []],
    [
      'filters (sent as a BaselineOverride) and ALWAYS',
      { reboot_policy: 'ALWAYS', update_severity: ['Critical'] },
      [],
    ],
    [
      'custom script: baseline settings do not apply at all',
      { reboot_policy: 'ALWAYS', update_severity: ['Critical'], s3_custom_script: 's3://b/k.sh' },
      [],
    ],
    ['custom document: same', { reboot_policy: 'ALWAYS', custom_document_arn: 'My-Doc' }, []],
  ])('%s', (_name, m, fields) => {
    const w = patchSettingWarnings(m);
    expect(w.map((x) => x.field)).toEqual(fields);
    for (const x of w) expect(x.message).toMatch(/not applied/);
  });
});

describe('patchCommandKind', () => {
  test.each<[string, Parameters<typeof patchCommandKind>[0], PatchCommandSpec['kind']]>([
    ['neither', {}, 'baseline'],
    ['script', { s3_custom_script: 's3://b/k.sh' }, 'script'],
    ['document', { custom_document_arn: 'arn:aws:ssm:eu-west-1:123456789012:document/Patch' }, 'document'],
    ['both: script wins', { s3_custom_script: 's3://b/k.sh', custom_document_arn: 'Doc' }, 'script'],
    ['empty strings are unset', { s3_custom_script: '', custom_document_arn: '' }, 'baseline'],
  ])('%s', (_name, m, kind) => {
    expect(patchCommandKind(m)).toBe(kind);
  });
});

describe('scriptCommand', () => {
  test.each<[string, 'Linux' | 'Windows', string, string, string[]]>([
    [
      'Linux shell',
      'Linux',
      '#!/bin/bash\nset -e\nyum -y update\n',
      'AWS-RunShellScript',
      ['#!/bin/bash', 'set -e', 'yum -y update'],
    ],
    [
      'Windows PowerShell, CRLF',
      'Windows',
      'Install-WindowsUpdate -AcceptAll\r\nRestart-Computer\r\n',
      'AWS-RunPowerShellScript',
      ['Install-WindowsUpdate -AcceptAll', 'Restart-Computer'],
    ],
    ['BOM dropped', 'Windows', '\uFEFFWrite-Output hi', 'AWS-RunPowerShellScript', ['Write-Output hi']],
    [
      'inner blank lines and indentation kept',
      'Linux',
      'if true; then\n\n  echo ok\nfi',
      'AWS-RunShellScript',
      ['if true; then', '', '  echo ok', 'fi'],
    ],
    ['no trailing newline', 'Linux', 'echo one', 'AWS-RunShellScript', ['echo one']],
  ])('%s', (_name, platform, body, documentName, commands) => {
    expect(scriptCommand(platform, body, 's3://scripts/patch.sh')).toEqual<PatchCommandSpec>({
      kind: 'script',
      documentName: documentName as 'AWS-RunShellScript',
      parameters: { commands },
      source: 's3://scripts/patch.sh',
    });
  });

  test.each([[''], ['\n'], ['   \n\t\n'], ['\uFEFF']])('empty script %j cannot be built', (body) => {
    expect(() => scriptCommand('Linux', body, 's3://b/empty.sh')).toThrow(/s3:\/\/b\/empty.sh is empty/);
  });
});

describe('documentCommand', () => {
  test.each([
    [
      'arn:aws:ssm:eu-west-1:123456789012:document/Custom-Patch',
      'arn:aws:ssm:eu-west-1:123456789012:document/Custom-Patch',
    ],
    ['My-Patch-Doc', 'My-Patch-Doc'],
    ['  My-Patch-Doc  ', 'My-Patch-Doc'],
  ])('%s', (arn, name) => {
    expect(documentCommand(arn)).toEqual<PatchCommandSpec>({
      kind: 'document',
      documentName: name,
      parameters: {},
    });
  });

  it('refuses an empty name', () => {
    expect(() => documentCommand(' ')).toThrow(/empty/);
  });

  it('sends custom_document_parameters as the Parameters', () => {
    expect(documentCommand('My-Doc', { Mode: ['fast'], Targets: ['a', 'b'] }).parameters).toEqual({
      Mode: ['fast'],
      Targets: ['a', 'b'],
    });
  });
});

describe('rebootCommand (reboot_policy ALWAYS)', () => {
  it('Linux: an idempotent shell script that exits 194 once, 0 after the reboot', () => {
    const c = rebootCommand('Linux', 'patchwave:abc123');
    expect(c.documentName).toBe('AWS-RunShellScript');
    const lines = (c.parameters as { commands: string[] }).commands;
    expect(lines).toContain('exit 194');
    expect(lines.join('\n')).toMatch(/marker=\/var\/tmp\/patchwave-reboot-patchwaveabc123\n/);
    expect(lines.indexOf('  exit 0')).toBeLessThan(lines.indexOf('exit 194'));
  });

  it('Windows: PowerShell exiting 3010', () => {
    const c = rebootCommand('Windows', 'k');
    expect(c.documentName).toBe('AWS-RunPowerShellScript');
    expect((c.parameters as { commands: string[] }).commands.at(-1)).toBe('exit 3010');
  });

  it('needsExplicitReboot only for ALWAYS', () => {
    expect(needsExplicitReboot({ reboot_policy: 'ALWAYS' })).toBe(true);
    expect(needsExplicitReboot({ reboot_policy: 'IF_NEEDED' })).toBe(false);
    expect(needsExplicitReboot({ reboot_policy: 'NEVER' })).toBe(false);
  });
});

describe('parseS3Uri', () => {
  test.each<[string, { bucket: string; key: string } | undefined]>([
    ['s3://my-bucket/scripts/patch.sh', { bucket: 'my-bucket', key: 'scripts/patch.sh' }],
    ['s3://b.with.dots/k', { bucket: 'b.with.dots', key: 'k' }],
    ['s3://abc/dir/sub dir/file name.ps1', { bucket: 'abc', key: 'dir/sub dir/file name.ps1' }],
    ['  s3://abc/k.sh  ', { bucket: 'abc', key: 'k.sh' }],
    ['s3://abc/', undefined],
    ['s3://abc', undefined],
    ['s3:///key', undefined],
    ['s3://AB/key', undefined],
    ['s3://ab/key', undefined], // bucket names are at least 3 characters
    ['https://abc.s3.amazonaws.com/key', undefined],
    ['abc/key', undefined],
    ['', undefined],
  ])('%p', (uri, expected) => {
    expect(parseS3Uri(uri)).toEqual(expected);
  });
});
