import { MachineCompliance, PlanCompliance, complianceCsv, summarisePlan } from '../../domain/compliance';
import type { ApiContext } from '../context';
import { notFound } from '../errors';
import { RawAnswer, route } from '../route-table';
import { IdParams } from '../schemas';

/**
 * Patch compliance as the machines' last scans left it (docs/behaviour.md#scan-only-plans-and-compliance):
 * written by scan-only runs from SSM's DescribeInstancePatchStates / DescribeInstancePatches, read here from the
 * store, so the views answer without calling AWS and show exactly what the last scan saw and when.
 */

const MachineComplianceView = MachineCompliance.meta({ id: 'MachineCompliance' });
const PlanComplianceView = PlanCompliance.meta({ id: 'PlanCompliance' });

/** The plan's machines: its static list, or for a dynamic plan the machines its events have scanned. */
async function planMachines(api: ApiContext, customerId: string, planId: string) {
  const plan = await api.plans.get(customerId, planId);
  if (!plan) throw notFound('plan', planId);
  if (!plan.machines) return api.compliance.machinesScannedByPlan(customerId, planId);
  const ids = plan.machines.map((m) => m.machine_id);
  const found = new Map((await api.machines.getMany(customerId, ids)).map((m) => [m.id, m]));
  return ids
    .filter((id) => found.has(id))
    .map((id) => ({
      machine_id: id,
      name: found.get(id)!.name,
      ssm_machine_id: found.get(id)!.access.ssm_machine_id,
    }));
}

export const complianceRoutes = [
  route({
    method: 'get',
    path: '/api/v1/machines/:id/compliance',
    operationId: 'getMachineCompliance',
    summary: "A machine's patch compliance as its last scan found it",
    description:
      'Counts from SSM DescribeInstancePatchStates, missing and failed patches from DescribeInstancePatches (release dates from DescribeAvailablePatches where AWS has them). 404 until a scan-only event has scanned the machine.',
    tag: 'compliance',
    permission: { resource: 'machine', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The last reading', schema: MachineComplianceView },
    async handle({ api, params, actor }) {
      if (!(await api.machines.get(actor.customer_id, params.id))) throw notFound('machine', params.id);
      const c = await api.compliance.get(actor.customer_id, params.id);
      if (!c) throw notFound('compliance reading (no scan yet) of machine', params.id);
      return c;
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/plans/:id/compliance',
    operationId: 'getPlanCompliance',
    summary: "Patch compliance of a plan's machines: per machine and in total",
    description:
      "Each machine's last scan (NOT_SCANNED when it has none): missing counts by severity and classification, last scan time, oldest missing patch. A dynamic plan lists the machines its events have scanned.",
    tag: 'compliance',
    permission: { resource: 'plan', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The plan view', schema: PlanComplianceView },
    async handle({ api, params, actor }) {
      const machines = await planMachines(api, actor.customer_id, params.id);
      const records = await api.compliance.summaries(
        actor.customer_id,
        machines.map((m) => m.machine_id),
      );
      return summarisePlan(params.id, machines, records);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/plans/:id/compliance.csv',
    operationId: 'exportPlanCompliance',
    summary: "CSV export of a plan's compliance: one row per missing or failed patch per machine",
    description:
      'Columns: machine_id, machine_name, ssm_machine_id, machine_status, scanned_at, baseline_id, patch_state, kb_id, title, classification, severity, release_date, cve_ids (space-separated). A machine with nothing missing (or not scanned) has one row with empty patch columns. RFC 4180, CRLF line ends; cells a spreadsheet would take for a formula start with a quote.',
    tag: 'compliance',
    permission: { resource: 'plan', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'CSV', contentType: 'text/csv' },
    async handle({ api, params, actor }) {
      const machines = await planMachines(api, actor.customer_id, params.id);
      const records = await api.compliance.forMachines(
        actor.customer_id,
        machines.map((m) => m.machine_id),
      );
      return new RawAnswer(
        'text/csv; charset=utf-8',
        complianceCsv(machines, records),
        `compliance-${params.id}.csv`,
      );
    },
  }),
];
