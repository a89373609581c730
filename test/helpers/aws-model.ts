/**
 * Checks recorded AWS exchanges against botocore's service models (scripts/aws-contract/validate.py, run with
 * the pinned botocore that scripts/setup.sh installs into .tools/py).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SsmExchange } from '../../lab/state';

const ROOT = resolve(__dirname, '../..');
export const PYTHON = process.env.PATCHWAVE_PYTHON ?? join(ROOT, '.tools/py/bin/python');

export interface ModelReport {
  checked: number;
  operations: Record<string, number>;
  problems: string[];
}

export function validateAgainstModels(exchanges: (SsmExchange & { service?: string })[]): ModelReport {
  const dir = mkdtempSync(join(tmpdir(), 'pw-aws-contract-'));
  try {
    const file = join(dir, 'traffic.json');
    writeFileSync(file, JSON.stringify(exchanges.map((e) => ({ service: 'ssm', ...e }))));
    let out: string;
    try {
      out = execFileSync(PYTHON, [join(ROOT, 'scripts/aws-contract/validate.py'), file], {
        encoding: 'utf8',
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      // Exit 1 means problems were found: the report is still on stdout.
      const e = err as { status?: number; stdout?: string; stderr?: string };
      if (e.status !== 1 || !e.stdout) throw new Error(`validate.py failed: ${e.stderr ?? String(err)}`);
      out = e.stdout;
    }
    return JSON.parse(out) as ModelReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
