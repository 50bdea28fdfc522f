import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import {
  createKafkaPingSource,
  createPingDecoder,
  type RawMessage,
  type RawPingHandler,
} from '../../../src/ingest/index.ts';
import { type PresenceEvent, presenceOptions } from '../../../src/presence/index.ts';
import { type KafkaMock, startKafkaMock } from '../../helpers/kafka-mock/index.ts';
import { buildFence, buildPing, MIN } from './fixtures/build.ts';
import { buildPipeline, MODES, type Mode } from './fixtures/pipelines.ts';

const logger = pino({ level: 'silent' });
const CONSUMER = {
  sessionTimeout: 6_000,
  heartbeatInterval: 300,
  rebalanceTimeout: 6_000,
  maxWaitTimeInMs: 100,
};
let mock: KafkaMock;
let kafka: Kafka;

before(async () => {
  mock = await startKafkaMock({
    topics: [
      { name: 'pings', partitions: 2 },
      { name: 'pings-dlq', partitions: 1 },
    ],
  });
  kafka = new Kafka({ clientId: 'ingest-test', brokers: mock.brokers, logLevel: logLevel.NOTHING });
});
after(async () => {
  await mock.stop();
});

async function service(mode: Mode, opts: { topic: string; groupId: string; dlqTopic?: string }) {
  const events: PresenceEvent[] = [];
  const registry = new Registry();
  const pipeline = await buildPipeline(mode, {
    fences: [buildFence('f1')],
    sink: { onEvent: (e) => events.push(e) },
    presence: presenceOptions({ dwellMs: [10 * MIN] }),
    registry,
    logger,
  });
  const source = createKafkaPingSource({
    kafka,
    topic: opts.topic,
    dlqTopic: opts.dlqTopic ?? 'pings-dlq',
    groupId: opts.groupId,
    decoder: createPingDecoder(),
    metrics: pipeline.metrics,
    logger,
    fromBeginning: true,
    consumer: CONSUMER,
  });
  return { pipeline, source, events, registry, start: () => source.start(pipeline.handler) };
}

