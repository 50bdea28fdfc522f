import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { type KafkaMock, startKafkaMock } from '../../helpers/kafka-mock/index.ts';
import { buildPing } from './fixtures/build.ts';
import { MODES } from './fixtures/pipelines.ts';

const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'consumer-child.ts');
let mock: KafkaMock;

before(async () => {
  mock = await startKafkaMock({ topics: [{ name: 'kr', partitions: 1 }, { name: 'kr-dlq' }] });
});
after(async () => {
  await mock.stop();
});

interface Run {
  proc: ChildProcess;
  lines: string[];
  exited: Promise<void>;
}

function startChild(topic: string, mode: string, t0: number, slowMs: number): Run {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', child, mock.bootstrap, topic, `g-${topic}`, String(t0), String(slowMs), mode],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, lines, exited };
}

async function until(cond: () => boolean, what: string, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const of = (run: Run, prefix: string) => run.lines.filter((l) => l.startsWith(prefix));

for (const mode of MODES) {
  test(`a consumer killed mid-stream re-reads exactly the uncommitted pings and loses no event (${mode})`, async () => {
    const topic = `kr-${mode}`;
    await mock.createTopic(topic, 1);
    await mock.createTopic(`${topic}-dlq`, 1);
    const T0 = Date.now() - 3_600_000;
    // 12 subscribers; seq i is ping i (offset i, ts = T0 + i s). Each enters at its first ping, stays
    // 11 minutes (dwell), and leaves: ping k of subscriber s is seq 12k + s.
    const ROUNDS = 8;
    const subs = 12;
    const messages: Array<{ key: string; value: string }> = [];
    for (let k = 0; k < ROUNDS; k++) {
      for (let s = 0; s < subs; s++) {
        const seq = k * subs + s;
        const sid = `s${s}`;
        // rounds 0–5 inside, round 6 inside 11 min later (dwell), round 7 far away (exit)
        const ts = T0 + seq * 1000 + (k >= 6 ? 11 * 60_000 : 0);
        const p = buildPing({ sid, ts, eastM: k === 7 ? 900 : 0, src: `q${seq}` });
        messages.push({ key: sid, value: JSON.stringify(p) });
      }
    }
    // seq must equal offset; dwell/exit rounds carry +11 min, so events there report seq + 660.
    const kafka = new Kafka({ clientId: 'kr-producer', brokers: mock.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    // Separate sends make separate record batches, so the consumer fetches them in small batches.
    for (let i = 0; i < messages.length; i += 6)
      await producer.send({ topic, messages: messages.slice(i, i + 6) });
    await producer.disconnect();

    const first = startChild(topic, mode, T0, 300);
    // Kill once a batch has been handed over but not yet committed (the slow downstream holds it).
    const lastCommitted = () => Number(of(first, 'commit').at(-1)?.split(' ')[3] ?? -1);
    await until(
      () =>
        of(first, 'commit').length >= 4 &&
        of(first, 'handled').some((l) => Number(l.split(' ')[1]) >= lastCommitted()),
      'four commits and a batch in flight',
    );
    first.proc.kill('SIGKILL');
    await first.exited;
    const commits = of(first, 'commit').map((l) => l.split(' ').map(Number));
    const committed = commits.at(-1)![3];
    const handledFirst = of(first, 'handled').map((l) => Number(l.split(' ')[1]));
    const uncommitted = handledFirst.filter((seq) => seq >= committed);
    assert.ok(uncommitted.length > 0, 'the kill landed between hand-over and commit');

    const second = startChild(topic, mode, T0, 0);
    await until(
      () => of(second, 'commit').some((l) => Number(l.split(' ')[3]) === messages.length),
      'the rest',
    );
    second.proc.kill('SIGTERM');
    await second.exited;
    const handledSecond = of(second, 'handled').map((l) => Number(l.split(' ')[1]));

    // The restarted consumer starts exactly at the committed offset: it re-reads what the first handled
    // but never committed, and nothing before.
    assert.equal(handledSecond[0], committed, `restart begins at committed offset ${committed}`);
    assert.deepEqual(
      handledSecond.filter((seq) => handledFirst.includes(seq)),
      uncommitted,
      'exactly the uncommitted pings are read twice',
    );
    const all = [...new Set([...handledFirst, ...handledSecond])].sort((a, b) => a - b);
    assert.deepEqual(
      all,
      messages.map((_, i) => i),
      'every ping handled',
    );

    // No event lost: every subscriber's enter, dwell and exit appear across the two runs; events appear
    // twice only when their ping was in the re-read range.
    const events = [...of(first, 'event'), ...of(second, 'event')];
    for (let s = 0; s < subs; s++) {
      for (const kind of ['enter', 'dwell', 'exit']) {
        assert.ok(
          events.some((l) => l.startsWith(`event ${kind} s${s} `)),
          `${kind} of s${s} was produced (events: ${events.join('; ')})`,
        );
      }
    }
    const seen = new Map<string, number>();
    for (const l of events) seen.set(l, (seen.get(l) ?? 0) + 1);
    for (const [line, n] of seen) {
      if (n === 1) continue;
      const seq = Number(line.split(' ')[3]);
      const offset = seq >= 660 ? seq - 660 : seq;
      assert.ok(uncommitted.includes(offset), `${line} repeated although its ping ${offset} was committed`);
    }
  });
}
