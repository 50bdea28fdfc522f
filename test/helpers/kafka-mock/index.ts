import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binary = join(here, 'kafka-mock');

export interface MockTopic {
  name: string;
  /** Partition count; default 1. */
  partitions?: number;
}

export interface KafkaMockOptions {
  topics?: readonly MockTopic[];
  /** Number of mock brokers in the cluster; default 1. */
  brokerCount?: number;
}

export interface KafkaMock {
  /** Bootstrap servers for kafkajs (`new Kafka({ brokers })`). */
  brokers: string[];
  /** The same, comma-separated (kcat -b, librdkafka bootstrap.servers). */
  bootstrap: string;
  /** Creates a topic through the mock's API (kafkajs admin.createTopics does not work against it). */
  createTopic(name: string, partitions?: number): Promise<void>;
  /** Stops the broker; resolves when its process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Builds the C helper when its binary is missing (a fresh checkout that skipped test/helpers/build.sh). */
function ensureBuilt(): void {
  if (!existsSync(binary)) execFileSync(join(here, '..', 'build.sh'), { stdio: 'inherit' });
}

/**
 * Starts a Kafka-protocol broker (librdkafka's mock cluster) on loopback with the given topics.
 * Produce, fetch, consumer groups, offset commits and rebalances work over real TCP.
 */
export async function startKafkaMock(options: KafkaMockOptions = {}): Promise<KafkaMock> {
  ensureBuilt();
  const args: string[] = ['--brokers', String(options.brokerCount ?? 1)];
  for (const t of options.topics ?? []) args.push(`${t.name}:${t.partitions ?? 1}`);
  const child: ChildProcess = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const waiters: Array<(line: string) => void> = [];
  const queued: string[] = [];
  lines.on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else queued.push(line);
  });
  const nextLine = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const q = queued.shift();
      if (q !== undefined) return resolve(q);
      const timer = setTimeout(
        () => reject(new Error(`kafka-mock: no ${what} within 10 s; ${stderr}`)),
        10_000,
      );
      const onExit = () => reject(new Error(`kafka-mock exited before ${what}: ${stderr}`));
      child.once('exit', onExit);
      waiters.push((line) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(line);
      });
    });

  const bootstrap = (await nextLine('bootstrap address')).trim();
  let stopped = false;
  return {
    brokers: bootstrap.split(','),
    bootstrap,
    async createTopic(name, partitions = 1) {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`kafka-mock: bad topic name ${name}`);
      child.stdin!.write(`topic ${name} ${partitions}\n`);
      const answer = await nextLine(`answer to topic ${name}`);
      if (answer !== `ok ${name}`) throw new Error(`kafka-mock: ${answer}`);
    },
    async stop() {
      if (!stopped) {
        stopped = true;
        child.stdin!.end();
        child.kill('SIGTERM');
      }
      await exited;
    },
  };
}
