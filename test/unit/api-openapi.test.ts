import SwaggerParser from '@apidevtools/swagger-parser';
import type { Db } from 'mongodb';
import { allRoutes, createApp, listExpressRoutes } from '../../api/app';
import { buildContext } from '../../api/context';
import { toOpenApiPath } from '../../api/route-table';
import { buildOpenApiDocument } from '../../api/openapi';
import { loadConfig } from '../../common/config';
import type { OrchestratorPort } from '../../api/orchestrator-port';

// No server and no store are used: the app is built only to read its route table. The Db below is never called.
const db = { collection: () => ({}) } as unknown as Db;
const orchestrator = {} as OrchestratorPort;
const config = loadConfig({ LOG_LEVEL: 'silent' });

describe('OpenAPI document', () => {
  const routes = allRoutes(buildContext({ db, orchestrator, config }));
  const doc = buildOpenApiDocument(routes);

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // validate() throws with the list of problems when the document is invalid.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('documents every route Express serves, with its method', () => {
    const app = createApp({ db, orchestrator, config });
    const served = listExpressRoutes(app);
    expect(served.length).toBeGreaterThan(50);
    const missing = served.filter((r) => !doc.paths?.[toOpenApiPath(r.path)]?.[r.method as 'get']);
    expect(missing).toEqual([]);
    const documented = Object.entries(doc.paths ?? {}).flatMap(([p, item]) =>
      Object.keys(item as object).map((m) => `${m} ${p}`),
    );
    expect(documented.sort()).toEqual(served.map((r) => `${r.method} ${toOpenApiPath(r.path)}`).sort());
  });

  it('describes the error shape and the request schemas', () => {
    const post = doc.paths?.['/api/v1/plans']?.post;
    expect(post?.requestBody).toBeDefined();
    expect(Object.keys(post!.responses!)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '409', '413', '429']),
    );
    const err = doc.components?.schemas?.Error as { properties?: Record<string, unknown> };
    expect(err?.properties?.error).toBeDefined();
    const params = doc.paths?.['/api/v1/events']?.get?.parameters as { name: string }[];
    expect(params.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'from',
        'to',
        'status',
        'plan_id',
        'pipeline_id',
        'machine_id',
        'limit',
        'continuation_token',
      ]),
    );
  });

  it('has one operationId per operation', () => {
    const ids = routes.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
