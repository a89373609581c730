import type { Db } from 'mongodb';
import { COLLECTIONS } from './db';
import { TenantRepo } from './tenant-repo';
import { PipelineInput, type Pipeline } from '../domain/pipeline';

export const PIPELINE_INPUT_KEYS = Object.keys(PipelineInput.shape);

/** Pipelines: `_id` = pipeline id. `plan_ids` (hidden) is every step's plans, for reverse lookups. */
export class PipelineStore extends TenantRepo<Pipeline> {
  constructor(db: Db) {
    super(db, COLLECTIONS.pipelines, ['plan_ids']);
  }

  static withDerived(input: PipelineInput): PipelineInput & { plan_ids: string[] } {
    return { ...input, plan_ids: [...new Set(input.steps.flatMap((s) => s.plans))] };
  }

  async getById(id: string): Promise<Pipeline | null> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? this.toApi(doc) : null;
  }

  async idsUsingPlans(customerId: string, planIds: readonly string[]): Promise<string[]> {
    if (planIds.length === 0) return [];
    const docs = await this.coll
      .find({ customer_id: customerId, plan_ids: { $in: [...planIds] } }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .toArray();
    return docs.map((d) => d._id);
  }

  async idsUsingGroup(customerId: string, groupId: string): Promise<string[]> {
    const docs = await this.coll
      .find({ customer_id: customerId, notification_groups: groupId }, { projection: { _id: 1 } })
      .toArray();
    return docs.map((d) => d._id);
  }
}
