import { parsePatchOutput, showsNothingInstalled, type PatchOutput } from '../../../domain/patch-output';

const WINDOWS = [
  'Successfully downloaded and installed the PatchBaselineOperations PowerShell module.',
  'Patch Summary for',
  'PatchGroup                  :',
  'BaselineId                  : pb-0123456789abcdef0',
  'RebootOption                : RebootIfNeeded',
  'OperationType               : Install',
  'InstalledCount              : 12',
  'InstalledRejectedCount      : 0',
  'InstalledPendingRebootCount : 2',
  'InstalledOtherCount         : 7',
  'FailedCount                 : 0',
  'MissingCount                : 0',
  'NotApplicableCount          : 40',
].join('\r\n');

const WINDOWS_UNKNOWN =
  'Patch Summary for\nInstalledCount : -1\nInstalledPendingRebootCount : -1\nMissingCount : -1\n';

const LINUX_JSON = `{
    "BaselineId": "pb-0c10e65780EXAMPLE",
    "InstalledCount": "31",
    "InstalledOtherCount": "509",
    "InstalledPendingRebootCount": "0",
    "InstalledRejectedCount": "0",
    "MissingCount": "0",
    "FailedCount": "0",
    "NotApplicableCount": "1243",
    "OperationType": "Install"
}`;
const LINUX_REPR =
  "[{'BaselineId': 'pb-1', 'InstalledCount': '4', 'InstalledPendingRebootCount': '1', 'MissingCount': '2', 'FailedCount': '0'}]";

describe('parsePatchOutput', () => {
  test.each<[string, string, PatchOutput]>([
    [
      'our format',
      'Installed: openssl\nInstalled: curl\nInstalledCount: 2\n',
      { installed: ['openssl', 'curl'], installedCount: 2 },
    ],
    ['our format, nothing installed', 'InstalledCount: 0', { installed: [], installedCount: 0 }],
    ['package lines without a count', 'Installed: openssl', { installed: ['openssl'], installedCount: 1 }],
    [
      'count says 0 but a package line says otherwise',
      'Installed: a\nInstalledCount: 0',
      { installed: ['a'], installedCount: 1 },
    ],
    [
      'count larger than listed packages',
      'Installed: a\nInstalledCount: 5',
      { installed: ['a'], installedCount: 5 },
    ],
    [
      'CRLF and indentation',
      '  Installed: KB5031364\r\n  InstalledCount: 1\r\n',
      { installed: ['KB5031364'], installedCount: 1 },
    ],
    [
      'duplicate package lines',
      'Installed: a\nInstalled: a\nInstalledCount: 1',
      { installed: ['a'], installedCount: 1 },
    ],
    [
      'yum "Installed:" section header is not a package',
      'Installed:\n  kernel-6.1.x86_64\nComplete!',
      { installed: [], installedCount: undefined },
    ],
    [
      'package names with spaces and versions',
      'Installed: Security Update for Windows (KB5031364)',
      { installed: ['Security Update for Windows (KB5031364)'], installedCount: 1 },
    ],
    [
      'reboot flag',
      'InstalledCount: 1\nInstalled: kernel\nRebootRequired: true',
      { installed: ['kernel'], installedCount: 1, rebootRequired: true },
    ],
    [
      'reboot flag no',
      'InstalledCount: 0\nRebootRequired: no',
      { installed: [], installedCount: 0, rebootRequired: false },
    ],
    ['empty output', '', { installed: [], installedCount: undefined }],
    ['unknown format', 'Updating packages...\nDone.', { installed: [], installedCount: undefined }],
    [
      'AWS Windows summary: cumulative counts kept aside, installedCount unknown',
      WINDOWS,
      {
        installed: [],
        installedCount: undefined,
        rebootRequired: true,
        summary: {
          installedCount: 12,
          installedRejectedCount: 0,
          installedPendingRebootCount: 2,
          installedOtherCount: 7,
          failedCount: 0,
          missingCount: 0,
          notApplicableCount: 40,
          operationType: 'Install',
        },
      },
    ],
    [
      'AWS Windows summary with unknown (-1) counts: no reboot claim',
      WINDOWS_UNKNOWN,
      {
        installed: [],
        installedCount: undefined,
        summary: { installedCount: -1, installedPendingRebootCount: -1, missingCount: -1 },
      },
    ],
    [
      'AWS Linux JSON summary',
      LINUX_JSON,
      {
        installed: [],
        installedCount: undefined,
        rebootRequired: false,
        summary: {
          installedCount: 31,
          installedOtherCount: 509,
          installedPendingRebootCount: 0,
          installedRejectedCount: 0,
          missingCount: 0,
          failedCount: 0,
          notApplicableCount: 1243,
          operationType: 'Install',
        },
      },
    ],
    [
      'AWS Linux summary as a Python dict',
      LINUX_REPR,
      {
        installed: [],
        installedCount: undefined,
        rebootRequired: true,
        summary: { installedCount: 4, installedPendingRebootCount: 1, missingCount: 2, failedCount: 0 },
      },
    ],
    [
      'our lines and an AWS summary: ours describe this run',
      `Installed: openssl\nInstalledCount: 1\n${WINDOWS}`,
      expect.objectContaining({ installed: ['openssl'], installedCount: 1, rebootRequired: true }),
    ],
  ])('%s', (_name, stdout, expected) => {
    expect(parsePatchOutput(stdout)).toEqual(expected);
  });
});

describe('showsNothingInstalled', () => {
  test.each<[string, boolean]>([
    ['InstalledCount: 0', true],
    ['InstalledCount: 3', false],
    ['Installed: a', false],
    ['', false],
    [WINDOWS_UNKNOWN, false],
    ['Patch Summary for\nInstalledCount : 0\nMissingCount : 0', false],
  ])('%j → %s', (stdout, expected) => {
    expect(showsNothingInstalled(parsePatchOutput(stdout))).toBe(expected);
  });
});
