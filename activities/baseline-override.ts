/**
 * Writes a machine's BaselineOverride file to S3 and adds its s3:// URL to the patch command (issue 13 item 2).
 * The object's key is derived from the machine and a hash of the rendered file, so the same settings always
 * give the same object: a retry or the next run writes the same bytes to the same key (idempotent), and a
 * changed setting never overwrites a file a running command may still read.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  nodeOperatingSystem,
  renderBaselineOverride,
  type BaselineFilters,
  type BaselineOverrideDoc,
} from '../domain/baseline-override';
import type { PatchCommandSpec } from '../domain/patch-command';

/** The documents that take a BaselineOverride parameter (AWS-RunPatchBaseline and its variant with hooks). */
const OVERRIDABLE = /(^|:document\/)AWS-RunPatchBaseline(WithHooks)?$/;

export const BASELINE_PREFIX = 'patchwave/baseline-overrides';

export function baselineObjectKey(machineId: string, body: string): string {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 32);
  return `${BASELINE_PREFIX}/${machineId}/${hash}.json`;
}

/** The node as DescribeInstanceInformation described it (undefined: not known to SSM yet). */
export interface NodePlatform {
  PlatformType?: string;
  PlatformName?: string;
  PlatformVersion?: string;
}

export interface BaselineOverrideTarget {
  s3: () => S3Client;
  bucket: string | undefined;
}

/**
 * The command with the machine's filters as a BaselineOverride, or unchanged when it sets none (then the
 * node's own patch baseline applies, as before). Throws, with the reason the machine is OMITTED, when the
 * filters cannot be expressed for the node's operating system, no bucket is configured, or S3 refuses the write
 * (after the client's bounded retries, within 30 s).
 */
export async function withBaselineOverride(
  spec: PatchCommandSpec,
  machine: { id: string } & Partial<BaselineFilters>,
  node: NodePlatform | undefined,
  target: BaselineOverrideTarget,
): Promise<PatchCommandSpec> {
  if (!OVERRIDABLE.test(spec.documentName)) return spec;
  const doc: BaselineOverrideDoc[] | undefined = renderBaselineOverride(machine);
  if (!doc) return spec;
  const os = node
    ? nodeOperatingSystem(node.PlatformType, node.PlatformName, node.PlatformVersion)
    : undefined;
  // The document uses the baseline matching the node's OS; without one it would patch by other rules.
  if (os && !doc.some((b) => b.OperatingSystem === os))
    throw new Error(
      `the machine's patch filters cannot be expressed for its operating system ${os} (${node?.PlatformName ?? ''} ${node?.PlatformVersion ?? ''}); they fit ${doc.map((b) => b.OperatingSystem).join(', ')}`,
    );
  if (!target.bucket)
    throw new Error(
      'the machine has patch filters, which are sent as a BaselineOverride file in S3, and PATCHWAVE_BASELINE_BUCKET is not configured',
    );
  const body = JSON.stringify(doc, null, 2);
  const key = baselineObjectKey(machine.id, body);
  const url = `s3://${target.bucket}/${key}`;
  await target
    .s3()
    .send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
      }),
      { abortSignal: AbortSignal.timeout(30_000) },
    )
    .catch((err: Error) => {
      throw new Error(`cannot write the BaselineOverride to ${url}: ${err.name}: ${err.message}`);
    });
  return { ...spec, parameters: { ...spec.parameters, BaselineOverride: [url] } } as PatchCommandSpec;
}
