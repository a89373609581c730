/**
 * Determinism: real histories recorded from the integration run (see README.md here) must replay against
 * today's workflow code without a nondeterminism error. A change to workflows/ that reorders, adds or removes
 * commands (activities, timers, children, signals) for histories like these fails here, without a server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { MANIFEST } from '../../../scripts/save-history';
import { historyFromJsonObject } from '../../../scripts/lib/history-json';

jest.setTimeout(180_000);

beforeAll(() => {
  // Each replay starts and stops a worker; its INFO lines would bury the test output.
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    /* installed already in this process */
  }
});

const dir = path.join(__dirname, 'histories');
const workflowIds = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Record<string, string>;
const files = Object.keys(workflowIds);
const workflowsPath = require.resolve('../../../workflows');

const load = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as HistoryJson;

interface HistoryJson {
  events: {
    eventType: string;
    workflowExecutionStartedEventAttributes?: { workflowType: { name: string } };
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  }[];
}

test('the committed histories cover events with hooks, their machine runs and machine command queues', () => {
  expect([...files].sort()).toEqual([
    'event-with-hooks.json',
    'machine-owner.json',
    'machine-run-with-hooks.json',
    'pre18-event-with-hooks.json',
    'pre18-seed-event-b.json',
    'seed-event-b.json',
    'seed-machine-owner-m1.json',
    'seed-machine-run-b-m2.json',
    'v1-machine-owner.json',
    'v1-machine-run-with-hooks.json',
    'v1-seed-machine-owner-m1.json',
    'v1-seed-machine-run-b-m2.json',
    'v2-machine-run-with-hooks.json',
  ]);
  for (const file of files) expect(fs.statSync(path.join(dir, file)).size).toBeLessThan(200 * 1024);
  const started = (file: string) =>
    load(file).events[0].workflowExecutionStartedEventAttributes?.workflowType.name;
  for (const f of [
    'event-with-hooks.json',
    'pre18-event-with-hooks.json',
    'seed-event-b.json',
    'pre18-seed-event-b.json',
  ])
    expect(started(f)).toBe('eventWorkflow');
  for (const f of [
    'machine-run-with-hooks.json',
    'seed-machine-run-b-m2.json',
    'v1-machine-run-with-hooks.json',
    'v1-seed-machine-run-b-m2.json',
    'v2-machine-run-with-hooks.json',
  ])
    expect(started(f)).toBe('machineRunWorkflow');
  expect(started('machine-owner.json')).toBe('machineCommandQueueWorkflow');
  expect(started('seed-machine-owner-m1.json')).toBe('machineCommandQueueWorkflow');
  expect(started('v1-machine-owner.json')).toBe('machineWorkflow');
  expect(started('v1-seed-machine-owner-m1.json')).toBe('machineWorkflow');
});

const types = (file: string) => load(file).events.map((e) => e.eventType);
const scheduledActivities = (file: string) =>
  load(file)
    .events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType.name);

/** Machine runs recorded before local writes (no `steps: 2` / `localWrites` in their input) keep their activity-per-write shape. */
test('v1 machine runs (before local steps) and v2 ones differ in shape, and both replay (test.each below)', () => {
  expect(scheduledActivities('v1-machine-run-with-hooks.json')).toContain('markMachineStarted');
  expect(types('v1-machine-run-with-hooks.json')).not.toContain('EVENT_TYPE_MARKER_RECORDED');
  expect(scheduledActivities('v2-machine-run-with-hooks.json')).toEqual(['runRemoteHook']);
  expect(types('v2-machine-run-with-hooks.json')).toContain('EVENT_TYPE_MARKER_RECORDED');
});

/**
 * Issue 18: v3 machine runs report to their event by a local activity (no signal of their own), and v2 command
 * queues send by a local activity and signal nothing on success (the follower tells the requester).
 */
test('v3 machine runs and v2 command queues have the issue 18 shape; the older shapes are kept beside them', () => {
  const SIGNAL_OUT = 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED';
  expect(types('v2-machine-run-with-hooks.json')).toContain(SIGNAL_OUT);
  expect(types('machine-run-with-hooks.json')).not.toContain(SIGNAL_OUT);
  expect(scheduledActivities('v1-machine-owner.json')).toContain('startCommand');
  expect(types('v1-machine-owner.json')).toContain(SIGNAL_OUT);
  expect(scheduledActivities('machine-owner.json')).not.toContain('startCommand');
  expect(scheduledActivities('machine-owner.json')).toContain('followCommand');
  expect(types('machine-owner.json')).not.toContain(SIGNAL_OUT);
  expect(types('machine-owner.json').length).toBeLessThan(types('v1-machine-owner.json').length);
});

test.each(files)('%s replays deterministically against the current workflow code', async (file) => {
  await Worker.runReplayHistory({ workflowsPath }, historyFromJsonObject(load(file)), workflowIds[file]);
});

test('a history whose recorded commands differ from the code is refused (the check is live)', async () => {
  const history = load('event-with-hooks.json');
  const scheduled = history.events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
  expect(scheduled?.activityTaskScheduledEventAttributes).toBeDefined();
  scheduled!.activityTaskScheduledEventAttributes!.activityType.name = 'anActivityTheCodeNeverCalls';
  await expect(
    Worker.runReplayHistory(
      { workflowsPath },
      historyFromJsonObject(history),
      workflowIds['event-with-hooks.json'],
    ),
  ).rejects.toThrow(DeterminismViolationError);
});

/** Renaming a workflow type strands running executions: the old name stays registered (docs/workflows.md, Names). */
test('the machine command queue is registered under its new type name and its old one', async () => {
  const registered = (await import('../../../workflows')) as Record<string, unknown>;
  expect(typeof registered.machineCommandQueueWorkflow).toBe('function');
  expect(registered.machineWorkflow).toBe(registered.machineCommandQueueWorkflow);
});
