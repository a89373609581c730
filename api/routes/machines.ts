import { MachineInput, type Machine } from '../../domain/machine';
import { holdActive } from '../../domain/machine-hold';
import { patchFilterIssues } from '../../domain/baseline-override';
import { machineSettingIssues } from '../../domain/machine-settings';
import { MACHINE_INPUT_KEYS } from '../../store/machines';
import type { ApiContext } from '../context';
import { conflict } from '../errors';
import { MachineView } from '../schemas';
import { crudRoutes } from './crud';
import { MACHINE_RULES } from '../../domain/machine-rules';

/** Adds the read side: which plans list the machine and which pipelines include those plans. */
export async function presentMachines(api: ApiContext, customerId: string, items: Machine[]) {
  if (items.length === 0) return [];
  const planIds = await api.plans.planIdsByMachine(
    customerId,
    items.map((m) => m.id),
  );
  const allPlans = [...new Set([...planIds.values()].flat())];
  const pipelinesByPlan = await api.pipelines.pipelineIdsByPlan(customerId, allPlans);
  const now = Date.now();
  return items.map(({ hold, ...m }) => {
    const plans = planIds.get(m.id) ?? [];
    const pipelines = [...new Set(plans.flatMap((p) => pipelinesByPlan.get(p) ?? []))].sort();
    // An expired hold has ended by itself: it is not shown (it stays stored until the next hold or release).
    return { ...m, ...(holdActive(hold, now) ? { hold } : {}), plans, pipelines };
  });
}

/** Same SSM identity: the ping of the stored machine still holds. */
function sameSsmTarget(a: Machine | undefined, b: Machine): boolean {
  return (
    a !== undefined &&
    a.access.ssm_machine_id === b.access.ssm_machine_id &&
    a.access.region === b.access.region &&
    a.access.iam_role === b.access.iam_role
  );
}

export const machineRoutes = crudRoutes({
  resource: 'machine',
  tag: 'machines',
  basePath: '/api/v1/machines',
  singular: 'machine',
  idPrefix: 'mch',
  input: MachineInput.meta({ id: 'MachineInput' }),
  inputKeys: MACHINE_INPUT_KEYS,
  view: MachineView,
  repo: (api) => api.machines,
  present: presentMachines,
  // Filters SSM could not express as a BaselineOverride, and settings that would be sent nowhere, are refused
  // here, not discovered in a window.
  check: async (_api, _customerId, input) => [
    ...patchFilterIssues(input).map((i) => ({ in: 'body' as const, path: i.path, message: i.message })),
    ...machineSettingIssues(input).map((i) => ({ in: 'body' as const, ...i })),
  ],
  // A new machine, or one whose SSM identity changed, is looked up in SSM at once (ping_status in the answer).
  async afterWrite(api, _actor, kind, id, change) {
    if (kind === 'create' || (kind === 'update' && !sameSsmTarget(change.before, change.item)))
      await api.orchestrator.pingMachines([id]);
  },
  rules: MACHINE_RULES,
  rereadAfterWrite: true,
  duplicateMessage: 'a machine with this access.ssm_machine_id already exists for this customer',
  uniqueField: 'access.ssm_machine_id',
  async beforeDelete(api, customerId, machine) {
    const plans = await api.plans.idsUsingMachine(customerId, machine.id);
    if (plans.length)
      throw conflict(
        `machine ${machine.id} is listed in plans ${plans.join(', ')}; remove it from them first`,
        {
          plans,
        },
      );
  },
});
