import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Action, Grant, Resource } from '../domain/auth';
import type { Principal } from '../store/auth';
import type { Actor } from './orchestrator-port';
import type { ApiContext } from './context';
import type { Rule } from '../domain/request-rules';

/**
 * The single table both Express and the OpenAPI document are built from, so a route cannot exist in one
 * and not the other. Paths are Express-style (`/api/v1/machines/:id`).
 */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type Permission =
  | {
      resource: Resource;
      action: Action;
      /** path param holding the object id (for resource_ids rules) */ idParam?: string;
    }
  /** Any valid key; the handler decides (e.g. reading one's own customer). */
  | 'authenticated'
  | 'public';

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface Ctx<P, Q, B> {
  /** Stores, config and ports. */
  api: ApiContext;
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  /** Set on every route that is not public. */
  principal: Principal;
  actor: Actor;
  /** What the key's rules allow for this route's (resource, action); lists use it to narrow to some ids. */
  grant: Grant;
  req: Request;
  res: Response;
}

/** A handler's answer that is not JSON (a PDF, a log, metrics text). */
export class RawAnswer {
  constructor(
    readonly contentType: string,
    readonly body: Buffer | string,
    readonly filename?: string,
  ) {}
}

export interface RouteSpec<
  P extends z.ZodObject | undefined = z.ZodObject | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
> {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  permission: Permission;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The handler validates the body itself (against `body`) so that store-backed checks land in the same
   * 400 as the schema's; the wrapper then passes the raw JSON.
   */
  validatesBody?: boolean;
  /** Rules of the request JSON Schema cannot state (a 400 when broken), published as `x-patchwave-rules`. */
  rules?: Rule[];
  response: {
    status: number;
    description: string;
    schema?: z.ZodType;
    /** Defaults to application/json. */
    contentType?: string;
  };
  /** Statuses this route can answer besides the standard ones (400, 401, 403, 404, 413, 429, 500). */
  errors?: number[];
  handle(ctx: Ctx<P, Q, B>): Promise<unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteSpec<any, any, any>;

/** Identity with inference: gives the handler typed params/query/body from the schemas. */
export function route<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): AnyRoute {
  return spec as AnyRoute;
}

export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}
