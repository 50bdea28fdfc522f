import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createRandom } from '../../../bench/lib/random.ts';
import {
  type CommittedBatch,
  createKafkaPingSource,
  createPingDecoder,
  createWorkerPipeline,
} from '../../../src/ingest/index.ts';
import { type FootfallVisit, type PresenceEvent, presenceOptions } from '../../../src/presence/index.ts';
import { type KafkaMock, startKafkaMock } from '../../helpers/kafka-mock/index.ts';
import { buildFence, buildPing, MIN } from './fixtures/build.ts';
import { buildPipeline, type Mode } from './fixtures/pipelines.ts';

const logger = pino({ level: 'silent' });
const CONSUMER = {
  sessionTimeout: 6_000,
  heartbeatInterval: 300,
  rebalanceTimeout: 6_000,
  maxWaitTimeInMs: 100,
  maxBytesPerPartition: 16_384,
};
let mock: KafkaMock;
let kafka: Kafka;

before(async () => {
  mock = await startKafkaMock();
  kafka = new Kafka({ clientId: 'worker-test', brokers: mock.brokers, logLevel: logLevel.NOTHING });
});
after(async () => {
  await mock.stop();
});

type Message = { key: string | null; value: string };

async function send(topic: string, messages: Message[]) {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({ topic, messages: messages.slice(i, i + 500) });
  }
  await producer.disconnect();
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every message of a topic (from the beginning), with the dead-letter headers. */
async function readTopic(topic: string, count: number) {
  const got: Array<{ key: string; value: string; reason: string; partition: string; offset: string }> = [];
  const reader = kafka.consumer({ groupId: `reader-${topic}`, ...CONSUMER });
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const h = message.headers!;
      got.push({
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        reason: h['dlq-reason']!.toString(),
        partition: h['dlq-source-partition']!.toString(),
        offset: h['dlq-source-offset']!.toString(),
      });
    },
  });
  await until(() => got.length >= count, `${count} messages on ${topic}`);
  await reader.disconnect();
  return got;
}

async function consumer(
  mode: Mode,
  opts: {
    topic: string;
    groupId: string;
    dlqTopic?: string;
    fences?: ReturnType<typeof buildFence>[];
    presence?: Parameters<typeof presenceOptions>[0];
    log?: pino.Logger;
  },
) {
  const events: PresenceEvent[] = [];
  const rows: FootfallVisit[] = [];
  const committed: CommittedBatch[] = [];
  const registry = new Registry();
  const built = await buildPipeline(mode, {
    fences: opts.fences ?? [buildFence('f1')],
    sink: { onEvent: (e) => events.push(e) },
    presence: presenceOptions({ dwellMs: [10 * MIN], ...opts.presence }),
    writer: { write: (_table, row) => void rows.push(row as FootfallVisit) },
    registry,
    logger: opts.log ?? logger,
  });
  const source = createKafkaPingSource({
    kafka,
    topic: opts.topic,
    dlqTopic: opts.dlqTopic ?? `${opts.topic}-dlq`,
    groupId: opts.groupId,
    decoder: createPingDecoder(),
    metrics: built.metrics,
    logger: opts.log ?? logger,
    fromBeginning: true,
    consumer: CONSUMER,
    onCommitted: (c) => committed.push(c),
  });
  await source.start(built.handler);
  const read = () => committed.reduce((n, c) => n + c.valid + c.invalid, 0);
  return { ...built, source, events, rows, committed, read, registry };
}

const json = (o: object) => JSON.stringify(o);

