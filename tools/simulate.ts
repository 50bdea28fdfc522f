// `npm run simulate`: synthetic demo subscribers walking around the sample stores, their location pings
// sent to the running service — HTTP NDJSON to POST /v1/pings, or Kafka (key = sid) when KAFKA_BROKERS
// is set. Pings carry real wall-clock timestamps, a few seconds apart per subscriber.
//
//   npm run simulate                                   2000 subscribers for 120 s against http://localhost:8080
//   npm run simulate -- --subscribers 500 --duration 0 until Ctrl-C
//   npm run simulate -- --url http://host:8080 --key $KEY --rate 200
//
// The key: --key, else ADMIN_API_KEY, else DATA_DIR/admin-api-key (written by the service on first start).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { type Config, loadConfig } from '../src/config.ts';
import { demoSid } from '../src/demo.ts';
import { isAppError } from '../src/errors.ts';
import { createMatcher, loadCatalogue } from '../src/geo/index.ts';
import type { Ping } from '../src/ingest/index.ts';
import { createMovement } from './sim/movement.ts';

const USAGE = `usage: npm run simulate -- [options]
  --subscribers N   demo subscribers to move (default 2000; the first N of the demo base)
  --duration S      seconds to run, 0 = until Ctrl-C (default 120)
  --rate N          at most N pings per second in total (default 1000)
  --interval S      seconds between two pings of one subscriber (default 5)
  --url URL         the service (default http://localhost:$PORT, PORT default 8080)
  --key KEY         API key (default ADMIN_API_KEY, else DATA_DIR/admin-api-key)
  --transport T     auto | http | kafka (default auto: kafka when KAFKA_BROKERS is set)
  --seed N          movement seed (default 1)`;

class SimError extends Error {}

const STATUS_EVERY_MS = 5_000;
/** Give up when every send failed for this long. */
const GIVE_UP_AFTER_MS = 15_000;

function fail(message: string, code = 1): never {
  process.stderr.write(`simulate: ${message}\n`);
  process.exit(code);
}

function numberFlag(name: string, raw: string, opts: { min: number; integer?: boolean }): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) || v < opts.min) {
    fail(
      `--${name} must be ${opts.integer ? 'an integer' : 'a number'} ≥ ${opts.min}, got "${raw}"\n${USAGE}`,
      2,
    );
  }
  return v;
}

interface SendResult {
  accepted: number;
  rejected: number;
  reasons: Record<string, number>;
}

interface PingSink {
  readonly label: string;
  /** Checks the far end answers (and accepts the key) before the walk starts. */
  check(): Promise<void>;
  send(pings: readonly Ping[]): Promise<SendResult>;
  close(): Promise<void>;
}

async function resolveKey(config: Config, flag: string | undefined): Promise<string> {
  if (flag) return flag;
  if (config.ADMIN_API_KEY) return config.ADMIN_API_KEY;
  const file = join(config.DATA_DIR, 'admin-api-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key) return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new SimError(`cannot read the API key from ${file}: ${(err as Error).message}`);
  }
  throw new SimError(
    `no API key: set ADMIN_API_KEY, pass --key, or start the service once (npm start) so it writes ${file}`,
  );
}

/** Why a fetch failed, in words: the cause's code (ECONNREFUSED, ENOTFOUND, ...) or its message. */
function fetchFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer within the timeout';
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

function httpSink(url: string, key: string): PingSink {
  const endpoint = `${url}/v1/pings`;
  const post = async (body: string) => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw new SimError(
        `the service at ${url} rejected the API key (HTTP ${res.status}): ${problemDetail(text)}. ` +
          'Use the key in DATA_DIR/admin-api-key of the running service (or ADMIN_API_KEY), or an ingest key via --key',
      );
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${problemDetail(text)}`);
    return JSON.parse(text) as { accepted: number; rejectedCount: number; rejected: { reason: string }[] };
  };
  return {
    label: endpoint,
    async check() {
      try {
        await fetch(`${url}/livez`, { signal: AbortSignal.timeout(5_000) });
      } catch (err) {
        throw new SimError(
          `cannot reach the service at ${url} (${fetchFailure(err)}): start it with \`npm start\` or pass --url`,
        );
      }
      // An empty batch: checks the key and the route without sending anything.
      await post('');
    },
    async send(pings) {
      let body = '';
      for (const p of pings) body += `${JSON.stringify(p)}\n`;
      let r: Awaited<ReturnType<typeof post>>;
      try {
        r = await post(body);
      } catch (err) {
        if (err instanceof SimError || (err instanceof Error && err.message.startsWith('HTTP '))) throw err;
        throw new Error(`cannot reach ${endpoint} (${fetchFailure(err)})`);
      }
      const reasons: Record<string, number> = {};
      for (const x of r.rejected) reasons[x.reason] = (reasons[x.reason] ?? 0) + 1;
      return { accepted: r.accepted, rejected: r.rejectedCount, reasons };
    },
    async close() {},
  };
}

