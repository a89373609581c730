import { z } from 'zod';

/**
 * All process configuration comes from the environment, validated once at start-up so a typo fails loudly.
 * Production code has no lab branches: pointing AWS_ENDPOINT_URL at the fleet lab is the only difference.
 */
const Env = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  PATCHWAVE_TASK_QUEUE: z.string().default('patchwave'),
  MONGODB_URI: z.string().default('mongodb://127.0.0.1:27017/'),
  MONGODB_DB: z.string().default('patchwave'),
  AWS_REGION: z.string().default('us-east-1'),
  /** Custom AWS endpoint for every client (the fleet lab in development). Unset = real AWS. */
  AWS_ENDPOINT_URL: z.string().url().optional(),
  AWS_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  /**
   * S3 bucket Patchwave writes machines' BaselineOverride files to (patch filters, docs/aws-fields.md); the
   * nodes' instance profiles must be allowed to read it. Unset: a machine with filters is OMITTED with a reason.
   */
  PATCHWAVE_BASELINE_BUCKET: z.string().optional(),
  /** Region of PATCHWAVE_BASELINE_BUCKET; default AWS_REGION. */
  PATCHWAVE_BASELINE_BUCKET_REGION: z.string().optional(),
  /** Hosts to which hooks and webhooks may use plain http or loopback/private addresses (e.g. the lab). */
  PATCHWAVE_HTTP_ALLOWLIST: z.string().default(''),
  /** Notifications (docs/notifications.md): e-mail over SMTP, e.g. smtp://user:pass@mail.example.com:587; unset = e-mail channels fail. */
  SMTP_URL: z.string().optional(),
  SMTP_FROM: z.string().default('Patchwave <patchwave@localhost>'),
  /** HMAC key for webhook channels without their own `secret_ref`. */
  PATCHWAVE_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Timeout of one call to a notification channel; each delivery makes at most 3 calls. */
  NOTIFY_CHANNEL_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** incoming_patching notices, in hours before an event's start (seed 004: 24 h and 1 h). */
  NOTIFY_INCOMING_LEAD_HOURS: z.string().default('24,1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  API_HOST: z.string().default('127.0.0.1'),
  /** Largest JSON body the API accepts; bigger requests get 413. */
  API_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Token bucket per API key (and per client address for failed logins): sustained rate and burst. */
  API_RATE_LIMIT_PER_SEC: z.coerce.number().positive().default(50),
  API_RATE_LIMIT_BURST: z.coerce.number().int().positive().default(200),
  /** A fixed first admin key (`pw_…`); unset = one is generated and printed once on a fresh install. */
  PATCHWAVE_BOOTSTRAP_KEY: z.string().min(24).optional(),
  LAB_PORT: z.coerce.number().int().min(0).max(65535).default(4566),
  /** Timeout of one hook call (Lambda, Azure); the window end bounds it further. */
  HOOK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  /** SSM command polling: starts at MIN and grows to MAX while a command runs. */
  SSM_POLL_MIN_MS: z.coerce.number().int().positive().default(2_000),
  SSM_POLL_MAX_MS: z.coerce.number().int().positive().default(60_000),
  /**
   * While someone waits for a machine (a queued request, the requester's next command on it, the window end),
   * its running command is asked about directly this often instead of waiting for the shared sweep.
   */
  SSM_WAIT_POLL_MS: z.coerce.number().int().positive().default(1_000),
  /**
   * Event-driven completion (off when unset): an SQS queue URL that an EventBridge rule fills with SSM's
   * "EC2 Command Invocation Status-change Notification" events (docs/operations.md#command-events). The worker
   * long-polls it; a terminal event for a command it follows makes it ask SSM at once. Polling stays the fallback.
   */
  PATCHWAVE_COMMAND_EVENTS_QUEUE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** How long a just-sent command may be unknown to SSM before it counts as lost. */
  SSM_UNKNOWN_GRACE_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 60_000),
  /**
   * How long a worker reuses a DescribeInstanceInformation answer (a run's "is the agent online?"). SSM refreshes
   * PingStatus only every few minutes, so a minute costs nothing in accuracy.
   */
  SSM_PING_CACHE_MS: z.coerce.number().int().min(0).default(60_000),
  /** How often the `machine-pings/<task queue>` schedule refreshes every machine's ping_status; 0 = never. */
  MACHINE_PING_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(300),
  /** Upcoming events are kept in existence this far ahead. */
  SCHEDULE_HORIZON_HOURS: z.coerce.number().positive().default(72),
  /** The Temporal UI's address (e.g. http://127.0.0.1:8233); the console links events and machine runs to it. */
  PATCHWAVE_TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The built console (index.html and assets) served at `/`; unset = console/dist of this checkout. */
  PATCHWAVE_CONSOLE_DIR: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof Env>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function httpAllowlist(cfg: Pick<Config, 'PATCHWAVE_HTTP_ALLOWLIST'>): string[] {
  return cfg.PATCHWAVE_HTTP_ALLOWLIST.split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}
