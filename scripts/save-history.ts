/**
 * Saves the event history of Temporal workflows as JSON, for the replay tests in test/unit/replay.
 *
 *   npm run build && node dist/scripts/save-history.js <workflow-id>=<file.json> [...]
 *
 * TEMPORAL_ADDRESS (default 127.0.0.1:7233) and TEMPORAL_NAMESPACE (default "default") say where from; the
 * integration test test/integration/temporal-ui.test.ts refreshes the committed histories through
 * `saveHistory` when PATCHWAVE_SAVE_HISTORIES=1 (see test/unit/replay/README.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJsonObject } from './lib/history-json';

/** Histories are committed: past this size the test data is no longer reviewable. */
export const MAX_HISTORY_BYTES = 200 * 1024;

/** Next to the histories: file name → workflow ID, so a replay runs under the ID the history was made with. */
export const MANIFEST = 'workflow-ids.json';

/**
 * Writes the history of `workflowId` (its latest run) to `file` as JSON and records the ID in the
 * directory's manifest; returns the byte size.
 */
export async function saveHistory(client: Client, workflowId: string, file: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const text = `${JSON.stringify(historyToJsonObject(history), null, 1)}\n`;
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_HISTORY_BYTES)
    throw new Error(`history of ${workflowId} is ${bytes} bytes (limit ${MAX_HISTORY_BYTES})`);
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, text);
  const manifestFile = path.join(dir, MANIFEST);
  const manifest = fs.existsSync(manifestFile)
    ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Record<string, string>)
    : {};
  manifest[path.basename(file)] = workflowId;
  const sorted = Object.fromEntries(Object.entries(manifest).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(manifestFile, `${JSON.stringify(sorted, null, 2)}\n`);
  return bytes;
}

async function main(args: string[]): Promise<void> {
  const pairs = args.map((a) => {
    const i = a.lastIndexOf('=');
    if (i <= 0 || i === a.length - 1) throw new Error(`expected <workflow-id>=<file.json>, got ${a}`);
    return { workflowId: a.slice(0, i), file: path.resolve(a.slice(i + 1)) };
  });
  if (pairs.length === 0) throw new Error('usage: save-history <workflow-id>=<file.json> [...]');
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  try {
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    for (const p of pairs) {
      const bytes = await saveHistory(client, p.workflowId, p.file);
      console.log(`${p.workflowId} → ${p.file} (${bytes} bytes)`);
    }
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
