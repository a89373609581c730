/**
 * Reads what a patch command printed, to tell SUCCESS from SUCCESS_NO_UPDATES and to list what was installed.
 *
 * Two formats:
 * 1. Ours (the fleet lab and our docs for custom scripts), describing *this* run:
 *      Installed: <package>        one line per package installed
 *      InstalledCount: <n>         how many were installed
 *      RebootRequired: true|false  optional
 * 2. AWS-RunPatchBaseline's own summary, Windows (`InstalledCount : 3`, aligned with spaces before the
 *    colon, after a "Patch Summary for" header) and Linux (a JSON-ish block, `"InstalledCount": "3"`).
 *    Its InstalledCount is *cumulative* — every baseline patch installed on the node, ever (AWS
 *    InstancePatchState) — so it cannot tell "nothing installed now". We keep those counts in `summary`,
 *    use InstalledPendingRebootCount for `rebootRequired`, but leave `installedCount` undefined.
 *
 * `installedCount` undefined means "can't tell", and the caller then says SUCCESS, never NO_UPDATES.
 */
export interface PatchOutput {
  installed: string[];
  installedCount: number | undefined;
  rebootRequired?: boolean;
  /** Counts from AWS-RunPatchBaseline's summary when present (-1 = AWS did not know). */
  summary?: AwsPatchSummary;
}

export interface AwsPatchSummary {
  installedCount?: number;
  installedOtherCount?: number;
  installedPendingRebootCount?: number;
  installedRejectedCount?: number;
  missingCount?: number;
  failedCount?: number;
  notApplicableCount?: number;
  operationType?: string;
}

const OUR_INSTALLED = /^\s*Installed:\s*(.*?)\s*$/;
const OUR_COUNT = /^\s*InstalledCount:\s*(\d+)\s*$/;
const OUR_REBOOT = /^\s*RebootRequired:\s*(true|false|yes|no)\s*$/i;

const AWS_COUNT_KEYS: Record<string, keyof AwsPatchSummary> = {
  InstalledCount: 'installedCount',
  InstalledOtherCount: 'installedOtherCount',
  InstalledPendingRebootCount: 'installedPendingRebootCount',
  InstalledRejectedCount: 'installedRejectedCount',
  MissingCount: 'missingCount',
  FailedCount: 'failedCount',
  NotApplicableCount: 'notApplicableCount',
};
// Windows: `Key<spaces> : value`. Linux: a JSON dump (`"Key": "3"`) or a Python dict repr (`'Key': '3'`).
// Neither matches our `Key: value` form, which has no space before the colon and no quotes.
const AWS_WINDOWS_LINE = /^\s*([A-Za-z]+)\s+:\s*(\S.*?)?\s*$/;
const AWS_LINUX_PAIR = /["']([A-Za-z]+)["']\s*:\s*["']?(-?\d+|[A-Za-z]+)["']?/g;

export function parsePatchOutput(stdout: string): PatchOutput {
  const installed: string[] = [];
  let explicitCount: number | undefined;
  let rebootRequired: boolean | undefined;
  const summary: AwsPatchSummary = {};
  let sawSummary = false;

  const record = (key: string, raw: string | undefined) => {
    if (raw === undefined) return;
    if (key === 'OperationType') {
      summary.operationType = raw;
      return;
    }
    const field = AWS_COUNT_KEYS[key];
    if (!field || !/^-?\d+$/.test(raw)) return;
    (summary as Record<string, number>)[field] = Number(raw);
    sawSummary = true;
  };

  for (const line of stdout.split(/\r?\n/)) {
    const count = OUR_COUNT.exec(line);
    if (count) {
      explicitCount = Number(count[1]);
      continue;
    }
    const pkg = OUR_INSTALLED.exec(line);
    if (pkg) {
      if (pkg[1] && !installed.includes(pkg[1])) installed.push(pkg[1]);
      continue;
    }
    const reboot = OUR_REBOOT.exec(line);
    if (reboot) {
      rebootRequired = /^(true|yes)$/i.test(reboot[1]);
      continue;
    }
    const win = AWS_WINDOWS_LINE.exec(line);
    if (win) {
      record(win[1], win[2]);
      continue;
    }
    for (const m of line.matchAll(AWS_LINUX_PAIR)) record(m[1], m[2]);
  }

  // Never claim "no updates" while we saw a package installed, whatever the count line says.
  const installedCount =
    explicitCount !== undefined
      ? Math.max(explicitCount, installed.length)
      : installed.length > 0
        ? installed.length
        : undefined;

  const out: PatchOutput = { installed, installedCount };
  if (sawSummary) {
    out.summary = summary;
    if (
      rebootRequired === undefined &&
      summary.installedPendingRebootCount !== undefined &&
      summary.installedPendingRebootCount >= 0
    )
      rebootRequired = summary.installedPendingRebootCount > 0;
  }
  if (rebootRequired !== undefined) out.rebootRequired = rebootRequired;
  return out;
}

/** True only when the output positively shows that this run installed nothing. */
export function showsNothingInstalled(p: PatchOutput): boolean {
  return p.installedCount === 0 && p.installed.length === 0;
}
