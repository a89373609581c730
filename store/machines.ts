import type { Db } from 'mongodb';
import { COLLECTIONS } from './db';
import { TenantRepo } from './tenant-repo';
import { MachineInput, type Machine } from '../domain/machine';

export const MACHINE_INPUT_KEYS = Object.keys(MachineInput.shape);

/** Machines: `_id` = machine id; read-side fields (ping_status, last_patching) are written by activities. */
export class MachineStore extends TenantRepo<Machine> {
  constructor(db: Db) {
    super(db, COLLECTIONS.machines);
  }

  /** For activities, which act on an ID they got from a workflow of the same customer. */
  async getById(id: string): Promise<Machine | null> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? this.toApi(doc) : null;
  }

  async findBySsmId(customerId: string, ssmMachineId: string): Promise<Machine | null> {
    const doc = await this.coll.findOne({ customer_id: customerId, 'access.ssm_machine_id': ssmMachineId });
    return doc ? this.toApi(doc) : null;
  }

  async getMany(customerId: string, ids: readonly string[]): Promise<Machine[]> {
    if (ids.length === 0) return [];
    const docs = await this.coll.find({ customer_id: customerId, _id: { $in: [...new Set(ids)] } }).toArray();
    return docs.map((d) => this.toApi(d));
  }
}
