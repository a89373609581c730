import type { z } from 'zod';
import { newId } from '../../common/ids';
import type { Resource } from '../../domain/auth';
import type { TenantRepo } from '../../store/tenant-repo';
import type { ApiContext } from '../context';
import {
  ApiError,
  conflict,
  notFound,
  refusal,
  validationError,
  zodIssues,
  type FieldIssue,
} from '../errors';
import type { Actor } from '../orchestrator-port';
import { IdParams, ListQuery, mergePatchOf, pageOf } from '../schemas';
import { route, type AnyRoute } from '../route-table';
import { mergePatch, parseOr400, throwIfIssues, validFields } from '../validate';
import { writeAudit } from '../audit-log';
import { isDuplicateKey } from '../../store/db';
import type { BodyRule } from '../../domain/request-rules';

type Stored = { id: string; customer_id: string };

export interface CrudConfig<I extends z.ZodType, T extends Stored> {
  resource: Resource;
  tag: string;
  /** e.g. `/api/v1/machines` */
  basePath: string;
  /** Human name, e.g. `machine`; also names the operations (`createMachine`). */
  singular: string;
  idPrefix: string;
  input: I;
  inputKeys: readonly string[];
  /** Response schema of one object (for OpenAPI). */
  view: z.ZodType;
  repo: (api: ApiContext) => TenantRepo<T>;
  /** Extra stored fields derived from the input (hidden indexes). */
  toStored?: (input: z.output<I>) => Record<string, unknown>;
  /**
   * Checks beyond the schema: one issue per bad field. Rules of the request alone (stated in `rules`) give a
   * plain issue (400); refusals that depend on the store or configuration (references, the egress policy,
   * secrets) carry a `code` (409).
   */
  check?: (api: ApiContext, customerId: string, input: Partial<z.output<I>>) => Promise<FieldIssue[]>;
  /** Rewords schema issues where the raw input allows a clearer message (e.g. a cron too short to parse). */
  explain?: (raw: unknown, issues: FieldIssue[]) => FieldIssue[];
  /** Adds read-side fields to stored objects. */
  present?: (api: ApiContext, customerId: string, items: T[]) => Promise<unknown[]>;
  /** A reason the object may not be changed or deleted (409), e.g. a built-in role. */
  immutable?: (item: T) => string | undefined;
  /** Throws (409) when deleting would break something. */
  beforeDelete?: (api: ApiContext, customerId: string, item: T) => Promise<void>;
  /**
   * Tells the orchestrator after the store write (plans, pipelines). `item` is the stored object (the one
   * deleted, for a delete); `auditId` names this change, so a notice of it has a key from business data.
   */
  afterWrite?: (
    api: ApiContext,
    actor: Actor,
    kind: 'create' | 'update' | 'delete',
    id: string,
    change: { item: T; auditId: string; before?: T },
  ) => Promise<void>;
  /** Read the object again after `afterWrite` (it may have written read-side fields the answer must show). */
  rereadAfterWrite?: boolean;
  /** 409 message when an insert/update hits a unique index. */
  duplicateMessage?: string;
  /** The field a unique index covers, named in the 409 (`name_taken`). */
  uniqueField?: string;
  /** Cross-field rules of the body JSON Schema cannot state (OpenAPI `x-patchwave-rules`; see api/rules.ts). */
  rules?: BodyRule[];
  /** Statuses the write routes may answer besides the standard ones. */
  writeErrors?: number[];
}

const pascal = (s: string) => s.replace(/(^|[-_ ])(\w)/g, (_m, _p, c: string) => c.toUpperCase());

