/**
 * Turns a finished scenario into the numbers issue 7 asks for, from three independent witnesses: the store
 * (what Patchwave recorded and when), the lab (when SSM received and finished each command, every AWS call)
 * and Temporal (history per workflow run).
 */
import fs from 'node:fs';
import os from 'node:os';
import { viewInvocation } from '../lab/invocation';
import { workflowIds } from '../domain/event';
import { COLLECTIONS } from '../store/db';
import type { EventDoc } from '../store/event-records';
import { selfUsage, type BenchStack } from './harness';
import { procTreeUsage, usageDelta, type ProcessUsage } from './worker-usage';

/** Temporal's default warning thresholds (limit.historyCount.warn, limit.historySize.warn). */
export const HISTORY_COUNT_WARN = 10_240;
export const HISTORY_SIZE_WARN = 10 * 2 ** 20;

export interface Dist {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export interface TemporalStats {
  /** Runs of the event workflow(s): 1 + continue-as-new hand-overs. */
  event_runs: number;
  event_history_events: number;
  max_run_history_length: number;
  max_run_history_bytes: number;
  machine_run_history_mean: number;
  /** Mean history of the machine command queues (`machine/<id>`); the key keeps its name for older results. */
  machine_owner_history_mean: number;
  sampled_machines: number;
  /** Event runs + machines × (machine run + machine command queue), from the sampled means. */
  history_events_per_event: number;
  history_events_per_machine: number;
  history_limit_warnings: number;
  history_limit_warning_source: 'server log + thresholds' | 'thresholds';
}

export interface EventMetrics {
  events: number;
  machines: number;
  statuses: Record<string, number>;
  event_statuses: Record<string, number>;
  makespan_s: number;
  machines_per_s: number;
  window_to_first_command_ms: Dist;
  /** Window open → the last machine's command was sent (how long starting the fleet took). */
  window_to_last_command_s: number;
  command_end_to_status_ms: Dist;
  /** CPU from window open to the end (start-up excluded); peak RSS over the worker's life. */
  worker: ProcessUsage;
  /** CPU the servers and this process (lab + driver) used during the scenario. */
  other_cpu_s: { temporal?: number; mongo?: number; lab_and_driver: number };
  temporal: TemporalStats;
  /** 1-minute load average at the end: other work on the machine skews every time above. */
  load_avg_1m: number;
  aws: {
    calls: Record<string, number>;
    ssm_calls: number;
    total_calls: number;
    ssm_calls_per_machine: number;
    calls_per_machine: number;
  };
}

export function dist(values: number[]): Dist {
  if (values.length === 0) return { n: 0, p50: NaN, p95: NaN, max: NaN };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return {
    n: s.length,
    p50: Math.round(at(0.5)),
    p95: Math.round(at(0.95)),
    max: Math.round(s[s.length - 1]),
  };
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Byte offset of the Temporal log now, so a scenario only scans its own lines. */
export function temporalLogOffset(stack: BenchStack): number {
  const f = stack.env.temporalLogFile;
  try {
    return f ? fs.statSync(f).size : 0;
  } catch {
    return 0;
  }
}

function countLogWarnings(file: string, from: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= from) return 0;
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    return buf
      .toString('utf8')
      .split('\n')
      .filter((l) => /exceeds (the )?warn(ing)? limit|history (size|count|length).*limit/i.test(l)).length;
  } finally {
    fs.closeSync(fd);
  }
}

