/** Which event statuses are final (docs/behaviour.md#event-statuses). Zod-free so workflows can import it (see domain/ids.ts). */
import type { EventStatus } from './statuses';

export const FINISHED_EVENT_STATUSES: readonly EventStatus[] = [
  'DONE',
  'DONE_MANUAL',
  'DONE_PARTIAL',
  'DONE_ERROR',
  'DONE_ERROR_MANUAL',
];

export function isEventFinished(status: EventStatus): boolean {
  return FINISHED_EVENT_STATUSES.includes(status);
}
