import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type Consumer, Kafka, logLevel, Partitioners } from 'kafkajs';
import { type KafkaMock, startKafkaMock } from '../../helpers/kafka-mock/index.ts';

const run = promisify(execFile);
let mock: KafkaMock;
let kafka: Kafka;

before(async () => {
  mock = await startKafkaMock({ topics: [{ name: 'plain', partitions: 3 }] });
  kafka = new Kafka({ clientId: 'mock-test', brokers: mock.brokers, logLevel: logLevel.NOTHING });
});
after(async () => {
  await mock.stop();
});

function consumerOf(groupId: string): Consumer {
  return kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 6000 });
}

async function produce(topic: string, keys: string[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages: keys.map((k) => ({ key: k, value: `v-${k}` })) });
  await producer.disconnect();
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('the mock broker reports the topics it was started with and ones created later', async () => {
  await mock.createTopic('late', 2);
  const admin = kafka.admin();
  await admin.connect();
  const meta = await admin.fetchTopicMetadata({ topics: ['plain', 'late'] });
  await admin.disconnect();
  const byName = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
  assert.equal(byName.get('plain'), 3);
  assert.equal(byName.get('late'), 2);
});

test('a consumer group resumes after the last committed offset', async () => {
  await mock.createTopic('resume', 1);
  await produce('resume', ['a', 'b', 'c']);
  const seen: string[] = [];
  const first = consumerOf('g-resume');
  await first.connect();
  await first.subscribe({ topic: 'resume', fromBeginning: true });
  await first.run({
    autoCommit: false,
    eachMessage: async ({ message, topic, partition }) => {
      seen.push(message.key!.toString());
      await first.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  await until(() => seen.length === 3, 'first three messages');
  await first.disconnect();

  await produce('resume', ['d', 'e']);
  const second = consumerOf('g-resume');
  const again: string[] = [];
  await second.connect();
  await second.subscribe({ topic: 'resume', fromBeginning: true });
  await second.run({ eachMessage: async ({ message }) => void again.push(message.key!.toString()) });
  await until(() => again.length === 2, 'the two new messages');
  await second.disconnect();
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.deepEqual(again, ['d', 'e']);
});

test('a second member joining the group takes over some partitions', async () => {
  await mock.createTopic('shared', 4);
  const assignments: Array<{ member: string; partitions: number[] }> = [];
  const members: Consumer[] = [];
  try {
    for (const name of ['m1', 'm2']) {
      const c = consumerOf('g-shared');
      c.on(c.events.GROUP_JOIN, (e) => {
        assignments.push({ member: name, partitions: e.payload.memberAssignment.shared ?? [] });
      });
      members.push(c);
      await c.connect();
      await c.subscribe({ topic: 'shared', fromBeginning: true });
      await c.run({ eachMessage: async () => {} });
      if (name === 'm1') await until(() => assignments.length === 1, 'first join');
    }
    // m2 may not have joined yet when this is first checked (then only m1's 4 partitions are known).
    await until(() => {
      const last = new Map(assignments.map((a) => [a.member, a.partitions]));
      const m2 = last.get('m2')?.length ?? 0;
      return (last.get('m1')?.length ?? 0) + m2 === 4 && m2 > 0;
    }, 'rebalance to two members');
  } finally {
    // Running consumers would keep the test process alive after a failure.
    await Promise.all(members.map((c) => c.disconnect()));
  }
  const last = new Map(assignments.map((a) => [a.member, a.partitions]));
  assert.equal(assignments[0].partitions.length, 4, 'the first member starts with all partitions');
  assert.deepEqual([...last.get('m1')!, ...last.get('m2')!].sort(), [0, 1, 2, 3]);
});

test('messages produced by kcat reach a kafkajs consumer with their keys', async () => {
  await mock.createTopic('from-kcat', 1);
  const child = execFile('kcat', ['-b', mock.bootstrap, '-P', '-t', 'from-kcat', '-K', ':']);
  child.stdin!.end('k1:hello\nk2:world\n');
  await new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(0) : reject(code))),
  );
  const got: string[] = [];
  const c = consumerOf('g-kcat');
  await c.connect();
  await c.subscribe({ topic: 'from-kcat', fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void got.push(`${message.key}=${message.value}`) });
  await until(() => got.length === 2, 'kcat messages');
  await c.disconnect();
  assert.deepEqual(got, ['k1=hello', 'k2=world']);
  // kcat also reads the group's view independently of kafkajs.
  const { stdout } = await run('kcat', ['-b', mock.bootstrap, '-L', '-t', 'from-kcat']);
  assert.match(stdout, /topic "from-kcat" with 1 partitions/);
});
