import fs from 'node:fs';

/** What one chaos run measured; a row of the results table in docs/operations.md. */
export interface RunFigures {
  run: number;
  seed: number;
  date: string;
  events: number;
  eventsAsExpected: number;
  kills: number;
  workerStarts: number;
  unexpectedWorkerExits: number;
  temporalRestarts: number;
  storeOutageS: number;
  commandsChecked: number;
  commandsExpected: number;
  duplicates: number;
  lost: number;
  untracked: number;
  overlaps: number;
  hookStepsChecked: number;
  hookCalls: number;
  hookRepeatsAfterCrash: number;
  hookRepeatsUnexcused: number;
  durationS: number;
  passed: boolean;
  problems: string[];
  dir: string;
}

const START = '<!-- chaos-results:start -->';
const END = '<!-- chaos-results:end -->';
const HEADER = [
  '| date (UTC) | seed | result | events as expected | worker kills | worker starts (unplanned exits) | Temporal restarts | store outage | SSM commands checked / expected | duplicates | lost | untracked | overlaps | hook steps / calls | hook repeats after a crash (unexcused) | duration |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

export function resultRow(f: RunFigures): string {
  return `| ${f.date.slice(0, 16).replace('T', ' ')} | ${f.seed} | ${f.passed ? 'pass' : `**FAIL** (${f.problems.length} problems)`} | ${f.eventsAsExpected}/${f.events} | ${f.kills} | ${f.workerStarts} (${f.unexpectedWorkerExits}) | ${f.temporalRestarts} | ${f.storeOutageS} s | ${f.commandsChecked} / ${f.commandsExpected} | ${f.duplicates} | ${f.lost} | ${f.untracked} | ${f.overlaps} | ${f.hookStepsChecked} / ${f.hookCalls} | ${f.hookRepeatsAfterCrash} (${f.hookRepeatsUnexcused}) | ${Math.round(f.durationS / 60)} min |`;
}

/** Adds the run's row to the results table between the markers in `file` (the table is created if missing). */
export function recordResult(file: string, f: RunFigures): void {
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (!text.includes(START)) text += `\n${START}\n${HEADER.join('\n')}\n${END}\n`;
  const [before, rest] = text.split(START);
  const [table, after] = rest.split(END);
  const rows = table.split('\n').filter((l) => l.startsWith('|'));
  const body = rows.length >= 2 ? rows : HEADER;
  fs.writeFileSync(file, `${before}${START}\n${aligned([...body, resultRow(f)]).join('\n')}\n${END}${after}`);
}

/** Pads every cell to its column's width, as prettier formats Markdown tables (so `npm run lint` stays clean). */
function aligned(rows: string[]): string[] {
  const cells = rows.map((r) =>
    r
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim()),
  );
  const isRule = (row: string[]) => row.every((c) => /^-+$/.test(c));
  const widths = cells[0].map((_, i) =>
    Math.max(3, ...cells.filter((r) => !isRule(r)).map((r) => (r[i] ?? '').length)),
  );
  return cells.map((row) =>
    isRule(row)
      ? `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`
      : `| ${widths.map((w, i) => (row[i] ?? '').padEnd(w)).join(' | ')} |`,
  );
}
