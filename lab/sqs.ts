import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCOUNT_ID, AwsError, requestId, sendJson } from './http';
import { viewInvocation, type Invocation } from './invocation';
import type { CommandRecord } from './invocation';

/**
 * SQS (AWS JSON 1.0, `POST /`, `X-Amz-Target: AmazonSQS.<Op>`, botocore sqs 2012-11-05 with awsQueryCompatible)
 * and an EventBridge-like rule that puts SSM's "EC2 Command Invocation Status-change Notification" events on a
 * queue: the stand-ins for event-driven completion (activities/command-events.ts).
 *
 * Queues are in memory; a queue URL is `http://<Host header>/<account>/<name>` and is looked up by its last two
 * path segments. ReceiveMessage long-polls (WaitTimeSeconds, real seconds); a received message is invisible for
 * its VisibilityTimeout (default 30 s) until deleted.
 */

interface LabMessage {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt: number | null;
  /** The receipt handle of the latest receive (older ones no longer delete it, as in SQS). */
  handle: string | null;
}

interface Queue {
  name: string;
  createdAt: number;
  attributes: Record<string, string>;
  messages: LabMessage[];
  waiters: Set<() => void>;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}(\.fifo)?$/;
const INVOCATION_EVENT = 'EC2 Command Invocation Status-change Notification';
/** The rule's default event pattern: the terminal invocation statuses (docs/operations.md#command-events). */
export const TERMINAL_EVENT_STATUSES = ['Success', 'Failed', 'TimedOut', 'Cancelled'];

/** The query-protocol error code SQS sends in `x-amzn-query-error` (awsQueryCompatible), by JSON error name. */
const QUERY_CODES: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  QueueNameExists: 'QueueAlreadyExists',
  ReceiptHandleIsInvalid: 'ReceiptHandleIsInvalid',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId',
  InvalidParameterValue: 'InvalidParameterValue',
  MissingParameter: 'MissingParameter',
  InvalidAction: 'InvalidAction',
};

export interface CommandEventRule {
  /** Target queue name. */
  queue: string;
  /** detail.status values the rule's event pattern matches. */
  statuses: string[];
  /** The `region` of the events (and of the instance ARNs in `resources`). */
  region: string;
}

export class SqsState {
  readonly queues = new Map<string, Queue>();
  /** The EventBridge-like rule (PUT /_lab/command-events); null: no events are sent. */
  rule: CommandEventRule | null = null;
  /** Events the rule put on its queue (tests read them). */
  eventsSent = 0;
  /** When false, every SQS call answers 503 ServiceUnavailable (a queue that is away). */
  available = true;
  private pending: { inv: Invocation; status: string }[] = [];
  private commandCursor = 0;
  private pump: NodeJS.Timeout | undefined;

  constructor(
    readonly now: () => number,
    private readonly commands: () => CommandRecord[],
  ) {}

  reset(): void {
    for (const q of this.queues.values()) for (const w of q.waiters) w();
    this.queues.clear();
    this.setRule(null);
    this.eventsSent = 0;
    this.available = true;
  }

