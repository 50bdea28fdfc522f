// Ping ingest: broker → decode → match (100k fences) → presence on one process, against the raw
// kafkajs consume + JSON.parse ceiling measured in the same run over the same topic. Two paths: the
// ingest worker (decode → match → presence in a worker thread; the service's default) and in-process
// (all on the main thread, INGEST_WORKER=false).
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createMatcher } from '../src/geo/index.ts';
import {
  createKafkaPingSource,
  createPingDecoder,
  createPingPipeline,
  createWorkerPipeline,
  type IngestMetrics,
  type Ping,
  type PingHandler,
  type RawMessage,
} from '../src/ingest/index.ts';
import { createPresenceTracker, presenceOptions } from '../src/presence/index.ts';
import { startKafkaMock } from '../test/helpers/kafka-mock/index.ts';
import { generateFences, generatePings } from './lib/geo-workload.ts';
import { createRandom } from './lib/random.ts';
import { cpuSince, threadCpu } from './lib/thread-cpu.ts';

const SEED = Number(process.env.SEED ?? 42);
const FENCES = Number(process.env.FENCES ?? 100_000);
const PINGS = Number(process.env.PINGS ?? 500_000);
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 100_000);
// librdkafka's mock keeps at most ~5 MB / 100k messages per partition: enough partitions to hold all.
const PARTITIONS = Number(process.env.PARTITIONS ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const MEMORY_SUBSCRIBERS = 100_000;
// Which broker paths each round runs (raw, full = in-process, worker), and whether the no-broker and
// memory passes follow: PATHS=raw,worker NO_BROKER=0 for quick A/B pairs of the worker path.
const PATHS = new Set((process.env.PATHS ?? 'raw,full,worker').split(','));
const NO_BROKER = process.env.NO_BROKER !== '0';

const logger = pino({ level: 'silent' });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const gc = () => (globalThis as { gc?: () => void }).gc?.();

console.log('ingest benchmark');
console.log(
  `  seed ${SEED}, fences ${fmt(FENCES)}, pings ${fmt(PINGS)}, subscribers ${fmt(SUBSCRIBERS)}, partitions ${PARTITIONS}, rounds ${ROUNDS}`,
);
console.log(`  node ${process.version}, ${process.platform}/${process.arch}`);

let t = performance.now();
const fences = generateFences({ seed: SEED, count: FENCES });
const matcher = createMatcher({ fences });
console.log(`  built ${fmt(FENCES)} fences + matcher in ${fmt(performance.now() - t)} ms`);

// Pings from the fence workload's city distribution. Subscribers are sticky: each ping lands within
// ~25 m of the subscriber's current place, which moves to a fresh point of the workload 20% of the time.
const workload = generatePings({ seed: SEED + 1, count: PINGS + SUBSCRIBERS });
const rnd = createRandom(SEED + 2);
const anchorLon = workload.lon.slice(PINGS, PINGS + SUBSCRIBERS);
const anchorLat = workload.lat.slice(PINGS, PINGS + SUBSCRIBERS);
const t0 = Date.now() - 3_600_000;
let values: Array<{ key: string; value: string }> | undefined = new Array(PINGS);
for (let i = 0; i < PINGS; i++) {
  const s = rnd.int(0, SUBSCRIBERS - 1);
  if (rnd.chance(0.2)) {
    anchorLon[s] = workload.lon[i];
    anchorLat[s] = workload.lat[i];
  }
  const sid = `s${String(s).padStart(8, '0')}`;
  const lat = anchorLat[s] + rnd.normal() * 0.0002;
  const lon = anchorLon[s] + rnd.normal() * 0.0003;
  const src = workload.acc[i] < 60 ? 'gps' : 'cell';
  const ts = t0 + Math.floor((i / PINGS) * 3_000_000);
  values[i] = {
    key: sid,
    value: `{"sid":"${sid}","lat":${lat.toFixed(6)},"lon":${lon.toFixed(6)},"ts":${ts},"acc":${Math.round(workload.acc[i])},"src":"${src}"}`,
  };
}

const mock = await startKafkaMock({
  topics: [{ name: 'pings', partitions: PARTITIONS }, { name: 'pings-dlq' }],
});
const kafka = new Kafka({ clientId: 'bench', brokers: mock.brokers, logLevel: logLevel.NOTHING });
t = performance.now();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
for (let i = 0; i < PINGS; i += 10_000)
  await producer.send({ topic: 'pings', messages: values.slice(i, i + 10_000) });
// The messages' bytes, packed off the heap for the no-broker passes: the 500 k value objects held to
// the end kept ~150 MB in the main thread's old generation, whose major collections (concurrent marking
// on V8's helper threads) then ran through every round — a cost the service's main thread does not have.
const packedValues = Buffer.from(values.map((v) => v.value).join(''));
const valueEnds = new Uint32Array(PINGS);
for (let i = 0, end = 0; i < PINGS; i++) {
  end += Buffer.byteLength(values[i].value);
  valueEnds[i] = end;
}
values = undefined;
const valueBytes = (i: number) => packedValues.subarray(i === 0 ? 0 : valueEnds[i - 1], valueEnds[i]);
await producer.disconnect();
const admin = kafka.admin();
await admin.connect();
const offsets = await admin.fetchTopicOffsets('pings');
await admin.disconnect();
// What the broker still holds (the mock trims old messages beyond its per-partition limits).
const AVAILABLE = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
if (AVAILABLE !== PINGS)
  console.log(
    `  WARNING: the broker holds ${fmt(AVAILABLE)} of ${fmt(PINGS)} pings; rates use what it holds`,
  );
console.log(`  produced ${fmt(PINGS)} pings to the mock broker in ${fmt(performance.now() - t)} ms`);

const CONSUMER = {
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  maxBytesPerPartition: 4 << 20,
  maxBytes: 32 << 20,
};

/** Consumes the whole topic with a fresh group; the clock starts at the first message. */
async function raw(group: string) {
  const consumer = kafka.consumer({ groupId: group, ...CONSUMER });
  await consumer.connect();
  await consumer.subscribe({ topic: 'pings', fromBeginning: true });
  let n = 0;
  let sum = 0;
  let start = 0;
  let cpu0 = threadCpu();
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (start === 0) {
          start = performance.now();
          cpu0 = threadCpu();
        }
        for (const m of batch.messages) {
          const o = JSON.parse(m.value!.toString());
          sum += o.lat;
        }
        n += batch.messages.length;
        if (n >= AVAILABLE) resolve(performance.now() - start);
      },
    });
  });
  const ms = await done;
  const cpu = cpuSince(cpu0);
  await consumer.disconnect();
  return { ms, cpu, pps: (AVAILABLE / ms) * 1000, check: sum };
}

