import { z } from 'zod';

/**
 * What an approval was given on, and when a changed target set asks for approval again
 * (docs/behaviour.md#approve). Pure: the record's shape and the diff rule.
 *
 * A target is named by its SSM managed-node ID (`i-…` / `mi-…`): a dynamic plan's node has one before it is
 * registered as a machine, and a static plan's machine carries one, so both kinds compare the same way.
 */

/** Share of the approved target set that may change before the window opens without a new approval. */
export const DEFAULT_REAPPROVAL_THRESHOLD = 0.1;

export const ReapprovalThreshold = z
  .number()
  .min(0)
  .max(1)
  .describe(
    'Share (0–1) of the approved target set that may change before the window opens: when the targets differ from those the event was approved on by more than this (machines added + removed, over the approved count), the event is NOT_APPROVED again and waits for a new approval. Default 0.1 (10 %); 0 = any change. Only events that were approved (NOT_APPROVED first) are checked.',
  );

export const ApprovalRecord = z
  .object({
    by: z.string().describe('Who approved'),
    at: z.string().describe('When the approval was recorded (ISO 8601)'),
    via: z.enum(['api', 'temporal_signal']).describe('The API (an Update) or a Temporal signal'),
    targets: z
      .number()
      .int()
      .describe('How many targets the event had then (a dynamic plan: its selectors resolved then)'),
    target_digest: z
      .string()
      .describe('SHA-256 (first 16 hex digits) of the sorted SSM managed-node IDs of those targets'),
    target_error: z
      .string()
      .optional()
      .describe(
        'The targets could not be resolved then (SSM error): the window opening does not compare them',
      ),
    reapproval_threshold: z.number().describe("The plan's reapproval_threshold when it was approved"),
  })
  .describe(
    'The last approval of this event and what it was given on (docs/behaviour.md#approve). Before the window opens the targets are resolved again; a change larger than the plan’s reapproval_threshold makes the event NOT_APPROVED again',
  );
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

export interface TargetChange {
  /** Targets now that were not approved. */
  added: string[];
  /** Approved targets that are gone. */
  removed: string[];
  /** (added + removed) / approved count; an empty approved set counts as one. */
  share: number;
}

/** The symmetric difference of two target sets (SSM managed-node IDs), as a share of the approved set. */
export function targetChange(approved: readonly string[], current: readonly string[]): TargetChange {
  const a = new Set(approved);
  const c = new Set(current);
  const added = [...c].filter((t) => !a.has(t)).sort();
  const removed = [...a].filter((t) => !c.has(t)).sort();
  return { added, removed, share: (added.length + removed.length) / Math.max(1, a.size) };
}

/** More than the threshold changed: the event asks for approval again. Exactly the threshold does not. */
export function needsReapproval(change: TargetChange, threshold: number): boolean {
  // Rounded to whole parts per million, so 1 of 10 is not "more than 0.1" through floating point.
  return Math.round(change.share * 1e6) > Math.round(threshold * 1e6);
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;

/** The timeline line and notice reason: "target set changed: +N −M machines since approval by X at T (…)". */
export function reapprovalReason(
  change: TargetChange,
  approval: Pick<ApprovalRecord, 'by' | 'at' | 'targets'>,
  threshold: number,
): string {
  return (
    `target set changed: +${change.added.length} −${change.removed.length} machines since approval by ` +
    `${approval.by} at ${approval.at} (${pct(change.share)} of ${approval.targets} approved, more than ` +
    `the plan's reapproval_threshold of ${pct(threshold)}); approve again to run`
  );
}
