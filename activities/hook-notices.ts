/**
 * The notices of a hook's run (docs/notifications.md): `hook_start` / `hook_finish` for a global hook,
 * `host_hook_start` / `host_hook_finish` for a machine's host hook. Sent from the activities that own those
 * moments (the hook call in hooks.ts, the script hook's SSM command in ssm.ts and its record in hooks.ts), so
 * workflow histories are unchanged. The key is `<type>:<event>:<run>:<machine|>:<phase>:<hook>`: a retried
 * activity, or the same moment reached twice, never notifies twice.
 */
import type { PlanSnapshot, SnapshotHook } from '../store/event-records';
import type { HookNoticeContext, createEventOutputActivities } from './event-outputs';

type NotifyEvent = ReturnType<typeof createEventOutputActivities>['notifyEvent'];

export interface LocatedHook {
  hook: SnapshotHook;
  phase: HookNoticeContext['phase'];
}

/** The hook of this name in the run's snapshot (the event's global hooks, or one machine's host hooks). */
export function locateHook(
  snapshot: Pick<PlanSnapshot, 'pre_hooks' | 'post_hooks' | 'machines'> | undefined,
  name: string,
  machineId?: string,
): LocatedHook | undefined {
  if (!snapshot) return undefined;
  const lists: [HookNoticeContext['phase'], SnapshotHook[]][] = machineId
    ? (() => {
        const m = snapshot.machines?.find((x) => x.machine_id === machineId);
        return [
          ['pre_host', m?.pre_host_hooks ?? []],
          ['post_host', m?.post_host_hooks ?? []],
        ];
      })()
    : [
        ['pre', snapshot.pre_hooks],
        ['post', snapshot.post_hooks],
      ];
  for (const [phase, hooks] of lists) {
    const hook = hooks.find((h) => h.name === name);
    if (hook) return { hook, phase };
  }
  return undefined;
}

export interface HookMoment {
  eventId: string;
  runNo: number;
  machineId?: string;
  located: LocatedHook;
}

export function createHookNotices(deps: { notifyEvent: NotifyEvent }) {
  const context = ({ hook, phase }: LocatedHook): HookNoticeContext => ({
    phase,
    name: hook.name,
    type: hook.type,
    source: hook.source,
    ...(hook.method ? { method: hook.method } : {}),
  });
  const ids = (a: HookMoment) => ({
    eventId: a.eventId,
    runNo: a.runNo,
    ...(a.machineId ? { machineId: a.machineId } : {}),
  });
  return {
    /** The hook is being called (remote hook) or its command was sent to the machine (script hook). */
    started: (a: HookMoment) =>
      deps.notifyEvent({
        ...ids(a),
        type: a.machineId ? 'host_hook_start' : 'hook_start',
        hook: context(a.located),
      }),

    /** The hook's run is recorded: SUCCESS for codes 200-299, else ERROR (severity from the code). */
    finished: (a: HookMoment & { code: number; message: string }) =>
      deps.notifyEvent({
        ...ids(a),
        type: a.machineId ? 'host_hook_finish' : 'hook_finish',
        hook: { ...context(a.located), code: a.code, message: a.message.slice(0, 1000) },
      }),
  };
}

export type HookNotices = ReturnType<typeof createHookNotices>;
