import { z } from 'zod';
import { parseSmppAccounts } from './deliver/account-config.ts';
import { AppError } from './errors.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/**
 * The whole configuration: one schema over the environment. Every key is described and has a
 * default where one is safe. The README's configuration table is checked against this schema.
 */
export const configSchema = z.object({
  // service
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development').describe('Runtime mode.'),
  HOST: z.string().default('0.0.0.0').describe('Address the HTTP API listens on.'),
  PORT: int(0, 65535).default(8080).describe('Port of the HTTP API (0 = any free port).'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level; per-ping logs appear only at debug.'),
  DATA_DIR: z
    .string()
    .default('./data')
    .describe('Local data folder: embedded ClickHouse, writer spill files.'),

  // geofences
  GEOFENCES_DIR: z
    .string()
    .default('./geofences')
    .describe('Folder of GeoJSON FeatureCollections loaded at start-up.'),
  GEOFENCE_MAX_VERTICES: int(4, 1_000_000).default(2000).describe('Most vertices one fence may have.'),
  GEOFENCE_MAX_AREA_KM2: num(0.0001, 100_000)
    .default(50)
    .describe('Largest area one fence may cover, in km².'),
  GEOFENCE_DEFAULT_MAX_ACCURACY_M: int(1, 100_000)
    .default(500)
    .describe('Largest ping uncertainty a fence accepts when it does not say (metres).'),

  // store
  CLICKHOUSE_URL: optionalString.describe(
    'ClickHouse server URL (http://host:8123). Unset: embedded ClickHouse (chDB) under DATA_DIR.',
  ),
  CLICKHOUSE_USER: z.string().default('default').describe('ClickHouse user (server mode).'),
  CLICKHOUSE_PASSWORD: z.string().default('').describe('ClickHouse password (server mode).'),
  CLICKHOUSE_DATABASE: z.string().default('geotrigger').describe('ClickHouse database name.'),
  PERSONAL_DATA_TTL_DAYS: int(1, 3650).default(180).describe('Days decisions and messages are kept.'),
  REPORT_MIN_GROUP_SIZE: int(1, 1_000_000)
    .default(10)
    .describe('Aggregates covering fewer distinct subscribers are suppressed in reports.'),

  // segments and profiles
  SEGMENTS_DIR: z.string().default('./segments').describe('Folder of segment JSON files loaded at start-up.'),
  PROFILES_CAPACITY: int(16, 200_000_000)
    .default(1_000_000)
    .describe(
      'Initial slots of the in-memory profile store (it doubles when full); size it to the subscriber base.',
    ),
  PROFILES_IMPORT_LIMIT: z
    .string()
    .default('500mb')
    .describe('Largest profile upload accepted by POST /v1/subscribers/import.'),

  // ingest
  KAFKA_BROKERS: optionalString.describe(
    'Comma-separated Kafka bootstrap servers. Unset: pings over HTTP only.',
  ),
  KAFKA_CLIENT_ID: z.string().default('geotrigger').describe('Kafka client id.'),
  KAFKA_GROUP_ID: z.string().default('geotrigger').describe('Kafka consumer group of the ping consumers.'),
  PINGS_TOPIC: z.string().default('pings').describe('Topic of location pings (key = subscriber pseudonym).'),
  DLQ_TOPIC: z.string().default('pings-dlq').describe('Dead-letter topic for invalid pings.'),
  PROFILES_TOPIC: optionalString.describe(
    'Topic of subscriber profile updates (key = sid). Unset: not consumed.',
  ),
  KAFKA_FETCH_MAX_WAIT_MS: int(10, 10_000)
    .default(100)
    .describe(
      'Longest a ping fetch waits at the broker for new data (ms). It bounds the latency a quiet partition adds; kafkajs defaults to 5000, which held pings for seconds.',
    ),
  KAFKA_FROM_BEGINNING: bool
    .default(false)
    .describe('A new consumer group starts at the oldest ping (true) or the newest (false).'),
  KAFKA_WARMUP_MESSAGES: int(0, 100_000_000)
    .default(200_000)
    .describe(
      'On partition assignment, re-read up to this many pings before the committed offset (events muted) to rebuild presence state. 0 = off.',
    ),
  INGEST_WORKER: bool
    .default(true)
    .describe(
      'Decode, geofence match and presence run in a worker thread (true), leaving the main thread to Kafka, decisions, the writer and SMPP; false: all on the main thread.',
    ),
  PING_MAX_FUTURE_SEC: int(0, 86_400)
    .default(300)
    .describe('Pings stamped further ahead than this are invalid (s).'),
  PING_MAX_AGE_HOURS: int(1, 8_760).default(168).describe('Pings older than this are invalid (hours).'),
  PINGS_REPLAY_FILE: optionalString.describe('NDJSON file of pings replayed at start-up (demos, backtests).'),
  PINGS_REPLAY_SPEED: num(0, 1_000_000)
    .default(1)
    .describe(
      'Replay speed of PINGS_REPLAY_FILE: 1 = real time, 60 = a minute per second, 0 = as fast as possible.',
    ),
  DECIDE_REPLAY_WINDOW_MINUTES: int(0, 1440)
    .default(15)
    .describe(
      'After a restart, presence events decided in this many minutes before it (same subscriber, fence, trigger and ping time) are dropped when re-read from Kafka, for as long again; 0 = off.',
    ),

  // presence
  PRESENCE_DWELL_MINUTES: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'comma-separated minutes, e.g. 10 or 5,15,30')
    .default('10')
    .describe('Dwell thresholds in minutes (comma-separated); one dwell event per threshold crossed.'),
  PRESENCE_EXIT_TIMEOUT_MIN: num(1, 1_440)
    .default(30)
    .describe('A visit with no ping inside for this long ends with a timeout exit (minutes).'),
  PRESENCE_HYSTERESIS_M: num(0, 10_000)
    .default(50)
    .describe('Least margin outside a fence that ends a visit; the ping accuracy widens it (metres).'),
  PRESENCE_STATE_TTL_MIN: num(1, 10_080)
    .default(120)
    .describe('A subscriber with no open visit and no ping for this long is forgotten (minutes).'),
  PRESENCE_LATE_TOLERANCE_SEC: num(0, 86_400)
    .default(60)
    .describe('Pings older than the newest seen for the subscriber by more than this change nothing (s).'),
  PRESENCE_NEW_FENCE_POLICY: z
    .enum(['suppress', 'enter'])
    .default('suppress')
    .describe(
      'Subscribers already inside a newly created fence: suppress = no enter until they leave and return; enter = enter at once.',
    ),

  // api
  ADMIN_API_KEY: optionalString.describe(
    'Bootstrap admin API key (Bearer token). Unset: one is generated and logged once.',
  ),
  API_BODY_LIMIT: z.string().default('5mb').describe('Largest accepted request body.'),
  API_RATE_LIMIT_PER_MIN: int(1, 10_000_000).default(600).describe('Requests per minute per API key.'),

  // delivery
  SMPP_ACCOUNTS: optionalString
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        parseSmppAccounts(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      }
    })
    .describe(
      'JSON array of SMSC accounts: systemId (required), host, port, password, systemType, bindType (transceiver | transmitter+receiver), binds, tps (parts/s per bind), senderIdTps, window, enquireLinkSec, responseTimeoutMs, reconnectMinMs, reconnectMaxMs, throttleBackoffMs, validityMinutes (default 120), registeredDelivery. Unset: the local SMSC simulator.',
    ),
  SMSC_SIM_PORT: int(0, 65535)
    .default(2775)
    .describe('Port of the SMSC simulator (`npm run smsc`, and the service when SMPP_ACCOUNTS is unset).'),
  SMSC_SIM_TPS: int(0, 1_000_000)
    .default(200)
    .describe(
      'Submits per second the SMSC simulator accepts before answering ESME_RTHROTTLED (0 = no limit).',
    ),
  DELIVERY_OUTBOX_RETENTION_DAYS: int(1, 365)
    .default(2)
    .describe('Days the delivery outbox journal (DATA_DIR/deliver) remembers idempotency keys.'),
  DIRECTORY_FILE: optionalString.describe('CSV/NDJSON of sid → phone number used by delivery only.'),
  DEMO: bool
    .default(true)
    .describe('Load the demo subscriber base, consents and campaign when no data exists.'),
  DEMO_SUBSCRIBERS: int(0, 50_000_000)
    .default(20_000)
    .describe(
      'Size of the generated demo subscriber base (DEMO only; `npm run simulate` walks the same ones).',
    ),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000)
    .default(15_000)
    .describe(
      'On SIGTERM/SIGINT, how long to wait for SMPP responses still outstanding before unbinding (ms).',
    ),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Parses the environment once; an invalid value stops start-up with a readable message. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new AppError('CONFIG_INVALID', `invalid configuration:\n${lines.join('\n')}`, {
      details: parsed.error.issues,
    });
  }
  return Object.freeze(parsed.data);
}
