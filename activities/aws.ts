import { SSMClient } from '@aws-sdk/client-ssm';
import { EC2Client } from '@aws-sdk/client-ec2';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../common/config';

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };

/**
 * AWS clients, reused per (service, region, role) so connections are kept alive. A machine's `iam_role`
 * is assumed through STS and cached until shortly before the credentials expire. Every client has
 * connection and request timeouts and the SDK's bounded retries (standard mode, 3 attempts).
 */
export class AwsClients {
  private readonly cache = new Map<string, unknown>();
  private readonly roleCreds = new Map<string, Creds>();

  constructor(
    private readonly cfg: Pick<Config, 'AWS_REGION' | 'AWS_ENDPOINT_URL' | 'AWS_S3_FORCE_PATH_STYLE'>,
  ) {}

  private base(region: string) {
    return {
      region,
      endpoint: this.cfg.AWS_ENDPOINT_URL,
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    };
  }

  private async credsFor(region: string, roleArn?: string): Promise<Creds | undefined> {
    if (!roleArn) return undefined;
    const cached = this.roleCreds.get(roleArn);
    if (cached && (!cached.expiration || cached.expiration.getTime() - Date.now() > 5 * 60_000))
      return cached;
    const sts = this.get('sts', region, undefined, () => new STSClient(this.base(region)));
    const r = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'patchwave', DurationSeconds: 3600 }),
    );
    if (!r.Credentials?.AccessKeyId || !r.Credentials.SecretAccessKey)
      throw new Error(`AssumeRole ${roleArn} returned no credentials`);
    const c: Creds = {
      accessKeyId: r.Credentials.AccessKeyId,
      secretAccessKey: r.Credentials.SecretAccessKey,
      sessionToken: r.Credentials.SessionToken,
      expiration: r.Credentials.Expiration,
    };
    this.roleCreds.set(roleArn, c);
    return c;
  }

  /** Closes every cached client's connections (tests; a worker keeps its clients for its whole life). */
  destroy(): void {
    for (const c of this.cache.values()) (c as { destroy?: () => void }).destroy?.();
    this.cache.clear();
  }

  private get<T>(service: string, region: string, role: string | undefined, make: () => T): T {
    const key = `${service}|${region}|${role ?? ''}`;
    let c = this.cache.get(key) as T | undefined;
    if (!c) {
      c = make();
      this.cache.set(key, c);
    }
    return c;
  }

  async ssm(region: string, roleArn?: string): Promise<SSMClient> {
    const credentials = await this.credsFor(region, roleArn);
    if (credentials) return new SSMClient({ ...this.base(region), credentials });
    return this.get('ssm', region, undefined, () => new SSMClient(this.base(region)));
  }

  /** EC2 (CreateTags for the patch-date tag), in the machine's account through its role like SSM. */
  async ec2(region: string, roleArn?: string): Promise<EC2Client> {
    const credentials = await this.credsFor(region, roleArn);
    if (credentials) return new EC2Client({ ...this.base(region), credentials });
    return this.get('ec2', region, undefined, () => new EC2Client(this.base(region)));
  }

  /** Auto Scaling (standby while patched), in the machine's account through its role like SSM. */
  async autoscaling(region: string, roleArn?: string): Promise<AutoScalingClient> {
    const credentials = await this.credsFor(region, roleArn);
    if (credentials) return new AutoScalingClient({ ...this.base(region), credentials });
    return this.get('autoscaling', region, undefined, () => new AutoScalingClient(this.base(region)));
  }

  /** Elastic Load Balancing v2 (target groups out of service while patched), through the machine's role like SSM. */
  async elbv2(region: string, roleArn?: string): Promise<ElasticLoadBalancingV2Client> {
    const credentials = await this.credsFor(region, roleArn);
    if (credentials) return new ElasticLoadBalancingV2Client({ ...this.base(region), credentials });
    return this.get('elbv2', region, undefined, () => new ElasticLoadBalancingV2Client(this.base(region)));
  }

  lambda(region: string): LambdaClient {
    // A hook may run for minutes (HOOK_TIMEOUT_MS bounds it through an abort signal), so the socket
    // timeout must not cut a synchronous Invoke short.
    return this.get(
      'lambda',
      region,
      undefined,
      () =>
        new LambdaClient({
          ...this.base(region),
          maxAttempts: 2,
          requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 16 * 60_000 }),
        }),
    );
  }

  s3(region: string): S3Client {
    return this.get(
      's3',
      region,
      undefined,
      () =>
        new S3Client({ ...this.base(region), forcePathStyle: this.cfg.AWS_S3_FORCE_PATH_STYLE === 'true' }),
    );
  }

  /**
   * The command events queue (activities/command-events.ts), in the worker's own account. A long poll holds its
   * request up to 20 s, so the socket timeout is longer than that; without AWS_ENDPOINT_URL the SDK sends each call
   * to the queue URL's own host.
   */
  sqs(region: string): SQSClient {
    return this.get(
      'sqs',
      region,
      undefined,
      () =>
        new SQSClient({
          ...this.base(region),
          requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 40_000 }),
        }),
    );
  }

  /** Health-gate probes (DescribeAlarms): a probe has its own timeout, so the socket timeout stays short. */
  cloudwatch(region: string): CloudWatchClient {
    return this.get(
      'cloudwatch',
      region,
      undefined,
      () =>
        new CloudWatchClient({
          ...this.base(region),
          maxAttempts: 2,
          requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 }),
        }),
    );
  }
}
