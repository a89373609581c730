import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseJsonBody, sendJson } from './http';

/**
 * Stand-ins for the services a plan's `maintenance` talks to (issue 16 item 6, seed 004), so tests hit real HTTP:
 *
 * Alertmanager API v2 silences (shapes from Alertmanager's api/v2/openapi.yaml), beside the fake alerts of
 * lab/monitoring.ts, base URL `<lab>/_lab/alertmanager`:
 *   POST /_lab/alertmanager/api/v2/silences {id?, matchers, startsAt, endsAt, createdBy, comment} → {silenceID}
 *        (with `id`: updates that silence; an unknown or expired one is 404, as Alertmanager answers)
 *   GET  /_lab/alertmanager/api/v2/silences → gettableSilences (status.state pending | active | expired)
 *   GET  /_lab/alertmanager/api/v2/silence/:id; DELETE /_lab/alertmanager/api/v2/silence/:id (expires it)
 *
 * Statuspage API v1 incidents, base URL `<lab>/_lab/statuspage` (`Authorization: OAuth <key>` required; the key
 * the lab accepts is set through the control API, any non-empty key when unset):
 *   POST   /_lab/statuspage/v1/pages/:page/incidents {incident: {...}} → 201 incident
 *   PATCH  /_lab/statuspage/v1/pages/:page/incidents/:id {incident: {...}} → incident
 *   DELETE /_lab/statuspage/v1/pages/:page/incidents/:id → the deleted incident
 *   GET    /_lab/statuspage/v1/pages/:page/incidents[/:id]
 *
 * Pingdom API 3.1 maintenance windows, base URL `<lab>/_lab/pingdom` (`Authorization: Bearer <token>` required;
 * the token the lab accepts is set through the control API, any non-empty one when unset). Parameters as JSON,
 * times in Unix seconds; `from` must be in the future, or `1` for now (as Pingdom documents):
 *   POST   /_lab/pingdom/api/3.1/maintenance {description, from, to, recurrencetype?, uptimeids?: "1,2"} →
 *          {maintenance: {id}}
 *   PUT    /_lab/pingdom/api/3.1/maintenance/:id {description?, from?, to?, uptimeids?} → {message}
 *   DELETE /_lab/pingdom/api/3.1/maintenance/:id → {message}; only a window that has not begun (400 otherwise)
 *   GET    /_lab/pingdom/api/3.1/maintenance[/:id] → {maintenance: window(s)}; errors {error: {statuscode, …}}
 *
 * A webhook receiver for the generic `webhook` type: POST /_lab/maintenance-receiver/<any path> keeps the call
 * (path, raw body, the X-Patchwave-* headers) and answers `{id}` (a new id for `action: create`, the
 * `external_id` sent otherwise).
 *
 * Control: PUT /_lab/maintenance-services/:name {status?: 503, api_key?} makes `alertmanager`, `statuspage`,
 * `pingdom` or `webhook` answer every API call with that status (status 0 or absent: serving again);
 * GET /_lab/maintenance-services lists the calls each received (method, path), newest last;
 * GET /_lab/maintenance-services/pingdom → {windows, deleted}; GET /_lab/maintenance-services/webhook →
 * {received: [{path, at, headers, body}]}.
 */

const Matcher = z.object({
  name: z.string().min(1),
  value: z.string(),
  isRegex: z.boolean(),
  isEqual: z.boolean().default(true),
});
const PostableSilence = z.object({
  id: z.string().optional(),
  matchers: z.array(Matcher).min(1),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }),
  createdBy: z.string().min(1),
  comment: z.string().min(1),
});

const IncidentFields = z.object({
  name: z.string().min(1).max(255).optional(),
  status: z
    .enum([
      'investigating',
      'identified',
      'monitoring',
      'resolved',
      'scheduled',
      'in_progress',
      'verifying',
      'completed',
    ])
    .optional(),
  impact_override: z.enum(['none', 'maintenance', 'minor', 'major', 'critical']).optional(),
  scheduled_for: z.iso.datetime({ offset: true }).optional(),
  scheduled_until: z.iso.datetime({ offset: true }).optional(),
  scheduled_auto_in_progress: z.boolean().optional(),
  scheduled_auto_completed: z.boolean().optional(),
  component_ids: z.array(z.string()).optional(),
  body: z.string().optional(),
});
const IncidentBody = z.object({ incident: IncidentFields });

