import { createHash } from 'node:crypto';

/**
 * The SnapshotId of an event's run: one UUID for every AWS-RunPatchBaseline command of the run, so all its
 * machines patch from the same baseline snapshot (GetDeployablePatchSnapshotForInstance takes it); derived from
 * the event and run, so a retried activity sends the same one.
 */
export function snapshotIdFor(eventId: string, runNo: number): string {
  const h = createHash('sha256').update(`patchwave-snapshot:${eventId}:${runNo}`).digest('hex');
  // RFC 4122 layout, version 5-style nibble and variant bits set.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
