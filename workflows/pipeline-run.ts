/**
 * `pipeline-run/<run_id>`: one run of a pipeline (product.md §1 Pipeline, §5). Creates every step's events,
 * hears when they finish and when a step is approved, and opens each step's gate once every earlier step
 * is finished (DONE*, DELETED), by the step's policy. A step's gate is decided once: a partial run that
 * later turns a failed step into DONE does not re-open a successor already NOT_APPROVED (seed 001).
 */
import {
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { eventFinishedSignal, setGateSignal, stepApprovedSignal } from './defs';
import { workflowIds } from '../domain/ids';
import { SA } from '../domain/search-attributes';
import { isEventFinished } from '../domain/finished';
import type { EventStatus } from '../domain/statuses';

type Acts = ReturnType<typeof createActivities>;
const acts = proxyActivities<Acts>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export interface PipelineRunInput {
  runId: string;
  pipelineId: string;
  customerId: string;
  start: string;
}

const GIVE_UP_AFTER_MS = 14 * 24 * 3600_000;

export async function pipelineRunWorkflow(input: PipelineRunInput): Promise<void> {
  upsertSearchAttributes([
    { key: SA.kind, value: 'pipeline-run' },
    { key: SA.pipeline, value: input.pipelineId },
    { key: SA.customer, value: input.customerId },
  ]);
  const finished = new Map<string, EventStatus>();
  const approvedSteps = new Set<number>();
  let dirty = true;
  setHandler(eventFinishedSignal, ({ eventId, status }) => {
    finished.set(eventId, status);
    dirty = true;
  });
  setHandler(stepApprovedSignal, ({ step }) => {
    approvedSteps.add(step);
    dirty = true;
  });

  const steps = await acts.createPipelineRunEvents({
    runId: input.runId,
    pipelineId: input.pipelineId,
    start: input.start,
  });
  const decided = new Set<number>([0]);
  const opened = new Set<number>();
  const done = (s: EventStatus | undefined) => s !== undefined && (isEventFinished(s) || s === 'DELETED');
  const stepFinished = (i: number) => steps[i].eventIds.every((id) => done(finished.get(id)));
  const earlierFinished = (i: number) => steps.slice(0, i).every((_, j) => stepFinished(j));
  const gate = async (i: number, status: 'NEW' | 'NOT_APPROVED' | 'APPROVED', open: boolean) => {
    for (const id of steps[i].eventIds) {
      if (done(finished.get(id))) continue;
      try {
        await getExternalWorkflowHandle(workflowIds.event(id)).signal(setGateSignal, { status, open });
      } catch (err) {
        log.warn('event gone', { eventId: id, error: String(err) });
      }
    }
  };

  const deadline = Date.parse(input.start) + GIVE_UP_AFTER_MS;
  while (!steps.every((_, i) => stepFinished(i))) {
    if (!(await condition(() => dirty, Math.max(1, deadline - Date.now())))) break;
    dirty = false;
    for (let i = 0; i < steps.length; i++) {
      // An approval marks the whole step APPROVED; it becomes NEW once every earlier step is finished.
      if (approvedSteps.has(i) && !opened.has(i)) {
        if (earlierFinished(i)) {
          opened.add(i);
          await gate(i, 'NEW', true);
        } else await gate(i, 'APPROVED', false);
        continue;
      }
      if (decided.has(i) || !earlierFinished(i)) continue;
      decided.add(i);
      const prev = steps[i - 1].eventIds.map((id) => finished.get(id)).filter((s) => s !== 'DELETED');
      const prevOk = prev.every((s) => s === 'DONE' || s === 'DONE_MANUAL');
      switch (steps[i].policy) {
        case 'always':
          break;
        case 'success':
        case 'success_or_approval':
          if (prevOk) {
            opened.add(i);
            await gate(i, 'NEW', true);
          } else await gate(i, 'NOT_APPROVED', false);
          break;
        case 'approval':
          await gate(i, 'NOT_APPROVED', false);
          break;
      }
    }
  }
}
