/**
 * A pipeline step's promotion applied to one machine's patch command (docs/behaviour.md#promotion, issue 17
 * item 2). What the step asks for is read once per event run: its mode, the patches it and every earlier step
 * exclude, and, from the previous step's events, their manifests (exact_previous_step) or their start
 * (publish_date_cutoff).
 *
 * exact_previous_step is sent as an InstallOverrideList, not as a BaselineOverride approving the manifest
 * (docs/aws-fields.md#installoverridelist): a baseline's ApprovedPatches holds at most 50 patches (botocore
 * PatchIdList), and approving a Linux package by name takes whatever version the repositories hold at run time,
 * while an InstallOverrideList names each patch (KBId) with its Title, so the same versions are installed; and
 * a run with an InstallOverrideList uploads compliance (DescribeInstancePatchStates names the list), so what it
 * installed is read from DescribeInstancePatches without an extra Scan.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { cumulativeExclusions, type PromotionMode } from '../domain/pipeline';
import { nodeOperatingSystem, type BaselineFilters } from '../domain/baseline-override';
import type { ManifestPatch } from '../domain/manifest';
import type { PatchCommandSpec } from '../domain/patch-command';
import type { EventDoc, EventRecords } from '../store/event-records';
import type { PipelineStore } from '../store/pipelines';
import type { BaselineOverrideTarget, NodePlatform } from './baseline-override';

export const INSTALL_LIST_PREFIX = 'patchwave/install-override-lists';

export interface StepPromotion {
  mode: PromotionMode;
  step: number;
  /** Patches this step and every earlier one exclude. */
  exclusions: string[];
  /** exact_previous_step: the previous step's manifests merged, per operating system. */
  manifest?: Record<string, Pick<ManifestPatch, 'kb_id' | 'title'>[]>;
  /** The previous step's events read: exact_previous_step those whose manifests were merged. */
  fromEvents?: string[];
  /** publish_date_cutoff: when the previous step started (its earliest event). */
  previousStart?: string;
}

const KEEP = 32;

/** Reads (and keeps, per event run) what a pipeline event's step asks of its patch commands. */
export class PromotionReader {
  private readonly cache = new Map<string, Promise<StepPromotion | undefined>>();

  constructor(
    private readonly records: Pick<EventRecords, 'stepEvents'>,
    private readonly pipelines: Pick<PipelineStore, 'getById'>,
  ) {}

