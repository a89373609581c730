import { SSMClient } from '@aws-sdk/client-ssm';
import { S3Client } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { STSClient } from '@aws-sdk/client-sts';
import { createLab, type Lab, type LabOptions } from '../../../lab/server';

export const LAB_CREDENTIALS = { accessKeyId: 'lab', secretAccessKey: 'lab' };

/** Real SDK clients pointed at the lab; `maxAttempts: 1` so error assertions see the first answer. */
export function clientsFor(lab: Lab, maxAttempts = 1) {
  const common = { endpoint: lab.url, region: 'us-east-1', credentials: LAB_CREDENTIALS, maxAttempts };
  return {
    ssm: new SSMClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    lambda: new LambdaClient(common),
    sts: new STSClient(common),
  };
}

/** A manual clock: the lab computes every status from it, so a test can step through a command's life exactly. */
export function manualClock(start = Date.UTC(2025, 0, 6, 10, 0, 0)) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
    get start() {
      return start;
    },
  };
}

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  return createLab({ port: 0, ...opts });
}

/** Polls `probe` until `done` holds for its value; fails with the last value seen. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  { timeoutMs = 10_000, everyMs = 10 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await probe();
  }
  return last;
}

export async function control(lab: Lab, method: string, path: string, body?: unknown) {
  const res = await fetch(`${lab.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, headers: res.headers, text, json: json as any };
}

export const M = {
  linux1: 'i-0123456789abcdef0',
  linux2: 'i-0123456789abcdef1',
  win1: 'i-0fedcba98765432a0',
  offline: 'i-0000000000000dead',
  hybrid: 'mi-0123456789abcdef9',
};

/**
 * The PluginName GetCommandInvocation needs for a command the lab runs: AWS-RunPatchBaseline has one step per
 * platform (PatchWindows / PatchLinux / PatchMacOS) and SSM refuses to answer without it; single-step
 * documents need none.
 */
export function stepOf(lab: Lab, commandId: string, instanceId: string): string | undefined {
  const cmd = lab.state.commands.get(commandId);
  if (!cmd || !/(^|:document\/)AWS-RunPatchBaseline$/.test(cmd.documentName)) return undefined;
  return lab.state.machines.get(instanceId)?.behaviour.platform === 'Windows' ? 'PatchWindows' : 'PatchLinux';
}
