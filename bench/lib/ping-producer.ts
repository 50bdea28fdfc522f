// Produces synthetic pings to a Kafka topic from its own process, so the service under test does not
// share its event loop with the load. Options: JSON in argv[2] (see ProducerOptions). Each ping's `ts`
// is the wall-clock time it was due (paced) or handed to the producer (backlog), so ping → submit
// latency can be measured from it. Paced pings are sent in batches of `lingerMs` worth (as a Kafka
// producer's linger.ms does); the wait counts in the measured latency.
// Prints JSON lines: {"produced": n, "ms": t} every second and {"done": n, "ms": t} at the end.
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { syntheticSid } from '../../src/segments/index.ts';
import { generatePings } from './geo-workload.ts';
import { createRandom } from './random.ts';

interface ProducerOptions {
  brokers: string[];
  topic: string;
  /** Workload seed (the same city distribution as the fences). */
  seed: number;
  /** Seed and size of the profile base whose sids the pings carry. */
  sidSeed: number;
  subscribers: number;
  /** How many of them move during the run. */
  active: number;
  count: number;
  /** Pings/s; 0 = as fast as the producer goes. */
  rate: number;
  /** Each phase moves a different draw of subscribers (earlier phases' caps do not silence it). */
  phase?: number;
  /**
   * Paced: collect this many ms of pings per send (default 50). The librdkafka mock broker answers a
   * fetch with one record batch per partition, so a stream of tiny sends caps what any consumer can
   * read per fetch far below what a real broker returns (up to max.partition.fetch.bytes).
   */
  lingerMs?: number;
}

const o = JSON.parse(process.argv[2] ?? '{}') as ProducerOptions;
const rnd = createRandom(o.seed + 2 + 7_919 * (o.phase ?? 0));
// Sticky subscribers: each ping lands within ~25 m of the subscriber's place, which jumps to a fresh
// workload point 20% of the time (the ingest benchmark's model).
const places = generatePings({ seed: o.seed + 1, count: o.active + 200_000 });
const sids: string[] = new Array(o.active);
const lon = new Float64Array(o.active);
const lat = new Float64Array(o.active);
for (let s = 0; s < o.active; s++) {
  sids[s] = syntheticSid(o.sidSeed, rnd.int(0, o.subscribers - 1));
  lon[s] = places.lon[s];
  lat[s] = places.lat[s];
}
let next = o.active;

const kafka = new Kafka({ clientId: 'bench-producer', brokers: o.brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();

const BATCH = o.rate > 0 ? 5_000 : 2_000;
const linger = o.rate > 0 ? Math.max(1, Math.round(((o.lingerMs ?? 50) / 1000) * o.rate)) : 1;
const start = performance.now();
const startEpoch = Date.now();
let produced = 0;
let lastReport = start;
const messages: { key: string; value: string }[] = [];
while (produced < o.count) {
  const now = performance.now();
  if (now - lastReport >= 1000) {
    process.stdout.write(`${JSON.stringify({ produced, ms: now - start })}\n`);
    lastReport = now;
  }
  const due = o.rate > 0 ? Math.min(o.count, Math.floor(((now - start) / 1000) * o.rate)) : o.count;
  if (due - produced < Math.min(linger, o.count - produced)) {
    await new Promise((r) => setTimeout(r, 2));
    continue;
  }
  const n = Math.min(BATCH, due - produced);
  const sentAt = Date.now();
  messages.length = 0;
  for (let i = 0; i < n; i++) {
    const s = rnd.int(0, o.active - 1);
    if (rnd.chance(0.2)) {
      lon[s] = places.lon[next];
      lat[s] = places.lat[next];
      next = next + 1 < places.lon.length ? next + 1 : o.active;
    }
    const acc = rnd.chance(0.6) ? rnd.int(5, 50) : rnd.int(100, 3000);
    const y = lat[s] + rnd.normal() * 0.0002;
    const x = lon[s] + rnd.normal() * 0.0003;
    // When this ping was due: it waited in the producer's linger window since.
    const ts = o.rate > 0 ? Math.floor(startEpoch + ((produced + i) / o.rate) * 1000) : sentAt;
    messages.push({
      key: sids[s],
      value: `{"sid":"${sids[s]}","lat":${y.toFixed(6)},"lon":${x.toFixed(6)},"ts":${ts},"acc":${acc},"src":"${acc < 60 ? 'gps' : 'cell'}"}`,
    });
  }
  await producer.send({ topic: o.topic, messages });
  produced += n;
}
await producer.disconnect();
process.stdout.write(`${JSON.stringify({ done: produced, ms: performance.now() - start })}\n`);
process.exit(0);
