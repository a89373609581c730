import { route, RawAnswer, type AnyRoute } from '../route-table';
import { HealthView, ReadyView } from '../schemas';
import { registry, eventsByStatus, machinesByStatus } from '../../common/metrics';
import { EventStatus, MachineStatus } from '../../domain/statuses';
import type { ApiContext } from '../context';
import { ApiError } from '../errors';

const STATUS_CACHE_MS = 5_000;

/** Gauges of events/machines by status come from the store, at most once per STATUS_CACHE_MS. */
function statusGaugeRefresher(api: ApiContext) {
  let last = 0;
  let pending: Promise<void> | undefined;
  return async () => {
    if (Date.now() - last < STATUS_CACHE_MS) return;
    pending ??= (async () => {
      try {
        const counts = await api.events.countByStatus();
        for (const s of EventStatus.options) eventsByStatus.set({ status: s }, counts.events[s] ?? 0);
        for (const s of MachineStatus.options) machinesByStatus.set({ status: s }, counts.machines[s] ?? 0);
        last = Date.now();
      } finally {
        pending = undefined;
      }
    })();
    await pending;
  };
}

export function systemRoutes(getOpenApi: () => unknown, api: ApiContext): AnyRoute[] {
  const refresh = statusGaugeRefresher(api);
  return [
    route({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'The process is up',
      tag: 'system',
      permission: 'public',
      response: { status: 200, description: 'Up', schema: HealthView },
      async handle() {
        return { status: 'ok' };
      },
    }),
    route({
      method: 'get',
      path: '/readyz',
      operationId: 'ready',
      summary: 'The store and Temporal are reachable',
      tag: 'system',
      permission: 'public',
      response: { status: 200, description: 'Ready', schema: ReadyView },
      errors: [503],
      async handle({ api }) {
        const checks: Record<string, string> = {};
        const probe = async (name: string, fn: () => Promise<unknown>) => {
          try {
            await withTimeout(fn(), 3_000);
            checks[name] = 'ok';
          } catch (e) {
            checks[name] = `error: ${(e as Error).message}`;
          }
        };
        await Promise.all([
          probe('store', () => api.db.command({ ping: 1 })),
          probe('temporal', () => api.orchestrator.ping()),
        ]);
        const ok = Object.values(checks).every((v) => v === 'ok');
        if (!ok) throw new ApiError(503, 'not_ready', 'a dependency is not reachable', checks);
        return { status: 'ready', checks };
      },
    }),
    route({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tag: 'system',
      permission: 'public',
      response: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' },
      async handle() {
        await refresh().catch(() => {
          /* a store outage must not hide the other metrics */
        });
        return new RawAnswer(registry.contentType, await registry.metrics());
      },
    }),
    route({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tag: 'system',
      permission: 'public',
      response: { status: 200, description: 'OpenAPI document' },
      async handle() {
        return getOpenApi();
      },
    }),
  ];
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
