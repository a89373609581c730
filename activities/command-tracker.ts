/**
 * Shared SSM look-ups for every command the worker follows and every machine it pings, so AWS calls grow with
 * the number of batches, not with machines × poll ticks (issue 7: one ListCommandInvocations per batch instead
 * of one GetCommandInvocation per machine per tick; ≤ 3 calls per machine).
 *
 * - CommandTracker: one per (region, role) in the process. Followers register their command with a due time;
 *   one sweep — ListCommandInvocations filtered to Status=InProgress, 50 per page — tells all of them at
 *   once whether their command is still running. (The ExecutionStage filter is documented for ListCommands only;
 *   a Pending or Delayed command is not listed, so it is judged at its due time by GetCommandInvocation.) A command seen running that leaves the list is reported at
 *   once (early), others at their due time. The follower then asks GetCommandInvocation once for the full
 *   output, so how a command ended is still decided exactly as before (domain/ssm-status.ts).
 * - InstanceInfoBatcher: DescribeInstanceInformation for up to 50 instance IDs per call, gathering the pings
 *   that arrive within a few milliseconds of each other and filling the rest of the batch with the machines
 *   likely to be asked next; answers are reused for a minute.
 *
 * Both degrade to the old behaviour on any error: a failed sweep answers 'unknown' (the follower then calls
 * GetCommandInvocation), a failed batch fails each caller's activity attempt as a single call would.
 *
 * - End notices (event-driven completion, activities/command-events.ts): an EventBridge event saying a command
 *   ended wakes its follower at once ('ended'); the follower still asks SSM how it ended. A notice is only a
 *   wake-up: a lost or late one changes nothing but how soon the end is noticed.
 */
import {
  DescribeInstanceInformationCommand,
  ListCommandInvocationsCommand,
  type InstanceInformation,
  type SSMClient,
} from '@aws-sdk/client-ssm';

/** The caller's wrapper that counts and times SSM calls (activities/ssm.ts). */
export type SsmCall = <T>(operation: string, fn: () => Promise<T>) => Promise<T>;
export type SsmFor = (region: string, roleArn?: string) => Promise<SSMClient>;

/**
 * What the last sweep showed: still running, no longer in the running list, or nothing known (sweep failed);
 * or 'ended': an end notice (an EventBridge event) said the command ended.
 */
export type TrackedState = 'executing' | 'gone' | 'unknown' | 'ended';

/** Listed commands may have been requested slightly before our own clock says we sent them. */
const INVOKED_AFTER_SLACK_MS = 5 * 60_000;
/**
 * How fast the sweep interval grows with the youngest command's age, per page a sweep costs. A command's end is
 * noticed on average half an interval late, so this is about twice the overhead on a command's duration: at 0.5
 * (one command's own back-off) ten waves of 60 s patches took 1.58× their ideal (issue 7 (b)), at 0.1 1.17×.
 * The growth is multiplied by the pages a sweep costs (50 commands each), which keeps the list calls per
 * command near constant: ~35 sweeps over a 10-minute command at one page, ~12 at four pages.
 */
const SWEEP_GROWTH = 0.1;
const PAGE = 50;

interface Waiter {
  watch: CommandWatch;
  dueAt: number;
  registeredAt: number;
  resolve: (s: TrackedState) => void;
  reject: (e: unknown) => void;
  cleanup: () => void;
}

export interface CommandWatch {
  readonly key: string;
  readonly sentAtMs: number;
  /** Set once a sweep listed the command as executing: its disappearance then means it ended. */
  seenRunning: boolean;
  /**
   * Resolves at the last sweep before `dueAt` with what it showed, or earlier with 'gone' when a command seen
   * running leaves the list. Rejects with the signal's reason when `signal` aborts.
   */
  next(dueAt: number, signal?: AbortSignal): Promise<TrackedState>;
  /**
   * Waits `ms`, or less when an end notice arrives (true). An end notice that came while nobody waited answers
   * the next `next` or `pause` at once; either consumes it. Rejects with the signal's reason when it aborts.
   */
  pause(ms: number, signal?: AbortSignal): Promise<boolean>;
  close(): void;
}

