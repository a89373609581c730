import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { AddTagsToResourceCommand } from '@aws-sdk/client-ssm';
import { MongoError } from 'mongodb';
import type { EventRecords } from '../store/event-records';
import type { AwsClients } from './aws';

/**
 * Seed 003's patch date as a tag (plan `patch_date_tag`): after a machine patched successfully, its instance is
 * tagged `<key>=<patch date>` — EC2 CreateTags for an EC2 instance (`i-…`), SSM AddTagsToResource
 * (ResourceType ManagedInstance) for a hybrid managed node (`mi-…`) — so an ASG tool or a person can read when
 * it was last patched. The date is the patch command's end by SSM's clock (`patched_at`), else now.
 *
 * The tag is a side record: a call that fails (after the SDK's bounded retries and the overall timeout) goes on
 * the event's timeline and changes no status. Only our own store failing makes the activity retry.
 */

export interface PatchDateTagDeps {
  records: Pick<EventRecords, 'getEvent' | 'getMachine' | 'addTimeline'>;
  aws: Pick<AwsClients, 'ec2' | 'ssm'>;
}

/** Overall bound of one tagging call, SDK retries included. */
export const TAG_TIMEOUT_MS = 60_000;

/** ISO 8601 UTC to the second (`2026-12-01T05:30:12Z`): what the seed records, readable by any tool. */
export function patchDateValue(at: string): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The tagging call itself: EC2 CreateTags for an EC2 instance, SSM AddTagsToResource (ManagedInstance) for a
 * managed node, bounded by TAG_TIMEOUT_MS over the client's own retries. Throws AWS's error.
 */
export async function writePatchDateTag(
  aws: Pick<AwsClients, 'ec2' | 'ssm'>,
  target: { ssm_machine_id: string; region: string; iam_role?: string },
  key: string,
  value: string,
): Promise<void> {
  const id = target.ssm_machine_id;
  const tags = [{ Key: key, Value: value }];
  const opts = { abortSignal: AbortSignal.timeout(TAG_TIMEOUT_MS) };
  if (id.startsWith('mi-')) {
    const ssm = await aws.ssm(target.region, target.iam_role);
    await ssm.send(
      new AddTagsToResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: id, Tags: tags }),
      opts,
    );
  } else {
    const ec2 = await aws.ec2(target.region, target.iam_role);
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: tags }), opts);
  }
}

export function createPatchDateTagActivities({ records, aws }: PatchDateTagDeps) {
  return {
    async tagPatchDate(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      key: string;
    }): Promise<{ tagged: boolean }> {
      const ev = await records.getEvent(a.eventId);
      const target = ev?.plan_snapshot?.machines?.find((m) => m.machine_id === a.machineId);
      const timelineKey = `machine/${a.machineId}/${a.runNo}/patch-date-tag`;
      const at = () => new Date().toISOString();
      if (!target) {
        await records.addTimeline(a.eventId, timelineKey, {
          at: at(),
          type: 'patch_date_tag_failed',
          machine_id: a.machineId,
          message: `patch date not tagged: machine ${a.machineId} is not in the event's snapshot`,
        });
        return { tagged: false };
      }
      const row = await records.getMachine(a.eventId, a.machineId);
      const value = patchDateValue(row?.patched_at ?? at());
      const id = target.ssm_machine_id;
      const managed = id.startsWith('mi-');
      const call = managed ? 'SSM AddTagsToResource' : 'EC2 CreateTags';
      try {
        await writePatchDateTag(aws, target, a.key, value);
      } catch (err) {
        if (err instanceof MongoError) throw err;
        const e = err as Error;
        await records.addTimeline(a.eventId, timelineKey, {
          at: at(),
          type: 'patch_date_tag_failed',
          machine_id: a.machineId,
          message: `patch date not tagged on ${id} (${call}): ${e.name}: ${e.message}`.slice(0, 1000),
        });
        return { tagged: false };
      }
      await records.addTimeline(a.eventId, timelineKey, {
        at: at(),
        type: 'patch_date_tagged',
        machine_id: a.machineId,
        message: `${id} tagged ${a.key}=${value} (${call})`,
      });
      return { tagged: true };
    },
  };
}
