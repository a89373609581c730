import type { EventRecords } from '../store/event-records';
import type { PlanStore } from '../store/plans';
import type { MachineStore } from '../store/machines';
import type { Plan } from '../domain/plan';
import { resolveWebhookSecret } from '../domain/notification-group';
import { httpAllowlist, type Config } from '../common/config';
import { checkOutboundUrlResolved } from '../common/url-guard';
import { isEventFinished } from '../domain/finished';
import type { EventStatus } from '../domain/statuses';
import {
  maintenanceKey,
  maintenanceStep,
  nextMaintenanceDueMs,
  resolveApiKey,
  resolveMaintenanceTargets,
  silenceMatchers,
  type MaintenanceEventView,
  type MaintenanceMachine,
  type MaintenanceTargets,
  type MaintenanceIntegration,
  type MaintenanceRecord,
} from '../domain/maintenance';
import { describeTransportError } from './channels/http';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './channels/webhook';

/**
 * Issue 16 item 6 (seed 004, docs/behaviour.md#maintenance): `syncMaintenance` makes the plan's external
 * maintenance objects match the event: an Alertmanager silence, a Statuspage scheduled incident, a Pingdom
 * maintenance window or a signed call to the operator's webhook per entry, created once the entry's lead time has
 * come, moved when the window moved, lifted when the event ended early, was deleted or finished. Idempotent: the
 * ids are kept on the event record and each call compares. Targets taken from machine tags are read from the
 * event's machines (the run's once it began, the plan's before; a dynamic plan's selector tags before its scan);
 * an entry they leave empty is skipped (`maintenance_skipped`), never a failure.
 *
 * A service that fails (down, refused, timed out) never fails the event: the failure is on the timeline
 * (`maintenance_failed`) and the answer says `failed`, so the workflow calls again later. Only our own store
 * failing throws (the activity retries). Each success is on the timeline (`maintenance_created`, `_moved`,
 * `_lifted`), keyed so a retried call does not add a second row.
 */
export interface MaintenanceDeps {
  records: Pick<
    EventRecords,
    'getEvent' | 'addTimeline' | 'maintenanceOf' | 'recordMaintenance' | 'listMachines'
  >;
  plans: Pick<PlanStore, 'getById'>;
  machines: Pick<MachineStore, 'getMany'>;
  config: Pick<Config, 'PATCHWAVE_HTTP_ALLOWLIST' | 'PATCHWAVE_WEBHOOK_SECRET'>;
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
  machines,
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
    /** `body` is already the exact text to send (a signed webhook body). */
    raw = false,
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
        ...(body !== undefined ? { body: raw ? String(body) : JSON.stringify(body) } : {}),
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

  const ignore404 = (err: unknown) => {
    if (!(err instanceof ServiceError && err.status === 404)) throw err;
  };

  // ---------- Alertmanager ----------