export const ServiceInput = z.strictObject({
  status: z.number().int().min(0).max(599).default(0),
  api_key: z.string().min(1).optional(),
});

interface Silence {
  id: string;
  matchers: z.infer<typeof Matcher>[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  updatedAt: string;
}

interface Incident extends z.infer<typeof IncidentFields> {
  id: string;
  page_id: string;
  created_at: string;
  updated_at: string;
  resolved_at: string | null;
}

const PingdomSeconds = z.coerce.number().int().min(1);
/** `uptimeids`: Pingdom takes a comma-separated list of check ids (an array is taken as well). */
const PingdomIds = z
  .union([z.string().regex(/^\s*\d+(\s*,\s*\d+)*\s*$/), z.array(z.coerce.number().int().min(1))])
  .transform((v) => (typeof v === 'string' ? v.split(',').map((x) => Number(x.trim())) : v));
const PingdomWindowFields = z.object({
  description: z.string().min(1).optional(),
  from: PingdomSeconds.optional(),
  to: PingdomSeconds.optional(),
  recurrencetype: z.enum(['none', 'day', 'week', 'month']).optional(),
  uptimeids: PingdomIds.optional(),
  tmsids: PingdomIds.optional(),
});

export interface PingdomWindow {
  id: number;
  description: string;
  from: number;
  to: number;
  recurrencetype: string;
  repeatevery: number;
  effectiveto: number;
  checks: { uptime: number[]; tms: number[] };
}

export interface ReceivedWebhook {
  path: string;
  at: string;
  headers: Record<string, string>;
  /** The raw body, as signed. */
  body: string;
}

type ServiceName = 'alertmanager' | 'statuspage' | 'pingdom' | 'webhook';
const SERVICES: readonly ServiceName[] = ['alertmanager', 'statuspage', 'pingdom', 'webhook'];
const SERVING = (): Record<ServiceName, number> => ({
  alertmanager: 0,
  statuspage: 0,
  pingdom: 0,
  webhook: 0,
});

export class MaintenanceServices {
  silences = new Map<string, Silence>();
  incidents = new Map<string, Incident>();
  deletedIncidents: Incident[] = [];
  down: Record<ServiceName, number> = SERVING();
  statuspageKey: string | undefined;
  pingdomWindows = new Map<number, PingdomWindow>();
  deletedPingdomWindows: PingdomWindow[] = [];
  pingdomKey: string | undefined;
  private nextPingdomId = 5_000_001;
  received: ReceivedWebhook[] = [];
  calls: { service: ServiceName; method: string; path: string; at: string }[] = [];

  constructor(private readonly now: () => number) {}