/**
 * Consumes the whole topic from the beginning in a new group through `wrap(begin)`'s handler; the
 * handler calls `begin()` as a batch arrives, which starts the clock and the thread-CPU count once.
 * Ends when every message's offset is committed.
 */
async function drainTopic(
  group: string,
  metrics: IngestMetrics,
  wrap: (begin: () => void) => PingHandler,
): Promise<{ ms: number; cpu: ReturnType<typeof cpuSince>; busy: Busy }> {
  let start = 0;
  let cpu0 = threadCpu();
  let elu0 = eluNow();
  let seen = 0;
  let resolveDone!: (ms: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  const begin = () => {
    if (start === 0) {
      start = performance.now();
      cpu0 = threadCpu();
      elu0 = eluNow();
    }
  };
  const source = createKafkaPingSource({
    kafka,
    topic: 'pings',
    dlqTopic: 'pings-dlq',
    groupId: group,
    decoder: createPingDecoder(),
    metrics,
    logger,
    fromBeginning: true,
    consumer: CONSUMER,
    onCommitted: (c) => {
      seen += c.valid + c.invalid;
      if (seen >= AVAILABLE) resolveDone(performance.now() - start);
    },
  });
  await source.start(wrap(begin));
  const ms = await done;
  const cpu = cpuSince(cpu0);
  const busy = eluSince(elu0);
  await source.stop();
  return { ms, cpu, busy };
}

async function full(group: string) {
  let events = 0;
  let rows = 0;
  const pipeline = createPingPipeline({
    matcher,
    sink: { onEvent: () => void events++ },
    presence: presenceOptions({ dwellMs: [10 * 60_000] }),
    writer: { write: () => void rows++ },
    registry: new Registry(),
    logger,
  });
  // The clock starts at the first batch handed over.
  const { ms, cpu, busy } = await drainTopic(group, pipeline.metrics, (begin) => ({
    ...pipeline,
    handle(
      pings: readonly Ping[],
      partition: number,
      onFailed?: (i: number, e: unknown) => void,
      replay?: boolean,
    ) {
      begin();
      return pipeline.handle(pings, partition, onFailed, replay);
    },
  }));
  const st = pipeline.stats();
  return {
    ms,
    cpu,
    busy,
    pps: (PINGS / ms) * 1000,
    events,
    rows,
    failed: st.failed,
    invalid: pipeline.metrics.invalidCounts(),
  };
}

// The worker's matcher gets the fences the way the service forwards them; built once for all rounds.
t = performance.now();
let workerEvents = 0;
let workerRows = 0;
const workerPipeline = createWorkerPipeline({
  sink: { onEvent: () => void workerEvents++ },
  presence: presenceOptions({ dwellMs: [10 * 60_000] }),
  writer: { write: () => void workerRows++ },
  registry: new Registry(),
  logger,
});
workerPipeline.fences({ op: 'replace', fences: matcher.snapshot().fences });
await workerPipeline.ready;
console.log(`  ingest worker started with ${fmt(FENCES)} fences in ${fmt(performance.now() - t)} ms`);

/**
 * Busy share of wall time (event-loop utilisation) of the main thread and of the ingest worker: time
 * spent running code, whether or not the OS ran the thread meanwhile. A worker share well below 1
 * while pings wait in Kafka means the hand-over leaves it without work.
 */
type Elu = ReturnType<typeof performance.eventLoopUtilization>;
interface Busy {
  main: number;
  worker: number;
}
const eluNow = (): { main: Elu; worker: Elu } => ({
  main: performance.eventLoopUtilization(),
  worker: workerPipeline.worker.performance.eventLoopUtilization(),
});
const eluSince = (before: { main: Elu; worker: Elu }): Busy => ({
  main: performance.eventLoopUtilization(before.main).utilization,
  worker: workerPipeline.worker.performance.eventLoopUtilization(before.worker).utilization,
});
const busyShare = (b: Busy, worker: boolean) =>
  `busy: main ${(b.main * 100).toFixed(0)} %${worker ? `, worker ${(b.worker * 100).toFixed(0)} %` : ''}`;

/** The ingest worker path: kafkajs on this thread, decode → match → presence in the worker. */
async function worker(group: string) {
  const events0 = workerEvents;
  const rows0 = workerRows;
  const failed0 = workerPipeline.stats().failed;
  const { ms, cpu, busy } = await drainTopic(group, workerPipeline.metrics, (begin) => ({
    ...workerPipeline,
    submit(messages: readonly RawMessage[], partition: number, replay: boolean) {
      begin();
      return workerPipeline.submit(messages, partition, replay);
    },
  }));
  return {
    ms,
    cpu,
    busy,
    pps: (PINGS / ms) * 1000,
    events: workerEvents - events0,
    rows: workerRows - rows0,
    failed: workerPipeline.stats().failed - failed0,
  };
}

/** CPU-only: decode → match → presence over the same encoded messages, no broker. */
function inProcess() {
  const buffers = Array.from({ length: PINGS }, (_, i) => Buffer.from(valueBytes(i)));
  let events = 0;
  const pipeline = createPingPipeline({
    matcher,
    sink: { onEvent: () => void events++ },
    presence: presenceOptions({ dwellMs: [10 * 60_000] }),
    writer: { write: () => undefined },
    registry: new Registry(),
    logger,
  });
  const decoder = createPingDecoder();
  const start = performance.now();
  const batch: Ping[] = [];
  for (let i = 0; i < buffers.length; i++) {
    const r = decoder.decode(buffers[i]);
    if (typeof r !== 'string') batch.push(r);
    if (batch.length === 1_000) {
      void pipeline.handle(batch, i % PARTITIONS);
      batch.length = 0;
    }
  }
  void pipeline.handle(batch, 0);
  const ms = performance.now() - start;
  return { ms, pps: (PINGS / ms) * 1000, events };
}

/** The same through the ingest worker: batches of 1,000 messages' bytes, no broker. */
async function workerNoBroker() {
  const messages = Array.from({ length: PINGS }, (_, i) => ({
    key: null,
    value: Buffer.from(valueBytes(i)),
  }));
  const events0 = workerEvents;
  const cpu0 = threadCpu();
  const elu0 = eluNow();
  const start = performance.now();
  let last: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < messages.length; i += 1_000) {
    // The partitions inProcess() uses: the index of each batch's last message, modulo, and 0 for a tail.
    const partition = i + 1_000 <= messages.length ? (i + 999) % PARTITIONS : 0;
    const job = workerPipeline.submit(messages.slice(i, i + 1_000), partition, false);
    last = job.done;
    if (job.wait !== undefined) await job.wait;
  }
  await last;
  const ms = performance.now() - start;
  const cpu = cpuSince(cpu0);
  const busy = eluSince(elu0);
  workerPipeline.release(Array.from({ length: PARTITIONS }, (_, p) => p));
  await workerPipeline.flush();
  return { ms, pps: (PINGS / ms) * 1000, events: workerEvents - events0, cpu, busy };
}

