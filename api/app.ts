import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino, { type Logger } from 'pino';
import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { httpLatency, httpRequests } from '../common/metrics';
import { grantFor, type Grant } from '../domain/auth';
import type { Principal } from '../store/auth';
import { InvalidTokenError } from '../store/paging';
import { buildContext, type ApiContext } from './context';
import { ApiError, forbidden, unauthorized, validationError, type FieldIssue } from './errors';
import { issuesOf } from './validate';
import { buildOpenApiDocument } from './openapi';
import { ConflictError, NotFoundError, type OrchestratorPort } from './orchestrator-port';
import { RateLimiter } from './rate-limit';
import type { ReportsPort } from '../store/reports-port';
import { RawAnswer, type AnyRoute } from './route-table';
import { API_ROUTES } from './routes';
import { systemRoutes } from './routes/system';
import { isDuplicateKey } from '../store/db';
import { consoleRouter, defaultConsoleDir } from './console-static';

export interface AppDeps {
  db: Db;
  orchestrator: OrchestratorPort;
  config: Config;
  logger?: Logger;
  /** PDF reports and patch logs; without it those routes answer 501. */
  reports?: ReportsPort;
  /** Overrides of the config's rate limits (tests). */
  rateLimit?: { perSec?: number; burst?: number; failedAuthPerSec?: number; failedAuthBurst?: number };
}

type Locals = { principal?: Principal; requestId: string; route?: string };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'patchwave-api' },
    // Belt and braces: request logs never include headers, and these paths are cut if anyone logs them.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'headers.authorization',
        'headers["x-api-key"]',
        '*.secret',
        '*.secret_hash',
        'secret',
      ],
      censor: '[redacted]',
    },
  });
}

let openApiCache: unknown;
/** The route table of the whole app: /api/v1 routes plus system routes (the OpenAPI doc lists both). */
export function allRoutes(api: ApiContext): AnyRoute[] {
  return [...systemRoutes(() => (openApiCache ??= buildOpenApiDocument(allRoutes(api))), api), ...API_ROUTES];
}

export function createApp(deps: AppDeps): express.Express {
  const api = buildContext(deps);
  const log = deps.logger ?? createLogger(deps.config);
  const limiter = new RateLimiter(
    deps.rateLimit?.perSec ?? deps.config.API_RATE_LIMIT_PER_SEC,
    deps.rateLimit?.burst ?? deps.config.API_RATE_LIMIT_BURST,
  );
  const failedAuth = new RateLimiter(
    deps.rateLimit?.failedAuthPerSec ?? 5,
    deps.rateLimit?.failedAuthBurst ?? 100,
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const inbound = req.get('x-request-id');
    const locals = res.locals as Locals;
    locals.requestId = inbound && REQUEST_ID.test(inbound) ? inbound : randomUUID();
    res.setHeader('x-request-id', locals.requestId);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = {
        method: req.method,
        route: locals.route ?? 'unmatched',
        status: String(res.statusCode),
      };
      httpRequests.inc(labels);
      httpLatency.observe(labels, seconds);
      log.info(
        {
          req_id: locals.requestId,
          method: req.method,
          path: req.path,
          route: labels.route,
          status: res.statusCode,
          duration_ms: Math.round(seconds * 1000),
          api_key_id: locals.principal?.key.id,
          customer_id: locals.principal?.customer.id,
        },
        'request',
      );
    });
    next();
  });

  // Authentication and rate limiting come before body parsing: an anonymous client cannot make us parse.
  app.use('/api/v1', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const presented = presentedKey(req);
      const client = `ip:${req.socket.remoteAddress ?? 'unknown'}`;
      if (!presented) throw unauthorized();
      if (failedAuth.exhausted(client)) throw rateLimited(60);
      const principal = await api.auth.authenticate(presented);
      if (!principal) {
        failedAuth.take(client);
        throw unauthorized('the API key is not valid');
      }
      (res.locals as Locals).principal = principal;
      const t = limiter.take(principal.key.id);
      if (!t.ok) throw rateLimited(t.retryAfterSec);
      next();
    } catch (e) {
      next(e);
    }
  });

  app.use(
    express.json({
      limit: deps.config.API_BODY_LIMIT_BYTES,
      strict: true,
      type: ['application/json', 'application/*+json'],
    }),
  );

  const methodsByPath = new Map<string, string[]>();
  for (const r of allRoutes(api)) {
    app[r.method](r.path, handlerFor(r, api));
    methodsByPath.set(r.path, [...(methodsByPath.get(r.path) ?? []), r.method.toUpperCase()]);
  }
  // A known path with a method it does not have is 405 with Allow (RFC 9110 §15.5.6), not 404.
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].join(', ');
    app.all(path, (req: Request, _res: Response, next: NextFunction) =>
      next(
        new ApiError(
          405,
          'method_not_allowed',
          `${req.method} is not allowed here; allowed: ${allow}`,
          null,
          {
            Allow: allow,
          },
        ),
      ),
    );
  }
  app.use(consoleRouter(deps.config.PATCHWAVE_CONSOLE_DIR ?? defaultConsoleDir()));

  app.use((req: Request, _res: Response, next: NextFunction) =>
    next(new ApiError(404, 'not_found', `no route ${req.method} ${req.path}`)),
  );

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    void _next;
    const e = toApiError(err);
    if (e.status >= 500 && e.code === 'internal')
      log.error({ req_id: (res.locals as Locals).requestId, err }, 'request failed');
    if (res.headersSent) return res.end();
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    res.status(e.status).json(e.toBody());
  });

  return app;
}