/** Seeded traffic: subscribers wandering among twelve fences, with duplicates, late and poison pings. */
function seededTraffic(seed: number, count: number) {
  const rnd = createRandom(seed);
  const fences = Array.from({ length: 12 }, (_, i) => buildFence(`f${i}`, i * 250, rnd.int(60, 180)));
  const subs = Array.from({ length: 60 }, (_, i) => ({
    sid: `w${i}`,
    eastM: rnd.range(-200, 3_000),
    ts: Date.now() - 6 * 60 * MIN + rnd.int(0, 10 * MIN),
    sent: [] as Message[],
  }));
  const messages: Message[] = [];
  const bad: Array<Message & { reason: string }> = [];
  for (let i = 0; i < count; i++) {
    const s = rnd.pick(subs);
    if (rnd.chance(0.02)) {
      const poison = rnd.pick([
        { value: '{"sid":', reason: 'invalid_json' },
        { value: json({ sid: s.sid, lat: 91, lon: 30.5, ts: s.ts, acc: 10 }), reason: 'lat_invalid' },
        { value: json({ sid: s.sid, lat: 50.4, lon: 30.5, ts: s.ts }), reason: 'acc_missing' },
        { value: json({ ...buildPing({ sid: `${s.sid}x`, ts: s.ts }) }), reason: 'key_mismatch' },
      ]);
      const m = { key: s.sid, value: poison.value };
      messages.push(m);
      bad.push({ ...m, reason: poison.reason });
      continue;
    }
    if (s.sent.length > 0 && rnd.chance(0.05)) {
      // A duplicate or a late copy of one of this subscriber's earlier pings.
      messages.push(rnd.pick(s.sent.slice(-3)));
      continue;
    }
    if (rnd.chance(0.25)) s.eastM = rnd.range(-200, 3_000);
    else s.eastM += rnd.normal() * 40;
    s.ts += rnd.int(20_000, 4 * MIN);
    const m = {
      key: s.sid,
      value: json(buildPing({ sid: s.sid, eastM: s.eastM, ts: s.ts, acc: rnd.int(5, 300) })),
    };
    s.sent.push(m);
    messages.push(m);
  }
  return { fences, messages, bad };
}

const bySid = (events: PresenceEvent[]) => {
  const m = new Map<string, string[]>();
  for (const e of events) {
    const line = `${e.kind} ${e.fenceId} ${e.tsMs} ${e.dwellMs} ${e.thresholdMs ?? ''} ${e.cause ?? ''}`;
    m.set(e.sid, [...(m.get(e.sid) ?? []), line]);
  }
  return m;
};

test('the worker path gives the in-process path’s events, footfall and dead letters on the same seeded pings', async () => {
  const seed = 20_261_123;
  await mock.createTopic('wk-eq', 4);
  await mock.createTopic('wk-eq-dlq-p', 1);
  await mock.createTopic('wk-eq-dlq-w', 1);
  const { fences, messages, bad } = seededTraffic(seed, 3_000);
  await send('wk-eq', messages);
  const presence = { dwellMs: [5 * MIN, 20 * MIN] };
  const p = await consumer('in-process', {
    topic: 'wk-eq',
    groupId: 'wk-eq-p',
    dlqTopic: 'wk-eq-dlq-p',
    fences,
    presence,
  });
  const w = await consumer('worker', {
    topic: 'wk-eq',
    groupId: 'wk-eq-w',
    dlqTopic: 'wk-eq-dlq-w',
    fences,
    presence,
  });
  try {
    await until(() => p.read() === messages.length && w.read() === messages.length, 'both consumed all');
    await Promise.all([p.source.stop(), w.source.stop()]);
    await Promise.all([p.handler.flush(), w.handler.flush()]);

    const kinds = (k: string) => w.events.filter((e) => e.kind === k).length;
    assert.ok(
      kinds('enter') >= 50 && kinds('dwell') >= 10 && kinds('exit') >= 50,
      `seed ${seed}: a workload that exercises every kind`,
    );
    assert.deepEqual(
      bySid(w.events),
      bySid(p.events),
      `seed ${seed}: the same events, in ping order per subscriber`,
    );
    const rowKey = (r: FootfallVisit) => `${r.sid} ${r.fence_id} ${r.ts}`;
    assert.deepEqual(
      w.rows.map(rowKey).sort(),
      p.rows.map(rowKey).sort(),
      `seed ${seed}: the same footfall rows`,
    );
    assert.deepEqual(w.metrics.invalidCounts(), p.metrics.invalidCounts());
    assert.equal(w.stats().tracked, p.stats().tracked);
    const exposed = await w.registry.getSingleMetricAsString('geotrigger_presence_events_total');
    assert.match(exposed, new RegExp(`kind="enter"\\} ${kinds('enter')}\\b`));

    // Dead letters: the original bytes, the reason, where each came from: the same from both paths.
    const dlqW = await readTopic('wk-eq-dlq-w', bad.length);
    const dlqP = await readTopic('wk-eq-dlq-p', bad.length);
    const strip = (d: typeof dlqW) => d.map(({ key, value, reason }) => ({ key, value, reason }));
    const byText = (a: { key: string; value: string; reason: string }, b: typeof a) =>
      `${a.key}${a.value}${a.reason}`.localeCompare(`${b.key}${b.value}${b.reason}`);
    assert.deepEqual(
      strip(dlqW).sort(byText),
      bad.map(({ key, value, reason }) => ({ key: key!, value, reason })).sort(byText),
    );
    const where = (d: typeof dlqW) => d.map((x) => `${x.partition}:${x.offset}:${x.reason}`).sort();
    assert.deepEqual(where(dlqW), where(dlqP));
  } finally {
    await Promise.all([p.close(), w.close()]);
  }
});

