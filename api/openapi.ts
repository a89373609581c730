import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { OpenAPIObject } from 'openapi3-ts/oas31';
import { toOpenApiPath, type AnyRoute } from './route-table';
import { ErrorBody } from './schemas';
import { describeRules } from '../domain/request-rules';

const ERROR_TEXT: Record<number, string> = {
  400: 'Validation failed: details lists every bad field as {in, path, message}',
  401: 'No API key, or an unknown one',
  403: 'The key lacks the permission',
  404: 'No such object for this customer',
  409: 'Valid, but conflicts with the current state or configuration: details names each field as {in, path, message, code} (unknown_reference, name_taken, egress_refused, secret_unresolved, conflicts_with_stored, not_in_event), or the state that forbids the action',
  413: 'Body larger than the limit',
  429: 'Rate limit exceeded (see Retry-After)',
  431: 'Request headers larger than the HTTP server accepts (answered before routing, without a body)',
  500: 'Unexpected server error',
  501: 'Not available on this server',
  503: 'A dependency is unavailable',
};

function errorStatuses(r: AnyRoute): number[] {
  // Node's HTTP server answers 431 itself for oversized headers, on any path.
  const s = new Set<number>([431, 500]);
  if (r.permission !== 'public') [401, 403, 429].forEach((c) => s.add(c));
  if (r.params) s.add(404);
  if (r.params || r.query || r.body) s.add(400);
  if (r.body) s.add(413);
  (r.errors ?? []).forEach((c) => s.add(c));
  return [...s].sort();
}

/** The OpenAPI 3.1 document, generated from the same route table and zod schemas Express uses. */
export function buildOpenApiDocument(routes: AnyRoute[], version = '0.1.0'): OpenAPIObject {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer pw_…`',
  });
  registry.registerComponent('securitySchemes', 'apiKeyHeader', {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
  });

  for (const r of routes) {
    const responses: Record<string, ResponseConfig> = {};
    const ok = r.response;
    responses[String(ok.status)] =
      ok.status === 204
        ? { description: ok.description }
        : ok.contentType && ok.contentType !== 'application/json'
          ? { description: ok.description, content: { [ok.contentType]: { schema: { type: 'string' } } } }
          : {
              description: ok.description,
              content: { 'application/json': { schema: ok.schema ?? { type: 'object' } } },
            };
    for (const code of errorStatuses(r))
      responses[String(code)] =
        code === 431
          ? { description: ERROR_TEXT[code] }
          : {
              description: ERROR_TEXT[code] ?? 'Error',
              content: { 'application/json': { schema: ErrorBody } },
            };
    registry.registerPath({
      method: r.method,
      path: toOpenApiPath(r.path),
      operationId: r.operationId,
      summary: r.summary,
      ...(r.rules?.length
        ? { description: describeRules(r.description, r.rules), 'x-patchwave-rules': r.rules }
        : r.description
          ? { description: r.description }
          : {}),
      tags: [r.tag],
      security: r.permission === 'public' ? [] : [{ bearerAuth: [] }, { apiKeyHeader: [] }],
      ...(typeof r.permission === 'object'
        ? { 'x-permission': `${r.permission.resource}:${r.permission.action}` }
        : {}),
      request: {
        ...(r.params ? { params: r.params } : {}),
        ...(r.query ? { query: r.query } : {}),
        ...(r.body ? { body: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
      },
      responses,
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Patchwave API',
      version,
      description:
        'Patch orchestration for SSM-managed fleets. Every /api/v1 route needs an API key; objects of other customers answer 404.',
    },
    servers: [{ url: '/' }],
  });
}
