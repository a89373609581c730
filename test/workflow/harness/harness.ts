/**
 * One test file's view of the workflow test run: a Temporal client, a worker on the file's own task queue
 * running the real workflow bundle with the stub activities of a FakeFleet, and helpers that start events
 * and watch them through the Temporal client (queries, workflow results, descriptions) as the API and the
 * Temporal UI would.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { eventWorkflow } from '../../../workflows/event';
import { eventViewQuery, type EventView, type EventWorkflowInput } from '../../../workflows/defs';
import { workflowIds } from '../../../domain/ids';
import { isEventFinished } from '../../../domain/finished';
import { FakeFleet, type PipelineStepScript, type PlanScript } from './fake-fleet';

export interface EventSpec extends PlanScript {
  /** Default: half a second from now. */
  startInMs?: number;
  /** Epoch ms; overrides startInMs. */
  startAtMs?: number;
  initialStatus?: EventWorkflowInput['initialStatus'];
}

export interface StartedEvent {
  eventId: string;
  handle: WorkflowHandle<typeof eventWorkflow>;
  /** The run the test started (later runs follow by continue-as-new); unknown for events a pipeline run made. */
  firstRunId?: string;
  startMs: number;
  endMs: number;
  view(): Promise<EventView>;
  /** Waits until the run (or partial run) is over and the event shows a finished status. */
  finished(runNo?: number, timeoutMs?: number): Promise<EventView>;
  /** The machine's run workflow (`event/<id>/machine/<m>/run-<n>`); its result is the machine's result. */
  machineRun(machineId: string, runNo?: number): WorkflowHandle;
}

export interface Harness {
  client: Client;
  fleet: FakeFleet;
  taskQueue: string;
  /** Names unique to this harness (machine and event IDs are global on the server: `machine/<id>`). */
  id(name: string): string;
  startEvent(spec: EventSpec): Promise<StartedEvent>;
  /** Starts `pipeline-run/<id>`, which creates the steps' events (one plan per step here), `startInMs` from now. */
  startPipelineRun(
    steps: { policy: PipelineStepScript['policy']; offsetMs: number; plan: PlanScript }[],
    startInMs?: number,
  ): Promise<{ runId: string; handle: WorkflowHandle; events: StartedEvent[] }>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export function workflowTestEnv() {
  const address = process.env.PATCHWAVE_WF_TEMPORAL_ADDRESS;
  const bundle = process.env.PATCHWAVE_WF_BUNDLE;
  if (!address || !bundle)
    throw new Error(
      'PATCHWAVE_WF_TEMPORAL_ADDRESS / PATCHWAVE_WF_BUNDLE are not set: workflow tests run in the jest "workflow" ' +
        'project (npx jest --selectProjects workflow …), whose global setup starts Temporal and bundles the workflows.',
    );
  return {
    address,
    namespace: process.env.PATCHWAVE_WF_TEMPORAL_NAMESPACE || 'default',
    bundle,
    suggestContinueAsNewAt: Number(process.env.PATCHWAVE_WF_SUGGEST_CAN_AT) || undefined,
  };
}

export async function startHarness(name: string): Promise<Harness> {
  const env = workflowTestEnv();
  if (!runtimeInstalled) {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      /* already installed in this process */
    }
    runtimeInstalled = true;
  }
  const prefix = `${name}-${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const taskQueue = `wf-${prefix}`;
  const connection = await Connection.connect({ address: env.address });
  const client = new Client({ connection, namespace: env.namespace });
  const fleet = new FakeFleet({ client, taskQueue });
  const nativeConnection = await NativeConnection.connect({ address: env.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: { codePath: env.bundle },
    activities: fleet.activities(),
  });
  const running = worker.run();
  const started: WorkflowHandle[] = [];
  let seq = 0;

  /** Watches an event through the Temporal client: queries follow the workflow ID across continue-as-new. */
  function watchEvent(
    eventId: string,
    handle: StartedEvent['handle'],
    startMs: number,
    endMs: number,
    firstRunId?: string,
  ): StartedEvent {
    const latest = client.workflow.getHandle<typeof eventWorkflow>(workflowIds.event(eventId));
    const view = () => latest.query(eventViewQuery);
    started.push(handle);
    return {
      eventId,
      handle,
      firstRunId,
      startMs,
      endMs,
      view,
      async finished(runNo = 0, timeoutMs = 30_000) {
        return waitFor(
          `event ${eventId} run ${runNo} finished`,
          async () => {
            const v = await view();
            return !v.running && v.runNo === runNo && isEventFinished(v.status) ? v : undefined;
          },
          timeoutMs,
        );
      },
      machineRun: (machineId, runNo = 0) =>
        client.workflow.getHandle(workflowIds.machineRun(eventId, machineId, runNo)),
    };
  }

  const harness: Harness = {
    client,
    fleet,
    taskQueue,
    id: (n) => `${prefix}-${n}`,

    async startEvent(spec) {
      const eventId = `${prefix}-ev${++seq}`;
      const startMs = spec.startAtMs ?? Date.now() + (spec.startInMs ?? 500);
      const endMs = startMs + spec.windowMs;
      fleet.setPlan(eventId, spec);
      const handle = await client.workflow.start<typeof eventWorkflow>('eventWorkflow', {
        workflowId: workflowIds.event(eventId),
        taskQueue,
        args: [
          {
            eventId,
            customerId: 'cust-wf',
            planId: `${prefix}-plan`,
            start: new Date(startMs).toISOString(),
            end: new Date(endMs).toISOString(),
            initialStatus: spec.initialStatus ?? 'NEW',
            origin: 'adhoc',
          },
        ],
      });
      return watchEvent(eventId, handle, startMs, endMs, handle.firstExecutionRunId);
    },

    async startPipelineRun(steps, startInMs = 500) {
      const runId = `${prefix}-run${++seq}`;
      const start = Date.now() + startInMs;
      const events = steps.map((s, i) => ({ eventId: `${runId}-step${i}`, plan: s.plan }));
      fleet.setPipelineRun(
        runId,
        'cust-wf',
        steps.map((s, i) => ({ policy: s.policy, offsetMs: s.offsetMs, events: [events[i]] })),
      );
      const handle = await client.workflow.start('pipelineRunWorkflow', {
        workflowId: workflowIds.pipelineRun(runId),
        taskQueue,
        args: [
          {
            runId,
            pipelineId: `${prefix}-pipeline`,
            customerId: 'cust-wf',
            start: new Date(start).toISOString(),
          },
        ],
      });
      started.push(handle);
      return {
        runId,
        handle,
        events: events.map((e, i) =>
          watchEvent(
            e.eventId,
            client.workflow.getHandle<typeof eventWorkflow>(workflowIds.event(e.eventId)),
            start + steps[i].offsetMs,
            start + steps[i].offsetMs + e.plan.windowMs,
          ),
        ),
      };
    },

    async close() {
      // Events stay open for days after they finish (manual changes, partial runs): end them.
      await Promise.all(
        started.map((h) =>
          client.workflow
            .getHandle(h.workflowId)
            .terminate('test over')
            .catch(() => undefined),
        ),
      );
      worker.shutdown();
      await running.catch(() => undefined);
      await nativeConnection.close();
      await connection.close();
    },
  };
  return harness;
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs` naming what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Most intervals [from, to) holding at one instant. */
export function maxInFlight(spans: { from: number; to: number }[]): number {
  return Math.max(0, ...spans.map((a) => spans.filter((b) => b.from <= a.from && a.from < b.to).length));
}