  createQueue(name: string, attributes: Record<string, string> = {}): Queue {
    if (!QUEUE_NAME.test(name))
      throw new AwsError(
        'InvalidParameterValue',
        400,
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    const existing = this.queues.get(name);
    if (existing) {
      const differs = Object.entries(attributes).some(([k, v]) => existing.attributes[k] !== v);
      if (differs)
        throw new AwsError(
          'QueueNameExists',
          400,
          'A queue already exists with the same name and a different value for attribute(s)',
        );
      return existing;
    }
    const q: Queue = {
      name,
      createdAt: this.now(),
      attributes: { ...attributes },
      messages: [],
      waiters: new Set(),
    };
    this.queues.set(name, q);
    return q;
  }

  /** The queue a QueueUrl names (its last path segment), or QueueDoesNotExist. */
  queueOf(url: unknown): Queue {
    if (typeof url !== 'string' || !url)
      throw new AwsError('MissingParameter', 400, 'The request must contain the parameter QueueUrl.');
    let path: string;
    try {
      path = new URL(url, 'http://lab.invalid').pathname;
    } catch {
      throw new AwsError('QueueDoesNotExist', 400, 'The specified queue does not exist.');
    }
    const name = decodeURIComponent(path.split('/').filter(Boolean).at(-1) ?? '');
    const q = this.queues.get(name);
    if (!q) throw new AwsError('QueueDoesNotExist', 400, 'The specified queue does not exist.');
    return q;
  }

  send(q: Queue, body: string, delayMs = 0): LabMessage {
    const now = this.now();
    const m: LabMessage = {
      id: randomUUID(),
      body,
      md5: createHash('md5').update(body).digest('hex'),
      sentAt: now,
      visibleAt: now + delayMs,
      receiveCount: 0,
      firstReceiveAt: null,
      handle: null,
    };
    q.messages.push(m);
    for (const w of [...q.waiters]) w();
    return m;
  }

  private take(q: Queue, max: number, visibilityMs: number): LabMessage[] {
    const now = this.now();
    const out: LabMessage[] = [];
    for (const m of q.messages) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      m.receiveCount++;
      m.firstReceiveAt ??= now;
      m.handle = `${m.id}#${randomUUID()}`;
      m.visibleAt = now + visibilityMs;
      out.push(m);
    }
    return out;
  }

  /** ReceiveMessage: what is visible now, or the first messages within `waitMs` (long poll). */
  receive(
    q: Queue,
    max: number,
    waitMs: number,
    visibilityMs: number,
    closed: AbortSignal,
  ): Promise<LabMessage[]> {
    this.runRule();
    const first = this.take(q, max, visibilityMs);
    if (first.length || waitMs <= 0) return Promise.resolve(first);
    return new Promise((resolve) => {
      const deadline = setTimeout(() => finish(), waitMs);
      // A message that turns visible again (visibility timeout) or a delayed one: look again now and then.
      const tick = setInterval(() => {
        this.runRule();
        const got = this.take(q, max, visibilityMs);
        if (got.length) finish(got);
      }, 250);
      const wake = () => {
        const got = this.take(q, max, visibilityMs);
        if (got.length) finish(got);
      };
      const finish = (got: LabMessage[] = []) => {
        clearTimeout(deadline);
        clearInterval(tick);
        q.waiters.delete(wake);
        closed.removeEventListener('abort', onClose);
        resolve(got);
      };
      // The client went away: messages taken after this would be lost for their visibility timeout.
      const onClose = () => finish();
      q.waiters.add(wake);
      closed.addEventListener('abort', onClose, { once: true });
    });
  }

  /** DeleteMessage: the latest receipt handle of a message deletes it; a stale one is accepted and does nothing. */
  delete(q: Queue, handle: unknown): void {
    if (typeof handle !== 'string' || !handle.includes('#'))
      throw new AwsError(
        'ReceiptHandleIsInvalid',
        400,
        `The input receipt handle "${String(handle)}" is not a valid receipt handle.`,
      );
    const i = q.messages.findIndex((m) => m.handle === handle);
    if (i >= 0) q.messages.splice(i, 1);
  }

  // ---- the EventBridge-like rule ----

  setRule(rule: CommandEventRule | null): void {
    this.rule = rule;
    this.pending = [];
    if (this.pump) clearInterval(this.pump);
    this.pump = undefined;
    if (!rule) return;
    // Invocations already running are covered from now on; commands sent later join at the next look.
    const list = this.commands();
    this.commandCursor = list.length;
    const now = this.now();
    for (const cmd of list)
      for (const inv of cmd.invocations) {
        const v = viewInvocation(inv, now);
        if (!v.terminal) this.pending.push({ inv, status: v.status });
      }
    this.pump = setInterval(() => this.runRule(), 50);
    this.pump.unref();
  }

