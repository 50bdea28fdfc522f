// The whole service at national scale: pings from the Kafka-protocol broker through ingest → match →
// presence → decide → deliver (SMPP to the SMSC simulator in its own process) and the store writer
// (embedded ClickHouse), started with `startService` exactly as `npm start` wires it. Only the data is
// seeded differently: a generated profile base of SUBSCRIBERS, 100k fences, 500 active campaigns.
//
// Phases, one run:
//   1. raw ceiling — kafkajs eachBatch + JSON.parse over the backlog topic, in this process, before the
//      service starts (the same client library and broker the service uses);
//   2. sustained — the service consumes the same backlog (BACKLOG pings) as fast as it can;
//   3. latency — a producer process paces each of RATES pings/s for LATENCY_SEC; ping → submit_sm_resp
//      latency of every proximity SMS triggered in that window (ping `ts` is its production time).
// RSS of this process (the service; the broker, SMSC and producer run in their own processes).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { Kafka, logLevel } from 'kafkajs';
import type { CampaignInput } from '../src/campaigns/index.ts';
import { loadConfig } from '../src/config.ts';
import type { Directory } from '../src/deliver/index.ts';
import { createLogger } from '../src/logger.ts';
import { generateSubscribers } from '../src/segments/index.ts';
import { type SeedContext, startService } from '../src/service.ts';
import { startKafkaMock } from '../test/helpers/kafka-mock/index.ts';
import { createRandom } from './lib/random.ts';

const SEED = Number(process.env.SEED ?? 42);
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 24_000_000);
const ACTIVE = Number(process.env.ACTIVE ?? 200_000);
const FENCES = Number(process.env.FENCES ?? 100_000);
const CAMPAIGNS = Number(process.env.CAMPAIGNS ?? 500);
const TENANTS = 50;
const BACKLOG = Number(process.env.BACKLOG ?? 1_000_000);
const RATES = (process.env.RATES ?? '50000,15000').split(',').map(Number);
const LATENCY_SEC = Number(process.env.LATENCY_SEC ?? 30);
const PARTITIONS = Number(process.env.PARTITIONS ?? 32);
// decode → match → presence in the ingest worker (the service's default) or on the main thread
const INGEST_WORKER = process.env.INGEST_WORKER ?? 'true';
const SIDS_SEED = 2027;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number) => `${fmt(b / 2 ** 20)} MB`;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
let peakRss = 0;
let lastCounters = new Map<string, number>();
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const rssTimer = setInterval(sampleRss, 250);

console.log('pipeline benchmark: Kafka → ingest → match → presence → decide → SMPP + ClickHouse');
console.log(
  `  seed ${SEED}, subscribers ${fmt(SUBSCRIBERS)} (${fmt(ACTIVE)} moving), fences ${fmt(FENCES)}, campaigns ${CAMPAIGNS}, backlog ${fmt(BACKLOG)} pings, paced ${RATES.map(fmt).join(' and ')} pings/s for ${LATENCY_SEC} s each, partitions ${PARTITIONS}, INGEST_WORKER=${INGEST_WORKER}`,
);
console.log(
  `  node ${process.version} (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? ''}), ${process.platform}/${process.arch}, pid ${process.pid}`,
);

const dir = await mkdtemp(join(tmpdir(), 'pipeline-bench-'));
const mock = await startKafkaMock({
  topics: [{ name: 'pings', partitions: PARTITIONS }, { name: 'pings-dlq' }],
});
const sim = await startChild(here('./lib/smsc-process.ts'), {
  tps: 0,
  latencyMs: 1,
  receiptDelayMs: 200,
  outcomeMix: { delivered: 0.95, undeliverable: 0.04, expired: 0.01 },
});
const simPort = (JSON.parse(await sim.line()) as { port: number }).port;

// --- fences: 100k as GeoJSON files, loaded through GEOFENCES_DIR like any catalogue ----------------
let t = performance.now();
// Written by a child process (bench/lib/fence-file-process.ts): only the ids by tenant come back (for
// the campaigns); the service loads the file like any catalogue.
const fenceDir = join(dir, 'geofences');
await mkdir(fenceDir);
const fenceWriter = await startChild(here('./lib/fence-file-process.ts'), {
  seed: SEED,
  count: FENCES,
  tenants: TENANTS,
  file: join(fenceDir, 'bench.geojson'),
});
const fenceIdsByTenant = new Map(
  Object.entries(JSON.parse(await fenceWriter.line()) as Record<string, string[]>),
);
fenceWriter.stop();
console.log(`  wrote ${fmt(FENCES)} fences as GeoJSON in ${fmt(performance.now() - t)} ms`);