/** Memory per tracked subscriber: one ping inside a fence each (about three open visits). */
async function memoryPerSubscriber() {
  // Array buffers are freed after the collection that found them dead: give that a moment.
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const tracker = createPresenceTracker({
    options: presenceOptions(),
    sink: { onEvent: () => undefined },
    near: matcher.near,
  });
  const slots = new Int32Array(64);
  const snap = matcher.snapshot();
  const insidePings: Array<[number, number, number]> = [];
  for (let i = 0; i < PINGS && insidePings.length < MEMORY_SUBSCRIBERS; i++) {
    if (matcher.matchInto(workload.lon[i], workload.lat[i], workload.acc[i], slots) > 0) {
      insidePings.push([workload.lon[i], workload.lat[i], workload.acc[i]]);
    }
  }
  const sids = insidePings.map((_, i) => `m${String(i).padStart(8, '0')}`);
  await settle();
  // Heap plus ArrayBuffer backing stores (off the heap: typed-array state lives there).
  const used = () => {
    const u = process.memoryUsage();
    return u.heapUsed + u.arrayBuffers;
  };
  const before = used();
  for (let i = 0; i < insidePings.length; i++) {
    const [lon, lat, acc] = insidePings[i];
    const n = matcher.matchInto(lon, lat, acc, slots);
    tracker.observe(sids[i], lon, lat, acc, t0 + i, snap, slots, n);
  }
  await settle();
  const after = used();
  const st = tracker.stats();
  return { tracked: st.tracked, visits: st.visits, bytes: (after - before) / st.tracked };
}