/** List, create, get, replace (PUT), merge-patch (PATCH) and delete for one configuration resource. */
export function crudRoutes<I extends z.ZodType, T extends Stored>(cfg: CrudConfig<I, T>): AnyRoute[] {
  const Name = pascal(cfg.singular);
  const itemPath = `${cfg.basePath}/:id`;
  const perm = (action: 'get' | 'list' | 'create' | 'update' | 'delete') =>
    action === 'list' || action === 'create'
      ? { resource: cfg.resource, action }
      : { resource: cfg.resource, action, idParam: 'id' };

  const present = async (api: ApiContext, customerId: string, items: T[]) =>
    cfg.present ? cfg.present(api, customerId, items) : items;
  const presentOne = async (api: ApiContext, customerId: string, item: T) =>
    (await present(api, customerId, [item]))[0];

  async function load(api: ApiContext, customerId: string, id: string): Promise<T> {
    const item = await cfg.repo(api).get(customerId, id);
    if (!item) throw notFound(cfg.singular, id);
    return item;
  }

  async function validated(api: ApiContext, customerId: string, raw: unknown): Promise<z.output<I>> {
    const r = cfg.input.safeParse(raw);
    if (r.success) {
      if (cfg.check) throwIfIssues(await cfg.check(api, customerId, r.data));
      return r.data;
    }
    let issues = zodIssues('body', r.error);
    if (cfg.explain) issues = cfg.explain(raw, issues);
    // Still check the fields that are fine on their own, so one answer names every bad field.
    if (cfg.check) {
      const partial = validFields(cfg.input, raw);
      if (partial) {
        const more = await cfg.check(api, customerId, partial as Partial<z.output<I>>);
        issues.push(
          ...more.filter((m) => !issues.some((i) => m.path === i.path || m.path.startsWith(i.path + '.'))),
        );
      }
    }
    throw refusal(issues);
  }

  /**
   * A merge patch: valid on its own (schema and stated rules of its own fields) but refused once merged with
   * the stored object is a conflict with that object (409 `conflicts_with_stored`), not a bad request.
   */
  async function validatedPatch(
    api: ApiContext,
    customerId: string,
    patch: Record<string, unknown>,
    merged: Record<string, unknown>,
  ): Promise<z.output<I>> {
    try {
      return await validated(api, customerId, merged);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 400 || !Array.isArray(e.details)) throw e;
      // The patch's own fields against the same checks (rules of the request alone carry no code).
      const alone = validFields(
        cfg.input,
        Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null)),
      );
      const own =
        cfg.check && alone
          ? (await cfg.check(api, customerId, alone as Partial<z.output<I>>)).filter((i) => !i.code)
          : [];
      if (own.length) throw validationError(own);
      throw refusal(
        (e.details as FieldIssue[]).map((i) => ({
          ...i,
          code: i.code ?? 'conflicts_with_stored',
          message: i.code ? i.message : `${i.message} (with the stored ${cfg.singular}'s fields)`,
        })),
      );
    }
  }

  function refuseIfImmutable(item: T) {
    const why = cfg.immutable?.(item);
    if (why) throw conflict(why);
  }

  async function notify(
    api: ApiContext,
    actor: Actor,
    kind: 'create' | 'update' | 'delete',
    id: string,
    change: { item: T; auditId: string; before?: T },
  ) {
    if (!cfg.afterWrite) return;
    try {
      await cfg.afterWrite(api, actor, kind, id, change);
    } catch (e) {
      throw new ApiError(
        503,
        'orchestrator_unavailable',
        `the ${cfg.singular} change was saved, but the scheduler could not be told (${(e as Error).message}); repeat the request to retry`,
        { saved: true, id },
      );
    }
  }

  async function reread(api: ApiContext, customerId: string, item: T): Promise<T> {
    if (!cfg.rereadAfterWrite) return item;
    return (await cfg.repo(api).get(customerId, item.id)) ?? item;
  }

  const stored = (input: z.output<I>): Record<string, unknown> => ({
    ...(input as Record<string, unknown>),
    ...(cfg.toStored ? cfg.toStored(input) : {}),
  });

  async function guardDuplicate<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      if (isDuplicateKey(e)) {
        const message = cfg.duplicateMessage ?? `a ${cfg.singular} with these values already exists`;
        throw refusal([{ in: 'body', path: cfg.uniqueField ?? '', message, code: 'name_taken' }]);
      }
      throw e;
    }
  }

  async function replace(api: ApiContext, actor: Actor, before: T, input: z.output<I>) {
    const after = await guardDuplicate(() =>
      cfg.repo(api).replaceInput(actor.customer_id, before.id, stored(input), cfg.inputKeys),
    );
    if (!after) throw notFound(cfg.singular, before.id);
    const auditId = await writeAudit(api, actor, {
      action: 'update',
      resource: cfg.resource,
      resource_id: before.id,
      before,
      after,
    });
    await notify(api, actor, 'update', before.id, { item: after, auditId, before });
    return presentOne(api, actor.customer_id, await reread(api, actor.customer_id, after));
  }

  const Patch = mergePatchOf(cfg.input as unknown as z.ZodObject).meta({ id: `${Name}Patch` });
  const writeErrors = [409, ...(cfg.afterWrite ? [503] : []), ...(cfg.writeErrors ?? [])];

  return [
    route({
      method: 'get',
      path: cfg.basePath,
      operationId: `list${Name}s`,
      summary: `List ${cfg.singular}s`,
      tag: cfg.tag,
      permission: perm('list'),
      query: ListQuery,
      response: { status: 200, description: `A page of ${cfg.singular}s`, schema: pageOf(cfg.view) },
      async handle({ api, query, actor, grant }) {
        const page = await cfg.repo(api).list(actor.customer_id, {
          limit: query.limit,
          token: query.continuation_token,
          onlyIds: grant.kind === 'ids' ? grant.ids : undefined,
        });
        return {
          items: await present(api, actor.customer_id, page.items),
          continuation_token: page.continuation_token,
        };
      },
    }),
    route({
      method: 'post',
      path: cfg.basePath,
      operationId: `create${Name}`,
      summary: `Create a ${cfg.singular}`,
      tag: cfg.tag,
      permission: perm('create'),
      body: cfg.input,
      validatesBody: true,
      rules: cfg.rules,
      response: { status: 201, description: `The created ${cfg.singular}`, schema: cfg.view },
      errors: writeErrors,
      async handle({ api, body, actor }) {
        const input = await validated(api, actor.customer_id, body);
        const id = newId(cfg.idPrefix);
        const created = await guardDuplicate(() =>
          cfg.repo(api).insert(actor.customer_id, id, stored(input)),
        );
        const auditId = await writeAudit(api, actor, {
          action: 'create',
          resource: cfg.resource,
          resource_id: id,
          after: created,
        });
        await notify(api, actor, 'create', id, { item: created, auditId });
        return presentOne(api, actor.customer_id, await reread(api, actor.customer_id, created));
      },
    }),
    route({
      method: 'get',
      path: itemPath,
      operationId: `get${Name}`,
      summary: `Get a ${cfg.singular}`,
      tag: cfg.tag,
      permission: perm('get'),
      params: IdParams,
      response: { status: 200, description: `The ${cfg.singular}`, schema: cfg.view },
      async handle({ api, params, actor }) {
        return presentOne(api, actor.customer_id, await load(api, actor.customer_id, params.id));
      },
    }),
    route({
      method: 'put',
      path: itemPath,
      operationId: `replace${Name}`,
      summary: `Replace a ${cfg.singular} (every field; omitted optional fields are removed)`,
      tag: cfg.tag,
      permission: perm('update'),
      params: IdParams,
      body: cfg.input,
      validatesBody: true,
      rules: cfg.rules,
      response: { status: 200, description: `The ${cfg.singular} as stored`, schema: cfg.view },
      errors: writeErrors,
      async handle({ api, params, body, actor }) {
        const before = await load(api, actor.customer_id, params.id);
        refuseIfImmutable(before);
        return replace(api, actor, before, await validated(api, actor.customer_id, body));
      },
    }),
    route({
      method: 'patch',
      path: itemPath,
      operationId: `patch${Name}`,
      summary: `Change some fields of a ${cfg.singular} (JSON merge patch; the result is validated whole)`,
      tag: cfg.tag,
      permission: perm('update'),
      params: IdParams,
      body: Patch,
      // The raw JSON is merged: a parsed record would have turned an own `__proto__` key into a prototype.
      validatesBody: true,
      rules: cfg.rules,
      response: { status: 200, description: `The ${cfg.singular} as stored`, schema: cfg.view },
      errors: writeErrors,
      async handle({ api, params, body, actor }) {
        const before = await load(api, actor.customer_id, params.id);
        refuseIfImmutable(before);
        parseOr400(Patch, body, 'body');
        const merged = mergePatch(before as unknown as Record<string, unknown>, body, cfg.inputKeys);
        return replace(api, actor, before, await validatedPatch(api, actor.customer_id, body, merged));
      },
    }),
    route({
      method: 'delete',
      path: itemPath,
      operationId: `delete${Name}`,
      summary: `Delete a ${cfg.singular}`,
      tag: cfg.tag,
      permission: perm('delete'),
      params: IdParams,
      response: { status: 204, description: 'Deleted' },
      errors: writeErrors,
      async handle({ api, params, actor }) {
        const before = await load(api, actor.customer_id, params.id);
        refuseIfImmutable(before);
        if (cfg.beforeDelete) await cfg.beforeDelete(api, actor.customer_id, before);
        if (!(await cfg.repo(api).delete(actor.customer_id, params.id)))
          throw notFound(cfg.singular, params.id);
        const auditId = await writeAudit(api, actor, {
          action: 'delete',
          resource: cfg.resource,
          resource_id: params.id,
          before,
        });
        await notify(api, actor, 'delete', params.id, { item: before, auditId });
        return undefined;
      },
    }),
  ];
}