async function send(
  topic: string,
  messages: Array<{
    key: string | null;
    value: string;
    headers?: Record<string, string>;
    partition?: number;
  }>,
) {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const json = (o: object) => JSON.stringify(o);

for (const mode of MODES) {
  test(`pings become presence events; invalid ones are dead-lettered with their bytes and counted (${mode})`, async () => {
    const topic = `pings-${mode}`;
    const dlqTopic = `pings-dlq-${mode}`;
    await mock.createTopic(topic, 2);
    await mock.createTopic(dlqTopic, 1);
    const t = Date.now() - 60 * MIN;
    const bad = [
      { key: 'x1', value: '{"sid":"x1","lat":50.45,', reason: 'invalid_json' },
      { key: 'x2', value: json({ sid: 'x2', lon: 30.5, ts: t, acc: 10 }), reason: 'lat_missing' },
      { key: 'x3', value: json({ sid: 'x3', lat: 200, lon: 30.5, ts: t, acc: 10 }), reason: 'lat_invalid' },
      { key: 'x4', value: json({ sid: 'x4', lat: 'NaN', lon: 30.5, ts: t, acc: 10 }), reason: 'lat_invalid' },
      {
        key: 'x5',
        value: json({ sid: 'x5', lat: 50, lon: 30.5, ts: Date.now() + 86_400_000, acc: 10 }),
        reason: 'ts_future',
      },
      {
        key: 'x6',
        value: json({ sid: 'x6', lat: 50, lon: 30.5, ts: 1_700_000, acc: 10 }),
        reason: 'ts_past',
      },
      { key: 'x7', value: json({ sid: 'x7', lat: 50, lon: 30.5, ts: t, acc: -5 }), reason: 'acc_invalid' },
      { key: 'other', value: json({ sid: 'x8', lat: 50, lon: 30.5, ts: t, acc: 5 }), reason: 'key_mismatch' },
    ];
    // A's visit, with poison messages on the same key (same partition) between its pings.
    await send(topic, [
      { key: 'A', value: json(buildPing({ sid: 'A', ts: t })) },
      { key: 'A', value: '\u0000\u0001 not json' },
      { key: 'A', value: json(buildPing({ sid: 'A', ts: t + 11 * MIN })) },
      { key: 'A', value: json(buildPing({ sid: 'A', ts: t + 12 * MIN, eastM: 800 })) },
      ...bad.map(({ key, value }) => ({ key, value })),
    ]);
    // B's pings from an independent client (kcat), keyed by sid.
    const lines = [
      buildPing({ sid: 'B', ts: t + MIN }),
      buildPing({ sid: 'B', ts: t + 2 * MIN, eastM: 900 }),
    ];
    await new Promise<void>((resolve, reject) => {
      const kcat = execFile('kcat', ['-b', mock.bootstrap, '-P', '-t', topic, '-K', '\t'], (err) =>
        err ? reject(err) : resolve(),
      );
      kcat.stdin!.end(lines.map((p) => `B\t${json(p)}\n`).join(''));
    });

    const s = await service(mode, { topic, groupId: `svc-1-${mode}`, dlqTopic });
    await s.start();
    await until(() => s.events.length >= 5, 'five presence events');
    await s.source.stop();
    await s.pipeline.close();

    const got = s.events.map((e) => `${e.sid}:${e.kind}:${(e.tsMs - t) / MIN}`).sort();
    assert.deepEqual(got, ['A:dwell:11', 'A:enter:0', 'A:exit:12', 'B:enter:1', 'B:exit:2']);
    assert.equal(s.events.find((e) => e.kind === 'exit' && e.sid === 'A')!.dwellMs, 11 * MIN);

    const counts = s.pipeline.metrics.invalidCounts();
    assert.equal(counts.invalid_json, 2);
    assert.equal(counts.lat_invalid, 2);
    for (const r of ['lat_missing', 'ts_future', 'ts_past', 'acc_invalid', 'key_mismatch'] as const) {
      assert.equal(counts[r], 1, r);
    }
    const exposed = await s.registry.getSingleMetricAsString('geotrigger_pings_invalid_total');
    assert.match(exposed, /geotrigger_pings_invalid_total\{reason="lat_invalid"\} 2/);
    assert.match(exposed, /geotrigger_pings_invalid_total\{reason="ts_future"\} 1/);

    // The dead-letter topic holds the original bytes, the reason and where each came from.
    const dlq: Array<{ key: string; value: string; reason: string; offset: string }> = [];
    const reader = kafka.consumer({ groupId: `dlq-reader-${mode}`, ...CONSUMER });
    await reader.connect();
    await reader.subscribe({ topic: dlqTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        dlq.push({
          key: message.key!.toString(),
          value: message.value!.toString(),
          reason: message.headers!['dlq-reason']!.toString(),
          offset: message.headers!['dlq-source-offset']!.toString(),
        });
      },
    });
    await until(() => dlq.length === 9, 'nine dead letters');
    await reader.disconnect();
    const expected = [{ key: 'A', value: '\u0000\u0001 not json', reason: 'invalid_json' }, ...bad];
    assert.deepEqual(
      dlq
        .map(({ key, value, reason }) => ({ key, value, reason }))
        .sort((a, b) => a.key.localeCompare(b.key)),
      expected.sort((a, b) => a.key.localeCompare(b.key)),
    );
  });
}

