import type { Db } from 'mongodb';
import { LogStore, type CommandLogInput } from '../store/logs';

/** Activity factory for patching logs; `storeCommandLog` is called once an SSM command has ended. */
export function createLogActivities(deps: { db: Db; now?: () => Date }) {
  const store = new LogStore(deps.db);
  const now = deps.now ?? (() => new Date());
  return {
    async storeCommandLog(input: CommandLogInput): Promise<{ log_id: string }> {
      return { log_id: await store.save(input, now()) };
    },
  };
}

export type LogActivities = ReturnType<typeof createLogActivities>;
