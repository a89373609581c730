import type { EventRecords } from '../store/event-records';
import type { PlanStore } from '../store/plans';
import { httpAllowlist, type Config } from '../common/config';
import { checkOutboundUrlResolved } from '../common/url-guard';
import { isEventFinished } from '../domain/finished';
import type { EventStatus } from '../domain/statuses';
import {
  maintenanceKey,
  maintenanceStep,
  nextMaintenanceDueMs,
  resolveApiKey,
  type MaintenanceEventView,
  type MaintenanceIntegration,
  type MaintenanceRecord,
} from '../domain/maintenance';
import { describeTransportError } from './channels/http';

/**
 * Issue 16 item 6 (seed 004, docs/behaviour.md#maintenance): `syncMaintenance` makes the plan's external
 * maintenance objects match the event: an Alertmanager silence and a Statuspage scheduled incident per entry,
 * created once the entry's lead time has come, moved when the window moved, lifted when the event ended early,
 * was deleted or finished. Idempotent: the ids are kept on the event record and each call compares.
 *
 * A service that fails (down, refused, timed out) never fails the event: the failure is on the timeline
 * (`maintenance_failed`) and the answer says `failed`, so the workflow calls again later. Only our own store
 * failing throws (the activity retries). Each success is on the timeline (`maintenance_created`, `_moved`,
 * `_lifted`), keyed so a retried call does not add a second row.
 */
export interface MaintenanceDeps {
  records: Pick<EventRecords, 'getEvent' | 'addTimeline' | 'maintenanceOf' | 'recordMaintenance'>;
  plans: Pick<PlanStore, 'getById'>;
  config: Pick<Config, 'PATCHWAVE_HTTP_ALLOWLIST'>;
  fetchImpl?: typeof fetch;
  readEnv?: (name: string) => string | undefined;
  /** One HTTP call's bound. */
  timeoutMs?: number;
}

export interface MaintenanceSync {
  /** The plan has maintenance entries, or objects made earlier still stand. */
  configured: boolean;
  /** A service failed: call again later. */
  failed: boolean;
  /** When the next entry not yet created becomes due (ms since the epoch). */
  dueAtMs?: number;
}

class ServiceError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const ANSWER_CAP = 200;