/** How long an end notice for a command nobody follows yet is remembered (its follower may register late). */
const END_NOTICE_TTL_MS = 5 * 60_000;
const END_NOTICE_MAX = 5_000;

/**
 * End notices of the last few minutes, by `commandId|instanceId`: a command that ends before its follower
 * registers (an instant command) is still answered at once.
 */
export class RecentEnds {
  private readonly at = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  add(key: string): void {
    const now = this.now();
    this.at.delete(key);
    this.at.set(key, now);
    // Oldest first (insertion order): drop what expired, and beyond the cap the oldest.
    for (const [k, t] of this.at) {
      if (this.at.size <= END_NOTICE_MAX && now - t < END_NOTICE_TTL_MS) break;
      this.at.delete(k);
    }
  }

  has(key: string): boolean {
    const t = this.at.get(key);
    return t !== undefined && this.now() - t < END_NOTICE_TTL_MS;
  }
}

interface WatchState {
  /** An end notice nobody has consumed yet. */
  endNoticed: boolean;
  /** Pauses to cut short: with true on an end notice, false when the watch closes. */
  pauses: Set<(ended: boolean) => void>;
}

export class CommandTracker {
  private readonly watches = new Map<string, Set<CommandWatch>>();
  private readonly watchState = new WeakMap<CommandWatch, WatchState>();
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private lastSweepAt = 0;
  /** Sweeps and pages so far (tests and metrics). */
  readonly stats = { sweeps: 0, pages: 0, failures: 0 };

  constructor(
    private readonly ssm: () => Promise<SSMClient>,
    private readonly call: SsmCall,
    /** The poll interval bounds (SSM_POLL_MIN_MS, SSM_POLL_MAX_MS). */
    private readonly minGapMs: number,
    private readonly maxGapMs: number,
    private readonly now: () => number = Date.now,
    /** End notices that arrived before their follower registered (shared by the process's trackers). */
    private readonly recentEnds?: RecentEnds,
  ) {}

  watch(commandId: string, instanceId: string, sentAtMs: number): CommandWatch {
    const key = `${commandId}|${instanceId}`;
    const w: CommandWatch = {
      key,
      sentAtMs,
      seenRunning: false,
      next: (dueAt, signal) => this.wait(w, dueAt, signal),
      pause: (ms, signal) => this.pause(w, ms, signal),
      close: () => {
        const set = this.watches.get(key);
        set?.delete(w);
        if (set && set.size === 0) this.watches.delete(key);
        for (const x of this.waiters) if (x.watch === w) this.settle(x, 'unknown');
        for (const cut of this.watchState.get(w)?.pauses ?? []) cut(false);
      },
    };
    this.watchState.set(w, { endNoticed: this.recentEnds?.has(key) ?? false, pauses: new Set() });
    let set = this.watches.get(key);
    if (!set) this.watches.set(key, (set = new Set()));
    set.add(w);
    return w;
  }

  /**
   * An end notice for `commandId` on `instanceId`: wakes its followers ('ended'). True when this tracker follows
   * the command.
   */
  commandEnded(commandId: string, instanceId: string): boolean {
    const set = this.watches.get(`${commandId}|${instanceId}`);
    if (!set) return false;
    for (const w of set) {
      const st = this.watchState.get(w);
      if (!st) continue;
      let woken = false;
      for (const x of [...this.waiters])
        if (x.watch === w) {
          this.settle(x, 'ended');
          woken = true;
        }
      for (const cut of st.pauses) {
        cut(true);
        woken = true;
      }
      if (!woken) st.endNoticed = true;
    }
    return true;
  }

  /** Consumes a pending end notice of `watch`. */
  private takeEndNotice(watch: CommandWatch): boolean {
    const st = this.watchState.get(watch);
    if (!st?.endNoticed) return false;
    st.endNoticed = false;
    return true;
  }