export async function collectEventMetrics(
  stack: BenchStack,
  a: { eventIds: string[]; windowStartMs: number; logOffset: number; sampleMachines?: number },
): Promise<EventMetrics> {
  const events = await stack.db
    .collection<EventDoc>(COLLECTIONS.events)
    .find({ _id: { $in: a.eventIds } }, { projection: { status: 1, finished_at: 1, workflow_id: 1 } })
    .toArray();
  const machines = await stack.db
    .collection<{
      event_id: string;
      machine_id: string;
      status: string;
      command_id?: string;
      ended_at?: string;
    }>(COLLECTIONS.eventMachines)
    .find(
      { event_id: { $in: a.eventIds } },
      { projection: { event_id: 1, machine_id: 1, status: 1, command_id: 1, ended_at: 1 } },
    )
    .toArray();

  const finishedAt = Math.max(...events.map((e) => Date.parse(e.finished_at ?? '') || NaN));
  const makespanS = (finishedAt - a.windowStartMs) / 1000;

  const now = Date.now();
  const firstCommand = new Map<string, number>();
  let lastCommand = -Infinity;
  const endToStatus: number[] = [];
  const statuses: Record<string, number> = {};
  for (const m of machines) {
    statuses[m.status] = (statuses[m.status] ?? 0) + 1;
    const cmd = m.command_id ? stack.lab.state.commands.get(m.command_id) : undefined;
    if (!cmd) continue;
    firstCommand.set(m.event_id, Math.min(firstCommand.get(m.event_id) ?? Infinity, cmd.requestedAt));
    lastCommand = Math.max(lastCommand, cmd.requestedAt);
    const view = viewInvocation(cmd.invocations[0], now);
    const stored = Date.parse(m.ended_at ?? '');
    if (view.finishedAt !== null && Number.isFinite(stored)) endToStatus.push(stored - view.finishedAt);
  }
  const eventStatuses: Record<string, number> = {};
  for (const e of events) eventStatuses[e.status] = (eventStatuses[e.status] ?? 0) + 1;

  const worker = usageDelta(stack.baseline.worker, await stack.worker.usage())!;
  const self = usageDelta(stack.baseline.self, selfUsage())!;
  const temporalCpu = stack.env.serverPids?.temporal
    ? usageDelta(stack.baseline.temporal, procTreeUsage(stack.env.serverPids.temporal))
    : undefined;
  const mongoCpu = stack.env.serverPids?.mongo
    ? usageDelta(stack.baseline.mongo, procTreeUsage(stack.env.serverPids.mongo))
    : undefined;

  const temporal = await historyStats(stack, a.eventIds, machines, a.sampleMachines ?? 20, a.logOffset);
  const lab = stack.lab.state.stats() as {
    calls: Record<string, number>;
    total_calls: number;
    calls_by_service: Record<string, number>;
  };
  const n = machines.length || 1;
  const ssmCalls = lab.calls_by_service.ssm ?? 0;

  return {
    events: events.length,
    machines: machines.length,
    statuses,
    event_statuses: eventStatuses,
    makespan_s: round(makespanS),
    machines_per_s: round(machines.length / makespanS, 1),
    window_to_first_command_ms: dist([...firstCommand.values()].map((t) => t - a.windowStartMs)),
    window_to_last_command_s: round((lastCommand - a.windowStartMs) / 1000),
    command_end_to_status_ms: dist(endToStatus),
    worker,
    other_cpu_s: {
      ...(temporalCpu ? { temporal: temporalCpu.cpu_s } : {}),
      ...(mongoCpu ? { mongo: mongoCpu.cpu_s } : {}),
      lab_and_driver: round(self.cpu_s),
    },
    temporal,
    load_avg_1m: round(os.loadavg()[0]),
    aws: {
      calls: lab.calls,
      ssm_calls: ssmCalls,
      total_calls: lab.total_calls,
      ssm_calls_per_machine: round(ssmCalls / n),
      calls_per_machine: round(lab.total_calls / n),
    },
  };
}

async function describe(stack: BenchStack, workflowId: string, runId?: string) {
  try {
    const d = await stack.client.workflow.getHandle(workflowId, runId).describe();
    return { length: d.historyLength, bytes: d.historySize ?? 0 };
  } catch {
    return undefined;
  }
}

async function historyStats(
  stack: BenchStack,
  eventIds: string[],
  machines: { event_id: string; machine_id: string }[],
  sample: number,
  logOffset: number,
): Promise<TemporalStats> {
  let runs = 0;
  let eventEvents = 0;
  let maxLen = 0;
  let maxBytes = 0;
  for (const eventId of eventIds) {
    const wid = workflowIds.event(eventId);
    const runIds: string[] = [];
    for await (const info of stack.client.workflow.list({ query: `WorkflowId = "${wid}"` }))
      runIds.push(info.runId);
    if (runIds.length === 0) runIds.push(''); // visibility lags: at least the current run
    for (const runId of runIds) {
      const h = await describe(stack, wid, runId || undefined);
      if (!h) continue;
      runs++;
      eventEvents += h.length;
      maxLen = Math.max(maxLen, h.length);
      maxBytes = Math.max(maxBytes, h.bytes);
    }
  }
  const step = Math.max(1, Math.floor(machines.length / sample));
  const picked = machines.filter((_, i) => i % step === 0).slice(0, sample);
  let childSum = 0;
  let ownerSum = 0;
  let childN = 0;
  let ownerN = 0;
  for (const m of picked) {
    const c = await describe(stack, workflowIds.machineRun(m.event_id, m.machine_id, 0));
    if (c) {
      childSum += c.length;
      childN++;
      maxLen = Math.max(maxLen, c.length);
      maxBytes = Math.max(maxBytes, c.bytes);
    }
    const o = await describe(stack, workflowIds.machine(m.machine_id));
    if (o) {
      ownerSum += o.length;
      ownerN++;
      maxLen = Math.max(maxLen, o.length);
      maxBytes = Math.max(maxBytes, o.bytes);
    }
  }
  const childMean = childN ? childSum / childN : 0;
  const ownerMean = ownerN ? ownerSum / ownerN : 0;
  const total = eventEvents + machines.length * (childMean + ownerMean);
  const logFile = stack.env.temporalLogFile;
  const fromLog = logFile && fs.existsSync(logFile);
  return {
    event_runs: runs,
    event_history_events: eventEvents,
    max_run_history_length: maxLen,
    max_run_history_bytes: maxBytes,
    machine_run_history_mean: round(childMean, 1),
    machine_owner_history_mean: round(ownerMean, 1),
    sampled_machines: picked.length,
    history_events_per_event: Math.round(total / Math.max(1, eventIds.length)),
    history_events_per_machine: round(total / Math.max(1, machines.length), 1),
    // The server log is the witness when this run started the server; the thresholds always apply.
    history_limit_warnings:
      (fromLog ? countLogWarnings(logFile, logOffset) : 0) +
      Number(maxLen >= HISTORY_COUNT_WARN) +
      Number(maxBytes >= HISTORY_SIZE_WARN),
    history_limit_warning_source: fromLog ? 'server log + thresholds' : 'thresholds',
  };
}
