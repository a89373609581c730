import { z } from 'zod';

/**
 * Machine holds (issue 16 item 5, docs/behaviour.md#machine-holds): an operator keeps one machine out of
 * patching for a while, with a reason. Events mark a held machine OMITTED ("on hold: …") instead of patching
 * it; a hold ends by itself at `until`, which may lie at most HOLD_MAX_DAYS after the machine's last patch, so
 * no machine is kept unpatched for long by a hold nobody lifts.
 */
export const HOLD_MAX_DAYS = 60;
const DAY_MS = 24 * 3600_000;

const IsoDateBase = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z',
});
const IsoDate = IsoDateBase.meta({ pattern: IsoDateBase._zod.pattern.source });

export const MachineHoldInput = z
  .strictObject({
    reason: z
      .string()
      .trim()
      .min(1, 'a hold needs a reason')
      .max(500)
      .meta({ pattern: '\\S' })
      .describe('why the machine is not patched; shown on the events that omit it and in their reports'),
    until: IsoDate.describe(
      `when the hold ends by itself; in the future and at most ${HOLD_MAX_DAYS} days after the machine's last patch (or its creation, if never patched)`,
    ),
  })
  .meta({ id: 'MachineHoldInput' });
export type MachineHoldInput = z.infer<typeof MachineHoldInput>;

/** A hold as stored on the machine and shown while it lasts. */
export const MachineHold = z.object({
  reason: z.string(),
  until: z.string(),
  set_by: z.string().describe('the API key that set it'),
  set_at: z.string(),
});
export type MachineHold = z.infer<typeof MachineHold>;

/** A hold in force at `nowMs`; an expired one has ended by itself. */
export function holdActive(hold: Pick<MachineHold, 'until'> | undefined, nowMs: number): boolean {
  return hold !== undefined && Date.parse(hold.until) > nowMs;
}

/** The latest `until` a hold on this machine may have: HOLD_MAX_DAYS after its last patch (or its creation). */
export function holdLimit(m: { created_at: string; last_patching?: { at?: string } }): {
  limit: string;
  since: 'last patch' | 'creation';
} {
  const lastPatch = m.last_patching?.at;
  const base = Date.parse(lastPatch ?? m.created_at);
  return {
    limit: new Date(base + HOLD_MAX_DAYS * DAY_MS).toISOString(),
    since: lastPatch ? 'last patch' : 'creation',
  };
}

/**
 * Why `until` is refused for this machine at `nowMs`, or undefined: `past` (the request alone is wrong) or `cap`
 * (beyond HOLD_MAX_DAYS after the stored machine's last patch), with a message for the `until` field.
 */
export function holdUntilIssue(
  until: string,
  m: { created_at: string; last_patching?: { at?: string } },
  nowMs: number,
): { kind: 'past' | 'cap'; message: string } | undefined {
  const t = Date.parse(until);
  if (!(t > nowMs)) return { kind: 'past', message: 'must be in the future' };
  const { limit, since } = holdLimit(m);
  if (t > Date.parse(limit))
    return {
      kind: 'cap',
      message:
        Date.parse(limit) <= nowMs
          ? `the machine's ${since} was more than ${HOLD_MAX_DAYS} days ago (a hold may last until ${limit} at most): patch it first`
          : `must be at most ${HOLD_MAX_DAYS} days after the machine's ${since}: ${limit} at the latest`,
    };
  return undefined;
}

/** The reason an event records for a machine it omits because of the hold. */
export function holdOmitReason(hold: Pick<MachineHold, 'reason' | 'until'>): string {
  return `on hold: ${hold.reason} (until ${hold.until})`;
}
