#!/usr/bin/env node
import { nodeCliEnv, run } from './program';

run(process.argv.slice(2), nodeCliEnv()).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`patchwave: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