  async function putSilence(
    url: string,
    ref: string | undefined,
    matchers: Record<string, string[]>,
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
        matchers: silenceMatchers(matchers),
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

  // ---------- Pingdom (API 3.1 maintenance windows) ----------

  const windowsUrl = (url: string) => `${base(url)}/api/3.1/maintenance`;
  const unixSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  /** Pingdom takes only a future `from`; `1` is its "now" for a window that has begun. */
  const pingdomFrom = (startsAt: string) => (Date.parse(startsAt) > Date.now() ? unixSeconds(startsAt) : 1);

  // ---------- webhook ----------

  interface WebhookCall {
    action: 'create' | 'move' | 'lift';
    eventId: string;
    key: string;
    plan: { id: string; name: string };
    startsAt: string;
    endsAt: string;
    machines: readonly MaintenanceMachine[];
    externalId?: string;
    reason?: string;
  }

  /** One signed POST (as webhook channels sign: docs/notifications.md); the answer's `id`, if any. */
  async function postWebhook(url: string, secretRef: string | undefined, w: WebhookCall) {
    const secret = resolveWebhookSecret({ secret_ref: secretRef }, config.PATCHWAVE_WEBHOOK_SECRET, readEnv);
    if (!secret)
      throw new ServiceError(
        secretRef
          ? `no signing secret: ${secretRef.replace(/^env:/, '')} (named by secret_ref ${secretRef}) is not set`
          : 'no signing secret: PATCHWAVE_WEBHOOK_SECRET is not set and the entry has no secret_ref',
      );
    const body = JSON.stringify({
      action: w.action,
      key: w.key,
      event_id: w.eventId,
      plan: w.plan,
      window: { start: w.startsAt, end: w.endsAt },
      machines: w.machines.filter((m) => m.id).map((m) => ({ id: m.id, name: m.name })),
      ...(w.externalId ? { external_id: w.externalId } : {}),
      ...(w.reason ? { reason: w.reason } : {}),
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const answer = (await call(
      url,
      'POST',
      body,
      {
        [SIGNATURE_HEADER]: signWebhook(secret, ts, body),
        [TIMESTAMP_HEADER]: ts,
        // The same for a retried call of one action on one window, so a receiver can drop repeats.
        [DELIVERY_HEADER]: `${w.eventId}/${w.key}/${w.action}/${w.startsAt}/${w.endsAt}`,
        'x-patchwave-event': `maintenance_${w.action}`,
      },
      true,
    )) as { id?: unknown } | undefined;
    const id = answer?.id;
    return typeof id === 'string' || typeof id === 'number' ? String(id).slice(0, 200) : undefined;
  }

  // ---------- the event's machines ----------

  /**
   * The machines an entry's tag mappings read: the run's machines once it began, the plan's static machines
   * before (less the excluded ones); a dynamic plan that has not scanned yet offers its selectors' tags (no
   * machine ids then).
   */
  async function eventMachines(
    e: { _id: string; customer_id: string; excluded_machine_ids?: string[] },
    plan: Plan | null,
  ): Promise<MaintenanceMachine[]> {
    const ran = await records.listMachines(e._id);
    const excluded = new Set(e.excluded_machine_ids ?? []);
    let ids = ran.map((m) => m.machine_id);
    if (ids.length === 0 && plan?.dynamic)
      return plan.dynamic.map((sel, i) => ({
        id: '',
        name: `selector ${i}`,
        tags: Object.entries(sel.tags).flatMap(([key, values]) => values.map((value) => ({ key, value }))),
      }));
    if (ids.length === 0) ids = (plan?.machines ?? []).map((m) => m.machine_id);
    ids = ids.filter((id) => !excluded.has(id));
    const found = new Map((await machines.getMany(e.customer_id, ids)).map((m) => [m.id, m]));
    return ids.flatMap((id) => {
      const m = found.get(id);
      const name = m?.name ?? ran.find((r) => r.machine_id === id)?.name ?? id;
      return [{ id, name, tags: m?.metadata ?? [] }];
    });
  }

  const WHAT: Record<MaintenanceIntegration['type'], string> = {
    alertmanager: 'Alertmanager silence',
    statuspage: 'Statuspage incident',
    pingdom: 'Pingdom maintenance window',
    webhook: 'Webhook maintenance',
  };

  /** What the timeline says an object covers. */
  function describeTargets(type: MaintenanceIntegration['type'], t: MaintenanceTargets, pageId?: string) {
    if (type === 'alertmanager')
      return Object.entries(t.matchers ?? {})
        .map(([k, v]) => (v.length === 1 ? `${k}="${v[0]}"` : `${k}=~"${v.join('|')}"`))
        .join(', ');
    if (type === 'statuspage') return `page ${pageId}, components ${(t.component_ids ?? []).join(', ')}`;
    if (type === 'pingdom') return `checks ${(t.check_ids ?? []).join(', ')}`;
    return '';
  }

  /** The targets a record keeps (what it was made with). */
  const recordTargets = (t: MaintenanceTargets) => ({
    ...(t.component_ids ? { component_ids: t.component_ids } : {}),
    ...(t.check_ids ? { check_ids: t.check_ids } : {}),
    ...(t.matchers ? { matchers: t.matchers } : {}),
  });

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
    const planRef = { id: e.plan_id, name: planName };
    const why = ev.deleted
      ? 'the event was deleted'
      : !ev.live
        ? `the event ended (${status})`
        : 'removed from the plan';
    const now = () => Date.now();
    const at = () => new Date().toISOString();
    let failed = false;
    let machineList: MaintenanceMachine[] | undefined;
    const theMachines = async () => (machineList ??= await eventMachines(e, plan));

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
      const what = WHAT[type];
      const note = (kind: string, tkey: string, message: string) =>
        records.addTimeline(eventId, `maintenance/${key}/${tkey}`, { at: at(), type: kind, message });
      /** The entry's targets over the event's machines now; `ignored` tag values are on the timeline once. */
      const targetsOf = async (m: MaintenanceIntegration): Promise<MaintenanceTargets> => {
        const t = resolveMaintenanceTargets(m, await theMachines());
        if (t.ignored.length)
          await note(
            'maintenance_skipped',
            `ignored/${t.ignored.join('|')}`,
            `${what}: tag values that are not valid targets were left out: ${t.ignored.join(', ')}`,
          );
        return t;
      };
      try {
        if (step.kind === 'create' && entry) {
          const targets = await targetsOf(entry);
          if (targets.empty) {
            // Nothing to cover (no machine carries the tag): skipped, looked at again at the next sync.
            await note(
              'maintenance_skipped',
              `empty/${step.startsAt}/${step.endsAt}`,
              `${what}: not created, the event's machines give it nothing to cover (no ${tagNames(entry)} tag values)`,
            );
            continue;
          }
          const made: MaintenanceRecord = {
            key,
            type,
            url: entry.url,
            ...(entry.type === 'statuspage' ? { page_id: entry.page_id } : {}),
            ...('api_key_ref' in entry && entry.api_key_ref ? { api_key_ref: entry.api_key_ref } : {}),
            ...(entry.type === 'webhook' && entry.secret_ref ? { secret_ref: entry.secret_ref } : {}),
            external_id: '',
            starts_at: step.startsAt,
            ends_at: step.endsAt,
            state: 'scheduled',
            ...recordTargets(targets),
          };
          if (entry.type === 'alertmanager') {
            made.external_id = await putSilence(
              entry.url,
              entry.api_key_ref,
              targets.matchers!,
              step.startsAt,
              step.endsAt,
              `Patchwave event ${eventId} (plan ${planName})`,
            );
          } else if (entry.type === 'statuspage') {
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
                  component_ids: targets.component_ids,
                  body: `Patching (Patchwave event ${eventId}).`,
                },
              },
              authHeaders('statuspage', entry.api_key_ref),
            )) as { id?: unknown } | undefined;
            if (typeof answer?.id !== 'string' || !answer.id)
              throw new ServiceError('the answer has no incident id');
            made.external_id = answer.id;
          } else if (entry.type === 'pingdom') {
            const answer = (await call(
              windowsUrl(entry.url),
              'POST',
              {
                description: entry.description ?? `Patchwave: ${planName} (event ${eventId})`,
                from: pingdomFrom(step.startsAt),
                to: unixSeconds(step.endsAt),
                recurrencetype: 'none',
                uptimeids: targets.check_ids!.join(','),
              },
              authHeaders('pingdom', entry.api_key_ref),
            )) as { maintenance?: { id?: unknown } } | undefined;
            const id = answer?.maintenance?.id;
            if ((typeof id !== 'number' && typeof id !== 'string') || id === '')
              throw new ServiceError('the answer has no maintenance id');
            made.external_id = String(id);
          } else {
            made.external_id =
              (await postWebhook(entry.url, entry.secret_ref, {
                action: 'create',
                eventId,
                key,
                plan: planRef,
                startsAt: step.startsAt,
                endsAt: step.endsAt,
                machines: await theMachines(),
              })) ?? '';
          }
          await records.recordMaintenance(eventId, made);
          const detail = describeTargets(type, targets, made.page_id);
          const idText = made.external_id ? ` ${made.external_id}` : '';
          await note(
            'maintenance_created',
            `created/${made.external_id || `${step.startsAt}/${step.endsAt}`}`,
            `${what}${idText} created for ${step.startsAt} to ${step.endsAt}${detail ? ` (${detail})` : ''}`,
          );
        } else if (step.kind === 'move' && rec) {
          // Tag-derived targets are read again; an entry gone from the plan, or now empty, keeps what it had.
          const fresh = entry && entry.type === rec.type ? await targetsOf(entry) : undefined;
          const targets: MaintenanceTargets =
            fresh && !fresh.empty
              ? fresh
              : {
                  ignored: [],
                  empty: false,
                  ...(rec.matchers ? { matchers: rec.matchers } : {}),
                  ...(rec.component_ids ? { component_ids: rec.component_ids } : {}),
                  ...(rec.check_ids ? { check_ids: rec.check_ids } : {}),
                };
          let id = rec.external_id;
          if (rec.type === 'alertmanager') {
            const matchers = targets.matchers;
            if (!matchers || Object.keys(matchers).length === 0)
              throw new ServiceError('the plan entry is gone: nothing to move it with');
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
              ignore404(err);
              id = await putSilence(rec.url, rec.api_key_ref, matchers, step.startsAt, step.endsAt, comment);
            }
          } else if (rec.type === 'statuspage') {
            await call(
              `${incidentsUrl(rec)}/${encodeURIComponent(id)}`,
              'PATCH',
              {
                incident: {
                  scheduled_for: step.startsAt,
                  scheduled_until: step.endsAt,
                  ...(targets.component_ids ? { component_ids: targets.component_ids } : {}),
                },
              },
              authHeaders('statuspage', rec.api_key_ref),
            );
          } else if (rec.type === 'pingdom') {
            const headers = authHeaders('pingdom', rec.api_key_ref);
            const window = {
              // A window that has begun keeps its start (Pingdom takes only a future `from`).
              ...(Date.parse(step.startsAt) > now() ? { from: unixSeconds(step.startsAt) } : {}),
              to: unixSeconds(step.endsAt),
              ...(targets.check_ids?.length ? { uptimeids: targets.check_ids.join(',') } : {}),
            };
            try {
              await call(`${windowsUrl(rec.url)}/${encodeURIComponent(id)}`, 'PUT', window, headers);
            } catch (err) {
              // Deleted in Pingdom meanwhile: a new window covers the new one.
              ignore404(err);
              const answer = (await call(
                windowsUrl(rec.url),
                'POST',
                {
                  description: `Patchwave: ${planName} (event ${eventId})`,
                  from: pingdomFrom(step.startsAt),
                  to: unixSeconds(step.endsAt),
                  recurrencetype: 'none',
                  uptimeids: (targets.check_ids ?? []).join(','),
                },
                headers,
              )) as { maintenance?: { id?: unknown } } | undefined;
              id = String(answer?.maintenance?.id ?? '');
              if (!id) throw new ServiceError('the answer has no maintenance id');
            }
          } else {
            id =
              (await postWebhook(rec.url, rec.secret_ref, {
                action: 'move',
                eventId,
                key,
                plan: planRef,
                startsAt: step.startsAt,
                endsAt: step.endsAt,
                machines: await theMachines(),
                externalId: rec.external_id,
              })) ?? id;
          }
          await records.recordMaintenance(eventId, {
            ...rec,
            ...recordTargets(targets),
            external_id: id,
            starts_at: step.startsAt,
            ends_at: step.endsAt,
          });
          const idText = id ? ` ${id}` : '';
          await note(
            'maintenance_moved',
            `moved/${step.startsAt}/${step.endsAt}`,
            `${what}${idText} moved to ${step.startsAt} to ${step.endsAt}${id !== rec.external_id && rec.external_id ? ` (was ${rec.external_id})` : ''}`,
          );
        } else if (step.kind === 'lift' && rec) {
          let done: string;
          const byId = encodeURIComponent(rec.external_id);
          if (rec.type === 'alertmanager') {
            if (Date.parse(rec.ends_at) <= now()) done = 'ended with its window';
            else {
              await call(
                `${base(rec.url)}/api/v2/silence/${byId}`,
                'DELETE',
                undefined,
                authHeaders('alertmanager', rec.api_key_ref),
              ).catch(ignore404);
              done = 'expired';
            }
          } else if (rec.type === 'statuspage') {
            const url = `${incidentsUrl(rec)}/${byId}`;
            const headers = authHeaders('statuspage', rec.api_key_ref);
            const del = step.kind === 'lift' && step.how === 'delete';
            await (
              del
                ? call(url, 'DELETE', undefined, headers)
                : call(url, 'PATCH', { incident: { status: 'completed' } }, headers)
            ).catch(ignore404);
            done = del ? 'deleted' : 'completed';
          } else if (rec.type === 'pingdom') {
            // Pingdom deletes only future windows: one that has begun is ended now (`to`).
            const url = `${windowsUrl(rec.url)}/${byId}`;
            const headers = authHeaders('pingdom', rec.api_key_ref);
            if (now() < Date.parse(rec.starts_at)) {
              await call(url, 'DELETE', undefined, headers).catch(ignore404);
              done = 'deleted';
            } else if (Date.parse(rec.ends_at) <= now()) done = 'ended with its window';
            else {
              // `to` after `from` even when the event ends within its first second.
              const to = Math.max(Math.ceil(now() / 1000), unixSeconds(rec.starts_at) + 1);
              await call(url, 'PUT', { to }, headers).catch(ignore404);
              done = 'ended now';
            }
          } else {
            await postWebhook(rec.url, rec.secret_ref, {
              action: 'lift',
              eventId,
              key,
              plan: planRef,
              startsAt: rec.starts_at,
              endsAt: rec.ends_at,
              machines: await theMachines(),
              externalId: rec.external_id || undefined,
              reason: why,
            });
            done = 'lifted';
          }
          await records.recordMaintenance(eventId, { ...rec, state: 'lifted' });
          await note(
            'maintenance_lifted',
            `lifted/${rec.external_id || `${rec.starts_at}/${rec.ends_at}`}`,
            `${what}${rec.external_id ? ` ${rec.external_id}` : ''} ${done}: ${why}`,
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

/** The tags an entry reads, for the timeline. */
function tagNames(m: MaintenanceIntegration): string {
  if (m.type === 'statuspage') return m.component_ids_from_tag ?? 'component';
  if (m.type === 'pingdom') return m.check_ids_from_tag ?? 'check';
  if (m.type === 'alertmanager') return Object.values(m.matchers_from_tags ?? {}).join(' / ') || 'matcher';
  return '';
}