  private pause(watch: CommandWatch, ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (this.takeEndNotice(watch)) return resolve(true);
      const st = this.watchState.get(watch);
      const done = (ended: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        st?.pauses.delete(cut);
        resolve(ended);
      };
      const cut = (ended: boolean) => done(ended);
      const onAbort = () => {
        clearTimeout(timer);
        st?.pauses.delete(cut);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      st?.pauses.add(cut);
    });
  }

  private wait(watch: CommandWatch, dueAt: number, signal?: AbortSignal): Promise<TrackedState> {
    return new Promise<TrackedState>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (this.takeEndNotice(watch)) return resolve('ended');
      const onAbort = () => {
        this.waiters.delete(waiter);
        waiter.cleanup();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        watch,
        dueAt,
        registeredAt: this.now(),
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Coming out of idle, the cadence starts now: a sweep at once could not show a command sent just now.
      if (this.waiters.size === 0 && !this.sweeping)
        this.lastSweepAt = Math.max(this.lastSweepAt, waiter.registeredAt);
      this.waiters.add(waiter);
      this.schedule();
    });
  }

  private settle(w: Waiter, s: TrackedState): void {
    if (!this.waiters.delete(w)) return;
    w.cleanup();
    w.resolve(s);
  }

  /**
   * The sweep cadence follows the youngest command being waited on: MIN + age × SWEEP_GROWTH, capped at MAX.
   * Every waiter is answered by a sweep, so followers' individual schedules never multiply the calls, and one
   * sweep serves every command of the worker: its cost per command falls as more run at once.
   */
  private gap(now: number): number {
    let youngest = -Infinity;
    for (const w of this.waiters) youngest = Math.max(youngest, w.watch.sentAtMs);
    const age = Number.isFinite(youngest) ? Math.max(0, now - youngest) : 0;
    // A sweep costs one call per page of commands in flight: with more pages, sweep less often, so the calls
    // per command stay bounded however many run at once (issue 7 (e): 200 machines, 4 pages a sweep).
    const pages = Math.max(1, Math.ceil(this.watches.size / PAGE));
    return Math.min(this.maxGapMs, Math.max(this.minGapMs, this.minGapMs + age * SWEEP_GROWTH * pages));
  }

  private schedule(): void {
    if (this.sweeping || this.timer || this.waiters.size === 0) return;
    const now = this.now();
    const at = Math.max(now, this.lastSweepAt + this.gap(now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sweep();
    }, at - now);
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const startedAt = this.now();
    this.lastSweepAt = startedAt;
    let executing: Set<string> | undefined;
    try {
      executing = await this.listExecuting(startedAt);
      this.stats.sweeps++;
    } catch {
      this.stats.failures++;
    } finally {
      this.sweeping = false;
    }
    const now = this.now();
    // A waiter due before the next sweep is answered now, with what this sweep saw.
    const nextSweepAt = startedAt + this.gap(now);
    for (const w of [...this.waiters]) {
      // A command sent after the sweep began may simply not be listed yet: only judge what the sweep covered.
      if (w.registeredAt > startedAt && w.watch.sentAtMs > startedAt) continue;
      const due = w.dueAt <= nextSweepAt;
      if (!executing) {
        if (due) this.settle(w, 'unknown');
        continue;
      }
      if (executing.has(w.watch.key)) {
        w.watch.seenRunning = true;
        if (due) this.settle(w, 'executing');
      } else if (w.watch.seenRunning || due) {
        this.settle(w, 'gone');
      }
    }
    this.schedule();
  }

  private async listExecuting(now: number): Promise<Set<string>> {
    let oldest = Infinity;
    for (const set of this.watches.values()) for (const w of set) oldest = Math.min(oldest, w.sentAtMs);
    const invokedAfter = new Date(
      (Number.isFinite(oldest) ? oldest : now) - INVOKED_AFTER_SLACK_MS,
    ).toISOString();
    const ssm = await this.ssm();
    const out = new Set<string>();
    let token: string | undefined;
    do {
      const r = await this.call('ListCommandInvocations', () =>
        ssm.send(
          new ListCommandInvocationsCommand({
            Filters: [
              { key: 'Status', value: 'InProgress' },
              { key: 'InvokedAfter', value: invokedAfter },
            ],
            MaxResults: PAGE,
            NextToken: token,
          }),
        ),
      );
      this.stats.pages++;
      for (const inv of r.CommandInvocations ?? [])
        if (inv.CommandId && inv.InstanceId) out.add(`${inv.CommandId}|${inv.InstanceId}`);
      token = r.NextToken;
    } while (token);
    return out;
  }
}

