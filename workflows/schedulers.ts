/**
 * `plan/<plan_id>` and `pipeline/<pipeline_id>`: long-lived reconcilers. Each cycle asks an activity to
 * make the upcoming events (or pipeline runs) inside the horizon match the current configuration, then
 * sleeps until the horizon has moved or the configuration changed (signal). Continues as new every
 * few cycles so the history stays small.
 */
import {
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { configChangedSignal } from './defs';
import type { createActivities } from '../activities';
import { SA } from '../domain/search-attributes';

type Acts = ReturnType<typeof createActivities>;
const acts = proxyActivities<Acts>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const CYCLES_PER_RUN = 50;

export async function planSchedulerWorkflow(input: { planId: string; customerId: string }): Promise<void> {
  upsertSearchAttributes([
    { key: SA.kind, value: 'plan-scheduler' },
    { key: SA.plan, value: input.planId },
    { key: SA.customer, value: input.customerId },
  ]);
  let changed = false;
  setHandler(configChangedSignal, () => void (changed = true));
  for (let i = 0; i < CYCLES_PER_RUN; i++) {
    changed = false;
    const r = await acts.reconcilePlanEvents({ planId: input.planId });
    if (!r.active && !changed) return; // deleted or disabled: its upcoming events are gone
    await condition(() => changed, r.nextCheckMs);
  }
  await continueAsNew<typeof planSchedulerWorkflow>(input);
}

export async function pipelineSchedulerWorkflow(input: {
  pipelineId: string;
  customerId: string;
}): Promise<void> {
  upsertSearchAttributes([
    { key: SA.kind, value: 'pipeline-scheduler' },
    { key: SA.pipeline, value: input.pipelineId },
    { key: SA.customer, value: input.customerId },
  ]);
  let changed = false;
  setHandler(configChangedSignal, () => void (changed = true));
  for (let i = 0; i < CYCLES_PER_RUN; i++) {
    changed = false;
    const r = await acts.reconcilePipelineRuns({ pipelineId: input.pipelineId });
    if (!r.active && !changed) return;
    await condition(() => changed, r.nextCheckMs);
  }
  await continueAsNew<typeof pipelineSchedulerWorkflow>(input);
}