  get(ev: EventDoc): Promise<StepPromotion | undefined> {
    if (!ev.pipeline_id || !ev.pipeline_run_id || ev.step === undefined) return Promise.resolve(undefined);
    const key = `${ev._id}/${ev.run_no ?? 0}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.read(ev);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
      if (this.cache.size > KEEP) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }

  private async read(ev: EventDoc): Promise<StepPromotion | undefined> {
    const pipeline = await this.pipelines.getById(ev.pipeline_id!);
    const step = ev.step!;
    const conf = pipeline?.steps[step];
    if (!pipeline || !conf) return undefined;
    const mode = conf.promotion ?? 'latest';
    const out: StepPromotion = { mode, step, exclusions: cumulativeExclusions(pipeline.steps, step) };
    if (mode === 'latest' || step === 0) return out;
    const previous = (await this.records.stepEvents(ev.pipeline_run_id!, step - 1)).filter(
      (e) => e.status !== 'DELETED',
    );
    if (mode === 'publish_date_cutoff') {
      const starts = previous.map((e) => e.started_at ?? e.start).sort();
      if (starts[0]) out.previousStart = starts[0];
      out.fromEvents = previous.map((e) => e._id);
      return out;
    }
    const byOs: Record<string, Map<string, Pick<ManifestPatch, 'kb_id' | 'title'>>> = {};
    for (const e of previous)
      for (const os of e.manifest?.operating_systems ?? []) {
        const seen = (byOs[os.operating_system] ??= new Map());
        for (const p of os.patches) seen.set(`${p.kb_id}\n${p.title}`, { kb_id: p.kb_id, title: p.title });
      }
    out.manifest = Object.fromEntries(Object.entries(byOs).map(([os, m]) => [os, [...m.values()]]));
    out.fromEvents = previous.filter((e) => e.manifest).map((e) => e._id);
    return out;
  }
}

const lower = (xs: string[]) => new Set(xs.map((x) => x.toLowerCase()));

/** The day before `iso` (UTC), YYYY-MM-DD: ApproveUntilDate approves patches released on or before it. */
export function dayBefore(iso: string): string {
  return new Date(Date.parse(iso) - 24 * 3600_000).toISOString().slice(0, 10);
}

/**
 * The machine's filters with the step's promotion folded in (latest and publish_date_cutoff): the excluded
 * patches rejected (and never approved), and for publish_date_cutoff an ApproveUntilDate of the day before the
 * previous step started, or earlier when the machine's own published_days_old asks for older patches.
 */
export function promotedFilters(
  m: Partial<BaselineFilters>,
  promo: StepPromotion,
  nowMs: number,
): Partial<BaselineFilters> {
  const out: Partial<BaselineFilters> = { ...m };
  if (promo.exclusions.length) {
    const ex = lower(promo.exclusions);
    const own = m.exclude_kbs ?? [];
    const ownLower = lower(own);
    out.exclude_kbs = [...own, ...promo.exclusions.filter((x) => !ownLower.has(x.toLowerCase()))];
    if (m.include_kbs) out.include_kbs = m.include_kbs.filter((k) => !ex.has(k.toLowerCase()));
  }
  if (promo.mode === 'publish_date_cutoff') {
    if (!promo.previousStart) throw new Error('the previous pipeline step has no start to cut off at');
    let until = dayBefore(promo.previousStart);
    if (m.published_days_old !== undefined) {
      const byAge = new Date(nowMs - m.published_days_old * 24 * 3600_000).toISOString().slice(0, 10);
      if (byAge < until) until = byAge;
    }
    out.approve_until_date = until;
    delete out.published_days_old;
  }
  return out;
}

/** The InstallOverrideList YAML (AWS's format: `patches:` with `id` = KBId and `title` = Title). */
export function installOverrideListYaml(patches: Pick<ManifestPatch, 'kb_id' | 'title'>[]): string {
  return stringify({ patches: patches.map((p) => ({ id: p.kb_id, title: p.title })) });
}

/**
 * exact_previous_step: the previous step's manifest for the node's operating system, less the excluded patches,
 * written to S3 and sent as the InstallOverrideList. The machine's own filters are not sent: SSM refuses a
 * BaselineOverride together with an InstallOverrideList, and the list already names every patch; its
 * exclude_kbs are taken off the list. Throws (the machine is OMITTED with the reason) when the node's operating
 * system is unknown or the manifest has nothing for it, or S3 refuses the write.
 */
export async function withInstallOverrideList(
  spec: PatchCommandSpec,
  machine: { id: string; exclude_kbs?: string[] },
  node: NodePlatform | undefined,
  promo: StepPromotion,
  target: BaselineOverrideTarget,
): Promise<PatchCommandSpec> {
  if (spec.kind !== 'baseline' || spec.documentName !== 'AWS-RunPatchBaseline')
    throw new Error(
      `${spec.documentName} takes no InstallOverrideList: promotion exact_previous_step cannot be applied`,
    );
  const os = node
    ? nodeOperatingSystem(node.PlatformType, node.PlatformName, node.PlatformVersion)
    : undefined;
  if (!os) throw new Error('the node’s operating system is not known to SSM: no manifest applies to it');
  const from = promo.fromEvents?.length ? ` (events ${promo.fromEvents.join(', ')})` : '';
  const ex = lower([...promo.exclusions, ...(machine.exclude_kbs ?? [])]);
  const patches = (promo.manifest?.[os] ?? []).filter(
    (p) => !ex.has(p.kb_id.toLowerCase()) && !ex.has(p.title.toLowerCase()),
  );
  if (!patches.length)
    throw new Error(
      `nothing to promote: the manifest of step ${promo.step - 1}${from} lists no patch for ${os}${promo.manifest?.[os]?.length ? ' that is not excluded' : ''}`,
    );
  if (!target.bucket)
    throw new Error(
      'promotion exact_previous_step sends an InstallOverrideList file in S3, and PATCHWAVE_BASELINE_BUCKET is not configured',
    );
  const body = installOverrideListYaml(patches);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 32);
  const url = `s3://${target.bucket}/${INSTALL_LIST_PREFIX}/${machine.id}/${hash}.yaml`;
  await target
    .s3()
    .send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: `${INSTALL_LIST_PREFIX}/${machine.id}/${hash}.yaml`,
        Body: body,
        ContentType: 'application/x-yaml',
      }),
      { abortSignal: AbortSignal.timeout(30_000) },
    )
    .catch((err: Error) => {
      throw new Error(`cannot write the InstallOverrideList to ${url}: ${err.name}: ${err.message}`);
    });
  return { ...spec, parameters: { ...spec.parameters, InstallOverrideList: [url] } };
}