interface Pending {
  id: string;
  resolve: (i: InstanceInformation | undefined) => void;
  reject: (e: unknown) => void;
}

/**
 * How long a ping answer is reused. SSM itself refreshes PingStatus only every few minutes from the agent's
 * heartbeat, so a minute-old answer is as good as a new one.
 */
const PING_FRESH_MS = 60_000;

/**
 * Only an Online answer is reused. "Not online" is often a moment (the reboot of the node's previous command, seen
 * while another machine's batch was looked up) and refusing a command on it would give the machine up: such an
 * answer is asked again, which costs a call only for nodes that are not online (chaos suite: a post hook refused
 * as ConnectionLost 26 s after its patch command's reboot had ended).
 */
const reusable = (a: { info: InstanceInformation | undefined }) => a.info?.PingStatus === 'Online';

export class InstanceInfoBatcher {
  private queue: Pending[] = [];
  private prefetch = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly answers = new Map<string, { info: InstanceInformation | undefined; at: number }>();
  readonly stats = { calls: 0, lookups: 0 };

  constructor(
    private readonly ssm: () => Promise<SSMClient>,
    private readonly call: SsmCall,
    /** How long the first ping of a batch waits for others to join it. */
    private readonly gatherMs = 50,
    private readonly now: () => number = Date.now,
    /** How long an answer is reused (SSM_PING_CACHE_MS). */
    private readonly freshMs = PING_FRESH_MS,
  ) {}

