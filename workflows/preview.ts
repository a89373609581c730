/**
 * `event-preview/<event_id>/<n>`: one activity that computes an event's preview (activities/preview.ts) for the
 * API, which waits for the result. A workflow only because the preview's I/O (SSM, hooks) belongs on the worker.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { EventPreview } from '../domain/preview';
import { SA } from '../domain/search-attributes';

type Acts = ReturnType<typeof createActivities>;
const acts = proxyActivities<Acts>({
  // Hooks are called one by one, 10 s each at most; SSM calls are bounded by the SDK clients.
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 3 },
});

export async function eventPreviewWorkflow(input: { eventId: string }): Promise<EventPreview> {
  upsertSearchAttributes([{ key: SA.kind, value: 'event-preview' }]);
  return acts.previewEvent({ eventId: input.eventId });
}
