/** What the lab knows about SSM documents: plugin (step) names, default timeouts and the output they produce. */

export const PATCH_DOCUMENT = 'AWS-RunPatchBaseline';

/** The name part of a document ARN (`arn:aws:ssm:…:document/Name`), or the name itself. */
export function documentBaseName(name: string): string {
  const i = name.indexOf(':document/');
  return i >= 0 ? name.slice(i + ':document/'.length) : name;
}

export const WITH_HOOKS_DOCUMENT = 'AWS-RunPatchBaselineWithHooks';

/** AWS-RunPatchBaseline, or AWS-RunPatchBaselineWithHooks (which runs it inside and uploads compliance the same way). */
export function isPatchDocument(name: string): boolean {
  const base = documentBaseName(name);
  return base === PATCH_DOCUMENT || base === WITH_HOOKS_DOCUMENT;
}

export function isWithHooks(name: string): boolean {
  return documentBaseName(name) === WITH_HOOKS_DOCUMENT;
}

/**
 * AWS-RunPatchBaselineWithHooks' steps in the order AWS documents them ("AWS-RunPatchBaselineWithHooks
 * operational steps"). The names are the lab's own for those steps (Patchwave reads the steps as SSM lists them
 * and does not depend on their names); `hook` is the parameter naming the document a hook step runs.
 */
export const WITH_HOOKS_STEPS: {
  name: string;
  hook?: 'PreInstallHookDocName' | 'PostInstallHookDocName' | 'OnExitHookDocName';
}[] = [
  { name: 'PatchScan' },
  { name: 'VerifyLocalPatchStates' },
  { name: 'PreInstallHook', hook: 'PreInstallHookDocName' },
  { name: 'InstallWithNoReboot' },
  { name: 'PostInstallHook', hook: 'PostInstallHookDocName' },
  { name: 'VerifyReboot' },
  { name: 'RebootAndReport' },
  { name: 'OnExitHook', hook: 'OnExitHookDocName' },
];

/**
 * What SendCommand checks a document's invocation against, as SSM does: its parameters (and their allowed
 * values) and its steps (plugin names). A step tied to a platform (`platform`) is skipped on the others, as
 * AWS-RunPatchBaseline's PatchWindows / PatchLinux / PatchMacOS preconditions skip them.
 */
/** The operating-system families the lab's machines run (SSM's PlatformType values the lab simulates). */
export type Platform = 'Linux' | 'Windows';

export interface DocumentDef {
  steps: { name: string; platform?: Platform | 'MacOS' }[];
  parameters: Record<string, { allowed?: string[]; required?: boolean }>;
}

const SCRIPT_PARAMS = { commands: { required: true }, workingDirectory: {}, executionTimeout: {} };

/** The AWS-owned documents the lab runs (parameters from their published definitions). */
export const AWS_DOCUMENTS: Record<string, DocumentDef> = {
  'AWS-RunPatchBaseline': {
    steps: [
      { name: 'PatchWindows', platform: 'Windows' },
      { name: 'PatchLinux', platform: 'Linux' },
      { name: 'PatchMacOS', platform: 'MacOS' },
    ],
    parameters: {
      AssociationId: {},
      BaselineOverride: {},
      InstallOverrideList: {},
      Operation: { allowed: ['Scan', 'Install'], required: true },
      RebootOption: { allowed: ['RebootIfNeeded', 'NoReboot'] },
      SnapshotId: {},
    },
  },
  // Parameters as AWS documents them: Operation (required), SnapshotId, RebootOption and the three hook documents
  // (default AWS-Noop); no BaselineOverride, no InstallOverrideList.
  'AWS-RunPatchBaselineWithHooks': {
    steps: WITH_HOOKS_STEPS.map((st) => ({ name: st.name })),
    parameters: {
      Operation: { allowed: ['Scan', 'Install'], required: true },
      SnapshotId: {},
      RebootOption: { allowed: ['RebootIfNeeded', 'NoReboot'] },
      PreInstallHookDocName: {},
      PostInstallHookDocName: {},
      OnExitHookDocName: {},
    },
  },
  /** Does nothing: the default of every AWS-RunPatchBaselineWithHooks hook. */
  'AWS-Noop': { steps: [{ name: 'noop' }], parameters: {} },
  'AWS-RunShellScript': { steps: [{ name: 'aws:runShellScript' }], parameters: SCRIPT_PARAMS },
  'AWS-RunPowerShellScript': { steps: [{ name: 'aws:runPowerShellScript' }], parameters: SCRIPT_PARAMS },
  'AWS-RunRemoteScript': {
    steps: [
      { name: 'runShellScript', platform: 'Linux' },
      { name: 'runPowerShellScript', platform: 'Windows' },
    ],
    parameters: {
      sourceType: { allowed: ['GitHub', 'S3'], required: true },
      sourceInfo: { required: true },
      commandLine: { required: true },
      workingDirectory: {},
      executionTimeout: {},
    },
  },
};

