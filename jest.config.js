/** Three projects: fast pure unit tests; workflow tests (the real workflows on a Temporal dev server with
 * stub activities, test/workflow/setup); integration tests against the real Temporal dev server and
 * FerretDB/MongoDB started once for the run (test/setup). */
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
];
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': swc },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'workflow',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': swc },
      testMatch: ['<rootDir>/test/workflow/**/*.test.ts'],
      globalSetup: '<rootDir>/test/workflow/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/workflow/setup/global-teardown.ts',
      setupFiles: ['<rootDir>/test/workflow/setup/load-env.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': swc },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      setupFiles: ['<rootDir>/test/setup/load-env.ts'],
    },
  ],
};
