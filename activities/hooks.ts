import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { Db } from 'mongodb';
import {
  EventRecords,
  hookRunDocId,
  machineDocId,
  type EventDoc,
  type HookRunDoc,
  type SnapshotHook,
} from '../store/event-records';
import type { AwsClients } from './aws';
import { httpAllowlist, type Config } from '../common/config';
import { hookCalls, hookLatency } from '../common/metrics';
import { checkOutboundUrlResolved } from '../api/url-guard';
import { buildHookPayload, orderHookOutputs, toHookOutputEntry } from '../domain/hook-payload';
import { normalizeHookAnswer, scriptHookResult, type RawHookAnswer } from '../domain/hook-result';
import { isHookSuccess, type HookPayloadMachine } from '../domain/hooks';
import type { OwnerOutcome } from '../workflows/machine-run';
import { redactSource } from './events';
import { persistAfterEffect, withHeartbeats } from './durable';
import { requestWithBody } from './http-body-request';

export interface HookActivityDeps {
  db: Db;
  aws: AwsClients;
  config: Pick<Config, 'HOOK_TIMEOUT_MS' | 'PATCHWAVE_HTTP_ALLOWLIST' | 'AWS_REGION'>;
  fetchImpl?: typeof fetch;
}

const LAMBDA_ARN_REGION = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):/;
/** Transport retries for Azure calls; a hook's own failure answer is never retried. */
const AZURE_ATTEMPTS = 3;

