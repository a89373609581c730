/**
 * The managed nodes a dynamic plan's selector names in one region: DescribeInstanceInformation with one
 * `tag:<key>` filter per tag (values OR'ed, tags AND'ed, as SSM documents), every page. Shared by the run's target
 * resolution (activities/events.ts) and the event preview (activities/preview.ts), so both ask SSM the same question.
 */
import {
  DescribeInstanceInformationCommand,
  type InstanceInformation,
  type SSMClient,
} from '@aws-sdk/client-ssm';

export async function instancesByTags(
  ssm: SSMClient,
  tags: Record<string, string[]>,
): Promise<InstanceInformation[]> {
  let infos: InstanceInformation[] = [];
  let token: string | undefined;
  do {
    const r = await ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: Object.entries(tags).map(([k, v]) => ({ Key: `tag:${k}`, Values: v })),
        MaxResults: 50,
        NextToken: token,
      }),
    );
    infos = infos.concat(r.InstanceInformationList ?? []);
    token = r.NextToken || undefined;
  } while (token);
  return infos;
}
