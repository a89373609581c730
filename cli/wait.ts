import type { Client } from './client';
import type { Io } from './output';
import { AutomaticFinalMachineStatus } from '../domain/statuses';

const FINISHED = ['DONE', 'DONE_MANUAL', 'DONE_PARTIAL', 'DONE_ERROR', 'DONE_ERROR_MANUAL', 'DELETED'];
const SUCCESS = ['DONE', 'DONE_MANUAL'];

interface EventView {
  id: string;
  status: string;
  run_no?: number;
  machines?: { machine_id: string; name: string; status: string; reason?: string }[];
}

export interface WaitOptions {
  intervalMs: number;
  /** 0 = no limit. */
  timeoutMs: number;
  /** For a partial run: the event counts as finished only once its run number passed this or it was seen running. */
  afterRunNo?: number;
  sleep?: (ms: number) => Promise<void>;
}

// Every automatic final status, plus the manual ones that close a machine (not IN_PROGRESS/REBOOTING_MANUAL).
const FINAL_MACHINE = new Set<string>([
  ...AutomaticFinalMachineStatus.options,
  'SUCCESS_MANUAL',
  'FAILED_MANUAL',
]);

function summary(ev: EventView): string {
  const ms = ev.machines ?? [];
  // Machines appear in the event once its run records them: before that, "0/0 finished" would be false.
  if (ms.length === 0)
    return `${ev.status} — ${FINISHED.includes(ev.status) ? 'no machines' : 'no machine started yet'}`;
  const byStatus = new Map<string, number>();
  for (const m of ms) byStatus.set(m.status, (byStatus.get(m.status) ?? 0) + 1);
  const done = ms.filter((m) => FINAL_MACHINE.has(m.status)).length;
  const counts = [...byStatus].map(([s, n]) => `${s} ${n}`).join(', ');
  return `${ev.status} — machines ${done}/${ms.length} finished${counts ? ` (${counts})` : ''}`;
}

const stamp = () => new Date().toISOString().slice(11, 19);

/**
 * Polls GET /events/:id for each event and prints what changes (event status, each machine's status) on
 * stderr until all are finished. Answers the final events and whether all succeeded.
 */
export async function waitForEvents(
  client: Client,
  ids: string[],
  io: Io,
  opts: WaitOptions,
): Promise<{ events: EventView[]; ok: boolean }> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
  const lastLine = new Map<string, string>();
  const lastMachine = new Map<string, string>();
  const sawRunning = new Set<string>();
  const final = new Map<string, EventView>();

  while (final.size < ids.length) {
    for (const id of ids) {
      if (final.has(id)) continue;
      const ev = await client.request<EventView>('GET', `/api/v1/events/${encodeURIComponent(id)}`);
      const line = summary(ev);
      if (lastLine.get(id) !== line) {
        io.err(`[${stamp()}] ${id}: ${line}`);
        lastLine.set(id, line);
      }
      for (const m of ev.machines ?? []) {
        const key = `${id}/${m.machine_id}`;
        const was = lastMachine.get(key);
        if (was !== m.status) {
          if (was !== undefined || m.status !== 'PENDING')
            io.err(
              `[${stamp()}]   ${m.name} (${m.machine_id}): ${m.status}${m.reason ? ` — ${m.reason}` : ''}`,
            );
          lastMachine.set(key, m.status);
        }
      }
      if (ev.status === 'IN_PROGRESS') sawRunning.add(id);
      const rerunStarted =
        opts.afterRunNo === undefined || sawRunning.has(id) || (ev.run_no ?? 0) > opts.afterRunNo;
      if (FINISHED.includes(ev.status) && rerunStarted) final.set(id, ev);
    }
    if (final.size === ids.length) break;
    if (Date.now() > deadline)
      throw new Error(`gave up waiting after ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(opts.intervalMs);
  }
  const events = ids.map((id) => final.get(id)!);
  return { events, ok: events.every((e) => SUCCESS.includes(e.status)) };
}
