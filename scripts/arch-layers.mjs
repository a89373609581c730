#!/usr/bin/env node
// `npm run arch:layers`: the layer picture of docs/architecture.md ("Layers"), generated from what
// dependency-cruiser finds in the code (the same cruise as `npm run arch`). Prints a mermaid flowchart with one
// arrow per pair of production layers that import each other: solid when some import is used at run time,
// dotted ("types") when every import between them is `import type`. Paste it over the block in the docs when
// the layers change; `--check` exits 1 if docs/architecture.md's block differs (not part of `npm test`).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// Top to bottom; test/, bench/ and scripts/ may use any layer and are left out of the picture.
const LAYERS = ['cli', 'api', 'worker', 'workflows', 'activities', 'store', 'common', 'domain', 'lab'];

const json = execFileSync(
  process.execPath,
  [
    join(ROOT, 'node_modules/.bin/depcruise'),
    '--config',
    '.dependency-cruiser.cjs',
    '--output-type',
    'json',
    ...LAYERS,
  ],
  { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
);
const layerOf = (p) => {
  const top = p.split('/')[0];
  return LAYERS.includes(top) ? top : undefined;
};

/** "from to" → true when some import between the two layers is used at run time. */
const edges = new Map();
for (const mod of JSON.parse(json).modules) {
  const from = layerOf(mod.source);
  if (!from) continue;
  for (const dep of mod.dependencies) {
    const to = layerOf(dep.resolved);
    if (!to || to === from) continue;
    const key = `${from} ${to}`;
    edges.set(key, edges.get(key) === true || !dep.dependencyTypes.includes('type-only'));
  }
}

const rank = (l) => LAYERS.indexOf(l);
const lines = ['flowchart TD'];
for (const l of LAYERS) lines.push(`  ${l}[${l}/]`);
for (const [key, runtime] of [...edges].sort(([a], [b]) => {
  const [af, at] = a.split(' ');
  const [bf, bt] = b.split(' ');
  return rank(af) - rank(bf) || rank(at) - rank(bt);
})) {
  const [from, to] = key.split(' ');
  lines.push(runtime ? `  ${from} --> ${to}` : `  ${from} -. types .-> ${to}`);
}
const graph = lines.join('\n');

if (process.argv.includes('--check')) {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const block = /```mermaid\n(flowchart TD\n[\s\S]*?)\n```/.exec(doc)?.[1];
  if (block !== graph) {
    console.error(
      'docs/architecture.md: the layer picture differs from the code; `npm run arch:layers` prints it:',
    );
    console.error(graph);
    process.exit(1);
  }
  console.log('docs/architecture.md: the layer picture matches the code');
} else {
  console.log(graph);
}