/**
 * Step name SSM reports in PluginName / CommandPlugins: the step that runs on this platform (for
 * AWS-RunPatchBaselineWithHooks, whose steps all run, its install step: lab/with-hooks.ts renders the others).
 */
export function pluginNameFor(doc: DocumentDef, platform: Platform): string {
  if (doc === AWS_DOCUMENTS[WITH_HOOKS_DOCUMENT]) return 'InstallWithNoReboot';
  const own = doc.steps.filter((s) => s.platform === undefined || s.platform === platform);
  return (own.at(-1) ?? doc.steps[doc.steps.length - 1]).name;
}

/** Folder SSM writes a step's stdout/stderr under, below `<prefix>/<command>/<instance>/`. */
export function outputFolder(documentName: string, platform: Platform, pluginName: string): string {
  const kind = platform === 'Windows' ? 'awsrunPowerShellScript' : 'awsrunShellScript';
  if (isPatchDocument(documentName)) return `${kind}/${pluginName}`;
  return `${kind}/0.${kind}`;
}

/**
 * Execution timeout in seconds: the `executionTimeout` parameter where the document has one, else the document's
 * own step timeout (AWS-RunPatchBaseline steps: 7200 s; script documents: 3600 s).
 */
export function executionTimeoutSeconds(documentName: string, parameters: Record<string, string[]>): number {
  const given = Number(parameters.executionTimeout?.[0]);
  if (Number.isFinite(given) && given > 0) return given;
  return isPatchDocument(documentName) ? 7200 : 3600;
}

export function patchOperation(parameters: Record<string, string[]>): 'Scan' | 'Install' {
  return parameters.Operation?.[0] === 'Install' ? 'Install' : 'Scan';
}

/** NoReboot keeps a patch run from rebooting, as the real document does. */
export function rebootAllowed(documentName: string, parameters: Record<string, string[]>): boolean {
  if (!isPatchDocument(documentName)) return true;
  return parameters.RebootOption?.[0] !== 'NoReboot' && patchOperation(parameters) === 'Install';
}

/** Lab seconds a node takes to reboot when a script asks for it and its behaviour entry gives no reboot_s. */
export const SCRIPT_REBOOT_S = 20;

/**
 * A Run Command script that asks the SSM agent to reboot the node: a line `exit 194` (Linux, AWS-RunShellScript)
 * or `exit 3010` (Windows, AWS-RunPowerShellScript). AWS ("Handling reboots when running commands"): the agent
 * reboots the node, then runs the script again; the invocation stays InProgress meanwhile.
 */
export function scriptRequestsReboot(
  documentName: string,
  parameters: Record<string, string[]>,
  platform: Platform,
): boolean {
  const base = documentBaseName(documentName);
  const code =
    base === 'AWS-RunShellScript' && platform === 'Linux'
      ? '194'
      : base === 'AWS-RunPowerShellScript' && platform === 'Windows'
        ? '3010'
        : undefined;
  if (!code) return false;
  return (parameters.commands ?? []).some((line) => new RegExp(`^\\s*exit\\s+${code}\\s*$`).test(line));
}
