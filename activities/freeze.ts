import { Context } from '@temporalio/activity';
import type { Stores } from '../store/stores';
import type { StoredFreezeCalendar } from '../store/freeze-calendars';
import { httpAllowlist, type Config } from '../common/config';
import { fetchIcs } from '../common/ics-fetch';
import { attachCovers, FreezeRule, judgeWindow, type ClosedSpan, type EventFreeze } from '../domain/freeze';
import { calendarClosedSpans } from '../domain/freeze-spans';
import { icsProblem } from '../domain/ics';
import type { Plan } from '../domain/plan';

export interface FreezeActivityDeps {
  stores: Pick<Stores, 'events' | 'plans' | 'machines' | 'freezeCalendars'>;
  config: Pick<Config, 'PATCHWAVE_HTTP_ALLOWLIST'>;
  fetchImpl?: typeof fetch;
}

const DEFAULT_RULE = FreezeRule.parse({});

/** What a verdict says, for the timeline: a new row only when this changes. */
const verdictKey = (v: EventFreeze | undefined) =>
  v ? [v.state, v.calendar_id, v.from, v.until, v.action, v.shifted_to ?? ''].join('|') : 'none';

/**
 * Freeze calendars judged against an event (docs/behaviour.md#freeze-calendars): when the event is generated,
 * when its window opens, and while it runs. URL calendars whose text is older than `refresh_minutes` are
 * fetched first (SSRF-guarded; a failure is recorded on the calendar and the previous text stays in force).
 */
export function createFreezeActivities({ stores, config, fetchImpl }: FreezeActivityDeps) {
  const allowlist = httpAllowlist(config);

  async function refreshed(c: StoredFreezeCalendar, nowMs: number): Promise<StoredFreezeCalendar> {
    if (!c.url) return c;
    const last = Date.parse(c.fetch?.fetched_at ?? '') || 0;
    const lastTry = Math.max(last, Date.parse(c.fetch?.error_at ?? '') || 0);
    if (nowMs - lastTry < c.refresh_minutes * 60_000) return c;
    const at = new Date(nowMs).toISOString();
    try {
      const text = await fetchIcs(c.url, allowlist, fetchImpl);
      const why = icsProblem(text, nowMs);
      if (why) {
        await stores.freezeCalendars.recordFetch(c.customer_id, c.id, {
          error: `the fetched text ${why}`,
          at,
        });
        return c;
      }
      await stores.freezeCalendars.recordFetch(c.customer_id, c.id, { text, at });
      return { ...c, fetched_ics: text, fetch: { fetched_at: at } };
    } catch (e) {
      await stores.freezeCalendars.recordFetch(c.customer_id, c.id, { error: (e as Error).message, at });
      return c;
    }
  }

  /** The tag sets of the plan's machines: static machines' metadata, or a dynamic plan's selector tags. */
  async function machineTags(plan: Plan): Promise<{ key: string; value: string }[][]> {
    if (plan.dynamic)
      return plan.dynamic.map((sel) =>
        Object.entries(sel.tags).flatMap(([key, values]) => values.map((value) => ({ key, value }))),
      );
    const ms = await stores.machines.getMany(
      plan.customer_id,
      (plan.machines ?? []).map((m) => m.machine_id),
    );
    return ms.map((m) => m.metadata ?? []);
  }

  return {
    /**
     * The freeze verdict of an event's window, stored on the event (`freeze`) and put on the timeline when it
     * changed. `fromNow`: judge the rest of a running window (a freeze in force now halts it).
     */
    async judgeEventFreeze(a: { eventId: string; fromNow?: boolean }): Promise<EventFreeze | null> {
      const e = await stores.events.getEvent(a.eventId);
      if (!e) return null;
      const plan = await stores.plans.getById(e.plan_id);
      const rule = plan?.freeze_rule ?? DEFAULT_RULE;
      const now = Date.now();
      const startMs = a.fromNow ? Math.max(now, Date.parse(e.start)) : Date.parse(e.start);
      const endMs = Date.parse(e.end);
      const toMs = endMs + rule.max_delay_hours * 3600_000 + 86_400_000;
      const tags = plan ? await machineTags(plan) : [];
      const spans: ClosedSpan[] = [];
      for (const c of await stores.freezeCalendars.enabledOf(e.customer_id)) {
        Context.current().heartbeat();
        if (!attachCovers(c.attach, e.plan_id, tags)) continue;
        spans.push(...calendarClosedSpans(await refreshed(c, now), startMs, toMs).spans);
      }
      const judged = judgeWindow(spans, startMs, endMs, rule, now);
      // Judged during the run, a freeze in force now halts it: that, not the plan's rule, is what happens.
      const verdict =
        a.fromNow && judged?.state === 'frozen'
          ? { ...judged, action: 'halt' as const, shifted_to: undefined }
          : judged;
      if (verdict && verdict.shifted_to === undefined) delete verdict.shifted_to;
      if (verdictKey(verdict) !== verdictKey(e.freeze)) {
        await stores.events.setEventFreeze(a.eventId, verdict);
        await stores.events.addTimeline(a.eventId, `freeze/${verdictKey(verdict)}`, {
          at: new Date(now).toISOString(),
          type: 'freeze',
          message: verdict
            ? `${verdict.reason} (${verdict.from} to ${verdict.until}): ${describe(verdict)}`
            : 'no freeze applies any more',
        });
      }
      return verdict ?? null;
    },

    /** shift_to_next_open: the upcoming event's window moves; stored (with its listing keys) and on the timeline. */
    async recordEventMove(a: { eventId: string; start: string; end: string; reason: string }): Promise<void> {
      const e = await stores.events.getEvent(a.eventId);
      if (!e) return;
      if (e.start !== a.start) {
        await stores.events.moveEvent(a.eventId, a.start, a.end);
      }
      await stores.events.addTimeline(a.eventId, `moved/${a.start}`, {
        at: new Date().toISOString(),
        type: 'moved',
        message: `moved to ${a.start} – ${a.end} (shift_to_next_open): ${a.reason}`,
      });
    },
  };
}

function describe(v: EventFreeze): string {
  switch (v.action) {
    case 'skip':
      return 'the event will be skipped unless the freeze is lifted before its window opens';
    case 'shift_to_next_open':
      return `the event moves to ${v.shifted_to}`;
    case 'run_with_approval':
      return 'the event runs inside the freeze only if two different people approve it before its window opens';
    case 'halt':
      return v.state === 'frozen' ? 'the run halts' : 'the run halts when the freeze begins';
  }
}
