import type { CommandLogInput, LogStore } from '../store/logs';

/** Activity factory for patching logs; `storeCommandLog` is called once an SSM command has ended. */
export function createLogActivities(deps: { logs: LogStore; now?: () => Date }) {
  const store = deps.logs;
  const now = deps.now ?? (() => new Date());
  return {
    async storeCommandLog(input: CommandLogInput): Promise<{ log_id: string }> {
      return { log_id: await store.save(input, now()) };
    },
  };
}

export type LogActivities = ReturnType<typeof createLogActivities>;
