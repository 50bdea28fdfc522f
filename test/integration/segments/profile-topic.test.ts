import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../../../src/logger.ts';
import {
  createProfileConsumer,
  createProfileRepository,
  createProfileStore,
  generateSubscribers,
} from '../../../src/segments/index.ts';
import { createStore, type Store } from '../../../src/store/index.ts';
import { type KafkaMock, startKafkaMock } from '../../helpers/kafka-mock/index.ts';

const timings = { sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 6000 };
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let mock: KafkaMock;
let kafka: Kafka;
let dir: string;
let store: Store;

before(async () => {
  mock = await startKafkaMock({ topics: [{ name: 'profiles', partitions: 3 }] });
  kafka = new Kafka({ clientId: 'profiles-test', brokers: mock.brokers, logLevel: logLevel.NOTHING });
  dir = await mkdtemp(join(tmpdir(), 'geotrigger-profile-topic-'));
  store = await createStore({
    config: {
      user: 'default',
      password: '',
      database: 'proftopic',
      dataDir: dir,
      ttlDays: 30,
      minGroupSize: 10,
    },
    logger,
  });
});
after(async () => {
  await mock?.stop();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('profile updates keyed by sid are applied, tombstones delete, bad messages are counted, and all of it is persisted', async () => {
  const base = [...generateSubscribers({ seed: 3, count: 300 })];
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'profiles',
    messages: [
      ...base.map(({ sid, ...attrs }) => ({ key: sid, value: JSON.stringify(attrs) })),
      { key: base[0].sid, value: JSON.stringify({ age: 66 }) },
      { key: base[1].sid, value: null },
      { key: 'bad-json', value: '{nope' },
      { key: 'bad-value', value: JSON.stringify({ age: 500 }) },
      { key: 'bad sid', value: JSON.stringify({ age: 30 }) },
    ],
  });
  await producer.disconnect();

  const profiles = createProfileStore();
  const repository = createProfileRepository({ store, profiles, logger });
  const consumer = createProfileConsumer({
    kafka,
    topic: 'profiles',
    groupId: 'profiles-1',
    profiles,
    repository,
    logger,
    timings,
  });
  await consumer.start();
  try {
    await until(() => consumer.stats().upserted + consumer.stats().rejected >= 304, 'all messages');
    await until(() => consumer.stats().deleted === 1, 'the tombstone');
  } finally {
    await consumer.stop();
  }
  assert.deepEqual(consumer.stats(), { upserted: 301, deleted: 1, rejected: 3 });
  assert.equal(profiles.size, 299);
  // one partition keeps one sid's updates in order: the later update wins
  assert.equal(profiles.get(base[0].sid)!.age, 66);
  assert.equal(profiles.slotOf(base[1].sid), -1);

  const reloaded = createProfileStore();
  const result = await createProfileRepository({ store, profiles: reloaded, logger }).reload();
  assert.equal(result.loaded, 299);
  assert.equal(reloaded.get(base[0].sid)!.age, 66);
  assert.equal(reloaded.slotOf(base[1].sid), -1);
  assert.deepEqual(reloaded.get(base[5].sid), profiles.get(base[5].sid));
});

test('a restarted consumer of the same group resumes after its committed offsets', async () => {
  const profiles = createProfileStore();
  const again = createProfileConsumer({
    kafka,
    topic: 'profiles',
    groupId: 'profiles-1',
    profiles,
    logger,
    timings,
  });
  const producer = kafka.producer();
  await producer.connect();
  await again.start();
  try {
    await producer.send({
      topic: 'profiles',
      messages: [{ key: 'late-1', value: JSON.stringify({ age: 20 }) }],
    });
    await until(() => again.stats().upserted === 1, 'the new message');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(again.stats(), { upserted: 1, deleted: 0, rejected: 0 }, 'old messages are not re-read');
    assert.equal(profiles.get('late-1')!.age, 20);
  } finally {
    await producer.disconnect();
    await again.stop();
  }
});
