/**
 * What AWS-RunPatchBaseline does with its InstallOverrideList parameter, as far as the lab models it: it downloads
 * the YAML file (an s3:// or https URL; the lab serves s3:// from its own buckets) whose `patches` list names each
 * patch by `id` (the KB on Windows, `name.arch` on Linux, as DescribeInstancePatches reports KBId) and optionally
 * `title`, and installs those patches instead of the ones the node's baseline approves. In the lab, the packages
 * a behaviour entry lists under `installed` are what the repositories offer the node; a run with a list
 * installs only the offered packages the list names (by id, and by title when the list gives one; `*` matches
 * anything). Unlike a BaselineOverride, such a run uploads compliance (DescribeInstancePatchStates names the list).
 */
import { parse } from 'yaml';

export interface InstallListUse {
  url: string;
  /** Empty: the file was read and is valid. */
  problems: string[];
  patches?: { id: string; title?: string }[];
}

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(value);
}

/** Reads and checks the list a patch command names. */
export function resolveInstallOverrideList(
  getObject: (bucket: string, key: string) => { body: Buffer } | string,
  url: string,
): InstallListUse {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) return { url, problems: [`${url} is not an s3:// URL the lab can serve`] };
  const found = getObject(m[1], m[2]);
  if (typeof found === 'string') return { url, problems: [`${found}: cannot download ${url}`] };
  let doc: unknown;
  try {
    doc = parse(found.body.toString('utf-8'));
  } catch (err) {
    return { url, problems: [`not YAML: ${(err as Error).message}`] };
  }
  const list = (doc as { patches?: unknown } | null)?.patches;
  if (!Array.isArray(list)) return { url, problems: ['the file has no `patches` list'] };
  const problems: string[] = [];
  const patches: { id: string; title?: string }[] = [];
  list.forEach((p: unknown, i) => {
    const e = p as { id?: unknown; title?: unknown } | null;
    if (!e || typeof e.id !== 'string' || !e.id) return problems.push(`patches[${i}]: id is required`);
    if (e.title !== undefined && typeof e.title !== 'string')
      return problems.push(`patches[${i}]: title must be a string`);
    patches.push({ id: e.id, ...(typeof e.title === 'string' ? { title: e.title } : {}) });
  });
  return problems.length ? { url, problems } : { url, problems: [], patches };
}

/** The offered packages the list names. */
export function applyInstallOverrideList(
  offered: string[],
  list: { id: string; title?: string }[],
  /** The patch as DescribeInstancePatches reports it (lab/patch-catalog.ts labPatch). */
  describe: (pkg: string) => { KBId: string; Title: string },
): string[] {
  return offered.filter((pkg) => {
    const d = describe(pkg);
    return list.some((p) => glob(p.id, d.KBId) && (p.title === undefined || glob(p.title, d.Title)));
  });
}
