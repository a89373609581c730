/**
 * Event-driven completion (issue 13): SSM sends an EventBridge event "EC2 Command Invocation Status-change
 * Notification" each time a command invocation changes status; an operator's EventBridge rule puts the terminal
 * ones on an SQS queue (PATCHWAVE_COMMAND_EVENTS_QUEUE_URL, docs/operations.md#command-events), and the worker
 * long-polls that queue here. An event for a command the worker follows wakes its follower at once
 * (activities/command-tracker.ts), which then asks SSM itself how the command ended: the event is a wake-up,
 * never the answer. Every message is deleted once read, whatever it said; one that cannot be read changes nothing.
 * Lost, late or duplicated events change only how soon an end is noticed: polling goes on underneath.
 *
 * Event shape (AWS Systems Manager User Guide, "Amazon EventBridge event examples for Systems Manager"):
 *
 *   { "version": "0", "id": "…", "detail-type": "EC2 Command Invocation Status-change Notification",
 *     "source": "aws.ssm", "account": "123456789012", "time": "2016-07-10T21:51:32Z", "region": "us-east-1",
 *     "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
 *     "detail": { "command-id": "e8d3c0e4-…", "document-name": "AWS-RunPowerShellScript",
 *                 "instance-id": "i-9bb89e2b", "requested-date-time": "2016-07-10T21:51:30.049Z",
 *                 "status": "Success" } }
 *
 * The body may also arrive wrapped in an SNS notification (EventBridge → SNS → SQS without raw delivery).
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { commandEventErrors, commandEvents } from '../common/metrics';

export const INVOCATION_EVENT_TYPE = 'EC2 Command Invocation Status-change Notification';

/**
 * Invocation statuses after which nothing changes any more. SSM's event carries the invocation's Status; the
 * StatusDetails spellings are accepted too (with and without spaces), since an extra one costs only one
 * GetCommandInvocation.
 */
const TERMINAL = new Set(
  [
    'Success',
    'Failed',
    'TimedOut',
    'Cancelled',
    'DeliveryTimedOut',
    'ExecutionTimedOut',
    'Undeliverable',
    'Terminated',
  ].map((s) => s.toLowerCase()),
);

export function isTerminalStatus(status: string): boolean {
  return TERMINAL.has(status.replace(/\s+/g, '').toLowerCase());
}

export type CommandEventReading =
  | { kind: 'ended'; commandId: string; instanceId: string; status: string }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; reason: string };

const COMMAND_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function record(x: unknown): Record<string, unknown> | undefined {
  return x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

/** What a queue message says: a command invocation that ended, something else (ignored), or unreadable. */
export function readCommandEvent(body: string | undefined): CommandEventReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return { kind: 'malformed', reason: 'the body is not JSON' };
  }
  let ev = record(parsed);
  // An SNS notification carries the event as its Message (a JSON string).
  if (ev && ev.Type === 'Notification' && typeof ev.Message === 'string') {
    try {
      ev = record(JSON.parse(ev.Message));
    } catch {
      return { kind: 'malformed', reason: 'the SNS Message is not JSON' };
    }
  }
  if (!ev) return { kind: 'malformed', reason: 'the body is not a JSON object' };
  if (ev.source !== 'aws.ssm' || ev['detail-type'] !== INVOCATION_EVENT_TYPE)
    return {
      kind: 'ignored',
      reason: `not an SSM command invocation event (${String(ev.source)} / ${String(ev['detail-type'])})`,
    };
  const detail = record(ev.detail);
  const commandId = detail?.['command-id'];
  const instanceId = detail?.['instance-id'];
  const status = detail?.status;
  if (typeof commandId !== 'string' || !COMMAND_ID.test(commandId))
    return { kind: 'malformed', reason: 'detail.command-id is missing or not a command ID' };
  if (typeof instanceId !== 'string' || !instanceId)
    return { kind: 'malformed', reason: 'detail.instance-id is missing' };
  if (typeof status !== 'string' || !status) return { kind: 'malformed', reason: 'detail.status is missing' };
  if (!isTerminalStatus(status)) return { kind: 'ignored', reason: `status ${status} is not terminal` };
  return { kind: 'ended', commandId, instanceId, status };
}

/** The queue's region: from an SQS endpoint host (sqs.<region>.amazonaws.com, <region>.queue.amazonaws.com). */
export function queueRegion(queueUrl: string, fallback: string): string {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return fallback;
  }
  const m =
    /^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host) ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(host);
  return m?.[1] ?? fallback;
}