  /**
   * Puts an event on the rule's queue for every status change of a followed invocation that the pattern matches,
   * as SSM sends them to EventBridge. Run every 50 ms and on each SQS call (a test with a manual clock).
   */
  runRule(): void {
    const rule = this.rule;
    if (!rule) return;
    const list = this.commands();
    if (this.commandCursor > list.length) this.commandCursor = 0; // the SSM state was reset
    for (; this.commandCursor < list.length; this.commandCursor++)
      for (const inv of list[this.commandCursor].invocations) this.pending.push({ inv, status: '' });
    if (this.pending.length === 0) return;
    const q = this.queues.get(rule.queue);
    const now = this.now();
    const still: typeof this.pending = [];
    for (const p of this.pending) {
      const v = viewInvocation(p.inv, now);
      if (v.status !== p.status) {
        p.status = v.status;
        if (q && rule.statuses.includes(v.status)) {
          this.send(q, JSON.stringify(invocationEvent(p.inv, v.status, v.finishedAt ?? now, rule.region)));
          this.eventsSent++;
        }
      }
      if (!v.terminal) still.push(p);
    }
    this.pending = still;
  }
}

/** SSM's EventBridge event for an invocation's status change, in the shape AWS documents. */
export function invocationEvent(
  inv: Invocation,
  status: string,
  at: number,
  region: string,
): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': INVOCATION_EVENT,
    source: 'aws.ssm',
    account: ACCOUNT_ID,
    time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:ec2:${region}:${ACCOUNT_ID}:instance/${inv.machineId}`],
    detail: {
      'command-id': inv.command.id,
      'document-name': inv.command.documentName,
      'instance-id': inv.machineId,
      'requested-date-time': new Date(inv.command.requestedAt).toISOString(),
      status,
    },
  };
}

function sqsError(res: ServerResponse, err: AwsError): void {
  const type = QUERY_CODES[err.code] ?? err.code;
  const fault = err.status >= 500 ? 'Receiver' : 'Sender';
  sendJson(
    res,
    err.status,
    { __type: `com.amazonaws.sqs#${err.code}`, message: err.message },
    {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': `${type};${fault}`,
      'x-amzn-requestid': requestId(),
    },
  );
}

function int(input: Record<string, unknown>, key: string, min: number, max: number, dflt: number): number {
  const v = input[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new AwsError(
      'InvalidParameterValue',
      400,
      `Value ${String(v)} for parameter ${key} is invalid. Must be between ${min} and ${max}.`,
    );
  return v;
}

function messageJson(m: LabMessage, attributeNames: string[]): Record<string, unknown> {
  const all = attributeNames.includes('All');
  const attrs: Record<string, string> = {};
  const want = (n: string) => all || attributeNames.includes(n);
  if (want('SentTimestamp')) attrs.SentTimestamp = String(m.sentAt);
  if (want('ApproximateReceiveCount')) attrs.ApproximateReceiveCount = String(m.receiveCount);
  if (want('ApproximateFirstReceiveTimestamp') && m.firstReceiveAt !== null)
    attrs.ApproximateFirstReceiveTimestamp = String(m.firstReceiveAt);
  if (want('SenderId')) attrs.SenderId = 'AIDAEVENTBRIDGELAB';
  return {
    MessageId: m.id,
    ReceiptHandle: m.handle,
    MD5OfBody: m.md5,
    Body: m.body,
    ...(Object.keys(attrs).length ? { Attributes: attrs } : {}),
  };
}

function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : [];
}

/** One SQS call. `count` records it in the lab's call statistics (`sqs:<Op>`). */
export async function handleSqs(
  sqs: SqsState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  op: string,
): Promise<void> {
  try {
    if (!sqs.available)
      throw new AwsError('ServiceUnavailable', 503, 'The queue service is unavailable (lab switch).');
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.length ? JSON.parse(body.toString('utf8')) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      throw new AwsError('InvalidParameterValue', 400, 'Request body is not a JSON object');
    }
    const out = await answer(sqs, req, res, op, input);
    sendJson(res, 200, out, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': requestId(),
    });
  } catch (e) {
    if (e instanceof AwsError) return sqsError(res, e);
    throw e;
  }
}

