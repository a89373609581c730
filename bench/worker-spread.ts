/**
 * How an event's machines were spread over several workers on one task queue (issue 18 item 5), read from
 * Temporal: each sampled machine run workflow's history names the worker (its identity) that completed each
 * workflow task and started each activity (in the run and in the machine's owner workflow). A machine counts for the worker that completed most of its
 * workflow tasks.
 */
import { workflowIds } from '../domain/event';
import type { BenchStack } from './harness';

export interface WorkerSpread {
  workers: number;
  /** Worker identities, in the order of the lists below; 'other' last when an identity matched none. */
  identities: string[];
  sampled_machines: number;
  /** Sampled machine runs per worker (by majority of their workflow tasks), and as percentages. */
  machines: number[];
  machines_percent: number[];
  /**
   * Workflow tasks completed by each worker over the sampled machine runs, and activity tasks started over them
   * and their machines' owner workflows (which send and follow the SSM commands), %; empty when there were none.
   */
  workflow_tasks_percent: number[];
  activity_tasks_percent: number[];
}

const percent = (xs: number[]) => {
  const total = xs.reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  return xs.map((x) => Math.round((x / total) * 1000) / 10);
};

export async function workerSpread(
  stack: BenchStack,
  machines: { event_id: string; machine_id: string }[],
  sample = 200,
): Promise<WorkerSpread> {
  const ids = stack.workers.map((w) => w.identity);
  const slot = (identity: string | null | undefined) => {
    const i = ids.indexOf(identity ?? '');
    return i >= 0 ? i : ids.length;
  };
  const machineCount = new Array<number>(ids.length + 1).fill(0);
  const wfTasks = new Array<number>(ids.length + 1).fill(0);
  const actTasks = new Array<number>(ids.length + 1).fill(0);
  const step = Math.max(1, Math.floor(machines.length / sample));
  const picked = machines.filter((_, i) => i % step === 0).slice(0, sample);
  let sampled = 0;
  for (const m of picked) {
    const handle = stack.client.workflow.getHandle(workflowIds.machineRun(m.event_id, m.machine_id, 0));
    const history = await handle.fetchHistory().catch(() => undefined);
    if (!history?.events?.length) continue;
    const mine = new Array<number>(ids.length + 1).fill(0);
    for (const e of history.events) {
      const wf = e.workflowTaskCompletedEventAttributes;
      if (wf) {
        mine[slot(wf.identity)]++;
        wfTasks[slot(wf.identity)]++;
      }
      const act = e.activityTaskStartedEventAttributes;
      if (act) actTasks[slot(act.identity)]++;
    }
    machineCount[mine.indexOf(Math.max(...mine))]++;
    sampled++;
    // The machine's SSM commands are sent and followed by activities of its owner workflow (the command queue).
    const owner = await stack.client.workflow
      .getHandle(workflowIds.machine(m.machine_id))
      .fetchHistory()
      .catch(() => undefined);
    for (const e of owner?.events ?? []) {
      const act = e.activityTaskStartedEventAttributes;
      if (act) actTasks[slot(act.identity)]++;
    }
  }
  // Show 'other' only when something was done by an identity that is not one of ours.
  const keep = machineCount[ids.length] + wfTasks[ids.length] + actTasks[ids.length] > 0;
  const cut = (xs: number[]) => (keep ? xs : xs.slice(0, ids.length));
  return {
    workers: ids.length,
    identities: keep ? [...ids, 'other'] : ids,
    sampled_machines: sampled,
    machines: cut(machineCount),
    machines_percent: percent(cut(machineCount)),
    workflow_tasks_percent: percent(cut(wfTasks)),
    activity_tasks_percent: percent(cut(actTasks)),
  };
}
