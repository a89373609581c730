import { z } from 'zod';

/**
 * The promotion check of a promoted pipeline event (issue 17 item 2, docs/behaviour.md#promotion-check): the set
 * the step promoted compared with what each machine installed. Pure: computed from the previous step's manifests
 * (as the step read them), the step's exclusions and the event's machine records, when a run ends.
 *
 * `exact_previous_step` promotes an enumerated set (the previous step's manifest per operating system, less the
 * excluded patches): each machine's `missing` (in the set, not installed) and `unexpected` (installed, not in
 * the set) are given. `publish_date_cutoff` promotes a date, not a list: SSM's DescribeInstancePatches carries
 * no release date, so the check names the cutoff and what each machine installed, and `missing` / `unexpected`
 * are absent (the cutoff itself is enforced by the BaselineOverride's ApproveUntilDate).
 */

export const PatchRef = z.object({ kb_id: z.string(), title: z.string() }).meta({ id: 'PatchRef' });
export type PatchRef = z.infer<typeof PatchRef>;

export const PromotionCheckMachine = z
  .object({
    machine_id: z.string(),
    name: z.string(),
    status: z.string().describe("The machine's status in the event's latest run"),
    operating_system: z.string().describe('botocore OperatingSystem of the node, or UNKNOWN'),
    installed: z
      .array(PatchRef)
      .describe(
        'exact_previous_step: the patches of the promoted set it installed; publish_date_cutoff: every patch it installed',
      ),
    missing: z
      .array(PatchRef)
      .optional()
      .describe('exact_previous_step: patches of the promoted set it did not install'),
    unexpected: z
      .array(PatchRef)
      .optional()
      .describe(
        'exact_previous_step: patches it installed that are not in the promoted set (should be none)',
      ),
  })
  .meta({ id: 'PromotionCheckMachine' });
export type PromotionCheckMachine = z.infer<typeof PromotionCheckMachine>;

export const PromotionCheck = z
  .object({
    mode: z.enum(['exact_previous_step', 'publish_date_cutoff']),
    previous_step: z.number().int().describe('The step promoted from, counted from 0'),
    from_events: z.array(z.string()).describe("The previous step's events read (deleted ones aside)"),
    promoted: z
      .array(z.object({ operating_system: z.string(), patches: z.array(PatchRef) }))
      .optional()
      .describe(
        "exact_previous_step: the previous step's manifests merged per operating system, less the excluded patches",
      ),
    previous_start: z.string().optional().describe('publish_date_cutoff: when the previous step started'),
    cutoff: z
      .string()
      .optional()
      .describe(
        'publish_date_cutoff: the ApproveUntilDate sent (YYYY-MM-DD, the day before the previous start)',
      ),
    excluded: z.array(z.string()).describe('Patches this step and earlier ones exclude'),
    machines: z.array(PromotionCheckMachine).describe('Every machine of the event but the EXCLUDED ones'),
    clean: z
      .boolean()
      .optional()
      .describe('exact_previous_step: every machine installed the whole set and nothing else'),
    checked_at: z.string(),
  })
  .meta({ id: 'PromotionCheck' });
export type PromotionCheck = z.infer<typeof PromotionCheck>;

export interface PromotionCheckInput {
  mode: 'exact_previous_step' | 'publish_date_cutoff';
  previousStep: number;
  fromEvents: string[];
  /** exact_previous_step: the previous step's manifests merged per operating system. */
  manifest?: Record<string, PatchRef[]>;
  previousStart?: string;
  cutoff?: string;
  exclusions: string[];
  machines: {
    machine_id: string;
    name: string;
    status: string;
    operating_system?: string;
    patches?: PatchRef[];
    /** The machine's own excluded patches (taken off its InstallOverrideList too). */
    exclude_kbs?: string[];
  }[];
  checkedAt: string;
}

const key = (p: PatchRef) => `${p.kb_id.toLowerCase()}\n${p.title.toLowerCase()}`;
const byKb = (a: PatchRef, b: PatchRef) => a.kb_id.localeCompare(b.kb_id) || a.title.localeCompare(b.title);
const ref = (p: PatchRef): PatchRef => ({ kb_id: p.kb_id, title: p.title });

/** Whether a patch is excluded by a list of KB IDs / package names (matched on KBId or Title, any case). */
function excludedBy(list: string[]): (p: PatchRef) => boolean {
  const ex = new Set(list.map((x) => x.toLowerCase()));
  return (p) => ex.has(p.kb_id.toLowerCase()) || ex.has(p.title.toLowerCase());
}

/** The promoted set compared with what each machine (EXCLUDED ones aside) installed. */
export function comparePromotion(input: PromotionCheckInput): PromotionCheck {
  const stepExcluded = excludedBy(input.exclusions);
  const exact = input.mode === 'exact_previous_step';
  const promoted = exact
    ? Object.entries(input.manifest ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([os, ps]) => ({
          operating_system: os,
          patches: dedupe(ps.filter((p) => !stepExcluded(p))).sort(byKb),
        }))
    : undefined;
  const machines: PromotionCheckMachine[] = input.machines
    .filter((m) => m.status !== 'EXCLUDED')
    .map((m) => {
      const os = m.operating_system ?? 'UNKNOWN';
      const installed = dedupe(m.patches ?? []).sort(byKb);
      const base = { machine_id: m.machine_id, name: m.name, status: m.status, operating_system: os };
      if (!exact) return { ...base, installed };
      const own = excludedBy(m.exclude_kbs ?? []);
      const set = (promoted!.find((o) => o.operating_system === os)?.patches ?? []).filter((p) => !own(p));
      const want = new Set(set.map(key));
      const got = new Set(installed.map(key));
      return {
        ...base,
        installed: installed.filter((p) => want.has(key(p))),
        missing: set.filter((p) => !got.has(key(p))),
        unexpected: installed.filter((p) => !want.has(key(p))),
      };
    });
  return {
    mode: input.mode,
    previous_step: input.previousStep,
    from_events: input.fromEvents,
    ...(promoted ? { promoted } : {}),
    ...(input.previousStart ? { previous_start: input.previousStart } : {}),
    ...(input.cutoff ? { cutoff: input.cutoff } : {}),
    excluded: input.exclusions,
    machines,
    ...(exact ? { clean: machines.every((m) => !m.missing!.length && !m.unexpected!.length) } : {}),
    checked_at: input.checkedAt,
  };
}

function dedupe(ps: PatchRef[]): PatchRef[] {
  const out = new Map<string, PatchRef>();
  for (const p of ps) if (!out.has(key(p))) out.set(key(p), ref(p));
  return [...out.values()];
}
