/**
 * One valid call of every /api/v1 route, on fresh objects of the bootstrap customer ("tenant A"):
 * shared by the authorization matrix and the malformed-input tests.
 */
import { TEST_SECRET_REF, machineBody, planBody, seedEvent, type ApiHarness } from './api-harness';

/** A one-event calendar far in the future (nothing the tests run is frozen by it). */
export const FREEZE_ICS = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'BEGIN:VEVENT',
  'UID:f1',
  'SUMMARY:Freeze',
  'DTSTART:20991224T000000Z',
  'DTEND:20991226T000000Z',
  'END:VEVENT',
  'END:VCALENDAR',
].join('\r\n');

let counter = 1000 + Math.floor(Math.random() * 1000) * 1000;
const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

export interface Fixtures {
  machineFree: string;
  machineUsed: string;
  planFree: string;
  planUsed: string;
  pipeline: string;
  group: string;
  freezeCalendar: string;
  role: string;
  apiKey: string;
  binding: string;
  customer: string;
  eventDone: string;
  eventNew: string;
}

/** Fresh objects of the bootstrap customer ("tenant A") for one route. */
export async function fixtures(h: ApiHarness): Promise<Fixtures> {
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await h.request(method, path, { body });
    if (r.status >= 300) throw new Error(`fixture ${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const machineFree = (await ok('POST', '/api/v1/machines', machineBody(counter++))).id;
  const machineUsed = (await ok('POST', '/api/v1/machines', machineBody(counter++))).id;
  const planFree = (await ok('POST', '/api/v1/plans', planBody([machineUsed]))).id;
  const planUsed = (await ok('POST', '/api/v1/plans', planBody([machineUsed]))).id;
  const pipeline = (
    await ok('POST', '/api/v1/pipelines', { name: 'pp', cron: '0 1 * * 1', steps: [{ plans: [planUsed] }] })
  ).id;
  const group = (
    await ok('POST', '/api/v1/notification-groups', {
      name: 'g',
      channels: [{ type: 'email', to: ['ops@example.com'] }],
    })
  ).id;
  const freezeCalendar = (
    await ok('POST', '/api/v1/freeze-calendars', {
      name: 'freeze',
      ics: FREEZE_ICS,
      attach: { to: 'plans', plan_ids: [planFree] },
    })
  ).id;
  const role = (
    await ok('POST', '/api/v1/roles', {
      name: `role-${counter++}`,
      rules: [{ resources: ['event'], actions: ['get'] }],
    })
  ).id;
  const boundRole = (
    await ok('POST', '/api/v1/roles', {
      name: `role-${counter++}`,
      rules: [{ resources: ['event'], actions: ['list'] }],
    })
  ).id;
  const apiKey = (await ok('POST', '/api/v1/api-keys', { name: 'k' })).id;
  const binding = (await ok('POST', '/api/v1/role-bindings', { api_key_id: apiKey, role_id: boundRole })).id;
  const customer = (await ok('POST', '/api/v1/customers', { name: `c-${counter++}` })).id;
  const eventDone = await seedEvent(h.db, {
    customerId: 'default',
    planId: planFree,
    start: future(-(counter++ % 300) - 1),
    status: 'DONE_PARTIAL',
    machines: [{ machine_id: machineUsed, status: 'FAILED' }],
  });
  const eventNew = await seedEvent(h.db, {
    customerId: 'default',
    planId: planFree,
    start: future((counter++ % 300) + 1),
  });
  return {
    machineFree,
    machineUsed,
    planFree,
    planUsed,
    pipeline,
    group,
    freezeCalendar,
    role,
    apiKey,
    binding,
    customer,
    eventDone,
    eventNew,
  };
}

export interface Case {
  path: string;
  body?: unknown;
  /** Expected answer for the other customer's key when not the default (404 with an id, own scope without). */
  otherTenant?: number;
  /** Expected answer for an allowed key when not the route's success status. */
  allowed?: number;
  /** Why the allowed answer is proven elsewhere (set when this route-level harness cannot give it). */
  allowedElsewhere?: string;
}

const machineInput = () => machineBody(counter++);
const pipelineInput = (f: Fixtures) => ({ name: 'p2', cron: '0 2 * * 1', steps: [{ plans: [f.planFree] }] });
const roleInput = () => ({ name: `r-${counter++}`, rules: [{ resources: ['plan'], actions: ['get'] }] });

export const CASES: Record<string, (f: Fixtures) => Case> = {
  listMachines: () => ({ path: '/api/v1/machines' }),
  createMachine: () => ({ path: '/api/v1/machines', body: machineInput() }),
  getMachine: (f) => ({ path: `/api/v1/machines/${f.machineFree}` }),
  replaceMachine: (f) => ({ path: `/api/v1/machines/${f.machineFree}`, body: machineInput() }),
  patchMachine: (f) => ({ path: `/api/v1/machines/${f.machineFree}`, body: { description: 'x' } }),
  deleteMachine: (f) => ({ path: `/api/v1/machines/${f.machineFree}` }),
  holdMachine: (f) => ({
    path: `/api/v1/machines/${f.machineFree}/hold`,
    body: { reason: 'vendor support case', until: future(1) },
  }),
  releaseMachine: (f) => ({ path: `/api/v1/machines/${f.machineFree}/hold` }),
  listPlans: () => ({ path: '/api/v1/plans' }),
  createPlan: (f) => ({ path: '/api/v1/plans', body: planBody([f.machineFree]), otherTenant: 409 }),
  getPlan: (f) => ({ path: `/api/v1/plans/${f.planFree}` }),
  replacePlan: (f) => ({ path: `/api/v1/plans/${f.planFree}`, body: planBody([f.machineFree]) }),
  patchPlan: (f) => ({ path: `/api/v1/plans/${f.planFree}`, body: { window_hours: 3 } }),
  deletePlan: (f) => ({ path: `/api/v1/plans/${f.planFree}` }),
  executePlan: (f) => ({ path: `/api/v1/plans/${f.planFree}/execute` }),
  listPipelines: () => ({ path: '/api/v1/pipelines' }),
  createPipeline: (f) => ({ path: '/api/v1/pipelines', body: pipelineInput(f), otherTenant: 409 }),
  getPipeline: (f) => ({ path: `/api/v1/pipelines/${f.pipeline}` }),
  replacePipeline: (f) => ({ path: `/api/v1/pipelines/${f.pipeline}`, body: pipelineInput(f) }),
  patchPipeline: (f) => ({ path: `/api/v1/pipelines/${f.pipeline}`, body: { name: 'renamed' } }),
  deletePipeline: (f) => ({ path: `/api/v1/pipelines/${f.pipeline}` }),
  executePipeline: (f) => ({ path: `/api/v1/pipelines/${f.pipeline}/execute` }),
  listEvents: () => ({ path: '/api/v1/events' }),
  createEvent: (f) => ({
    path: '/api/v1/events',
    body: { plan_id: f.planFree, start: future(30 + (counter++ % 100)), end: future(31 + (counter % 100)) },
    otherTenant: 409,
  }),
  getEvent: (f) => ({ path: `/api/v1/events/${f.eventDone}` }),
  deleteEvent: (f) => ({ path: `/api/v1/events/${f.eventNew}` }),
  approveEvent: (f) => ({ path: `/api/v1/events/${f.eventNew}/approve` }),
  resumeEvent: (f) => ({ path: `/api/v1/events/${f.eventNew}/resume` }),
  overrideEventGates: (f) => ({ path: `/api/v1/events/${f.eventNew}/override`, body: { reason: 'r' } }),
  abortEvent: (f) => ({ path: `/api/v1/events/${f.eventNew}/abort`, body: {} }),
  excludeMachines: (f) => ({
    path: `/api/v1/events/${f.eventNew}/exclude`,
    body: { machine_ids: [f.machineUsed] },
  }),
  setManualStatus: (f) => ({
    path: `/api/v1/events/${f.eventDone}/machines/${f.machineUsed}/status`,
    body: { manual_status: 'SUCCESS_MANUAL', action_taken: 'fixed' },
  }),
  partialRun: (f) => ({ path: `/api/v1/events/${f.eventDone}/partial`, body: {} }),
  getEventReport: (f) => ({ path: `/api/v1/events/${f.eventDone}/report` }),
  previewEvent: (f) => ({
    path: `/api/v1/events/${f.eventNew}/preview`,
    allowedElsewhere: 'a preview runs on the worker, which this harness fakes: e2e-event-preview reads it',
  }),
  // A machine never scanned has no compliance reading: 404 (e2e-scan-compliance reads one after a scan).
  getMachineCompliance: (f) => ({ path: `/api/v1/machines/${f.machineFree}/compliance`, allowed: 404 }),
  getPlanCompliance: (f) => ({ path: `/api/v1/plans/${f.planFree}/compliance` }),
  exportPlanCompliance: (f) => ({ path: `/api/v1/plans/${f.planFree}/compliance.csv` }),
  getMachineLog: (f) => ({ path: `/api/v1/events/${f.eventDone}/machines/${f.machineUsed}/log` }),
  listNotificationGroups: () => ({ path: '/api/v1/notification-groups' }),
  createNotificationGroup: () => ({
    path: '/api/v1/notification-groups',
    body: {
      name: 'n',
      channels: [{ type: 'webhook', url: 'https://hooks.example.com/x', secret_ref: TEST_SECRET_REF }],
    },
  }),
  getNotificationGroup: (f) => ({ path: `/api/v1/notification-groups/${f.group}` }),
  replaceNotificationGroup: (f) => ({
    path: `/api/v1/notification-groups/${f.group}`,
    body: { name: 'n2', channels: [{ type: 'email', to: ['a@example.com'] }] },
  }),
  patchNotificationGroup: (f) => ({
    path: `/api/v1/notification-groups/${f.group}`,
    body: { min_severity: 'ERROR' },
  }),
  deleteNotificationGroup: (f) => ({ path: `/api/v1/notification-groups/${f.group}` }),
  listFreezeCalendars: () => ({ path: '/api/v1/freeze-calendars' }),
  createFreezeCalendar: () => ({
    path: '/api/v1/freeze-calendars',
    body: { name: 'f', ics: FREEZE_ICS, mode: 'open_only_during_events' },
  }),
  getFreezeCalendar: (f) => ({ path: `/api/v1/freeze-calendars/${f.freezeCalendar}` }),
  replaceFreezeCalendar: (f) => ({
    path: `/api/v1/freeze-calendars/${f.freezeCalendar}`,
    body: { name: 'f2', ics: FREEZE_ICS },
  }),
  patchFreezeCalendar: (f) => ({
    path: `/api/v1/freeze-calendars/${f.freezeCalendar}`,
    body: { enabled: false },
  }),
  deleteFreezeCalendar: (f) => ({ path: `/api/v1/freeze-calendars/${f.freezeCalendar}` }),
  listApiKeys: () => ({ path: '/api/v1/api-keys' }),
  createApiKey: () => ({ path: '/api/v1/api-keys', body: { name: 'new key' } }),
  getApiKey: (f) => ({ path: `/api/v1/api-keys/${f.apiKey}` }),
  deleteApiKey: (f) => ({ path: `/api/v1/api-keys/${f.apiKey}` }),
  listRoles: () => ({ path: '/api/v1/roles' }),
  createRole: () => ({ path: '/api/v1/roles', body: roleInput() }),
  getRole: (f) => ({ path: `/api/v1/roles/${f.role}` }),
  replaceRole: (f) => ({ path: `/api/v1/roles/${f.role}`, body: roleInput() }),
  patchRole: (f) => ({ path: `/api/v1/roles/${f.role}`, body: { description: 'd' } }),
  deleteRole: (f) => ({ path: `/api/v1/roles/${f.role}` }),
  listRoleBindings: () => ({ path: '/api/v1/role-bindings' }),
  createRoleBinding: (f) => ({
    path: '/api/v1/role-bindings',
    body: { api_key_id: f.apiKey, role_id: f.role },
    otherTenant: 409,
  }),
  getRoleBinding: (f) => ({ path: `/api/v1/role-bindings/${f.binding}` }),
  deleteRoleBinding: (f) => ({ path: `/api/v1/role-bindings/${f.binding}` }),
  listCustomers: () => ({ path: '/api/v1/customers' }),
  // Only super-admins (keys of the bootstrap customer) create customers: tenant B is refused.
  createCustomer: () => ({
    path: '/api/v1/customers',
    body: { name: `cust-${counter++}` },
    otherTenant: 403,
  }),
  getCustomer: (f) => ({ path: `/api/v1/customers/${f.customer}` }),
  replaceCustomer: (f) => ({ path: `/api/v1/customers/${f.customer}`, body: { name: 'renamed' } }),
  patchCustomer: (f) => ({ path: `/api/v1/customers/${f.customer}`, body: { description: 'd' } }),
  deleteCustomer: (f) => ({ path: `/api/v1/customers/${f.customer}` }),
  listAudit: () => ({ path: '/api/v1/audit' }),
  getMe: () => ({ path: '/api/v1/me' }),
};