for (const mode of MODES) {
  test(`dead letters keep the original headers, null key and exact source offset of each message (${mode})`, async () => {
    const topic = `pings-hd-${mode}`;
    const dlqTopic = `pings-hd-dlq-${mode}`;
    await mock.createTopic(topic, 1);
    await mock.createTopic(dlqTopic, 1);
    const t = Date.now() - 60 * MIN;
    // Offsets 0..9 on the one partition: valid pings (some with headers) around invalid ones.
    type Sent = { key: string | null; value: string; headers?: Record<string, string> };
    const messages: Sent[] = [
      { key: 'H', value: json(buildPing({ sid: 'H', ts: t })), headers: { trace: 'ok-0' } },
      { key: 'H', value: 'not json', headers: { trace: 'bad-1', origin: 'probe' } },
      { key: 'H', value: json(buildPing({ sid: 'H', ts: t + MIN })) },
      { key: null, value: '{"sid":"H","lat":50.45,' },
      { key: 'H', value: json(buildPing({ sid: 'H', ts: t + 2 * MIN })), headers: { trace: 'ok-4' } },
      { key: 'other', value: json(buildPing({ sid: 'H', ts: t + 3 * MIN })), headers: { trace: 'bad-5' } },
      { key: 'H', value: json(buildPing({ sid: 'H', ts: t + 4 * MIN })) },
      { key: 'H', value: json({ sid: 'H', lat: 200, lon: 30.5, ts: t, acc: 10 }) },
      { key: 'H', value: json(buildPing({ sid: 'H', ts: t + 5 * MIN })) },
      { key: 'H', value: '', headers: { trace: 'bad-9' } },
    ];
    await send(
      topic,
      messages.map((m) => ({ ...m, partition: 0 })),
    );
    const s = await service(mode, { topic, groupId: `svc-hd-${mode}`, dlqTopic });
    await s.start();
    await until(() => s.pipeline.stats().pings === 5, 'the five valid pings');
    await s.source.stop();
    await s.pipeline.close();

    const dlq: Array<{ key: string | null; value: string; offset: string; headers: Record<string, string> }> =
      [];
    const reader = kafka.consumer({ groupId: `hd-reader-${mode}`, ...CONSUMER });
    await reader.connect();
    await reader.subscribe({ topic: dlqTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          if (!k.startsWith('dlq-')) headers[k] = String(v);
        }
        dlq.push({
          key: message.key === null ? null : message.key.toString(),
          value: message.value?.toString() ?? '',
          offset: message.headers!['dlq-source-offset']!.toString(),
          headers,
        });
      },
    });
    await until(() => dlq.length === 5, 'five dead letters');
    await reader.disconnect();
    dlq.sort((a, b) => Number(a.offset) - Number(b.offset));
    assert.deepEqual(
      dlq,
      [1, 3, 5, 7, 9].map((i) => ({
        key: messages[i].key,
        value: messages[i].value,
        offset: String(i),
        headers: messages[i].headers ?? {},
      })),
    );
  });
}

for (const mode of MODES) {
  test(`a rebalance between two consumers of one group moves partitions and drops the revoked state (${mode})`, async () => {
    const topic = `pings-rb-${mode}`;
    const group = `svc-rb-${mode}`;
    await mock.createTopic(topic, 4);
    const t = Date.now() - 30 * MIN;
    // 40 subscribers inside the fence, spread over the four partitions by key.
    const sids = Array.from({ length: 40 }, (_, i) => `rb-${i}`);
    await send(
      topic,
      sids.map((sid) => ({ key: sid, value: json(buildPing({ sid, ts: t })) })),
    );
    const a = await service(mode, { topic, groupId: group });
    await a.start();
    await until(() => a.events.length === 40, 'first member sees every enter');
    assert.deepEqual(a.source.assigned, [0, 1, 2, 3]);
    assert.equal(a.pipeline.stats().partitions, 4);
    assert.equal(a.pipeline.stats().tracked, 40);

    const b = await service(mode, { topic, groupId: group });
    await b.start();
    await until(
      () => b.source.assigned.length > 0 && a.source.assigned.length + b.source.assigned.length === 4,
      'rebalance to two members',
    );
    const owners = [...a.source.assigned, ...b.source.assigned].sort();
    assert.deepEqual(owners, [0, 1, 2, 3], 'each partition has exactly one owner');
    // The release reaches the worker after the batches before it: flush, then look.
    await a.pipeline.handler.flush();
    assert.equal(a.pipeline.stats().partitions, a.source.assigned.length, 'A dropped the revoked partitions');
    const keptByA = a.pipeline.stats().tracked;
    assert.ok(keptByA < 40, 'the revoked partitions’ subscribers are forgotten');

    // After the rebalance each subscriber's next ping (outside) reaches exactly one member.
    await send(
      topic,
      sids.map((sid) => ({ key: sid, value: json(buildPing({ sid, ts: t + MIN, eastM: 900 })) })),
    );
    await until(() => a.pipeline.stats().pings + b.pipeline.stats().pings === 80, 'second round');
    await Promise.all([a.source.stop(), b.source.stop()]);
    await Promise.all([a.pipeline.close(), b.pipeline.close()]);
    const exitsA = a.events.filter((e) => e.kind === 'exit').map((e) => e.sid);
    const entersB = b.events.filter((e) => e.kind === 'enter').map((e) => e.sid);
    // A still owns its partitions' visits and sees their exits; B starts with no state for the moved
    // subscribers, so their outside ping creates nothing (no exit without a known enter).
    assert.equal(entersB.length, 0);
    assert.equal(new Set(exitsA).size, exitsA.length, 'no duplicate exits');
    assert.equal(exitsA.length, 40 - b.pipeline.stats().pings, 'exits only on partitions A kept');
    assert.equal(exitsA.length, keptByA, 'an exit for every subscriber A kept state for');
  });
}

