import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '.tools/**',
      '.data/**',
      'node_modules/**',
      'coverage/**',
      'console/dist/**',
      'console/node_modules/**',
      // Generated from the OpenAPI document (scripts/console-api-types.ts).
      'console/src/api.gen.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The console runs in the browser.
    files: ['console/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Workflow code is replayed deterministically: no Node built-ins, drivers, SDK clients or I/O layers.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'],
              message: 'Workflows must not use Node built-ins.',
              allowTypeImports: true,
            },
            {
              group: [
                'mongodb',
                '@aws-sdk/*',
                'express',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
              ],
              message: 'Workflows must not import drivers or SDK clients.',
              allowTypeImports: true,
            },
            {
              group: ['../activities/*', '../store/*', '../api/*', '../common/*', '../lab/*'],
              message: 'Workflows only import domain/ and activity types.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