function problemDetail(text: string): string {
  try {
    const p = JSON.parse(text) as { detail?: string; title?: string };
    return p.detail ?? p.title ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

function kafkaSink(config: Config): PingSink {
  const brokers = config.KAFKA_BROKERS!.split(',').map((b) => b.trim());
  const kafka = new Kafka({
    clientId: `${config.KAFKA_CLIENT_ID}-simulate`,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { retries: 2 },
  });
  let producer: Producer | undefined;
  const topic = config.PINGS_TOPIC;
  return {
    label: `Kafka ${brokers.join(',')} topic ${topic}`,
    async check() {
      const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      try {
        await p.connect();
      } catch (err) {
        throw new SimError(
          `cannot reach Kafka at ${brokers.join(',')} (${(err as Error).message}): check KAFKA_BROKERS`,
        );
      }
      producer = p;
    },
    async send(pings) {
      // Key = sid: one subscriber's pings stay on one partition, in order (what the service relies on).
      await producer!.send({
        topic,
        acks: -1,
        messages: pings.map((p) => ({ key: p.sid, value: JSON.stringify(p) })),
      });
      return { accepted: pings.length, rejected: 0, reasons: {} };
    },
    async close() {
      await producer?.disconnect();
    },
  };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`, 2);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (isAppError(err, 'CONFIG_INVALID')) fail(err.message, 2);
    throw err;
  }
  const subscribers = numberFlag('subscribers', values.subscribers, { min: 1, integer: true });
  const durationSec = numberFlag('duration', values.duration, { min: 0 });
  const rate = numberFlag('rate', values.rate, { min: 1, integer: true });
  const intervalSec = numberFlag('interval', values.interval, { min: 1 });
  const seed = numberFlag('seed', values.seed, { min: 0, integer: true });
  const transport = values.transport;
  if (transport !== 'auto' && transport !== 'http' && transport !== 'kafka')
    fail(`--transport must be auto, http or kafka, got "${transport}"`, 2);
  if (transport === 'kafka' && !config.KAFKA_BROKERS)
    fail('--transport kafka needs KAFKA_BROKERS (comma-separated bootstrap servers)', 2);
  const useKafka = transport === 'kafka' || (transport === 'auto' && config.KAFKA_BROKERS !== undefined);
  const url = (values.url ?? `http://localhost:${config.PORT || 8080}`).replace(/\/+$/, '');
  if (!useKafka && !/^https?:\/\/[^/]+/.test(url)) fail(`--url must be an http(s) URL, got "${url}"`, 2);

  const catalogue = await loadCatalogue(config.GEOFENCES_DIR, {
    maxVertices: config.GEOFENCE_MAX_VERTICES,
    maxAreaKm2: config.GEOFENCE_MAX_AREA_KM2,
    defaultMaxAccuracyM: config.GEOFENCE_DEFAULT_MAX_ACCURACY_M,
  }).catch((err: Error) => fail(`cannot read geofences from ${config.GEOFENCES_DIR}: ${err.message}`));
  if (catalogue.fences.length === 0) fail(`no valid geofences in ${config.GEOFENCES_DIR}`);
  if (catalogue.errors.length > 0)
    process.stderr.write(`simulate: skipped ${catalogue.errors.length} invalid geofences\n`);

  // The interval stretches so the whole crowd fits under the rate cap.
  const intervalMs = Math.max(intervalSec * 1000, Math.ceil((subscribers / rate) * 1000));

  const sink = useKafka ? kafkaSink(config) : httpSink(url, await resolveKey(config, values.key));
  await sink.check();

  if (config.DEMO && subscribers > config.DEMO_SUBSCRIBERS) {
    process.stderr.write(
      `simulate: only ${config.DEMO_SUBSCRIBERS} demo subscribers have profiles (DEMO_SUBSCRIBERS); the other ${subscribers - config.DEMO_SUBSCRIBERS} are unknown to segments\n`,
    );
  }
  const startMs = Date.now();
  const movement = createMovement({
    matcher: createMatcher({ fences: catalogue.fences }),
    subscribers,
    sidOf: demoSid,
    seed,
    startMs,
    intervalMs,
  });
  const goers = movement.walkers.filter((w) => w.firstStoreId !== undefined).length;
  console.log(
    `simulating ${subscribers} demo subscribers (${goers} heading for one of ${catalogue.fences.length} stores), ` +
      `a ping every ${(intervalMs / 1000).toFixed(1)} s each (~${Math.round(subscribers / (intervalMs / 1000))}/s) → ${sink.label}, ` +
      (durationSec > 0 ? `for ${durationSec} s` : 'until Ctrl-C'),
  );
  if (intervalMs > intervalSec * 1000)
    console.log(`(interval stretched from ${intervalSec} s to keep under --rate ${rate})`);

  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const errorsLabel = useKafka ? 'Kafka errors' : 'HTTP errors';
  const totals = { sent: 0, accepted: 0, rejected: 0, errors: 0, dropped: 0 };
  const reasons: Record<string, number> = {};
  const queue: Ping[] = [];
  let lastError = '';
  let failingSince = 0;
  let lastStatus = startMs;
  let nextStatus = startMs + STATUS_EVERY_MS;
  let sentAtStatus = 0;
  const deadline = durationSec > 0 ? startMs + durationSec * 1000 : Number.POSITIVE_INFINITY;

  const status = (now: number) => {
    const perSec = ((totals.sent - sentAtStatus) * 1000) / Math.max(1, now - lastStatus);
    const browsing = movement.walkers.filter((w) => w.mode === 'browse').length;
    const visits = movement.walkers.reduce((n, w) => n + w.visits, 0);
    console.log(
      `[${String(Math.round((now - startMs) / 1000)).padStart(4)} s] pings sent ${totals.sent} (${Math.round(perSec)}/s), ` +
        (useKafka ? '' : `accepted ${totals.accepted}, rejected ${totals.rejected} `) +
        `· inside stores ${movement.insideCount()} ` +
        `(browsing ${browsing}, store visits so far ${visits}) · ${errorsLabel} ${totals.errors}` +
        (totals.errors > 0 && lastError ? ` (last: ${lastError})` : ''),
    );
    lastStatus = now;
    nextStatus += STATUS_EVERY_MS;
    sentAtStatus = totals.sent;
  };

  while (!stopping && Date.now() < deadline) {
    const tick = Date.now();
    for (const f of movement.advance(tick)) queue.push(f.ping);
    // One batch a second, never more than the rate cap; the rest waits for the next tick.
    const batch = queue.splice(0, rate);
    if (batch.length > 0) {
      try {
        const r = await sink.send(batch);
        totals.sent += batch.length;
        totals.accepted += r.accepted;
        totals.rejected += r.rejected;
        for (const [k, n] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + n;
        failingSince = 0;
      } catch (err) {
        if (err instanceof SimError) throw err;
        totals.errors++;
        totals.dropped += batch.length;
        lastError = (err as Error).message;
        failingSince ||= tick;
        if (tick - failingSince > GIVE_UP_AFTER_MS)
          throw new SimError(`every send failed for ${GIVE_UP_AFTER_MS / 1000} s; last error: ${lastError}`);
      }
    }
    const now = Date.now();
    if (now >= nextStatus) status(now);
    const wait = 1000 - (now - tick);
    if (wait > 0 && !stopping) await new Promise((r) => setTimeout(r, Math.min(wait, deadline - now)));
  }
  await sink.close();
  const secs = (Date.now() - startMs) / 1000;
  const visits = movement.walkers.reduce((n, w) => n + w.visits, 0);
  console.log(
    `done: ${totals.sent} pings in ${secs.toFixed(0)} s (${Math.round(totals.sent / secs)}/s), ` +
      (useKafka
        ? ''
        : `accepted ${totals.accepted}, rejected ${totals.rejected}${Object.keys(reasons).length ? ` ${JSON.stringify(reasons)}` : ''}, `) +
      `${errorsLabel.toLowerCase()} ${totals.errors} (${totals.dropped} pings not delivered); ${visits} store visits walked`,
  );
  if (!useKafka) {
    const keyRef = config.ADMIN_API_KEY
      ? '$ADMIN_API_KEY'
      : `$(cat ${join(config.DATA_DIR, 'admin-api-key')})`;
    console.log(`see the results: curl -s ${url}/v1/campaigns -H "Authorization: Bearer ${keyRef}"`);
  }
}

function parseOptions() {
  return parseArgs({
    options: {
      subscribers: { type: 'string', default: '2000' },
      duration: { type: 'string', default: '120' },
      rate: { type: 'string', default: '1000' },
      interval: { type: 'string', default: '5' },
      url: { type: 'string' },
      key: { type: 'string' },
      transport: { type: 'string', default: 'auto' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

try {
  await main();
  process.exit(0);
} catch (err) {
  if (err instanceof SimError) fail(err.message);
  throw err;
}