for (const mode of MODES) {
  test(`batches made durable together are committed in one request carrying every partition (${mode})`, async () => {
    const topic = `pings-co-${mode}`;
    await mock.createTopic(topic, 4);
    const t = Date.now() - 30 * MIN;
    // Twenty sends of eight pings each: many small batches over the four partitions.
    const sends = 20;
    for (let round = 0; round < sends; round++) {
      await send(
        topic,
        Array.from({ length: 8 }, (_, i) => {
          const sid = `co-${i}`;
          return { key: sid, value: json(buildPing({ sid, ts: t + round * 1000 })) };
        }),
      );
    }
    const built = (await service(mode, { topic, groupId: `svc-co-${mode}` })).pipeline;
    const inner = built.handler;
    // The store writer makes rows durable on its timed flush: hold every batch's flush until a gate opens.
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    let handled = 0;
    const handler = {
      handle: (pings: Parameters<typeof inner.handle>[0], partition: number) => {
        handled += pings.length;
        return inner.handle(pings, partition);
      },
      flush: () => gate.then(() => inner.flush()),
      release: (p: readonly number[]) => inner.release(p),
      ...('submit' in inner
        ? {
            submit: (messages: readonly RawMessage[], partition: number, replay: boolean) => {
              const job = (inner as RawPingHandler).submit(messages, partition, replay);
              void job.done.then((o) => {
                handled += o.valid;
              });
              return job;
            },
          }
        : {}),
    };
    // Count the commit requests the consumer sends.
    let requests = 0;
    const counting = Object.create(kafka) as Kafka;
    counting.consumer = (config) => {
      const c = kafka.consumer(config);
      const commitOffsets = c.commitOffsets.bind(c);
      c.commitOffsets = (offsets) => {
        requests++;
        return commitOffsets(offsets);
      };
      return c;
    };
    const batches: { partition: number; committed: string; valid: number }[] = [];
    const source = createKafkaPingSource({
      kafka: counting,
      topic,
      dlqTopic: 'pings-dlq',
      groupId: `svc-co-${mode}`,
      decoder: createPingDecoder(),
      metrics: built.metrics,
      logger,
      fromBeginning: true,
      consumer: CONSUMER,
      onCommitted: (b) => batches.push(b),
    });
    await source.start(handler);
    await until(() => handled === sends * 8, 'every ping handled');
    assert.equal(requests, 0, 'nothing is committed before the outputs are durable');
    open();
    await until(() => batches.reduce((n, b) => n + b.valid, 0) === sends * 8, 'every batch committed');
    await source.stop();
    await built.close();
    assert.equal(requests, 1, `one commit request for ${batches.length} batches`);
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId: `svc-co-${mode}`, topics: [topic] });
    await admin.disconnect();
    const byPartition = new Map(offsets.partitions.map((p) => [p.partition, p.offset]));
    for (const b of batches) {
      assert.ok(
        BigInt(byPartition.get(b.partition) ?? '-1') >= BigInt(b.committed),
        'never behind a reported batch',
      );
    }
    const total = offsets.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    assert.equal(total, sends * 8, 'the group resumes after the last ping of every partition');
  });
}
