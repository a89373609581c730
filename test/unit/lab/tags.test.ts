/**
 * The lab's tagging calls through the real SDK clients: EC2 CreateTags over the query protocol and SSM
 * AddTagsToResource for managed nodes, with the errors AWS names for what it refuses.
 */
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AddTagsToResourceCommand, ListTagsForResourceCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { Lab } from '../../../lab/server';
import { clientsFor, LAB_CREDENTIALS, M, startLab } from './helpers';

let lab: Lab;
let ssm: SSMClient;
let ec2: EC2Client;

beforeAll(async () => {
  lab = await startLab();
  ({ ssm } = clientsFor(lab));
  ec2 = new EC2Client({
    endpoint: lab.url,
    region: 'us-east-1',
    credentials: LAB_CREDENTIALS,
    maxAttempts: 1,
  });
  lab.state.putMachine(M.linux1, { tags: { Env: 'prod' } });
  lab.state.putMachine(M.hybrid, {});
});
afterAll(async () => {
  ssm.destroy();
  ec2.destroy();
  await lab.close();
});

const errorName = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: Error) => e.name,
  );

test('EC2 CreateTags tags an instance; the tags are what SSM targets and filters read', async () => {
  await ec2.send(
    new CreateTagsCommand({
      Resources: [M.linux1],
      Tags: [{ Key: 'PatchDate', Value: '2026-12-01T05:30:12Z' }],
    }),
  );
  expect(lab.state.machines.get(M.linux1)!.behaviour.tags).toEqual({
    Env: 'prod',
    PatchDate: '2026-12-01T05:30:12Z',
  });
  expect(lab.state.calls.get('ec2:CreateTags')).toBe(1);
});

test('EC2 CreateTags refusals carry EC2’s error codes', async () => {
  const tag = [{ Key: 'k', Value: 'v' }];
  expect(
    await errorName(ec2.send(new CreateTagsCommand({ Resources: ['i-0000000000000beef'], Tags: tag }))),
  ).toBe('InvalidInstanceID.NotFound');
  expect(await errorName(ec2.send(new CreateTagsCommand({ Resources: [M.hybrid], Tags: tag })))).toBe(
    'InvalidID',
  );
  expect(
    await errorName(
      ec2.send(new CreateTagsCommand({ Resources: [M.linux1], Tags: [{ Key: 'aws:x', Value: 'v' }] })),
    ),
  ).toBe('InvalidParameterValue');
  const many = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
  expect(await errorName(ec2.send(new CreateTagsCommand({ Resources: [M.linux1], Tags: many })))).toBe(
    'TagLimitExceeded',
  );
  expect(
    await errorName(ec2.send(new CreateTagsCommand({ Resources: [M.linux1], Tags: tag, DryRun: true }))),
  ).toBe('DryRunOperation');
  expect(lab.state.machines.get(M.linux1)!.behaviour.tags.k).toBeUndefined();
});

test('SSM AddTagsToResource tags a managed node (ManagedInstance) and ListTagsForResource reads it back', async () => {
  await ssm.send(
    new AddTagsToResourceCommand({
      ResourceType: 'ManagedInstance',
      ResourceId: M.hybrid,
      Tags: [{ Key: 'PatchDate', Value: 'x' }],
    }),
  );
  const out = await ssm.send(
    new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: M.hybrid }),
  );
  expect(out.TagList).toEqual([{ Key: 'PatchDate', Value: 'x' }]);
  // An EC2 instance is no ManagedInstance resource, and an unknown node is not either.
  for (const id of [M.linux1, 'mi-00000000000000000'])
    expect(
      await errorName(
        ssm.send(
          new AddTagsToResourceCommand({
            ResourceType: 'ManagedInstance',
            ResourceId: id,
            Tags: [{ Key: 'k', Value: 'v' }],
          }),
        ),
      ),
    ).toBe('InvalidResourceId');
  expect(
    await errorName(
      ssm.send(
        new AddTagsToResourceCommand({
          ResourceType: 'ManagedInstance',
          ResourceId: M.hybrid,
          Tags: [{ Key: 'AWS:k', Value: 'v' }],
        }),
      ),
    ),
  ).toBe('ValidationException');
});
