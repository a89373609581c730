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
 * Control: PUT /_lab/maintenance-services/:name {status?: 503, api_key?} makes `alertmanager` or `statuspage`
 * answer every API call with that status (status 0 or absent: serving again); GET /_lab/maintenance-services
 * lists the calls each received (method, path), newest last.
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

type ServiceName = 'alertmanager' | 'statuspage';

export class MaintenanceServices {
  silences = new Map<string, Silence>();
  incidents = new Map<string, Incident>();
  deletedIncidents: Incident[] = [];
  down: Record<ServiceName, number> = { alertmanager: 0, statuspage: 0 };
  statuspageKey: string | undefined;
  calls: { service: ServiceName; method: string; path: string; at: string }[] = [];

  constructor(private readonly now: () => number) {}

  reset(): void {
    this.silences.clear();
    this.incidents.clear();
    this.deletedIncidents = [];
    this.down = { alertmanager: 0, statuspage: 0 };
    this.statuspageKey = undefined;
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
    if (!isSilences && !isStatuspage) return false;
    this.calls.push({ service, method, path: `/${parts.join('/')}`, at: this.iso() });
    const answer = (status: number, value: unknown) => sendJson(res, status, value);
    if (this.down[service]) return (answer(this.down[service], { error: 'lab: service down' }), true);
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
    if (
      parts.length === 2 &&
      method === 'PUT' &&
      (parts[1] === 'alertmanager' || parts[1] === 'statuspage')
    ) {
      const s = ServiceInput.parse(input ?? {});
      this.down[parts[1]] = s.status;
      if (parts[1] === 'statuspage' && s.api_key) this.statuspageKey = s.api_key;
      sendJson(res, 200, { name: parts[1], status: s.status });
      return true;
    }
    return false;
  }
}
