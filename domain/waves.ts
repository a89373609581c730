import { z } from 'zod';

/**
 * Waves by percentage and max_unavailable per tag value (issue 16 item 3, docs/behaviour.md#waves). Pure: the
 * plan fields and the rule that puts each machine of an event in a wave. A machine's tags are its `metadata`
 * entries (`[{key, value}]`, the first entry of a key counts), the same ones freeze calendars read.
 */

const TagKey = z.string().min(1).max(128);

export const Waves = z
  .array(z.number().gt(0).max(100))
  .min(1)
  .max(20)
  .refine((w) => w.every((p, i) => i === 0 || p > w[i - 1]), 'must be strictly ascending')
  .refine((w) => w[w.length - 1] === 100, 'must end at 100')
  .describe(
    "Cumulative percentages of the event's machines, strictly ascending and ending at 100 (e.g. [1, 10, 50, 100]): " +
      'waves 0..k hold together ceil(waves[k] × N / 100) of the N machines the run patches, at least one. Each wave is an order ' +
      "group (its `order` is the wave's index), so health gates and their soak apply between waves; the machines' own " +
      '`order` must then be left at 0. A wave that would add no machine (small events) is left out.',
  );
export type Waves = z.infer<typeof Waves>;

export const WaveBy = z
  .union([
    z.literal('hash'),
    z.strictObject({
      tag: TagKey.describe('The tag (machine metadata key) whose value orders the machines'),
    }),
  ])
  .describe(
    '`hash` (default): machines ordered by a stable hash of their machine ID, so the same machines fall in the same ' +
      "wave every event. `{tag}`: ordered by that tag's value (then machine ID); machines of one value stay in one " +
      'wave (a wave takes whole values until it reaches its size, so it may be bigger); machines without the tag come last.',
  );
export type WaveBy = z.infer<typeof WaveBy>;

export const MaxUnavailable = z
  .strictObject({
    tag: TagKey.describe('The tag (machine metadata key) whose values are limited'),
    max: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .describe('Machines sharing one value of the tag in flight at once'),
  })
  .describe(
    'At most `max` machines sharing a value of `tag` are patched at once (on top of max_concurrency); machines without ' +
      'the tag are not limited by it.',
  );
export type MaxUnavailable = z.infer<typeof MaxUnavailable>;

/** A machine's value of a tag: its first metadata entry with that key. */
export function tagValue(metadata: readonly { key: string; value: string }[] | undefined, key: string) {
  return metadata?.find((t) => t.key === key)?.value;
}

/** FNV-1a (32 bits) of the ID: stable across processes and versions, no I/O. */
export function stableHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Machines in the first `p` percent of `n`: ceil, at least one (a tiny guard against float error such as 0.1 × 30). */
export function waveTarget(p: number, n: number): number {
  if (n === 0) return 0;
  return Math.min(n, Math.max(1, Math.ceil((p * n) / 100 - 1e-9)));
}

export interface WaveMachine {
  id: string;
  /** Its metadata, for `wave_by: {tag}`. */
  tags?: readonly { key: string; value: string }[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The wave (index into `waves`) of every machine. Machines are ordered (by hash, or by tag value), cut into runs
 * that must stay together (one per tag value; each machine alone for hash and for untagged machines), and wave k
 * takes whole runs until it holds at least waveTarget(waves[k]) machines in total. A wave left with no machine of
 * its own is skipped: its index is used by no machine.
 */
export function assignWaves(
  machines: readonly WaveMachine[],
  waves: Waves,
  by: WaveBy = 'hash',
): Map<string, number> {
  const n = machines.length;
  let runs: string[][];
  if (by === 'hash') {
    runs = [...machines]
      .sort((a, b) => stableHash(a.id) - stableHash(b.id) || cmp(a.id, b.id))
      .map((m) => [m.id]);
  } else {
    const tagged = new Map<string, string[]>();
    const untagged: string[] = [];
    for (const m of machines) {
      const v = tagValue(m.tags, by.tag);
      if (v === undefined) untagged.push(m.id);
      else tagged.set(v, [...(tagged.get(v) ?? []), m.id]);
    }
    runs = [
      ...[...tagged.keys()].sort(cmp).map((v) => tagged.get(v)!.sort(cmp)),
      ...untagged.sort(cmp).map((id) => [id]),
    ];
  }
  const out = new Map<string, number>();
  let taken = 0;
  let r = 0;
  waves.forEach((p, k) => {
    const target = waveTarget(p, n);
    while (taken < target && r < runs.length) {
      for (const id of runs[r]) out.set(id, k);
      taken += runs[r].length;
      r++;
    }
  });
  return out;
}
