import {
  hookRunDocId,
  type EventDoc,
  type EventRecords,
  type HookRunDoc,
  type SnapshotHook,
} from '../store/event-records';
import type { AwsClients } from './aws';
import type { Config } from '../common/config';
import { hookCalls, hookLatency } from '../common/metrics';
import { hookPayloadFor } from './hook-payloads';
import { normalizeHookAnswer, type RawHookAnswer } from '../domain/hook-result';
import { isHookSuccess, redactSource } from '../domain/hooks';
import type { CommandWaitOutcome } from '../workflows/defs';
import { scriptHookVerdict } from '../workflows/machine-run-state';
import { persistAfterEffect, withHeartbeats } from './durable';
import { createHookCaller } from './hook-calls';
import { locateHook, type HookNotices, type LocatedHook } from './hook-notices';

export interface HookActivityDeps {
  records: EventRecords;
  aws: AwsClients;
  config: Pick<Config, 'HOOK_TIMEOUT_MS' | 'PATCHWAVE_HTTP_ALLOWLIST' | 'AWS_REGION'>;
  fetchImpl?: typeof fetch;
  /** hook_start / hook_finish / host_hook_* notices; none when absent (unit tests). */
  notices?: HookNotices;
}

export function createHookActivities({ records, aws, config, fetchImpl = fetch, notices }: HookActivityDeps) {
  function findHook(e: EventDoc, name: string, machineId?: string): SnapshotHook | undefined {
    return locateHook(e.plan_snapshot, name, machineId)?.hook;
  }

  /** The finish notice of a recorded run (idempotent: a retry or a second record sends nothing new). */
  async function finishNotice(
    e: EventDoc,
    a: { runNo: number; name: string; machineId?: string },
    r: { code: number; message: string },
    located: LocatedHook | undefined = locateHook(e.plan_snapshot, a.name, a.machineId),
  ): Promise<void> {
    if (!notices || !located) return;
    await notices.finished({ eventId: e._id, runNo: a.runNo, machineId: a.machineId, located, ...r });
  }

  const payloadFor = (e: EventDoc, machineId?: string) => hookPayloadFor(records, e, machineId);
  const caller = createHookCaller({ aws, config, fetchImpl });

  async function record(
    e: EventDoc,
    runNo: number,
    h: Pick<SnapshotHook, 'name' | 'type' | 'source' | 'method'>,
    r: { code: number; message: string; output: string },
    startedAt: string,
    machineId?: string,
    commandId?: string,
  ): Promise<void> {
    const doc: HookRunDoc = {
      _id: hookRunDocId(e._id, runNo, machineId, h.name),
      event_id: e._id,
      customer_id: e.customer_id,
      ...(e.pipeline_run_id ? { pipeline_run_id: e.pipeline_run_id } : {}),
      plan_name: e.plan_name,
      name: h.name,
      type: h.type,
      source: redactSource(h.source),
      ...(h.method ? { method: h.method } : {}),
      code: r.code,
      message: r.message,
      output: r.output,
      started_at: startedAt,
      finished_at: new Date().toISOString(),
      ...(machineId ? { machine_id: machineId } : {}),
      ...(commandId ? { command_id: commandId } : {}),
      run_no: runNo,
    };
    await records.recordHookRun(doc);
    await records.addTimeline(e._id, `hook/${runNo}/${machineId ?? '_'}/${h.name}`, {
      at: doc.finished_at,
      type: 'hook_finished',
      ...(machineId ? { machine_id: machineId } : {}),
      message: `${machineId ? `${machineId} ` : ''}${h.name} (${h.type}) → ${r.code} ${r.message}`.slice(
        0,
        500,
      ),
    });
  }

  return {
    /**
     * Calls a Lambda or Azure hook with the hook payload (docs/behaviour.md#hook-payload) and records its run. Bounded by the hook timeout
     * and by the window end (then: code 500 "timed out at window end"). Idempotent: a run already recorded
     * is returned as it is, so a retried activity never calls the hook twice.
     */
    async runRemoteHook(a: {
      eventId: string;
      runNo: number;
      name: string;
      machineId?: string;
      deadlineMs: number;
    }): Promise<{ success: boolean; code: number }> {
      const existing = await records.findHookRun(a.eventId, a.runNo, a.machineId, a.name);
      if (existing) {
        // A retry after the run was recorded: its notices may not have gone out yet (both are keyed, so
        // whatever was sent is not sent again).
        const e = await records.getEvent(a.eventId);
        const located = e && locateHook(e.plan_snapshot, a.name, a.machineId);
        if (e && located && notices) {
          await withHeartbeats(async () => {
            await notices.started({ eventId: a.eventId, runNo: a.runNo, machineId: a.machineId, located });
            await finishNotice(e, a, existing, located);
          });
        }
        return { success: isHookSuccess(existing.code), code: existing.code };
      }
      const e = await records.getEvent(a.eventId);
      if (!e) throw new Error(`event ${a.eventId} has no record`);
      const located = locateHook(e.plan_snapshot, a.name, a.machineId);
      if (!located) throw new Error(`hook ${a.name} is not defined for event ${a.eventId}`);
      const { hook } = located;
      const startedAt = new Date().toISOString();
      const body = JSON.stringify(await payloadFor(e, a.machineId));
      // The start notice goes out alongside the call, not before it: a slow channel must not eat the
      // hook's time. It is awaited before the finish notice, so receivers get them in order.
      const started = notices
        ? notices.started({ eventId: a.eventId, runNo: a.runNo, machineId: a.machineId, located })
        : Promise.resolve();
      started.catch(() => undefined); // awaited below; a failure there makes the activity retry

      const untilWindowEnd = a.deadlineMs - Date.now();
      const windowBound = untilWindowEnd < config.HOOK_TIMEOUT_MS;
      const signal = AbortSignal.timeout(Math.max(1, Math.min(untilWindowEnd, config.HOOK_TIMEOUT_MS)));
      const end = hookLatency.startTimer({ type: hook.type });
      let raw: RawHookAnswer;
      try {
        // Heartbeats keep the activity alive for as long as the hook takes (its timeout is the hook timeout).
        raw = await withHeartbeats(() =>
          caller.call(
            { type: hook.type as 'lambda' | 'azure', source: hook.source, method: hook.method },
            body,
            signal,
          ),
        );
      } catch (err) {
        raw = signal.aborted
          ? {
              kind: 'timeout',
              atWindowEnd: windowBound,
              message: windowBound ? undefined : `after ${Math.round(config.HOOK_TIMEOUT_MS / 1000)}s`,
            }
          : { kind: 'transport_error', message: `${(err as Error).name}: ${(err as Error).message}` };
      } finally {
        end();
      }
      const result = normalizeHookAnswer(raw);
      hookCalls.inc({ type: hook.type, outcome: isHookSuccess(result.code) ? 'success' : 'failure' });
      // The hook has been called: a store outage now must not make a retry call it again.
      await persistAfterEffect(() => record(e, a.runNo, hook, result, startedAt, a.machineId));
      // Heartbeats: this is a regular activity with a heartbeat timeout, and a channel may be slow. (The
      // script hook records below run as local activities, which cannot heartbeat.)
      await withHeartbeats(async () => {
        await started;
        await finishNotice(e, a, result, located);
      });
      return { success: isHookSuccess(result.code), code: result.code };
    },

    /** Records a script hook's run from the outcome of its SSM command (stdout is the hook's output). */
    async recordScriptHookRun(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      name: string;
      startedAt: string;
      outcome: CommandWaitOutcome;
    }): Promise<{ success: boolean }> {
      const e = await records.getEvent(a.eventId);
      if (!e) throw new Error(`event ${a.eventId} has no record`);
      const hook = findHook(e, a.name, a.machineId) ?? {
        name: a.name,
        type: 'script' as const,
        source: '(unknown)',
      };
      const { commandId, ...r } = scriptHookVerdict(a.outcome);
      hookCalls.inc({ type: 'script', outcome: isHookSuccess(r.code) ? 'success' : 'failure' });
      await record(e, a.runNo, hook, r, a.startedAt, a.machineId, commandId);
      await finishNotice(e, a, r);
      return { success: isHookSuccess(r.code) };
    },

    /** A hook that should have run but could not start before the window ended counts as failed. */
    async recordHookNotStarted(a: {
      eventId: string;
      runNo: number;
      name: string;
      machineId?: string;
    }): Promise<void> {
      const e = await records.getEvent(a.eventId);
      if (!e) throw new Error(`event ${a.eventId} has no record`);
      const hook = findHook(e, a.name, a.machineId) ?? {
        name: a.name,
        type: 'lambda' as const,
        source: '(unknown)',
      };
      const now = new Date().toISOString();
      const r = { code: 500, message: 'not started: the window ended first', output: '' };
      await record(e, a.runNo, hook, r, now, a.machineId);
      // It failed without running: hook_finish (ERROR) says so; there was no hook_start.
      await finishNotice(e, a, r);
    },
  };
}
