/**
 * `pipeline-run/<run_id>`: one run of a pipeline (docs/behaviour.md#pipeline, #pipelines). Creates every step's events,
 * hears when they finish and when a step is approved, and opens each step's gate once every earlier step
 * is finished (DONE*, DELETED), by the step's policy. A step's gate is decided once: a partial run that
 * later turns a failed step into DONE does not re-open a successor already NOT_APPROVED (seed 001).
 */
import {
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { eventFinishedSignal, setGateSignal, stepApprovedSignal } from './defs';
import { workflowIds } from '../domain/ids';
import { SA } from '../domain/search-attributes';
import { PipelineGates, type GateDecision } from './pipeline-run-state';

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
  // Runs started before the fix re-sent NOT_APPROVED to an approved step on the next signal; their histories
  // hold that signal, so they keep doing it (no marker in their history: false). New runs do not.
  const gates = new PipelineGates({ approvalDecides: patched('pipeline-approval-decides-once') });
  let dirty = true;
  setHandler(eventFinishedSignal, ({ eventId, status }) => {
    gates.eventFinished(eventId, status);
    dirty = true;
  });
  setHandler(stepApprovedSignal, ({ step }) => {
    gates.stepApproved(step);
    dirty = true;
  });

  const steps = await acts.createPipelineRunEvents({
    runId: input.runId,
    pipelineId: input.pipelineId,
    start: input.start,
  });
  gates.steps = steps;

  /** Tells the step's events that have not finished yet. */
  const tell = async (i: number, { status, open, reason }: GateDecision) => {
    for (const id of steps[i].eventIds) {
      if (gates.eventDone(id)) continue;
      try {
        await getExternalWorkflowHandle(workflowIds.event(id)).signal(setGateSignal, {
          status,
          open,
          ...(reason ? { reason } : {}),
        });
      } catch (err) {
        log.warn('event gone', { eventId: id, error: String(err) });
      }
      // A deleted event never runs, so it never reports: its step is finished as soon as it is told.
      if (status === 'DELETED') gates.eventFinished(id, 'DELETED');
    }
  };

  const deadline = Date.parse(input.start) + GIVE_UP_AFTER_MS;
  while (!gates.allFinished()) {
    // Also woken when a step's promotion soak ends (without gates this is the one timer it always was).
    const until = Math.min(deadline, gates.wakeAtMs());
    const woke = await condition(() => dirty, Math.max(1, until - Date.now()));
    if (!woke && Date.now() >= deadline) break;
    dirty = false;
    for (let i = 0; i < steps.length; i++) {
      // A promotion gate reads what the previous step's machines did (only steps that have one: runs
      // created before gates existed never ask).
      if (gates.needsStats(i))
        gates.setStats(i - 1, await acts.promotionStepStats({ runId: input.runId, step: i - 1 }));
      const decision = gates.decide(i, Date.now());
      if (decision) await tell(i, decision);
    }
  }
}
