/**
 * Patchwave's layering, checked by `npm test` (scripts/test.sh, stage "architecture") and `npm run arch`.
 * The layers and why they are layered: docs/architecture.md. Imports flow one way:
 *   api/ cli/ worker/ → activities/ → store/ → domain/ ;  workflows/ → domain/ ;  common/ by anyone below api/.
 * `import type` counts as a dependency here (tsPreCompilationDeps), so a type-only import can still close a
 * cycle; only the workflows → activities rule lets types through (the proxies need the activities' signatures).
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */

/**
 * Known violations, allowed only until the in-flight work that owns them removes them. Delete an entry with its
 * fix; never add one to get a change through (fix the import instead).
 */
const KNOWN_CYCLES = [];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No import cycles: a cycle means two modules are one concept in two files, or a type is in the wrong home.',
      from: KNOWN_CYCLES.length ? { pathNot: KNOWN_CYCLES } : {},
      to: { circular: true },
    },
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment:
        'workflows/ runs in the deterministic sandbox: it imports only domain/, workflows/ and @temporalio/workflow ' +
        '(types from activities/, rule workflows-activities-types-only).',
      from: { path: '^workflows/' },
      to: {
        pathNot: ['^workflows/', '^domain/', '^activities/', '^node_modules/@temporalio/workflow/'],
      },
    },
    {
      name: 'workflows-activities-types-only',
      severity: 'error',
      comment: 'workflows/ may name activities only through `import type` (proxyActivities<typeof …>).',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-below-api-imports-api',
      severity: 'error',
      comment: 'api/ is the top layer: domain/, workflows/, activities/, store/ and common/ never import it.',
      from: { path: '^(domain|workflows|activities|store|common)/' },
      to: { path: '^api/' },
    },
    {
      name: 'store-no-activities',
      severity: 'error',
      comment: 'store/ holds every query and is used by activities/, never the other way round.',
      from: { path: '^store/' },
      to: { path: '^activities/' },
    },
    {
      name: 'domain-no-node-builtins',
      severity: 'error',
      comment: 'domain/ is pure: no I/O, so no Node built-in modules.',
      from: { path: '^domain/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'domain-imports-no-layer',
      severity: 'error',
      comment: 'domain/ is the bottom layer: it imports only domain/ and npm packages (zod, cron-parser).',
      from: { path: '^domain/' },
      to: { path: '^(workflows|activities|store|common|worker|api|cli|lab|bench|scripts|test|console)/' },
    },
    {
      name: 'no-lab-in-production',
      severity: 'error',
      comment:
        'Production code has no lab branches: only tests, benchmarks and dev scripts may import lab/ ' +
        '(production reaches the lab only through AWS_ENDPOINT_URL).',
      from: { path: '^(domain|workflows|activities|store|common|worker|api|cli)/' },
      to: { path: '^lab/' },
    },
    {
      name: 'cli-through-rest',
      severity: 'error',
      comment:
        'The CLI is a REST client: it never reaches into the store, activities, workflows, worker or API code.',
      from: { path: '^cli/' },
      to: { path: '^(workflows|activities|store|worker|api)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import dependency-cruiser cannot resolve would hide a violation.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|\\.tools)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: {
      dot: { collapsePattern: '^(node_modules/[^/]+|[^/]+)/' },
    },
  },
};