export interface CommandEventQueueOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Wakes the followers of a command that ended; true when one follows it (CommandEnds.ended). */
  onEnded: (commandId: string, instanceId: string) => boolean;
  /** ReceiveMessage long poll (1–20 s; default 20). */
  waitSeconds?: number;
  /** Back-off after a failed call: from `minMs`, doubling, up to `maxMs` (default 1 s → 60 s). */
  backoff?: { minMs: number; maxMs: number };
  log?: (level: 'info' | 'warn', message: string) => void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * The long-poll loop over the command events queue: ReceiveMessage (10 messages, WaitTimeSeconds 20), wake the
 * followers, DeleteMessageBatch. Each call has a timeout and the SDK's bounded retries; a failed call backs off
 * (1 s doubling to 60 s, with jitter) and the loop goes on, so a queue that is away or not allowed only slows
 * hand-offs down to the polling's pace. `stop()` ends it at once (the worker's shutdown).
 */
export class CommandEventQueue {
  readonly stats = { receives: 0, messages: 0, wakeups: 0, unknown: 0, ignored: 0, malformed: 0, errors: 0 };
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly waitSeconds: number;
  private readonly backoff: { minMs: number; maxMs: number };

  constructor(private readonly opts: CommandEventQueueOptions) {
    this.waitSeconds = Math.min(20, Math.max(1, Math.round(opts.waitSeconds ?? 20)));
    this.backoff = opts.backoff ?? { minMs: 1_000, maxMs: 60_000 };
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.opts.log?.(level, `command events queue: ${message}`);
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    let failures = 0;
    this.log('info', `reading ${this.opts.queueUrl}`);
    while (!stop.aborted) {
      let messages: Message[];
      try {
        const r = await this.opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.opts.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.waitSeconds,
          }),
          { abortSignal: AbortSignal.any([stop, AbortSignal.timeout((this.waitSeconds + 15) * 1000)]) },
        );
        this.stats.receives++;
        messages = r.Messages ?? [];
        if (failures > 0) this.log('info', `reading again after ${failures} failed call(s)`);
        failures = 0;
      } catch (err) {
        if (stop.aborted) break;
        failures++;
        this.stats.errors++;
        commandEventErrors.inc({ operation: 'ReceiveMessage' });
        // The first failure of a streak and every tenth: a queue that stays away must not flood the log.
        if (failures === 1 || failures % 10 === 0)
          this.log(
            'warn',
            `ReceiveMessage failed (${failures} in a row; polling alone follows commands meanwhile): ${(err as Error).name}: ${(err as Error).message}`,
          );
        const base = Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** Math.min(failures - 1, 16));
        await sleep(base * (0.5 + Math.random() / 2), stop);
        continue;
      }
      if (messages.length === 0) continue;
      this.stats.messages += messages.length;
      for (const m of messages) this.handle(m);
      await this.delete(messages);
    }
  }

  private handle(m: Message): void {
    const reading = readCommandEvent(m.Body);
    if (reading.kind === 'ended') {
      const followed = this.opts.onEnded(reading.commandId, reading.instanceId);
      const outcome = followed ? 'wakeup' : 'unknown';
      this.stats[followed ? 'wakeups' : 'unknown']++;
      commandEvents.inc({ outcome });
      return;
    }
    this.stats[reading.kind]++;
    commandEvents.inc({ outcome: reading.kind });
    if (reading.kind === 'malformed')
      this.log('warn', `message ${m.MessageId ?? '?'} skipped: ${reading.reason}`);
  }

  /** Deletes what was read: a message left behind would only come back after its visibility timeout. */
  private async delete(messages: Message[]): Promise<void> {
    const entries = messages
      .filter((m) => m.ReceiptHandle)
      .map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }));
    if (entries.length === 0) return;
    try {
      const r = await this.opts.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.opts.queueUrl, Entries: entries }),
        { abortSignal: AbortSignal.timeout(15_000) },
      );
      if (r.Failed?.length) {
        commandEventErrors.inc({ operation: 'DeleteMessageBatch' }, r.Failed.length);
        this.log(
          'warn',
          `${r.Failed.length} message(s) not deleted: ${r.Failed[0].Code} ${r.Failed[0].Message ?? ''}`,
        );
      }
    } catch (err) {
      this.stats.errors++;
      commandEventErrors.inc({ operation: 'DeleteMessageBatch' });
      this.log('warn', `DeleteMessageBatch failed: ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
}
