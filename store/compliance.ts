import type { Collection, Db } from 'mongodb';
import { COLLECTIONS } from './db';
import type { MachineCompliance, MachineComplianceSummary } from '../domain/compliance';

type ComplianceDoc = MachineCompliance & { _id: string; customer_id: string; updated_at: string };

/**
 * Each machine's last patch compliance reading (`_id` = machine id), written when a scan-only run ends and read
 * by the compliance views. A reading older than the stored one (a retried or late activity) never replaces it.
 */
export class ComplianceStore {
  private readonly coll: Collection<ComplianceDoc>;

  constructor(db: Db) {
    this.coll = db.collection<ComplianceDoc>(COLLECTIONS.compliance);
  }

  async ensureIndexes(): Promise<void> {
    await this.coll.createIndex({ plan_id: 1 });
  }

  async record(customerId: string, c: MachineCompliance): Promise<void> {
    const doc: ComplianceDoc = {
      ...c,
      _id: c.machine_id,
      customer_id: customerId,
      updated_at: new Date().toISOString(),
    };
    const prev = await this.coll.findOne({ _id: c.machine_id }, { projection: { scanned_at: 1 } });
    if (prev && prev.scanned_at > c.scanned_at) return;
    await this.coll.replaceOne({ _id: c.machine_id }, doc, { upsert: true });
  }

  async get(customerId: string, machineId: string): Promise<MachineCompliance | null> {
    const d = await this.coll.findOne({ _id: machineId, customer_id: customerId });
    return d ? strip(d) : null;
  }

  async forMachines(customerId: string, machineIds: string[]): Promise<MachineCompliance[]> {
    if (machineIds.length === 0) return [];
    const docs = await this.coll.find({ customer_id: customerId, _id: { $in: machineIds } }).toArray();
    return docs.map(strip);
  }

  /** Summaries (no patch lists) of the given machines. */
  async summaries(customerId: string, machineIds: string[]): Promise<MachineComplianceSummary[]> {
    if (machineIds.length === 0) return [];
    const docs = await this.coll
      .find(
        { customer_id: customerId, _id: { $in: machineIds } },
        { projection: { patches: 0, patches_truncated: 0 } },
      )
      .toArray();
    return docs.map(strip);
  }

  /** Machines whose last reading came from an event of this plan (how a dynamic plan's machines are known). */
  async machinesScannedByPlan(
    customerId: string,
    planId: string,
  ): Promise<{ machine_id: string; name: string; ssm_machine_id: string }[]> {
    const docs = await this.coll
      .find(
        { customer_id: customerId, plan_id: planId },
        { projection: { machine_id: 1, name: 1, ssm_machine_id: 1 } },
      )
      .toArray();
    return docs
      .map((d) => ({ machine_id: d.machine_id, name: d.name, ssm_machine_id: d.ssm_machine_id }))
      .sort((a, b) => a.machine_id.localeCompare(b.machine_id));
  }
}

function strip<T extends { _id: string; customer_id: string; updated_at: string }>(d: T) {
  const { _id, customer_id, updated_at, ...rest } = d;
  void _id;
  void customer_id;
  void updated_at;
  return rest;
}