  reset(): void {
    this.silences.clear();
    this.incidents.clear();
    this.deletedIncidents = [];
    this.down = SERVING();
    this.statuspageKey = undefined;
    this.pingdomWindows.clear();
    this.deletedPingdomWindows = [];
    this.pingdomKey = undefined;
    this.received = [];
    this.calls = [];
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  silenceState(s: Silence): 'pending' | 'active' | 'expired' {
    const now = this.now();
    if (Date.parse(s.endsAt) <= now) return 'expired';
    return Date.parse(s.startsAt) > now ? 'pending' : 'active';
  }

  gettable(s: Silence) {
    return { ...s, status: { state: this.silenceState(s) } };
  }

  /** POST /api/v2/silences: a new silence, or an update of a silence that has not expired. */
  postSilence(input: unknown): { status: number; body: unknown } {
    const r = PostableSilence.safeParse(input);
    if (!r.success) return { status: 400, body: r.error.issues.map((i) => i.message).join('; ') };
    const p = r.data;
    if (Date.parse(p.endsAt) <= Date.parse(p.startsAt))
      return { status: 400, body: 'Failed to create silence: start time must be before end time' };
    if (Date.parse(p.endsAt) <= this.now())
      return { status: 400, body: "Failed to create silence: end time can't be in the past" };
    if (p.id !== undefined) {
      const old = this.silences.get(p.id);
      if (!old || this.silenceState(old) === 'expired') return { status: 404, body: 'silence not found' };
    }
    const id = p.id ?? randomUUID();
    const { id: _drop, ...rest } = p;
    this.silences.set(id, { id, ...rest, updatedAt: this.iso() });
    return { status: 200, body: { silenceID: id } };
  }

  /** DELETE /api/v2/silence/:id: expires it now (Alertmanager keeps expired silences for a while). */
  expireSilence(id: string): { status: number; body: unknown } {
    const s = this.silences.get(id);
    if (!s) return { status: 404, body: 'silence not found' };
    if (this.silenceState(s) !== 'expired') {
      const now = this.iso();
      s.endsAt = now;
      if (Date.parse(s.startsAt) > this.now()) s.startsAt = now;
      s.updatedAt = now;
    }
    return { status: 200, body: null };
  }

  createIncident(pageId: string, input: unknown): { status: number; body: unknown } {
    const r = IncidentBody.safeParse(input);
    if (!r.success || !r.data.incident.name)
      return { status: 422, body: { error: r.success ? "name can't be blank" : r.error.issues[0].message } };
    const at = this.iso();
    const inc: Incident = {
      ...r.data.incident,
      status: r.data.incident.status ?? 'investigating',
      id: randomUUID().replace(/-/g, '').slice(0, 12),
      page_id: pageId,
      created_at: at,
      updated_at: at,
      resolved_at: null,
    };
    this.incidents.set(inc.id, inc);
    return { status: 201, body: inc };
  }

  updateIncident(pageId: string, id: string, input: unknown): { status: number; body: unknown } {
    const inc = this.incidents.get(id);
    if (!inc || inc.page_id !== pageId) return { status: 404, body: { error: 'Incident not found' } };
    const r = IncidentBody.safeParse(input);
    if (!r.success) return { status: 422, body: { error: r.error.issues[0].message } };
    Object.assign(inc, r.data.incident, { updated_at: this.iso() });
    if (inc.status === 'completed' || inc.status === 'resolved') inc.resolved_at ??= this.iso();
    return { status: 200, body: inc };
  }

  deleteIncident(pageId: string, id: string): { status: number; body: unknown } {
    const inc = this.incidents.get(id);
    if (!inc || inc.page_id !== pageId) return { status: 404, body: { error: 'Incident not found' } };
    this.incidents.delete(id);
    this.deletedIncidents.push(inc);
    return { status: 200, body: inc };
  }

  private pingdomError(status: number, message: string): { status: number; body: unknown } {
    const desc: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' };
    return {
      status,
      body: { error: { statuscode: status, statusdesc: desc[status] ?? 'Error', errormessage: message } },
    };
  }

  /** `from`: 1 is "now"; any other must not be in the past (a minute of clock skew allowed). */
  private pingdomFrom(from: number): number | undefined {
    const nowS = Math.floor(this.now() / 1000);
    if (from === 1) return nowS;
    return from >= nowS - 60 ? from : undefined;
  }

  /** POST /api/3.1/maintenance: a one-off window over uptime checks. */
  createPingdomWindow(input: unknown): { status: number; body: unknown } {
    const r = PingdomWindowFields.safeParse(input ?? {});
    if (!r.success)
      return this.pingdomError(
        400,
        r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const p = r.data;
    if (!p.description || p.from === undefined || p.to === undefined)
      return this.pingdomError(400, 'description, from and to are required');
    const from = this.pingdomFrom(p.from);
    if (from === undefined) return this.pingdomError(400, 'from: only future times are allowed (1 for now)');
    if (p.to <= from) return this.pingdomError(400, 'to must be after from');
    const w: PingdomWindow = {
      id: this.nextPingdomId++,
      description: p.description,
      from,
      to: p.to,
      recurrencetype: p.recurrencetype ?? 'none',
      repeatevery: 0,
      effectiveto: p.to,
      checks: { uptime: p.uptimeids ?? [], tms: p.tmsids ?? [] },
    };
    this.pingdomWindows.set(w.id, w);
    return { status: 200, body: { maintenance: { id: w.id } } };
  }

  /** PUT /api/3.1/maintenance/:id: moves or ends it (a `to` of now ends a window that has begun). */
  updatePingdomWindow(id: number, input: unknown): { status: number; body: unknown } {
    const w = this.pingdomWindows.get(id);
    if (!w) return this.pingdomError(404, 'Maintenance window not found');
    const r = PingdomWindowFields.safeParse(input ?? {});
    if (!r.success)
      return this.pingdomError(
        400,
        r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const p = r.data;
    const from = p.from === undefined ? w.from : this.pingdomFrom(p.from);
    if (from === undefined) return this.pingdomError(400, 'from: only future times are allowed (1 for now)');
    const to = p.to ?? w.to;
    if (to <= from) return this.pingdomError(400, 'to must be after from');
    Object.assign(w, {
      from,
      to,
      effectiveto: to,
      ...(p.description ? { description: p.description } : {}),
      ...(p.recurrencetype ? { recurrencetype: p.recurrencetype } : {}),
    });
    if (p.uptimeids) w.checks.uptime = p.uptimeids;
    if (p.tmsids) w.checks.tms = p.tmsids;
    return { status: 200, body: { message: 'Maintenance window successfully modified!' } };
  }

  /** DELETE /api/3.1/maintenance/:id: only future windows can be deleted (Pingdom API 3.1). */
  deletePingdomWindow(id: number): { status: number; body: unknown } {
    const w = this.pingdomWindows.get(id);
    if (!w) return this.pingdomError(404, 'Maintenance window not found');
    if (w.from <= Math.floor(this.now() / 1000))
      return this.pingdomError(400, 'Only future maintenance windows can be deleted');
    this.pingdomWindows.delete(id);
    this.deletedPingdomWindows.push(w);
    return { status: 200, body: { message: 'Maintenance window successfully deleted!' } };
  }

  /** A call to the webhook receiver: kept as received; answers an id. */
  receive(req: IncomingMessage, body: Buffer, parts: string[]): { status: number; body: unknown } {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (k.startsWith('x-patchwave-') || k === 'content-type') headers[k] = String(v);
    const text = body.toString('utf8');
    this.received.push({ path: `/${parts.slice(1).join('/')}`, at: this.iso(), headers, body: text });
    let sent: { action?: unknown; external_id?: unknown } = {};
    try {
      sent = (JSON.parse(text) as typeof sent) ?? {};
    } catch {
      return { status: 400, body: { error: 'body is not JSON' } };
    }
    const id =
      sent.action === 'create'
        ? `rcv-${this.received.length}`
        : typeof sent.external_id === 'string'
          ? sent.external_id
          : undefined;
    return { status: 200, body: id ? { id } : { ok: true } };
  }

  /** The API of a service (parts after `_lab`); false when the path is not one of its routes. */
  serve(req: IncomingMessage, res: ServerResponse, body: Buffer, parts: string[]): boolean {
    const method = req.method ?? 'GET';
    const service = parts[0] as ServiceName;
    const isSilences =
      service === 'alertmanager' &&
      parts[1] === 'api' &&
      parts[2] === 'v2' &&
      /^silences?$/.test(parts[3] ?? '');
    const isStatuspage =
      service === 'statuspage' && parts[1] === 'v1' && parts[2] === 'pages' && parts[4] === 'incidents';
    const isPingdom =
      service === 'pingdom' &&
      parts[1] === 'api' &&
      parts[2] === '3.1' &&
      parts[3] === 'maintenance' &&
      parts.length <= 5;
    const isReceiver = (parts[0] as string) === 'maintenance-receiver' && method === 'POST';
    if (!isSilences && !isStatuspage && !isPingdom && !isReceiver) return false;
    const name: ServiceName = isReceiver ? 'webhook' : service;
    this.calls.push({ service: name, method, path: `/${parts.join('/')}`, at: this.iso() });
    const answer = (status: number, value: unknown) => sendJson(res, status, value);
    if (this.down[name]) return (answer(this.down[name], { error: 'lab: service down' }), true);
    if (isReceiver) {
      const r = this.receive(req, body, parts);
      return (answer(r.status, r.body), true);
    }
    let input: unknown;
    try {
      input = parseJsonBody(body);
    } catch {
      return (answer(400, 'body is not JSON'), true);
    }
    const done = (r: { status: number; body: unknown }) => (answer(r.status, r.body), true);
    if (isSilences) {
      const [, , , coll, id] = parts;
      if (coll === 'silences' && parts.length === 4) {
        if (method === 'POST') return done(this.postSilence(input));
        if (method === 'GET')
          return done({ status: 200, body: [...this.silences.values()].map((s) => this.gettable(s)) });
      }
      if (coll === 'silence' && parts.length === 5) {
        const sid = decodeURIComponent(id);
        if (method === 'DELETE') return done(this.expireSilence(sid));
        if (method === 'GET') {
          const s = this.silences.get(sid);
          return done(
            s ? { status: 200, body: this.gettable(s) } : { status: 404, body: 'silence not found' },
          );
        }
      }
      return done({ status: 405, body: 'method not allowed' });
    }
    if (isPingdom) {
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!token || (this.pingdomKey !== undefined && token !== this.pingdomKey))
        return done(this.pingdomError(401, 'Invalid token'));
      if (parts.length === 4) {
        if (method === 'POST') return done(this.createPingdomWindow(input));
        if (method === 'GET')
          return done({ status: 200, body: { maintenance: [...this.pingdomWindows.values()] } });
      } else {
        const id = Number(decodeURIComponent(parts[4]));
        if (method === 'PUT') return done(this.updatePingdomWindow(id, input));
        if (method === 'DELETE') return done(this.deletePingdomWindow(id));
        if (method === 'GET') {
          const w = this.pingdomWindows.get(id);
          return done(
            w
              ? { status: 200, body: { maintenance: w } }
              : this.pingdomError(404, 'Maintenance window not found'),
          );
        }
      }
      return done(this.pingdomError(400, 'method not allowed'));
    }
    const auth = req.headers.authorization ?? '';
    const key = /^OAuth\s+(\S+)$/i.exec(auth)?.[1];
    if (!key || (this.statuspageKey !== undefined && key !== this.statuspageKey))
      return done({ status: 401, body: { error: 'Could not authenticate' } });
    const pageId = decodeURIComponent(parts[3]);
    if (parts.length === 5) {
      if (method === 'POST') return done(this.createIncident(pageId, input));
      if (method === 'GET')
        return done({ status: 200, body: [...this.incidents.values()].filter((i) => i.page_id === pageId) });
    }
    if (parts.length === 6) {
      const id = decodeURIComponent(parts[5]);
      if (method === 'PATCH' || method === 'PUT') return done(this.updateIncident(pageId, id, input));
      if (method === 'DELETE') return done(this.deleteIncident(pageId, id));
      if (method === 'GET') {
        const inc = this.incidents.get(id);
        return done(
          inc && inc.page_id === pageId
            ? { status: 200, body: inc }
            : { status: 404, body: { error: 'Incident not found' } },
        );
      }
    }
    return done({ status: 405, body: { error: 'method not allowed' } });
  }

  /** PUT /_lab/maintenance-services/:name, GET /_lab/maintenance-services; false when not one of these. */
  control(method: string, res: ServerResponse, input: unknown, parts: string[]): boolean {
    if (parts[0] !== 'maintenance-services') return false;
    if (parts.length === 1 && method === 'GET') {
      sendJson(res, 200, {
        down: this.down,
        calls: this.calls,
        deleted_incidents: this.deletedIncidents,
      });
      return true;
    }
    if (parts.length === 2 && method === 'GET' && parts[1] === 'pingdom') {
      sendJson(res, 200, { windows: [...this.pingdomWindows.values()], deleted: this.deletedPingdomWindows });
      return true;
    }
    if (parts.length === 2 && method === 'GET' && parts[1] === 'webhook') {
      sendJson(res, 200, { received: this.received });
      return true;
    }
    const name = parts[1] as ServiceName;
    if (parts.length === 2 && method === 'PUT' && SERVICES.includes(name)) {
      const s = ServiceInput.parse(input ?? {});
      this.down[name] = s.status;
      if (name === 'statuspage' && s.api_key) this.statuspageKey = s.api_key;
      if (name === 'pingdom' && s.api_key) this.pingdomKey = s.api_key;
      sendJson(res, 200, { name, status: s.status });
      return true;
    }
    return false;
  }
}