function presentedKey(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1];
  }
  const header = req.get('x-api-key');
  return header?.trim() || undefined;
}

function rateLimited(retryAfterSec: number) {
  return new ApiError(429, 'rate_limited', 'too many requests; slow down', null, {
    'retry-after': String(retryAfterSec),
  });
}

function handlerFor(r: AnyRoute, api: ApiContext) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as Locals;
    locals.route = r.path;
    try {
      const principal = locals.principal;
      let grant: Grant = { kind: 'all' };
      if (r.permission !== 'public') {
        if (!principal) throw unauthorized();
        if (typeof r.permission === 'object') {
          grant = grantFor(principal.rules, r.permission.resource, r.permission.action);
          if (grant.kind === 'none')
            throw forbidden(`this API key may not ${r.permission.action} ${r.permission.resource}`);
        }
      }

      const issues: FieldIssue[] = [];
      const parse = (schema: AnyRoute['params'], value: unknown, where: FieldIssue['in']) => {
        if (!schema) return {};
        const p = schema.safeParse(value);
        if (p.success) return p.data;
        issues.push(...issuesOf(schema, value, where, p.error));
        return undefined;
      };
      const params = parse(r.params, { ...req.params }, 'params');
      const query = r.query ? parse(r.query, { ...req.query }, 'query') : noExtra(req.query, 'query', issues);
      let body: unknown = {};
      if (r.body) {
        if (req.body === undefined)
          issues.push({
            in: 'body',
            path: '',
            message: 'a JSON body is required (Content-Type: application/json)',
          });
        else body = r.validatesBody ? req.body : parse(r.body, req.body, 'body');
      } else if (req.body !== undefined && !isEmpty(req.body)) {
        issues.push({ in: 'body', path: '', message: 'this route takes no body' });
      }
      if (issues.length) throw validationError(issues);

      if (typeof r.permission === 'object' && grant.kind === 'ids') {
        const id = r.permission.idParam
          ? (params as Record<string, string>)[r.permission.idParam]
          : undefined;
        const scopedList = r.permission.action === 'list';
        if (!scopedList && (id === undefined || !grant.ids.has(id)))
          throw forbidden(
            `this API key may not ${r.permission.action} ${r.permission.resource} ${id ?? '(new)'}`,
          );
      }

      let result: unknown;
      try {
        result = await r.handle({
          api,
          params,
          query,
          body,
          principal: principal!,
          actor: principal
            ? { customer_id: principal.customer.id, api_key_id: principal.key.id }
            : undefined!,
          grant,
          req,
          res,
        });
      } finally {
        // A write (even one that failed half-way) may have revoked a key or changed a role: no request after it
        // uses a cached principal.
        if (r.method !== 'get') api.auth.forgetPrincipals();
      }
      if (result instanceof RawAnswer) {
        res.status(r.response.status).type(result.contentType);
        if (result.filename) res.attachment(result.filename);
        res.send(result.body);
      } else if (r.response.status === 204) {
        res.status(204).end();
      } else {
        res.status(r.response.status).json(result);
      }
    } catch (e) {
      next(e);
    }
  };
}

function isEmpty(v: unknown): boolean {
  return v === null || (typeof v === 'object' && Object.keys(v as object).length === 0);
}

function noExtra(q: unknown, where: 'query', issues: FieldIssue[]) {
  for (const k of Object.keys((q as object) ?? {}))
    issues.push({ in: where, path: k, message: 'is not a known parameter' });
  return {};
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ConflictError) return new ApiError(409, 'conflict', err.message, err.details ?? null);
  if (err instanceof NotFoundError) return new ApiError(404, 'not_found', err.message);
  if (err instanceof InvalidTokenError)
    return validationError([{ in: 'query', path: 'continuation_token', message: err.message }]);
  const e = err as { type?: string; status?: number; code?: number; message?: string };
  switch (e.type) {
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', 'the request body is larger than the limit');
    case 'entity.parse.failed':
      return validationError([{ in: 'body', path: '', message: 'is not valid JSON' }]);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError(415, 'unsupported_media_type', e.message ?? 'unsupported body encoding');
  }
  if (isDuplicateKey(e)) return new ApiError(409, 'conflict', 'conflicts with an existing object');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return new ApiError(e.status, 'bad_request', e.message ?? 'bad request');
  return new ApiError(500, 'internal', 'unexpected server error');
}

/** Every route Express serves, as [METHOD, path]: the OpenAPI test checks each is documented. */
export function listExpressRoutes(app: express.Express): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const stack = (
    app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }
  ).router.stack;
  for (const layer of stack) {
    if (!layer.route) continue;
    // app.all() layers (the 405 answers for undeclared methods) hold every method: not served routes.
    if (Object.keys(layer.route.methods).length > 5) continue;
    for (const [m, on] of Object.entries(layer.route.methods))
      if (on) out.push({ method: m, path: layer.route.path });
  }
  return out;
}