// --- phase 1: the backlog and the raw kafkajs ceiling ----------------------------------------------
t = performance.now();
await produce({ count: BACKLOG, rate: 0, phase: 0 });
const kafka = new Kafka({ clientId: 'bench', brokers: mock.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const held = (await admin.fetchTopicOffsets('pings')).reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
console.log(
  `  produced ${fmt(BACKLOG)} pings in ${fmt(performance.now() - t)} ms; the broker holds ${fmt(held)}`,
);
const raw = await rawCeiling(held);
console.log(`  raw kafkajs eachBatch + JSON.parse ceiling: ${fmt(raw.pps)} pings/s (${fmt(raw.ms)} ms)`);

// --- the service --------------------------------------------------------------------------------
const sends: { tsMs: number; latencyMs: number; exit: boolean }[] = [];
let sendFailures = 0;
// The raw-ceiling consumer's garbage is the bench's, not the service's: collect it before the service starts.
(globalThis as { gc?: () => void }).gc?.();
const rssBefore = process.memoryUsage().rss;
t = performance.now();
const config = loadConfig({
  DATA_DIR: join(dir, 'data'),
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  GEOFENCES_DIR: fenceDir,
  SEGMENTS_DIR: here('../segments'),
  PROFILES_CAPACITY: String(SUBSCRIBERS),
  KAFKA_BROKERS: mock.brokers.join(','),
  KAFKA_GROUP_ID: 'geotrigger-bench',
  KAFKA_FROM_BEGINNING: 'true',
  KAFKA_WARMUP_MESSAGES: '0',
  INGEST_WORKER,
  PINGS_TOPIC: 'pings',
  DLQ_TOPIC: 'pings-dlq',
  SMPP_ACCOUNTS: JSON.stringify([
    {
      name: 'sim',
      systemId: 'bench',
      password: 'bench',
      host: '127.0.0.1',
      port: simPort,
      binds: 4,
      tps: 2_500,
      window: 200,
    },
  ]),
  DEMO: 'false',
  SHUTDOWN_TIMEOUT_MS: '5000',
});
const service = await startService(config, createLogger({ level: config.LOG_LEVEL }), {
  seed,
  directory: syntheticDirectory(),
  onSent: (order, result) => {
    if (!result || order.step !== 0) {
      if (!result) sendFailures++;
      return;
    }
    const now = Date.now();
    const eventTs = Number(order.idempotencyKey.slice(order.idempotencyKey.lastIndexOf('|') + 1));
    sends.push({ tsMs: now, latencyMs: now - eventTs, exit: order.idempotencyKey.split('|')[2] === 'exit' });
  },
});
sampleRss();
const startMs = performance.now() - t;
console.log(
  `  service started in ${fmt(startMs)} ms, RSS ${mb(process.memoryUsage().rss)} (before: ${mb(rssBefore)})`,
);
console.log(`  memory after start-up: ${await memoryLine()}`);

// --- phase 2: sustained throughput over the backlog ------------------------------------------------
const sustained = await consumeUntil(held, 600_000);
console.log(
  Number.isNaN(sustained.pps)
    ? `  sustained: not measured — the ${fmt(held)}-ping backlog was consumed while start-up finished (use a larger BACKLOG)`
    : `  sustained: ${fmt(sustained.pps)} pings/s through the whole pipeline (${fmt(held)} pings in ${fmt(sustained.ms)} ms; ${fmt(sends.length)} SMS answered so far)`,
);

await printCounters('service counted', service.port);
if (process.env.HEAP_SNAPSHOT) {
  // What the heap holds after the backlog (open in Chrome DevTools → Memory).
  (globalThis as { gc?: () => void }).gc?.();
  console.log(`  heap snapshot: ${writeHeapSnapshot(process.env.HEAP_SNAPSHOT)}`);
}
if (process.env.STOP_AFTER === 'sustained') {
  console.log(`  memory after the backlog: ${await memoryLine()}`);
  process.exit(0); // profiling runs
}

// --- phase 3: paced load, latency — at the target rate and at a rate this machine sustains ---------
const latencies: { rate: number; n: number; p50: number; p99: number; max: number; lagMs: number }[] = [];
for (const rate of RATES) {
  const before = sends.length;
  const pacedStart = Date.now();
  // How long the service's event loop (shared with this process) was blocked: GC pauses, long tasks.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const committedBefore = await committed();
  const prod = await produce({ count: rate * LATENCY_SEC, rate, phase: latencies.length + 1 });
  const caughtUp = await consumeUntil(committedBefore + prod.done, 600_000, committedBefore);
  await new Promise((r) => setTimeout(r, 2_000)); // submits still in flight
  // Enter and dwell SMS are triggered by a ping. An exit is triggered by a ping outside or, when the
  // subscriber goes quiet, by the exit timeout found by the 10 s sweep (no ping to measure from).
  const phase = sends.slice(before).filter((s) => s.tsMs >= pacedStart);
  const sorted = (xs: typeof phase) => xs.map((s) => s.latencyMs).sort((a, b) => a - b);
  const lat = sorted(phase.filter((s) => !s.exit));
  const exits = sorted(phase.filter((s) => s.exit));
  const pick = (xs: number[], p: number) =>
    xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : Number.NaN;
  const q = (p: number) => pick(lat, p);
  // consumeUntil's clock starts once the producer has finished: that is the service's lag.
  const lagMs = caughtUp.ms;
  latencies.push({
    rate,
    n: lat.length,
    p50: q(0.5),
    p99: q(0.99),
    max: lat[lat.length - 1] ?? Number.NaN,
    lagMs,
  });
  console.log(
    `  paced ${fmt(rate)}/s: produced ${fmt(prod.done)} pings in ${fmt(prod.ms)} ms (${fmt((prod.done / prod.ms) * 1000)} pings/s); the service caught up ${fmt(lagMs)} ms after the producer finished`,
  );
  console.log(
    `    ping → submit_sm_resp over ${fmt(lat.length)} enter/dwell SMS: p50 ${fmt(q(0.5))} ms, p99 ${fmt(q(0.99))} ms, max ${fmt(lat[lat.length - 1] ?? Number.NaN)} ms; ${fmt(exits.length)} exit SMS: p50 ${fmt(pick(exits, 0.5))} ms, p99 ${fmt(pick(exits, 0.99))} ms`,
  );
  loop.disable();
  console.log(
    `    event-loop delay: p50 ${fmt(loop.percentile(50) / 1e6)} ms, p99 ${fmt(loop.percentile(99) / 1e6)} ms, max ${fmt(loop.max / 1e6)} ms`,
  );
  await printCounters('service counted', service.port);
}
sampleRss();
const simStats = JSON.parse(await sim.ask('stats')) as Record<string, number>;
console.log(
  `  SMSC: ${fmt(simStats.received)} submits received, ${fmt(simStats.accepted)} accepted, ${fmt(simStats.receiptsSent)} receipts; send failures ${sendFailures}`,
);
console.log(
  `  RSS: peak ${mb(peakRss)}, now ${mb(process.memoryUsage().rss)}, heap used ${mb(process.memoryUsage().heapUsed)} of ${mb(process.memoryUsage().heapTotal)}, array buffers ${mb(process.memoryUsage().arrayBuffers)} (profile columns, sid tables, consent), the rest is native (embedded ClickHouse, code)`,
);

await service.stop('benchmark done');
await admin.disconnect();
clearInterval(rssTimer);
sim.stop();
await mock.stop();
await rm(dir, { recursive: true, force: true });
console.log('  summary:');
console.log(`    sustained pings/s          ${fmt(sustained.pps)} (target ≥ 100,000)`);
console.log(`    raw kafkajs ceiling        ${fmt(raw.pps)} pings/s (same run, same broker)`);
for (const l of latencies) {
  console.log(
    `    latency at ${fmt(l.rate)}/s    p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms over ${fmt(l.n)} SMS${l.rate === 50_000 ? ' (target p99 ≤ 250 ms at 50,000/s)' : ''}`,
  );
}
console.log(
  `    peak RSS                   ${mb(peakRss)} with ${fmt(SUBSCRIBERS)} profiles (target ≤ 4 GB at 24M)`,
);
process.exit(0);

// -------------------------------------------------------------------------------------------------

/**
 * First-start data: the profile base, consents (80% opted in), campaigns, and a policy without quiet
 * hours that accepts events up to an hour old (the backlog was produced before the service started).
 */
/** RSS split: the V8 heap, array buffers, and the kernel's view (anonymous memory, how much on huge pages). */
async function memoryLine(): Promise<string> {
  const m = process.memoryUsage();
  const smaps = await readFile('/proc/self/smaps_rollup', 'utf8').catch(() => '');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(smaps)?.[1] ?? 0) * 1024;
  return `RSS ${mb(m.rss)} = V8 heap ${mb(m.heapTotal)} (${mb(m.heapUsed)} used) + array buffers ${mb(m.arrayBuffers)} + other native ${mb(m.rss - m.heapTotal - m.arrayBuffers)}; anonymous ${mb(kb('Anonymous'))}, of it on huge pages ${mb(kb('AnonHugePages'))}; file-backed ${mb(kb('Rss') - kb('Anonymous'))}`;
}

async function seed(ctx: SeedContext): Promise<void> {
  let t0 = performance.now();
  const r = createRandom(SEED + 9);
  const nowMs = Date.now();
  const consentRows: { sid: string; status: string; tsMs: number }[] = [];
  const flushConsent = () => {
    ctx.consent.load(consentRows);
    consentRows.length = 0;
  };
  for (const p of generateSubscribers({ seed: SIDS_SEED, count: SUBSCRIBERS, nowMs })) {
    const { sid, ...attrs } = p;
    ctx.profiles.upsert(sid, attrs);
    if (r.chance(0.8)) consentRows.push({ sid, status: 'opt_in', tsMs: nowMs - 86_400_000 });
    if (consentRows.length === 100_000) flushConsent();
  }
  flushConsent();
  sampleRss();
  // The synthetic generator's 24 M profile objects are the bench's garbage, not the service's (its NDJSON
  // loader scans bytes without an object per profile): collect them now, as after the raw-ceiling phase,
  // instead of leaving them in the heap the RSS figure measures.
  (globalThis as { gc?: () => void }).gc?.();
  console.log(
    `  seeded ${fmt(ctx.profiles.size)} profiles + ${fmt(ctx.consent.size)} opt-ins in ${fmt(performance.now() - t0)} ms (profiles and consent in memory only; a real base comes from ClickHouse or the profile topic)`,
  );
  t0 = performance.now();
  const { version, ...policy } = await ctx.campaigns.getPolicy();
  await ctx.campaigns.putPolicy(
    { ...policy, quietHours: null, minIntervalMinutes: 0, maxEventAgeSec: 3_600 },
    version,
    ctx.principal,
  );
  const byTenant = fenceIdsByTenant;
  const segments = [
    'parents',
    'urban-coffee-app-users',
    'young-sports-fans',
    'lapsed-shoppers',
    'premium-postpaid-ios',
  ];
  const tenants = [...byTenant.keys()];
  for (let i = 0; i < CAMPAIGNS; i++) {
    const tenant = tenants[i % tenants.length];
    const own = byTenant.get(tenant)!;
    const kind = r.pick(['enter', 'enter', 'enter', 'dwell', 'exit'] as const);
    const input: CampaignInput = {
      name: `Bench campaign ${i}`,
      fences:
        i % 2 === 0
          ? { ids: Array.from({ length: r.int(20, 200) }, () => r.pick(own)), tags: [] }
          : { ids: [], tags: [r.pick(['grocery', 'fashion', 'electronics', 'pharmacy', 'coffee'])] },
      segmentId: r.pick(segments),
      trigger: kind === 'enter' ? { kind } : { kind, minMinutes: r.int(1, 10) },
      message: {
        senderId: 'SHOP',
        template: '{store_name}: 15% off today with code {promo_code}. Reply NO to stop offers.',
        variants: { uk: '{store_name}: знижка 15% сьогодні з кодом {promo_code}' },
        declineWord: 'NO',
      },
      schedule: {
        start: new Date(nowMs - 86_400_000).toISOString(),
        end: new Date(nowMs + 30 * 86_400_000).toISOString(),
        timeZone: 'Europe/Kyiv',
      },
      caps: { maxPerPeriod: 1, periodHours: 168, cooldownHours: 24 },
      budget: { dailyParts: 10_000_000 },
      holdoutShare: r.pick([0, 0.1]),
      followUps: [],
    };
    const c = await ctx.campaigns.create(tenant, input, ctx.principal);
    for (const action of ['submit', 'approve', 'activate'] as const) {
      await ctx.campaigns.transition(c.id, action, ctx.principal);
    }
    if ((i + 1) % 100 === 0) console.log(`    ${i + 1} campaigns, ${fmt(performance.now() - t0)} ms`);
  }
  console.log(
    `  created ${CAMPAIGNS} active campaigns through the campaign service in ${fmt(performance.now() - t0)} ms`,
  );
}

/** sid → a number derived from it: a stand-in for the operator's number lookup, no 24M-entry table. */
function syntheticDirectory(): Directory {
  return {
    lookup: (sid) =>
      `38067${(Number.parseInt(sid.slice(0, 8), 16) % 10_000_000).toString().padStart(7, '0')}`,
    reverse: () => undefined,
    size: SUBSCRIBERS,
  };
}

async function produce(o: {
  count: number;
  rate: number;
  phase: number;
}): Promise<{ done: number; ms: number }> {
  const child = await startChild(here('./lib/ping-producer.ts'), {
    brokers: mock.brokers,
    topic: 'pings',
    seed: SEED,
    sidSeed: SIDS_SEED,
    subscribers: SUBSCRIBERS,
    active: ACTIVE,
    count: o.count,
    rate: o.rate,
    phase: o.phase,
  });
  for (;;) {
    const msg = JSON.parse(await child.line()) as { done?: number; ms: number };
    if (msg.done !== undefined) {
      child.stop();
      return { done: msg.done, ms: msg.ms };
    }
  }
}

/** The service's own counters (GET /metrics): pings, presence events, decisions by outcome and reason. */
async function serviceCounters(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m =
      /^geotrigger_(pings_received_total|presence_events_total|decisions_total|ingest_backpressure_waits_total|campaign_recompile_seconds_count)(\{[^}]*\})? ([0-9.e+]+)$/.exec(
        line,
      );
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}
/** Prints what the service counted since the last call. */
async function printCounters(label: string, port: number): Promise<void> {
  const now = await serviceCounters(port);
  const delta = (k: string) => (now.get(k) ?? 0) - (lastCounters.get(k) ?? 0);
  const sum = (prefix: string) =>
    [...now.keys()].filter((k) => k.startsWith(prefix)).reduce((n, k) => n + delta(k), 0);
  const kinds = ['enter', 'dwell', 'exit'].map(
    (k) => `${k} ${fmt(delta(`presence_events_total{kind="${k}"}`))}`,
  );
  const outcomes = [...now.keys()]
    .filter((k) => k.startsWith('decisions_total') && delta(k) > 0)
    .sort((a, b) => delta(b) - delta(a))
    .map(
      (k) =>
        `${k.replace(/^decisions_total\{outcome="([a-z]+)",reason="([a-z_]*)"\}$/, '$1$2').replace(/^suppressed/, '')} ${fmt(delta(k))}`,
    );
  console.log(
    `    ${label}: ${fmt(sum('pings_received_total'))} pings, presence ${kinds.join(', ')}; ${fmt(sum('decisions_total'))} decisions: ${outcomes.join(', ') || 'none'}; back-pressure waits ${fmt(sum('ingest_backpressure_waits_total'))}; campaign recompiles ${fmt(sum('campaign_recompile_seconds_count'))}`,
  );
  lastCounters = now;
}
async function committed(): Promise<number> {
  const offsets = await admin.fetchOffsets({ groupId: 'geotrigger-bench', topics: ['pings'] });
  return offsets[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

/** Polls the service's committed offsets until `target`; the clock runs from the first commit past `from`. */
async function consumeUntil(
  target: number,
  timeoutMs: number,
  from = 0,
): Promise<{ ms: number; pps: number }> {
  const t0 = performance.now();
  let first = 0;
  let firstAt = t0;
  for (;;) {
    const c = await committed();
    sampleRss();
    if (first === 0 && c > from) {
      first = c;
      firstAt = performance.now();
    }
    if (c >= target) {
      // Consumed before the first look (a small backlog while start-up finished): no rate to report.
      if (from === 0 && first >= target) return { ms: Number.NaN, pps: Number.NaN };
      const ms = performance.now() - (from === 0 ? firstAt : t0);
      return { ms, pps: ((target - (from === 0 ? first : from)) / ms) * 1000 };
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`consumed ${c} of ${target} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rawCeiling(total: number): Promise<{ ms: number; pps: number }> {
  const consumer = kafka.consumer({
    groupId: 'raw-ceiling',
    maxBytesPerPartition: 4 << 20,
    maxBytes: 32 << 20,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'pings', fromBeginning: true });
  let n = 0;
  let sum = 0;
  let start = 0;
  const ms = await new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (start === 0) start = performance.now();
        for (const m of batch.messages) sum += (JSON.parse(m.value!.toString()) as { lat: number }).lat;
        n += batch.messages.length;
        if (n >= total) resolve(performance.now() - start);
      },
    });
  });
  await consumer.disconnect();
  if (sum === 0) console.log('  (no pings read)');
  return { ms, pps: (total / ms) * 1000 };
}

interface Child {
  line(): Promise<string>;
  ask(q: string): Promise<string>;
  stop(): void;
}

async function startChild(script: string, opts: unknown): Promise<Child> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--max-old-space-size=4096', script, JSON.stringify(opts)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const it = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const line = async () => {
    const r = await it.next();
    if (r.done) throw new Error(`${script} exited`);
    return r.value as string;
  };
  return {
    line,
    ask: async (q) => {
      child.stdin!.write(`${q}\n`);
      return line();
    },
    stop: () => {
      child.stdin!.end();
      child.kill();
    },
  };
}
