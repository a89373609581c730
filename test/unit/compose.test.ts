import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../common/config';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../domain/search-attributes';

/** docker-compose.yml is only run by operators, so its wiring is checked here against the code it deploys. */

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test: string[] | string };
  container_name?: string;
  ports?: unknown[];
  volumes?: unknown[];
  hostname?: string;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(fs.readFileSync(path.join(__dirname, '../../docker-compose.yml'), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, Service>;
  configs?: Record<string, { content?: string }>;
};
const services = compose.services;

/** Variables the AWS SDK reads itself; not part of our config schema. */
const AWS_SDK_VARS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

/** Compose substitutes ${VAR:-default} from the host; the test uses the default. Null = passed through if set. */
function resolvedEnv(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(service.environment ?? {})) {
    if (value === null) continue;
    env[key] = String(value).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
  }
  return env;
}

/**
 * The config schema strips unknown keys, so a misspelt variable is one that does not survive parsing.
 * A pass-through (null) variable is optional with no default: it survives only when given a value.
 */
function acceptsPassThrough(key: string, service: Service): boolean {
  if (service.environment?.[key] !== null) return false;
  return key in loadConfig({ ...resolvedEnv(service), [key]: 'pw_' + 'x'.repeat(40) });
}

describe('docker-compose.yml', () => {
  it('defines every service of the production stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'mongo', 'postgres', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'worker'].sort(),
    );
  });

  it.each(['postgres', 'temporal', 'mongo', 'api'])('%s has a health check', (name) => {
    expect(services[name].healthcheck?.test).toBeTruthy();
  });

  it('starts dependants only when what they need is ready', () => {
    expect(services.temporal.depends_on?.postgres.condition).toBe('service_healthy');
    expect(services['temporal-admin-tools'].depends_on?.temporal.condition).toBe('service_healthy');
    expect(services['temporal-ui'].depends_on?.temporal.condition).toBe('service_healthy');
    for (const name of ['worker', 'api']) {
      expect(services[name].depends_on).toEqual({
        'temporal-admin-tools': { condition: 'service_completed_successfully' },
        mongo: { condition: 'service_healthy' },
      });
    }
  });

  it('runs Temporal on PostgreSQL with updates enabled', () => {
    expect(services.temporal.image).toMatch(/^temporalio\/auto-setup:/);
    expect(services.temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    const dynamicConfig = compose.configs?.['temporal-dynamic-config']?.content ?? '';
    const parsed = parse(dynamicConfig) as Record<string, { value: unknown }[]>;
    expect(parsed['frontend.enableUpdateWorkflowExecution']).toEqual([{ value: true }]);
    expect(parsed['frontend.enableUpdateWorkflowExecutionAsyncAccepted']).toEqual([{ value: true }]);
  });

  it('registers exactly the search attributes of domain/search-attributes.ts', () => {
    const script = ([] as string[]).concat(services['temporal-admin-tools'].command ?? []).join('\n');
    const registered = [...script.matchAll(/\b(Patchwave\w+)=(\w+)/g)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(registered)).toEqual(SEARCH_ATTRIBUTE_FLAGS);
  });

  it.each(['worker', 'api'])('%s runs the built entry point with a valid configuration', (name) => {
    const service = services[name];
    expect(service.build).toBeDefined();
    expect(service.command).toEqual(['node', `dist/${name}/main.js`]);
    const env = resolvedEnv(service);
    const config = loadConfig(env); // throws on an invalid value
    const unknown = Object.keys(service.environment ?? {}).filter(
      (k) => !AWS_SDK_VARS.has(k) && !(k in config) && !acceptsPassThrough(k, service),
    );
    expect(unknown).toEqual([]);
    expect(config.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(config.MONGODB_URI).toBe('mongodb://mongo:27017/');
  });

  it('lets the worker scale out (docker compose up --scale worker=3): nothing fixed per container', () => {
    // Workers share one task queue and hold no state of their own; a fixed name, host port, hostname or
    // volume would make a second replica fail to start or share what it must not.
    const w = services.worker;
    expect(w.container_name).toBeUndefined();
    expect(w.ports ?? []).toEqual([]);
    expect(w.hostname).toBeUndefined();
    expect(w.volumes ?? []).toEqual([]);
    expect(resolvedEnv(w).PATCHWAVE_TASK_QUEUE).toBe(resolvedEnv(services.api).PATCHWAVE_TASK_QUEUE);
  });

  it('makes the API reachable from outside its container', () => {
    expect(resolvedEnv(services.api)).toMatchObject({ API_HOST: '0.0.0.0', API_PORT: '8080' });
  });
});