/** CPU per ping by thread: the figure the shared machine's load does not change much. */
const perPing = (cpu: { main: number; busiest: number; rest: number }) =>
  `CPU/ping µs: main ${((cpu.main * 1000) / AVAILABLE).toFixed(2)}, busiest other thread ${((cpu.busiest * 1000) / AVAILABLE).toFixed(2)}, rest ${((cpu.rest * 1000) / AVAILABLE).toFixed(2)}`;
const results: Array<{ name: string; pps: number }> = [];
for (let r = 1; r <= ROUNDS; r++) {
  if (PATHS.has('raw')) {
    const a = await raw(`raw-${r}`);
    console.log(
      `  round ${r}: raw kafkajs eachBatch + JSON.parse        ${fmt(a.pps).padStart(9)} pings/s  (${fmt(a.ms)} ms; ${perPing(a.cpu)})`,
    );
    results.push({ name: 'raw', pps: a.pps });
  }
  if (PATHS.has('full')) {
    const b = await full(`full-${r}`);
    console.log(
      `  round ${r}: in-process decode → match → presence    ${fmt(b.pps).padStart(9)} pings/s  (${fmt(b.ms)} ms; ${fmt(b.events)} events, ${fmt(b.rows)} footfall rows, ${b.failed} failed; ${perPing(b.cpu)}; ${busyShare(b.busy, false)})`,
    );
    results.push({ name: 'full', pps: b.pps });
  }
  if (PATHS.has('worker')) {
    const w = await worker(`worker-${r}`);
    const pair = PATHS.has('raw')
      ? ` = ${((w.pps / results.at(-1 - Number(PATHS.has('full')))!.pps) * 100).toFixed(0)} % of this round's raw`
      : '';
    console.log(
      `  round ${r}: ingest worker decode → match → presence ${fmt(w.pps).padStart(9)} pings/s${pair}  (${fmt(w.ms)} ms; ${fmt(w.events)} events, ${fmt(w.rows)} footfall rows, ${w.failed} failed; ${perPing(w.cpu)}; ${busyShare(w.busy, true)})`,
    );
    results.push({ name: 'worker', pps: w.pps });
  }
}
const best = (name: string) => Math.max(0, ...results.filter((x) => x.name === name).map((x) => x.pps));
const share = (name: string) => `${((best(name) / best('raw')) * 100).toFixed(0)}%`;
console.log(
  `  best: raw ${fmt(best('raw'))} pings/s; ingest worker ${fmt(best('worker'))} pings/s = ${share('worker')} of the raw ceiling; in-process ${fmt(best('full'))} pings/s = ${share('full')}`,
);

for (let r = 1; r <= (NO_BROKER ? ROUNDS : 0); r++) {
  const cpu0 = threadCpu();
  const c = inProcess();
  const cpu = cpuSince(cpu0);
  console.log(
    `  round ${r}: in-process (no broker) decode → match → presence:    ${fmt(c.pps).padStart(9)} pings/s (${fmt(c.events)} events; ${perPing(cpu)})`,
  );
  const wc = await workerNoBroker();
  console.log(
    `  round ${r}: ingest worker (no broker) decode → match → presence: ${fmt(wc.pps).padStart(9)} pings/s (${fmt(wc.events)} events; ${perPing(wc.cpu)}; ${busyShare(wc.busy, true)})`,
  );
}
if (NO_BROKER) {
  const m = await memoryPerSubscriber();
  console.log(
    `  memory: ${fmt(m.bytes)} bytes (heap + array buffers) per tracked subscriber (${fmt(m.tracked)} subscribers, ${fmt(m.visits)} open visits)`,
  );
}
await workerPipeline.close();
await mock.stop();