export function createMaintenanceActivities({
  records,
  plans,
  config,
  fetchImpl = fetch,
  readEnv = (n) => process.env[n],
  timeoutMs = 10_000,
}: MaintenanceDeps) {
  const allowlist = httpAllowlist(config);

  /** One JSON call, SSRF-guarded right before it, redirects not followed, bounded by `timeoutMs`. */
  async function call(
    url: string,
    method: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<unknown> {
    const refused = await checkOutboundUrlResolved(url, allowlist);
    if (refused) throw new ServiceError(`URL refused: ${refused}`);
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method,
        headers: {
          accept: 'application/json',
          'user-agent': 'Patchwave-Maintenance/1',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new ServiceError(describeTransportError(err, timeoutMs));
    }
    const text = await res.text().catch(() => '');
    if (res.status < 200 || res.status > 299)
      throw new ServiceError(
        `HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, ANSWER_CAP)}` : ''}`,
        res.status,
      );
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      return undefined;
    }
  }

  const base = (url: string) => url.replace(/\/+$/, '');

  function authHeaders(
    type: MaintenanceIntegration['type'],
    ref: string | undefined,
  ): Record<string, string> {
    if (!ref) return {};
    const key = resolveApiKey(ref, readEnv);
    if (!key) throw new ServiceError(`${ref.replace(/^env:/, '')} (named by api_key_ref ${ref}) is not set`);
    return { authorization: type === 'statuspage' ? `OAuth ${key}` : `Bearer ${key}` };
  }

  // ---------- Alertmanager ----------

  async function putSilence(
    url: string,
    ref: string | undefined,
    matchers: Record<string, string>,
    startsAt: string,
    endsAt: string,
    comment: string,
    id?: string,
  ): Promise<string> {
    const answer = (await call(
      `${base(url)}/api/v2/silences`,
      'POST',
      {
        ...(id ? { id } : {}),
        matchers: Object.entries(matchers).map(([name, value]) => ({
          name,
          value,
          isRegex: false,
          isEqual: true,
        })),
        startsAt,
        endsAt,
        createdBy: 'patchwave',
        comment,
      },
      authHeaders('alertmanager', ref),
    )) as { silenceID?: unknown } | undefined;
    if (typeof answer?.silenceID !== 'string' || !answer.silenceID)
      throw new ServiceError('the answer has no silenceID');
    return answer.silenceID;
  }

  // ---------- Statuspage ----------

  const incidentsUrl = (r: { url: string; page_id?: string }) =>
    `${base(r.url)}/v1/pages/${encodeURIComponent(r.page_id ?? '')}/incidents`;

  /** The sync itself; see the module comment. */
  /**
   * `status`, `start`, `end`: the workflow's view, which is ahead of the record while a status is being written
   * (a delete); the record's when left out.
   */
  async function syncMaintenance(a: {
    eventId: string;
    status?: EventStatus;
    start?: string;
    end?: string;
  }): Promise<MaintenanceSync> {
    const { eventId } = a;
    const e = await records.getEvent(eventId);
    if (!e) return { configured: false, failed: false };
    const plan = await plans.getById(e.plan_id);
    const entries = plan?.maintenance ?? [];
    const recs = await records.maintenanceOf(eventId);
    if (entries.length === 0 && !recs.some((r) => r.state === 'scheduled'))
      return { configured: false, failed: false };

    const status = a.status ?? e.status;
    const ev: MaintenanceEventView = {
      start: a.start ?? e.start,
      end: a.end ?? e.end,
      live: status !== 'DELETED' && !isEventFinished(status),
      deleted: status === 'DELETED',
    };
    const planName = plan?.name ?? e.plan_name;
    const why = ev.deleted
      ? 'the event was deleted'
      : !ev.live
        ? `the event ended (${status})`
        : 'removed from the plan';
    const now = () => Date.now();
    const at = () => new Date().toISOString();
    let failed = false;

    const keys = [
      ...entries.map((m, i) => maintenanceKey(m, i)),
      ...recs.map((r) => r.key).filter((k) => !entries.some((m, i) => maintenanceKey(m, i) === k)),
    ];
    for (const key of keys) {
      const idx = entries.findIndex((m, i) => maintenanceKey(m, i) === key);
      const entry = idx >= 0 ? entries[idx] : undefined;
      const rec = recs.find((r) => r.key === key);
      const step = maintenanceStep(entry, rec, ev, now());
      if (step.kind === 'none') continue;
      const type = (entry?.type ?? rec?.type)!;
      const what = type === 'alertmanager' ? 'Alertmanager silence' : 'Statuspage incident';
      const note = (kind: string, tkey: string, message: string) =>
        records.addTimeline(eventId, `maintenance/${key}/${tkey}`, { at: at(), type: kind, message });
      try {
        if (step.kind === 'create' && entry) {
          const made: MaintenanceRecord = {
            key,
            type,
            url: entry.url,
            ...(entry.type === 'statuspage' ? { page_id: entry.page_id } : {}),
            ...(entry.api_key_ref ? { api_key_ref: entry.api_key_ref } : {}),
            external_id: '',
            starts_at: step.startsAt,
            ends_at: step.endsAt,
            state: 'scheduled',
          };
          let detail: string;
          if (entry.type === 'alertmanager') {
            made.external_id = await putSilence(
              entry.url,
              entry.api_key_ref,
              entry.matchers,
              step.startsAt,
              step.endsAt,
              `Patchwave event ${eventId} (plan ${planName})`,
            );
            detail = Object.entries(entry.matchers)
              .map(([k, v]) => `${k}="${v}"`)
              .join(', ');
          } else {
            const answer = (await call(
              incidentsUrl(made),
              'POST',
              {
                incident: {
                  name: entry.name ?? `Scheduled maintenance: ${planName}`,
                  status: 'scheduled',
                  impact_override: 'maintenance',
                  scheduled_for: step.startsAt,
                  scheduled_until: step.endsAt,
                  scheduled_auto_in_progress: true,
                  scheduled_auto_completed: true,
                  auto_transition_to_maintenance_state: true,
                  auto_transition_to_operational_state: true,
                  component_ids: entry.component_ids,
                  body: `Patching (Patchwave event ${eventId}).`,
                },
              },
              authHeaders('statuspage', entry.api_key_ref),
            )) as { id?: unknown } | undefined;
            if (typeof answer?.id !== 'string' || !answer.id)
              throw new ServiceError('the answer has no incident id');
            made.external_id = answer.id;
            detail = `page ${entry.page_id}, components ${entry.component_ids.join(', ')}`;
          }
          await records.recordMaintenance(eventId, made);
          await note(
            'maintenance_created',
            `created/${made.external_id}`,
            `${what} ${made.external_id} created for ${step.startsAt} to ${step.endsAt} (${detail})`,
          );
        } else if (step.kind === 'move' && rec) {
          let id = rec.external_id;
          if (rec.type === 'alertmanager') {
            const matchers = entry?.type === 'alertmanager' ? entry.matchers : undefined;
            if (!matchers) throw new ServiceError('the plan entry is gone: nothing to move it with');
            const comment = `Patchwave event ${eventId} (plan ${planName})`;
            try {
              id = await putSilence(
                rec.url,
                rec.api_key_ref,
                matchers,
                step.startsAt,
                step.endsAt,
                comment,
                id,
              );
            } catch (err) {
              // Expired or unknown (someone deleted it): a new silence covers the new window.
              if (!(err instanceof ServiceError && err.status === 404)) throw err;
              id = await putSilence(rec.url, rec.api_key_ref, matchers, step.startsAt, step.endsAt, comment);
            }
          } else {
            await call(
              `${incidentsUrl(rec)}/${encodeURIComponent(id)}`,
              'PATCH',
              { incident: { scheduled_for: step.startsAt, scheduled_until: step.endsAt } },
              authHeaders('statuspage', rec.api_key_ref),
            );
          }
          await records.recordMaintenance(eventId, {
            ...rec,
            external_id: id,
            starts_at: step.startsAt,
            ends_at: step.endsAt,
          });
          await note(
            'maintenance_moved',
            `moved/${step.startsAt}/${step.endsAt}`,
            `${what} ${id} moved to ${step.startsAt} to ${step.endsAt}${id !== rec.external_id ? ` (was ${rec.external_id})` : ''}`,
          );
        } else if (step.kind === 'lift' && rec) {
          let done: string;
          if (step.how === 'expire') {
            if (Date.parse(rec.ends_at) <= now()) done = 'ended with its window';
            else {
              await call(
                `${base(rec.url)}/api/v2/silence/${encodeURIComponent(rec.external_id)}`,
                'DELETE',
                undefined,
                authHeaders('alertmanager', rec.api_key_ref),
              ).catch((err) => {
                if (!(err instanceof ServiceError && err.status === 404)) throw err;
              });
              done = 'expired';
            }
          } else {
            const url = `${incidentsUrl(rec)}/${encodeURIComponent(rec.external_id)}`;
            const headers = authHeaders('statuspage', rec.api_key_ref);
            await (
              step.how === 'delete'
                ? call(url, 'DELETE', undefined, headers)
                : call(url, 'PATCH', { incident: { status: 'completed' } }, headers)
            ).catch((err) => {
              if (!(err instanceof ServiceError && err.status === 404)) throw err;
            });
            done = step.how === 'delete' ? 'deleted' : 'completed';
          }
          await records.recordMaintenance(eventId, { ...rec, state: 'lifted' });
          await note(
            'maintenance_lifted',
            `lifted/${rec.external_id}`,
            `${what} ${rec.external_id} ${done}: ${why}`,
          );
        }
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        failed = true;
        const doing = { create: 'creating', move: 'moving', lift: 'lifting' }[step.kind];
        await note(
          'maintenance_failed',
          `failed/${at()}`,
          `${what}: ${doing} it failed (${err.message}); tried again later, the event goes on`,
        );
      }
    }
    const after = await records.maintenanceOf(eventId);
    const dueAtMs = nextMaintenanceDueMs(entries, after, ev, now());
    return { configured: true, failed, ...(dueAtMs !== undefined ? { dueAtMs } : {}) };
  }

  return { syncMaintenance };
}
