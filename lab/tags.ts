/**
 * Tag rules shared by EC2 CreateTags and SSM AddTagsToResource, as the botocore models and AWS's tagging docs
 * state them: keys 1-128 characters, values up to 256, letters, digits, spaces and `_ . : / = + - @` only,
 * keys starting with `aws:` reserved, at most 50 tags on one resource. A machine's tags are its behaviour's
 * `tags` (what DescribeInstanceInformation's `tag:` filters and SendCommand targets read).
 */
import type { MachineState } from './state';

export const MAX_TAGS_PER_RESOURCE = 50;
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** What is wrong with one tag, or undefined. */
export function tagProblem(key: string, value: string): string | undefined {
  if (key.length < 1 || key.length > 128) return `tag key '${key}' must be 1-128 characters`;
  if (/^aws:/i.test(key)) return `tag keys starting with 'aws:' are reserved for internal use ('${key}')`;
  if (!ALLOWED.test(key))
    return `tag key '${key}' has characters outside letters, digits, spaces and _.:/=+-@`;
  if (value.length > 256) return `the value of tag '${key}' must be at most 256 characters`;
  if (!ALLOWED.test(value))
    return `the value of tag '${key}' has characters outside letters, digits, spaces and _.:/=+-@`;
  return undefined;
}

/** Whether adding `tags` would leave the machine with more than the limit. */
export function overTagLimit(m: MachineState, tags: { key: string }[]): boolean {
  const keys = new Set([...Object.keys(m.behaviour.tags), ...tags.map((t) => t.key)]);
  return keys.size > MAX_TAGS_PER_RESOURCE;
}

export function applyTags(m: MachineState, tags: { key: string; value: string }[]): void {
  for (const t of tags) m.behaviour.tags[t.key] = t.value;
}
