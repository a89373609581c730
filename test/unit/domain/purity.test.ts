import * as fs from 'fs';
import * as path from 'path';

/**
 * Domain rules are imported by Temporal workflow code: no Node built-ins, no I/O, no wall clock.
 * Follows relative imports from each module, so a helper pulled in later is checked too.
 * schedule.ts is the documented exception (cron-parser needs `fs`; used by activities/API only).
 */
const DOMAIN = path.join(__dirname, '../../../domain');
const WORKFLOW_SAFE = [
  'event-status',
  'ssm-status',
  'hook-result',
  'hook-payload',
  'patch-output',
  'window',
  'patch-command',
];
const ALLOWED_PACKAGES = new Set(['zod']);

function importsOf(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  return [...src.matchAll(/^\s*import\s+(?:type\s+)?[^'"]*['"]([^'"]+)['"]/gm)]
    .filter((m) => !/^\s*import\s+type\s/.test(m[0]))
    .map((m) => m[1]);
}

function closure(mod: string, seen = new Set<string>()): Set<string> {
  if (seen.has(mod)) return seen;
  seen.add(mod);
  for (const spec of importsOf(path.join(DOMAIN, `${mod}.ts`)))
    if (spec.startsWith('./')) closure(spec.slice(2), seen);
  return seen;
}

describe('workflow-safe domain modules', () => {
  test.each(WORKFLOW_SAFE.map((m) => [m]))('%s and what it imports', (mod) => {
    for (const dep of closure(mod)) {
      const src = fs.readFileSync(path.join(DOMAIN, `${dep}.ts`), 'utf8');
      const external = importsOf(path.join(DOMAIN, `${dep}.ts`)).filter((s) => !s.startsWith('./'));
      expect([dep, external.filter((s) => !ALLOWED_PACKAGES.has(s))]).toEqual([dep, []]);
      expect([dep, /\bDate\.now\(|\bprocess\.|\brequire\(|new Date\(\)/.test(src)]).toEqual([dep, false]);
    }
  });
});

/**
 * What workflows/ import from domain/ at run time must not pull in zod: every module of the workflow bundle is
 * evaluated in each workflow's sandbox, and building schemas there cost CPU in every workflow (issue 7 profile).
 */
describe('domain modules in the workflow bundle', () => {
  const WORKFLOWS = path.join(__dirname, '../../../workflows');
  const imported = new Set<string>();
  for (const f of fs.readdirSync(WORKFLOWS).filter((n) => n.endsWith('.ts')))
    for (const spec of importsOf(path.join(WORKFLOWS, f)))
      if (spec.startsWith('../domain/')) imported.add(spec.slice('../domain/'.length));

  test('workflows import some domain modules at run time (the check sees them)', () => {
    expect([...imported].sort()).toEqual(expect.arrayContaining(['finished', 'ids', 'search-attributes']));
  });

  test.each([...imported].map((m) => [m]))('%s and what it imports are zod-free', (mod) => {
    for (const dep of closure(mod)) {
      const external = importsOf(path.join(DOMAIN, `${dep}.ts`)).filter((s) => !s.startsWith('./'));
      expect([dep, external.filter((s) => s === 'zod' || s.startsWith('zod/'))]).toEqual([dep, []]);
    }
  });
});