async function answer(
  sqs: SqsState,
  req: IncomingMessage,
  res: ServerResponse,
  op: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const urlOf = (name: string) => `http://${req.headers.host ?? '127.0.0.1'}/${ACCOUNT_ID}/${name}`;
  switch (op) {
    case 'CreateQueue': {
      const name = input.QueueName;
      if (typeof name !== 'string')
        throw new AwsError('MissingParameter', 400, 'The request must contain the parameter QueueName.');
      const attrs =
        input.Attributes && typeof input.Attributes === 'object'
          ? (input.Attributes as Record<string, string>)
          : {};
      const q = sqs.createQueue(name, attrs);
      return { QueueUrl: urlOf(q.name) };
    }
    case 'GetQueueUrl': {
      const name = input.QueueName;
      if (typeof name !== 'string')
        throw new AwsError('MissingParameter', 400, 'The request must contain the parameter QueueName.');
      const q = sqs.queues.get(name);
      if (!q) throw new AwsError('QueueDoesNotExist', 400, 'The specified queue does not exist.');
      return { QueueUrl: urlOf(q.name) };
    }
    case 'SendMessage': {
      const q = sqs.queueOf(input.QueueUrl);
      if (typeof input.MessageBody !== 'string' || !input.MessageBody)
        throw new AwsError('MissingParameter', 400, 'The request must contain the parameter MessageBody.');
      const m = sqs.send(q, input.MessageBody, int(input, 'DelaySeconds', 0, 900, 0) * 1000);
      return { MessageId: m.id, MD5OfMessageBody: m.md5 };
    }
    case 'ReceiveMessage': {
      const q = sqs.queueOf(input.QueueUrl);
      const max = int(input, 'MaxNumberOfMessages', 1, 10, 1);
      const wait = int(
        input,
        'WaitTimeSeconds',
        0,
        20,
        Number(q.attributes.ReceiveMessageWaitTimeSeconds ?? 0),
      );
      const visibility = int(
        input,
        'VisibilityTimeout',
        0,
        43_200,
        Number(q.attributes.VisibilityTimeout ?? 30),
      );
      const names = [...strings(input.AttributeNames), ...strings(input.MessageSystemAttributeNames)];
      const closed = new AbortController();
      const onClose = () => closed.abort();
      res.once('close', onClose);
      try {
        const got = await sqs.receive(q, max, wait * 1000, visibility * 1000, closed.signal);
        return got.length ? { Messages: got.map((m) => messageJson(m, names)) } : {};
      } finally {
        res.off('close', onClose);
      }
    }
    case 'DeleteMessage': {
      const q = sqs.queueOf(input.QueueUrl);
      sqs.delete(q, input.ReceiptHandle);
      return {};
    }
    case 'DeleteMessageBatch': {
      const q = sqs.queueOf(input.QueueUrl);
      const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
      if (entries.length === 0)
        throw new AwsError(
          'EmptyBatchRequest',
          400,
          'There should be at least one DeleteMessageBatchRequestEntry in the request.',
        );
      if (entries.length > 10)
        throw new AwsError(
          'TooManyEntriesInBatchRequest',
          400,
          `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
        );
      const ids = entries.map((e) => e?.Id);
      if (ids.some((id) => typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)))
        throw new AwsError(
          'InvalidBatchEntryId',
          400,
          'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
        );
      if (new Set(ids).size !== ids.length)
        throw new AwsError('BatchEntryIdsNotDistinct', 400, 'Id  repeated.');
      const Successful: { Id: string }[] = [];
      const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
      for (const e of entries) {
        try {
          sqs.delete(q, e.ReceiptHandle);
          Successful.push({ Id: e.Id as string });
        } catch (err) {
          Failed.push({
            Id: e.Id as string,
            SenderFault: true,
            Code: 'ReceiptHandleIsInvalid',
            Message: (err as Error).message,
          });
        }
      }
      return { Successful, Failed };
    }
    case 'GetQueueAttributes': {
      const q = sqs.queueOf(input.QueueUrl);
      const now = sqs.now();
      const visible = q.messages.filter((m) => m.visibleAt <= now).length;
      const all: Record<string, string> = {
        ...q.attributes,
        QueueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:${q.name}`,
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: String(q.messages.length - visible),
        CreatedTimestamp: String(Math.floor(q.createdAt / 1000)),
      };
      const names = strings(input.AttributeNames);
      const Attributes = names.includes('All')
        ? all
        : Object.fromEntries(names.filter((n) => n in all).map((n) => [n, all[n]]));
      return { Attributes };
    }
    default:
      throw new AwsError(
        'InvalidAction',
        400,
        `The action ${op} is not valid for this endpoint (fleet lab).`,
      );
  }
}
