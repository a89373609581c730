import { FreezeCalendar, FreezeCalendarInput } from '../../domain/freeze';
import { calendarClosedSpans } from '../../domain/freeze-spans';
import { icsProblem } from '../../domain/ics';
import { checkOutboundUrl, checkOutboundUrlAtSave } from '../../common/url-guard';
import { fetchIcs } from '../../common/ics-fetch';
import type { StoredFreezeCalendar } from '../../store/freeze-calendars';
import type { ApiContext } from '../context';
import type { FieldIssue } from '../errors';
import { crudRoutes } from './crud';

/** How far ahead a calendar's answer lists its freezes, and how many. */
const PREVIEW_DAYS = 60;
const PREVIEW_MAX = 10;

async function calendarIssues(
  api: ApiContext,
  customerId: string,
  c: Partial<FreezeCalendarInput>,
): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  if (c.ics !== undefined) {
    const why = icsProblem(c.ics);
    if (why) issues.push({ in: 'body', path: 'ics', message: why });
  }
  if (c.url !== undefined) {
    const why =
      checkOutboundUrl(c.url, api.allowlist) ?? (await checkOutboundUrlAtSave(c.url, api.allowlist));
    if (why) issues.push({ in: 'body', path: 'url', message: why, code: 'egress_refused' });
  }
  if (c.attach?.to === 'plans') {
    const found = await api.plans.existingIds(customerId, c.attach.plan_ids);
    c.attach.plan_ids.forEach((id, i) => {
      if (!found.has(id))
        issues.push({
          in: 'body',
          path: `attach.plan_ids.${i}`,
          message: `plan ${id} does not exist`,
          code: 'unknown_reference',
        });
    });
  }
  return issues;
}

/** The answer shows the freezes to come, computed from the text (uploaded or last fetched). */
function present(items: StoredFreezeCalendar[]) {
  const now = Date.now();
  return items.map((c) => {
    const { fetched_ics, ...rest } = c;
    const r = calendarClosedSpans({ ...c, fetched_ics }, now, now + PREVIEW_DAYS * 86_400_000);
    return {
      ...rest,
      upcoming_freezes: r.spans
        .filter((s) => s.endMs > now)
        .slice(0, PREVIEW_MAX)
        .map((s) => ({
          start: new Date(s.startMs).toISOString(),
          end: new Date(s.endMs).toISOString(),
          summary: s.why,
        })),
      ...(r.problem ? { problem: r.problem } : {}),
    };
  });
}

export const freezeCalendarRoutes = crudRoutes({
  resource: 'freeze_calendar',
  tag: 'freeze-calendars',
  basePath: '/api/v1/freeze-calendars',
  singular: 'freeze-calendar',
  idPrefix: 'frz',
  input: FreezeCalendarInput.meta({ id: 'FreezeCalendarInput' }),
  inputKeys: Object.keys(FreezeCalendarInput.shape),
  view: FreezeCalendar.meta({ id: 'FreezeCalendar' }),
  repo: (api) => api.freezeCalendars,
  check: calendarIssues,
  // Text that is not readable iCalendar is wrong in the request itself (400, stated here); a URL the egress
  // policy refuses and plan ids that name nothing conflict with the server's configuration and state (409).
  rules: [{ rule: 'icalendar', in: 'body', field: 'ics' }],
  present: async (api, customerId, items) => {
    // List answers carry no fetched text: read it for the URL calendars shown.
    const full = await Promise.all(
      items.map(async (c) => (c.url ? ((await api.freezeCalendars.getWithText(customerId, c.id)) ?? c) : c)),
    );
    return present(full);
  },
  rereadAfterWrite: true,
  async afterWrite(api, actor, kind, id, { item, before }) {
    if (kind === 'delete') return api.orchestrator.freezeCalendarsChanged(actor);
    // A new URL is fetched now, so the answer already shows its freezes (or why it could not be read);
    // the worker refreshes it from then on. A failed fetch is recorded on the calendar, not an error here.
    if (item.url && (kind === 'create' || before?.url !== item.url)) {
      await api.freezeCalendars.clearFetch(actor.customer_id, id);
      const at = new Date().toISOString();
      try {
        const text = await fetchIcs(item.url, api.allowlist);
        const why = icsProblem(text);
        await api.freezeCalendars.recordFetch(
          actor.customer_id,
          id,
          why ? { error: `the fetched text ${why}`, at } : { text, at },
        );
      } catch (e) {
        await api.freezeCalendars.recordFetch(actor.customer_id, id, { error: (e as Error).message, at });
      }
    }
    await api.orchestrator.freezeCalendarsChanged(actor);
  },
});
