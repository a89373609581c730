import { MachineInput, type Machine } from '../../domain/machine';
import { MACHINE_INPUT_KEYS } from '../../store/machines';
import type { ApiContext } from '../context';
import { conflict } from '../errors';
import { MachineView } from '../schemas';
import { crudRoutes } from './crud';

/** Adds the read side: which plans list the machine and which pipelines include those plans. */
export async function presentMachines(api: ApiContext, customerId: string, items: Machine[]) {
  if (items.length === 0) return [];
  const planIds = await api.plans.planIdsByMachine(
    customerId,
    items.map((m) => m.id),
  );
  const allPlans = [...new Set([...planIds.values()].flat())];
  const pipelinesByPlan = new Map<string, string[]>();
  if (allPlans.length) {
    const docs = await api.pipelines.coll
      .find({ customer_id: customerId, plan_ids: { $in: allPlans } }, { projection: { _id: 1, plan_ids: 1 } })
      .sort({ _id: 1 })
      .toArray();
    for (const d of docs)
      for (const p of (d.plan_ids as string[]) ?? [])
        pipelinesByPlan.set(p, [...(pipelinesByPlan.get(p) ?? []), d._id]);
  }
  return items.map((m) => {
    const plans = planIds.get(m.id) ?? [];
    const pipelines = [...new Set(plans.flatMap((p) => pipelinesByPlan.get(p) ?? []))].sort();
    return { ...m, plans, pipelines };
  });
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
  duplicateMessage: 'a machine with this access.ssm_machine_id already exists for this customer',
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
