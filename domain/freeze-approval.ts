/**
 * The two-person rule of `freeze_rule.action: run_with_approval` (docs/behaviour.md#freeze-two-person): who may
 * give the next freeze approval and how the timeline says it. Zod-free: the event workflow imports it.
 */

/**
 * An event whose window opens inside a freeze runs there only with approvals by this many different people. A
 * person is who approves: an API key through the API (its id), the `requested_by` typed with a Temporal signal.
 */
export const FREEZE_APPROVALS_NEEDED = 2;

/** Why `by` cannot give one of the freeze approvals (already given by the same person), or undefined. */
export function freezeApprovalRefusal(approvers: readonly string[], by: string): string | undefined {
  if (approvers.includes(by))
    return (
      `${by} already approved this event to run inside its freeze (${approvers.length} of ` +
      `${FREEZE_APPROVALS_NEEDED}); the next approval must come from another person (another API key)`
    );
}

/** The timeline line of a freeze approval: "1 of 2, needs a second person", or the approval complete. */
export function freezeApprovalLine(approvers: readonly string[], reason: string): string {
  const n = approvers.length;
  const last = approvers[n - 1];
  if (n < FREEZE_APPROVALS_NEEDED)
    return (
      `approved by ${last} to run inside the freeze (${n} of ${FREEZE_APPROVALS_NEEDED}): needs ` +
      `${n === FREEZE_APPROVALS_NEEDED - 1 ? 'a second person' : 'more people'} (another API key) before the ` +
      `window opens, or it is skipped (${reason})`
    );
  return (
    `approved by ${last} to run inside the freeze (${n} of ${FREEZE_APPROVALS_NEEDED}, with ` +
    `${approvers.slice(0, -1).join(', ')}): it runs even if the window opens frozen (${reason})`
  );
}
