import { z } from 'zod';

/** Bodies of the answers to a HALTED event (docs/behaviour.md#halted); kept apart from api/schemas.ts. */
export const OverrideBody = z
  .strictObject({
    reason: z
      .string()
      .trim()
      .min(1, 'an override needs a reason')
      .max(2000)
      .describe('why the gates are overridden; recorded'),
  })
  .meta({ id: 'OverrideGatesInput' });

export const AbortBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(2000).optional().describe('why the event is aborted; recorded'),
  })
  .meta({ id: 'AbortEventInput' });
