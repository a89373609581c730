/**
 * The store goes away in the middle of sending a command (issue 8 §1, short version): a private FerretDB is
 * stopped while the worker (its own process) is between asking SSM about the machine and building the
 * command, and started again 15 s later. The machine must not be given up (it used to become OMITTED, "the
 * command could not be built: connect ECONNREFUSED"): the step is retried and the event ends as scripted, with
 * one SSM command.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/lib/processes';
import { startFerret, type MongoServer } from '../../scripts/lib/servers';
import { testEnv } from '../helpers/servers';
import { waitFor } from '../helpers/stack';
import { fleet, machineOf } from '../helpers/e2e-fleet';
import { auditCommands, startChaosStack, type ChaosStack } from '../helpers/chaos';

jest.setTimeout(600_000);

let dir: string;
let port: number;
let mongo: MongoServer;
let stack: ChaosStack;
let f: ReturnType<typeof fleet>;

const ferret = () =>
  startFerret({ port, dataDir: path.join(dir, 'ferretdb'), logFile: path.join(dir, 'ferretdb.log') });

beforeAll(async () => {
  const env = testEnv();
  dir = fs.mkdtempSync(path.join(process.env.PATCHWAVE_TEST_TMP_DIR ?? os.tmpdir(), 'store-outage-'));
  port = await freePort();
  mongo = await ferret();
  stack = await startChaosStack({
    temporalAddress: env.temporalAddress,
    namespace: env.temporalNamespace,
    mongoUri: mongo.uri,
    dbName: 'store_outage',
    taskQueue: env.uniqueTaskQueue('store-outage'),
    logFile: path.join(dir, 'worker.log'),
  });
  f = fleet(stack);
}, 600_000);
afterAll(async () => {
  await stack?.close().catch(() => undefined);
  await mongo?.stop();
});

interface LabStats {
  calls: Record<string, number>;
}

test('the store stopped while a command is being prepared: the machine is patched once the store is back', async () => {
  const m = await f.machine({
    commands: [{ duration_s: 2, outcome: 'success', installed: ['openssl-3.0.13'] }],
  });
  const planId = await f.plan({ window_hours: 0.5, machines: [{ machine_id: m.id }] });
  // Any SSM call of the run: the agent check may be answered from the worker's ping cache (the machine was
  // just looked up when it was created), so the first call the run makes can be the command's own.
  const describes = async () =>
    Object.entries((await stack.lab_<LabStats>('GET', '/_lab/stats')).calls)
      .filter(([k]) => k.startsWith('ssm:'))
      .reduce((n, [, c]) => n + c, 0);
  const before = await describes();
  // SSM answers slowly, so the store can be stopped between the machine check and the command's build.
  await stack.lab_('PUT', '/_lab/faults', { ssm: { delay_ms: 4_000 } });
  const eventId = await f.execute(planId);
  await waitFor(
    'the run to call SSM',
    async () => ((await describes()) > before ? true : undefined),
    120_000,
  );
  await mongo.stop();
  await new Promise((r) => setTimeout(r, 15_000)); // the outage itself, not a wait for a condition
  mongo = await ferret();
  await stack.lab_('PUT', '/_lab/faults', {});

  const ev = await f.finished(eventId, 300_000);
  expect(machineOf(ev, m.id).status).toBe('SUCCESS');
  expect(ev.status).toBe('DONE');
  const audit = await auditCommands(stack, stack.db.db, [m.ssmId]);
  expect(audit.commandsChecked).toBe(1);
  expect(audit.duplicates).toEqual([]);
  expect(audit.untracked).toEqual([]);
  expect(audit.overlaps).toEqual([]);
});
