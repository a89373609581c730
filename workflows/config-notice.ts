/**
 * `notice/<key>`: sends one notice of a configuration change (plan_new, pipeline_deleted, …) that the API
 * accepted. The API cannot reach the channels itself; the worker's `notify` activity delivers, retries and
 * records it, and never sends the same key twice.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ConfigNotice } from '../domain/config-notice';

type Acts = ReturnType<typeof createActivities>;
const acts = proxyActivities<Pick<Acts, 'notify'>>({
  // notify never throws and bounds its own channel retries (3 × timeout + backoff per channel).
  startToCloseTimeout: '3 minutes',
  retry: { maximumAttempts: 3 },
});

export async function configNoticeWorkflow(notice: ConfigNotice): Promise<void> {
  await acts.notify(notice);
}
