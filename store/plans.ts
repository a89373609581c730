import type { Db } from 'mongodb';
import { COLLECTIONS } from './db';
import { TenantRepo } from './tenant-repo';
import { PlanInput, type Plan } from '../domain/plan';

export const PLAN_INPUT_KEYS = Object.keys(PlanInput.shape);

/**
 * Plans: `_id` = plan id. `machine_ids` is a stored copy of `machines[].machine_id` so "which plans use
 * this machine" is one indexed equality query; it is hidden from API answers.
 */
export class PlanStore extends TenantRepo<Plan> {
  constructor(db: Db) {
    super(db, COLLECTIONS.plans, ['machine_ids']);
  }

  static withDerived(input: PlanInput): PlanInput & { machine_ids: string[] } {
    return { ...input, machine_ids: (input.machines ?? []).map((m) => m.machine_id) };
  }

  async getById(id: string): Promise<Plan | null> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? this.toApi(doc) : null;
  }

  async idsUsingMachine(customerId: string, machineId: string): Promise<string[]> {
    const docs = await this.coll
      .find({ customer_id: customerId, machine_ids: machineId }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .toArray();
    return docs.map((d) => d._id);
  }

  async idsOfCustomer(customerId: string): Promise<string[]> {
    const docs = await this.coll.find({ customer_id: customerId }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  async idsUsingGroup(customerId: string, groupId: string): Promise<string[]> {
    const docs = await this.coll
      .find({ customer_id: customerId, notification_groups: groupId }, { projection: { _id: 1 } })
      .toArray();
    return docs.map((d) => d._id);
  }

  /** machine id → ids of the plans listing it, for every plan of the customer (machine read side). */
  async planIdsByMachine(customerId: string, machineIds?: readonly string[]): Promise<Map<string, string[]>> {
    const filter = machineIds
      ? { customer_id: customerId, machine_ids: { $in: [...machineIds] } }
      : { customer_id: customerId };
    const docs = await this.coll
      .find(filter, { projection: { _id: 1, machine_ids: 1 } })
      .sort({ _id: 1 })
      .toArray();
    const out = new Map<string, string[]>();
    for (const d of docs) {
      for (const m of (d.machine_ids as string[] | undefined) ?? []) {
        const list = out.get(m) ?? [];
        list.push(d._id);
        out.set(m, list);
      }
    }
    return out;
  }
}
