import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The built CLI binary the end-to-end suites run, as a user runs `patchwave`. */
export const CLI_BIN = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI binary to its end against one API, with nothing of the test's environment but PATH (so a
 * developer's own PATCHWAVE_* variables never leak in); `dir` is its working directory and holds its config.
 */
export function runCli(
  target: { apiUrl: string; key: string; dir: string },
  args: string[],
): Promise<CliRun> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [CLI_BIN, ...args], {
      env: {
        PATH: process.env.PATH,
        PATCHWAVE_API_URL: target.apiUrl,
        PATCHWAVE_API_KEY: target.key,
        PATCHWAVE_CONFIG: join(target.dir, 'config.json'),
      },
      cwd: target.dir,
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}
