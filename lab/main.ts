import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { createLab } from './server';

/**
 * `node dist/lab/main.js`: the fleet lab as a process. Its settings are lab-only, so they are read here rather
 * than through common/config (the lab must start even when the orchestrator's own settings are absent).
 */
const Env = z.object({
  LAB_PORT: z.coerce.number().int().min(0).max(65535).default(4566),
  LAB_HOST: z.string().min(1).default('127.0.0.1'),
  LAB_SPEED: z.coerce.number().positive().default(1),
  /** Path to a fleet file; "none" starts empty. */
  LAB_FLEET: z.string().optional(),
});

const DEFAULT_FLEET = path.join('lab', 'fleets', 'demo.json');

/** The working directory first; then the project root seen from lab/ (ts) or dist/lab/ (compiled). */
function resolveFleetPath(given: string | undefined): string | undefined {
  if (given === 'none' || given === '') return undefined;
  const rel = given ?? DEFAULT_FLEET;
  if (path.isAbsolute(rel)) return rel;
  const candidates = [process.cwd(), path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..')].map(
    (base) => path.resolve(base, rel),
  );
  const found = candidates.find((c) => existsSync(c));
  if (!found && given !== undefined)
    throw new Error(`LAB_FLEET: no file ${rel} (looked in ${candidates.join(', ')})`);
  return found;
}

async function main(): Promise<void> {
  const parsed = Env.safeParse(process.env);
  if (!parsed.success) throw new Error(`Invalid lab configuration:\n${z.prettifyError(parsed.error)}`);
  const env = parsed.data;
  const fleetPath = resolveFleetPath(env.LAB_FLEET);
  const fleet = fleetPath ? JSON.parse(readFileSync(fleetPath, 'utf8')) : undefined;
  const lab = await createLab({ port: env.LAB_PORT, host: env.LAB_HOST, speed: env.LAB_SPEED, fleet });
  console.log(`fleet lab listening on ${lab.url} (${lab.state.machines.size} machines)`);
  if (fleetPath) console.log(`fleet: ${fleetPath}; speed: ${env.LAB_SPEED} lab s per real s`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`fleet lab: ${signal}, stopping`);
    lab.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(`fleet lab failed to start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