  /**
   * The managed-instance record of `instanceId` (undefined: not registered with SSM). `likelyNext` are machines
   * that will probably be asked for soon (the rest of the event's fleet, in start order): they fill the batch's
   * free places, so a fleet whose starts trickle in still costs one call per 50 machines. `maxAgeMs`: how old a
   * reused answer may be (0: always ask SSM, as the machine ping sweep does).
   */
  get(
    instanceId: string,
    likelyNext: readonly string[] = [],
    maxAgeMs = this.freshMs,
  ): Promise<InstanceInformation | undefined> {
    this.stats.lookups++;
    const known = this.answers.get(instanceId);
    if (known && reusable(known) && this.now() - known.at < Math.min(maxAgeMs, this.freshMs))
      return Promise.resolve(known.info);
    for (const id of likelyNext) {
      if (this.prefetch.size >= PAGE) break;
      const k = this.answers.get(id);
      if (!k || !reusable(k) || this.now() - k.at >= this.freshMs) this.prefetch.add(id);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: instanceId, resolve, reject });
      if (this.queue.length >= PAGE) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.gatherMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, PAGE);
      const ids = [...new Set(batch.map((p) => p.id))];
      for (const id of this.prefetch) {
        if (ids.length >= PAGE) break;
        if (!ids.includes(id)) ids.push(id);
      }
      this.prefetch.clear();
      void this.describe(batch, ids);
    }
  }

  private async describe(batch: Pending[], ids: string[]): Promise<void> {
    try {
      const ssm = await this.ssm();
      const found = new Map<string, InstanceInformation>();
      await this.lookup(ssm, ids, found);
      const at = this.now();
      for (const id of ids) this.answers.set(id, { info: found.get(id), at });
      if (this.answers.size > 20_000)
        for (const [id, a] of this.answers) if (at - a.at >= this.freshMs) this.answers.delete(id);
      for (const p of batch) p.resolve(found.get(p.id));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /**
   * One InstanceIds-filtered DescribeInstanceInformation (paged). SSM refuses the whole call with
   * InvalidInstanceId when any ID in the filter is not a managed node it knows, so such a batch is halved
   * until the unknown IDs stand alone: k unknown IDs in a batch of 50 cost about 2·k·log2(50/k) extra calls,
   * none when every machine is registered.
   */
  private async lookup(
    ssm: SSMClient,
    ids: string[],
    found: Map<string, InstanceInformation>,
  ): Promise<void> {
    let token: string | undefined;
    try {
      do {
        this.stats.calls++;
        const r = await this.call('DescribeInstanceInformation', () =>
          ssm.send(
            new DescribeInstanceInformationCommand({
              Filters: [{ Key: 'InstanceIds', Values: ids }],
              MaxResults: PAGE,
              NextToken: token,
            }),
          ),
        );
        for (const i of r.InstanceInformationList ?? []) if (i.InstanceId) found.set(i.InstanceId, i);
        token = r.NextToken;
        // SSM may hand out a token although no further page matches: stop once every ID is answered.
      } while (token && ids.some((id) => !found.has(id)));
    } catch (err) {
      if ((err as Error).name !== 'InvalidInstanceId') throw err;
      if (ids.length === 1) return; // not registered with SSM
      const half = Math.ceil(ids.length / 2);
      await this.lookup(ssm, ids.slice(0, half), found);
      await this.lookup(ssm, ids.slice(half), found);
    }
  }
}

/** One tracker and one batcher per (region, role), for the life of the worker process. */
export class SsmSharedLookups {
  private readonly trackers = new Map<string, CommandTracker>();
  private readonly batchers = new Map<string, InstanceInfoBatcher>();
  private readonly recentEnds = new RecentEnds();

  constructor(
    private readonly ssmFor: SsmFor,
    private readonly call: SsmCall,
    private readonly pollMs: { min: number; max: number },
    private readonly pingCacheMs = PING_FRESH_MS,
  ) {}

  tracker(region: string, roleArn?: string): CommandTracker {
    const key = `${region}|${roleArn ?? ''}`;
    let t = this.trackers.get(key);
    if (!t)
      this.trackers.set(
        key,
        (t = new CommandTracker(
          () => this.ssmFor(region, roleArn),
          this.call,
          this.pollMs.min,
          this.pollMs.max,
          undefined,
          this.recentEnds,
        )),
      );
    return t;
  }

  /**
   * An end notice (activities/command-events.ts): wakes the command's followers in every tracker, and is
   * remembered a few minutes for a follower that registers later. True when a follower was waiting for it.
   */
  commandEnded(commandId: string, instanceId: string): boolean {
    this.recentEnds.add(`${commandId}|${instanceId}`);
    let followed = false;
    for (const t of this.trackers.values()) followed = t.commandEnded(commandId, instanceId) || followed;
    return followed;
  }

  instances(region: string, roleArn?: string): InstanceInfoBatcher {
    const key = `${region}|${roleArn ?? ''}`;
    let b = this.batchers.get(key);
    if (!b)
      this.batchers.set(
        key,
        (b = new InstanceInfoBatcher(
          () => this.ssmFor(region, roleArn),
          this.call,
          undefined,
          undefined,
          this.pingCacheMs,
        )),
      );
    return b;
  }
}

/**
 * The process's channel from the command events queue to the SSM activities' trackers: the worker builds one, the
 * SSM activities subscribe, the queue consumer reports ends. A listener answers whether it follows the command.
 */
export class CommandEnds {
  private readonly listeners = new Set<(commandId: string, instanceId: string) => boolean>();

  subscribe(fn: (commandId: string, instanceId: string) => boolean): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** True when a follower in this process follows the command. */
  ended(commandId: string, instanceId: string): boolean {
    let followed = false;
    for (const fn of this.listeners) followed = fn(commandId, instanceId) || followed;
    return followed;
  }
}