export function createHookActivities({ db, aws, config, fetchImpl = fetch }: HookActivityDeps) {
  const records = new EventRecords(db);

  function findHook(e: EventDoc, name: string, machineId?: string): SnapshotHook | undefined {
    const s = e.plan_snapshot;
    if (!s) return undefined;
    if (!machineId) return [...s.pre_hooks, ...s.post_hooks].find((h) => h.name === name);
    const m = s.machines?.find((x) => x.machine_id === machineId);
    return [...(m?.pre_host_hooks ?? []), ...(m?.post_host_hooks ?? [])].find((h) => h.name === name);
  }

  async function payloadFor(e: EventDoc, machineId?: string) {
    const snapMachines = new Map((e.plan_snapshot?.machines ?? []).map((m) => [m.machine_id, m]));
    const docs = machineId
      ? [await records.machines.findOne({ _id: machineDocId(e._id, machineId) })].filter((d) => d !== null)
      : await records.listMachines(e._id);
    const machines: HookPayloadMachine[] = docs.map((d) => {
      const s = snapMachines.get(d.machine_id);
      return {
        id: d.machine_id,
        status: d.status,
        name: d.name,
        ...(s?.subscription_id ? { subscription_id: s.subscription_id } : {}),
        ...(s?.subscription_name ? { subscription_name: s.subscription_name } : {}),
        ...(s?.resource_group_name ? { resource_group_name: s.resource_group_name } : {}),
      };
    });
    const prev = orderHookOutputs(
      await records.previousHookRuns({ eventId: e._id, pipelineRunId: e.pipeline_run_id }),
    );
    return buildHookPayload({
      eventId: e._id,
      customerId: e.customer_id,
      machines,
      previous: prev.map((r) =>
        toHookOutputEntry(r, { planName: r.plan_name, eventId: r.event_id, sameEvent: r.event_id === e._id }),
      ),
    });
  }

  async function callLambda(h: SnapshotHook, body: string, signal: AbortSignal): Promise<RawHookAnswer> {
    const region = LAMBDA_ARN_REGION.exec(h.source)?.[1] ?? config.AWS_REGION;
    const r = await aws
      .lambda(region)
      .send(new InvokeCommand({ FunctionName: h.source, Payload: new TextEncoder().encode(body) }), {
        abortSignal: signal,
      });
    const text = r.Payload ? new TextDecoder().decode(r.Payload) : '';
    if (r.FunctionError)
      return { kind: 'function_error', message: `${r.FunctionError}: ${text.slice(0, 500)}` };
    return { kind: 'answer', httpStatus: r.StatusCode, body: text };
  }

  async function callAzure(h: SnapshotHook, body: string, signal: AbortSignal): Promise<RawHookAnswer> {
    const refusal = await checkOutboundUrlResolved(h.source, httpAllowlist(config));
    if (refusal) return { kind: 'transport_error', message: `hook URL refused: ${refusal}` };
    let lastErr = '';
    for (let attempt = 1; attempt <= AZURE_ATTEMPTS; attempt++) {
      try {
        // The seed's functions read `req.body`, so the payload goes as a JSON body for GET as well;
        // fetch refuses a GET body, hence node:http for GET.
        const method = h.method ?? 'GET';
        const headers = { 'content-type': 'application/json' };
        if (method === 'GET') {
          const res = await requestWithBody(h.source, { method, headers, body, signal });
          return { kind: 'answer', httpStatus: res.status, body: res.text };
        }
        // Redirects are not followed: a hook could otherwise bounce us past the SSRF guard (e.g. to 169.254.169.254).
        const res = await fetchImpl(h.source, { method, headers, body, signal, redirect: 'manual' });
        return { kind: 'answer', httpStatus: res.status, body: await res.text() };
      } catch (err) {
        if (signal.aborted) throw err;
        lastErr = (err as Error).message;
        await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
      }
    }
    return { kind: 'transport_error', message: `no answer after ${AZURE_ATTEMPTS} attempts: ${lastErr}` };
  }

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
      source: redactSource(h),
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
     * Calls a Lambda or Azure hook with the §4 payload and records its run. Bounded by the hook timeout
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
      const existing = await records.hookRuns.findOne({
        _id: hookRunDocId(a.eventId, a.runNo, a.machineId, a.name),
      });
      if (existing) return { success: isHookSuccess(existing.code), code: existing.code };
      const e = await records.getEvent(a.eventId);
      if (!e) throw new Error(`event ${a.eventId} has no record`);
      const hook = findHook(e, a.name, a.machineId);
      if (!hook) throw new Error(`hook ${a.name} is not defined for event ${a.eventId}`);
      const startedAt = new Date().toISOString();
      const body = JSON.stringify(await payloadFor(e, a.machineId));

      const untilWindowEnd = a.deadlineMs - Date.now();
      const windowBound = untilWindowEnd < config.HOOK_TIMEOUT_MS;
      const signal = AbortSignal.timeout(Math.max(1, Math.min(untilWindowEnd, config.HOOK_TIMEOUT_MS)));
      const end = hookLatency.startTimer({ type: hook.type });
      let raw: RawHookAnswer;
      try {
        // Heartbeats keep the activity alive for as long as the hook takes (its timeout is the hook timeout).
        raw = await withHeartbeats(() =>
          hook.type === 'lambda' ? callLambda(hook, body, signal) : callAzure(hook, body, signal),
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
      return { success: isHookSuccess(result.code), code: result.code };
    },

    /** Records a script hook's run from the outcome of its SSM command (stdout is the hook's output). */
    async recordScriptHookRun(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      name: string;
      startedAt: string;
      outcome: OwnerOutcome;
    }): Promise<{ success: boolean }> {
      const e = await records.getEvent(a.eventId);
      if (!e) throw new Error(`event ${a.eventId} has no record`);
      const hook = findHook(e, a.name, a.machineId) ?? {
        name: a.name,
        type: 'script' as const,
        source: '(unknown)',
      };
      const o = a.outcome;
      let r: { code: number; message: string; output: string };
      let commandId: string | undefined;
      switch (o.kind) {
        case 'completed':
          commandId = o.final.commandId;
          r = scriptHookResult({
            exitCode: o.final.responseCode,
            stdout: o.final.stdout ?? '',
            ssmStatus: o.final.ssmStatus,
          });
          break;
        case 'timed_out':
          commandId = o.commandId;
          r = {
            code: 500,
            message: `timed out at window end (command ${o.commandId} goes on in the background)`,
            output: '',
          };
          break;
        case 'not_started':
        case 'rejected':
          r = { code: 500, message: `not run: ${o.reason}`, output: '' };
          break;
        case 'not_sent':
          r = { code: 500, message: `not run: ${o.start.reason}`, output: '' };
          break;
      }
      hookCalls.inc({ type: 'script', outcome: isHookSuccess(r.code) ? 'success' : 'failure' });
      await record(e, a.runNo, hook, r, a.startedAt, a.machineId, commandId);
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
      await record(
        e,
        a.runNo,
        hook,
        { code: 500, message: 'not started: the window ended first', output: '' },
        now,
        a.machineId,
      );
    },
  };
}
