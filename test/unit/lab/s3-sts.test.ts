/** S3 (path-style) and STS AssumeRole through the real clients. */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { Lab } from '../../../lab/server';
import { clientsFor, control, startLab } from './helpers';

describe('S3', () => {
  let lab: Lab;
  let s3: S3Client;
  beforeAll(async () => {
    lab = await startLab();
    ({ s3 } = clientsFor(lab));
  });
  afterAll(async () => {
    s3.destroy();
    await lab.close();
  });

  it('PutObject creates the bucket; GetObject and HeadObject read it back', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'scripts',
        Key: 'hooks/pre check.sh',
        Body: '#!/bin/sh\necho hi\n',
        ContentType: 'text/x-sh',
      }),
    );
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'scripts', Key: 'hooks/pre check.sh' }));
    expect(got.ContentType).toBe('text/x-sh');
    expect(got.ETag).toBe(put.ETag);
    expect(got.LastModified).toBeInstanceOf(Date);
    expect(await got.Body!.transformToString()).toBe('#!/bin/sh\necho hi\n');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'scripts', Key: 'hooks/pre check.sh' }));
    expect(head.ContentLength).toBe(18);
  });

  it('decodes a streamed (aws-chunked) upload', async () => {
    const body = Readable.from([Buffer.from('part one, '), Buffer.from('part two')]);
    await s3.send(
      new PutObjectCommand({ Bucket: 'scripts', Key: 'streamed.txt', Body: body, ContentLength: 18 }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'scripts', Key: 'streamed.txt' }));
    expect(await got.Body!.transformToString()).toBe('part one, part two');
  });

  it('answers NoSuchKey, NoSuchBucket and (for HEAD) NotFound in S3 shape', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'scripts', Key: 'a', Body: 'x' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: 'scripts', Key: 'missing' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'a' }))).rejects.toMatchObject(
      {
        name: 'NoSuchBucket',
        $metadata: { httpStatusCode: 404 },
      },
    );
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'scripts', Key: 'missing' }))).rejects.toMatchObject(
      {
        name: 'NotFound',
        $metadata: { httpStatusCode: 404 },
      },
    );
  });

  it('serves objects put through the control API', async () => {
    const put = await control(lab, 'PUT', '/_lab/s3/patchwave-scripts/hooks/check.sh', 'echo ok\n');
    expect(put.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'patchwave-scripts', Key: 'hooks/check.sh' }));
    expect(await got.Body!.transformToString()).toBe('echo ok\n');
    expect((await control(lab, 'PUT', '/_lab/s3/Bad_Bucket/k', 'x')).status).toBe(400);
  });
});

describe('STS', () => {
  let lab: Lab;
  let sts: STSClient;
  beforeAll(async () => {
    lab = await startLab();
    ({ sts } = clientsFor(lab));
  });
  afterAll(async () => {
    sts.destroy();
    await lab.close();
  });

  it('AssumeRole returns temporary credentials and is recorded', async () => {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::210987654321:role/patchwave/PatchwaveTarget',
        RoleSessionName: 'patchwave-evt1',
        DurationSeconds: 900,
        ExternalId: 'cus_1',
      }),
    );
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials!.SecretAccessKey).toBeTruthy();
    expect(out.Credentials!.SessionToken).toBeTruthy();
    expect(out.Credentials!.Expiration).toBeInstanceOf(Date);
    expect(out.Credentials!.Expiration!.getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(out.AssumedRoleUser).toMatchObject({
      Arn: 'arn:aws:sts::210987654321:assumed-role/PatchwaveTarget/patchwave-evt1',
      AssumedRoleId: expect.stringMatching(/^AROA\w+:patchwave-evt1$/),
    });
    const calls = (await control(lab, 'GET', '/_lab/sts/calls')).json;
    expect(calls).toEqual([
      expect.objectContaining({
        action: 'AssumeRole',
        role_arn: 'arn:aws:iam::210987654321:role/patchwave/PatchwaveTarget',
        role_session_name: 'patchwave-evt1',
        duration_seconds: 900,
        external_id: 'cus_1',
      }),
    ]);
  });

  it('refuses an invalid role ARN in STS error shape', async () => {
    await expect(
      sts.send(new AssumeRoleCommand({ RoleArn: 'not-an-arn', RoleSessionName: 'x1' })),
    ).rejects.toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
  });

  it('GetCallerIdentity names the lab account', async () => {
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe('123456789012');
  });
});