test('a fence change made while consuming reaches the worker between the pings it was made between', async () => {
  await mock.createTopic('wk-fc', 1);
  await mock.createTopic('wk-fc-dlq', 1);
  const t = Date.now() - 60 * MIN;
  const c = await consumer('worker', {
    topic: 'wk-fc',
    groupId: 'wk-fc',
    presence: { newFencePolicy: 'enter' },
  });
  try {
    await send('wk-fc', [{ key: 'A', value: json(buildPing({ sid: 'A', ts: t })) }]);
    await until(() => c.events.length === 1, 'A enters f1');
    c.matcher.upsert([buildFence('f2', 1_000)]);
    c.matcher.remove(['f1']);
    await send('wk-fc', [
      { key: 'B', value: json(buildPing({ sid: 'B', ts: t + MIN, eastM: 1_000 })) },
      { key: 'C', value: json(buildPing({ sid: 'C', ts: t + MIN })) },
      { key: 'A', value: json(buildPing({ sid: 'A', ts: t + 2 * MIN, eastM: 980 })) },
    ]);
    await until(() => c.read() === 4, 'every ping committed');
    await c.handler.flush();
    const got = c.events.map((e) => `${e.sid}:${e.kind}:${e.fenceId}`);
    // B enters the new fence; C is inside the removed one (nothing); A's visit of the removed fence ends
    // silently and A, 20 m from f2's centre, enters f2.
    assert.deepEqual(got, ['A:enter:f1', 'B:enter:f2', 'A:enter:f2']);
  } finally {
    await c.source.stop();
    await c.close();
  }
});

test('a crashed worker is logged, stops commits and fails flush instead of stalling silently', async () => {
  await mock.createTopic('wk-crash', 1);
  await mock.createTopic('wk-crash-dlq', 1);
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino(
    { level: 'error' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    }),
  );
  const registry = new Registry();
  const events: PresenceEvent[] = [];
  const pipeline = createWorkerPipeline({
    sink: { onEvent: (e) => events.push(e) },
    presence: presenceOptions(),
    registry,
    logger: log,
  });
  pipeline.fences({ op: 'replace', fences: [buildFence('f1')] });
  await pipeline.ready;
  const committed: CommittedBatch[] = [];
  const source = createKafkaPingSource({
    kafka,
    topic: 'wk-crash',
    dlqTopic: 'wk-crash-dlq',
    groupId: 'wk-crash',
    decoder: createPingDecoder(),
    metrics: pipeline.metrics,
    logger: log,
    fromBeginning: true,
    consumer: CONSUMER,
    onCommitted: (c) => committed.push(c),
  });
  await source.start(pipeline);
  const t = Date.now() - 60 * MIN;
  await send('wk-crash', [{ key: 'A', value: json(buildPing({ sid: 'A', ts: t })) }]);
  await until(() => committed.length === 1 && events.length === 1, 'the first ping committed');

  await pipeline.worker.terminate();
  await until(() => pipeline.failure !== undefined, 'the failure noticed');
  assert.equal(pipeline.failure!.code, 'INTERNAL');
  assert.ok(
    lines.some((l) => l.level === 50 && /ingest worker failed/.test(l.msg)),
    'the failure is logged at error level',
  );
  await send('wk-crash', [{ key: 'B', value: json(buildPing({ sid: 'B', ts: t + MIN })) }]);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(committed.length, 1, 'nothing processed after the crash is committed');
  await assert.rejects(pipeline.flush(), (err: { code?: string }) => err.code === 'INTERNAL');
  await source.stop();
  await pipeline.close();
});
