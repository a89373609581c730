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

  /** The groups a pipeline notifies (none when it is gone). */
  async notificationGroupsOf(pipelineId: string): Promise<string[]> {
    const doc = await this.coll.findOne({ _id: pipelineId }, { projection: { notification_groups: 1 } });
    return (doc?.notification_groups as string[] | undefined) ?? [];
  }

  async idsUsingGroup(customerId: string, groupId: string): Promise<string[]> {
    const docs = await this.coll
      .find({ customer_id: customerId, notification_groups: groupId }, { projection: { _id: 1 } })
      .toArray();
    return docs.map((d) => d._id);
  }

  /** Every plan that some pipeline of the customer runs (those plans are scheduled by their pipelines). */
  async planIdsInPipelines(customerId: string): Promise<Set<string>> {
    const docs = await this.coll.find({ customer_id: customerId }, { projection: { steps: 1 } }).toArray();
    return new Set(docs.flatMap((d) => ((d.steps ?? []) as { plans: string[] }[]).flatMap((s) => s.plans)));
  }

  /** plan id → ids of the customer's pipelines that include it (sorted), for the given plans. */
  async pipelineIdsByPlan(customerId: string, planIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (planIds.length === 0) return out;
    const docs = await this.coll
      .find(
        { customer_id: customerId, plan_ids: { $in: [...planIds] } },
        { projection: { _id: 1, plan_ids: 1 } },
      )
      .sort({ _id: 1 })
      .toArray();
    for (const d of docs)
      for (const p of (d.plan_ids as string[]) ?? []) out.set(p, [...(out.get(p) ?? []), d._id]);
    return out;
  }
}
