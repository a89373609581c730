import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process. The API serves it at /metrics; activities import the hook and
 * SSM instruments from here so a worker process can expose the same names (it needs its own endpoint).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'patchwave_process_' });

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export const httpRequests = new Counter({
  name: 'patchwave_http_requests_total',
  help: 'HTTP requests answered by the API, by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpLatency = new Histogram({
  name: 'patchwave_http_request_duration_seconds',
  help: 'API request latency by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** Hook calls: `type` lambda|azure|script, `outcome` success|failure (2xx = success, docs/behaviour.md#hook-run). */
export const hookCalls = new Counter({
  name: 'patchwave_hook_calls_total',
  help: 'Hook calls made by activities, by hook type and outcome',
  labelNames: ['type', 'outcome'] as const,
  registers: [registry],
});

export const hookLatency = new Histogram({
  name: 'patchwave_hook_call_duration_seconds',
  help: 'Hook call latency by hook type',
  labelNames: ['type'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** SSM API calls: `operation` e.g. SendCommand, `outcome` ok|error|throttled. */
export const ssmCalls = new Counter({
  name: 'patchwave_ssm_calls_total',
  help: 'SSM API calls made by activities, by operation and outcome',
  labelNames: ['operation', 'outcome'] as const,
  registers: [registry],
});

export const ssmLatency = new Histogram({
  name: 'patchwave_ssm_call_duration_seconds',
  help: 'SSM API call latency by operation',
  labelNames: ['operation'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/**
 * Messages of the command events queue (PATCHWAVE_COMMAND_EVENTS_QUEUE_URL): `outcome` wakeup (a followed command
 * ended), unknown (a command this worker does not follow), ignored (not a terminal invocation event), malformed.
 */
export const commandEvents = new Counter({
  name: 'patchwave_command_events_total',
  help: 'Command status-change events read from the SQS queue, by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Failed SQS calls of the command events queue (`operation` ReceiveMessage|DeleteMessageBatch). */
export const commandEventErrors = new Counter({
  name: 'patchwave_command_event_errors_total',
  help: 'Failed SQS calls of the command events queue, by operation',
  labelNames: ['operation'] as const,
  registers: [registry],
});

/** Set at scrape time from the store (see api/metrics-route.ts). */
export const eventsByStatus = new Gauge({
  name: 'patchwave_events',
  help: 'Events in the store by status',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const machinesByStatus = new Gauge({
  name: 'patchwave_event_machines',
  help: 'Machine runs (machine × event) in the store by status',
  labelNames: ['status'] as const,
  registers: [registry],
});

/** Times `fn` and records it on a histogram and counter pair; rethrows what `fn` throws. */
export async function timed<T>(
  latency: Histogram<string>,
  labels: Record<string, string>,
  fn: () => Promise<T>,
): Promise<T> {
  const end = latency.startTimer(labels);
  try {
    return await fn();
  } finally {
    end();
  }
}
