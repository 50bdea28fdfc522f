import type {
  Admin,
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  IHeaders,
  Kafka,
  KafkaMessage,
  Producer,
} from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { PingDecoder } from './decode.ts';
import type { IngestMetrics } from './metrics.ts';
import type { InvalidPingReason, Ping, PingHandler, PingSource } from './types.ts';
import type { RawPingHandler } from './worker-pipeline.ts';

export interface KafkaPingSourceOptions {
  /** A kafkajs client (main builds it from KAFKA_BROKERS / KAFKA_CLIENT_ID). */
  kafka: Kafka;
  topic: string;
  dlqTopic: string;
  groupId: string;
  decoder: PingDecoder;
  metrics: IngestMetrics;
  logger: Logger;
  /** Read from the start of the topic when the group has no committed offset; default false (latest). */
  fromBeginning?: boolean;
  /** Extra kafkajs consumer settings (session timeout, fetch sizes, ...). */
  consumer?: Partial<Omit<ConsumerConfig, 'groupId'>>;
  /**
   * Presence state lives in memory: when a partition is assigned, re-read up to this many messages
   * before the committed offset (events muted) to rebuild it, so visits open before a restart or
   * rebalance still get their dwell and exit. 0 = off.
   */
  warmupMessages?: number;
  /** Called after each batch's offsets were committed (tests and operations). */
  onCommitted?(info: CommittedBatch): void;
}

export interface CommittedBatch {
  partition: number;
  firstOffset: string;
  lastOffset: string;
  /** The committed offset: the next one this group will read. */
  committed: string;
  valid: number;
  invalid: number;
}

interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  reason: InvalidPingReason;
  partition: number;
  offset: string;
  headers: IHeaders | undefined;
}

/**
 * A kafkajs consumer group on the pings topic. Whole batches are decoded, invalid messages are
 * dead-lettered (original bytes, reason in headers), and offsets are committed only after the batch's
 * outputs were handed over (`handler.flush()`): at-least-once, and a poison message never stalls.
 */
export function createKafkaPingSource(opts: KafkaPingSourceOptions): PingSource & {
  /** Partitions currently owned. */
  readonly assigned: readonly number[];
} {
  const logger = opts.logger.child({ stage: 'ingest', source: 'kafka' });
  const { topic, decoder, metrics } = opts;
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let owned: number[] = [];
  let current: PingHandler | undefined;
  // A handler that decodes itself (the ingest worker) gets the messages' bytes.
  let rawHandler: RawPingHandler | undefined;
  // Per partition: the last raw batch's dead-lettering, so batches go to the DLQ and commit in order.
  const tails = new Map<number, Promise<unknown>>();
  // Per partition: bumped when a raw batch's dead letters could not be sent and the partition was
  // rewound; batches submitted before that never commit.
  const epochs = new Map<number, number>();
  let admin: Admin | undefined;
  const warmup = opts.warmupMessages ?? 0;
  // Per partition: offsets below this were processed before (by this group): read again, events muted.
  const replayBelow = new Map<number, bigint>();
  // Per partition: the highest offset committed (commits resolve off the fetch path, never backwards).
  const commitAt = new Map<number, bigint>();
  const commits = new Set<Promise<void>>();
  // Batches whose outputs are durable, waiting for the next offset commit. One commit request is in
  // flight at a time and carries every partition's newest ready offset: at a few thousand small batches
  // a second (paced traffic, 100 ms fetches) one request per batch held the whole consumer back.
  interface ReadyBatch {
    committed: bigint;
    info: CommittedBatch;
    done: () => void;
  }
  let ready = new Map<number, ReadyBatch[]>();
  let committing = false;

  const commitWhenDue = (partition: number, committed: bigint, info: CommittedBatch) =>
    new Promise<void>((done) => {
      let list = ready.get(partition);
      if (list === undefined) {
        list = [];
        ready.set(partition, list);
      }
      list.push({ committed, info, done });
      if (!committing) {
        committing = true;
        // Let the batches made durable by the same writer flush join this request.
        setImmediate(() => void commitReady());
      }
    });

  const commitReady = async () => {
    try {
      while (ready.size > 0) {
        const taken = ready;
        ready = new Map();
        const offsets: { topic: string; partition: number; offset: string }[] = [];
        const covered: { partition: number; offset: bigint; batches: ReadyBatch[] }[] = [];
        for (const [partition, list] of taken) {
          const before = commitAt.get(partition) ?? -1n;
          let offset = before;
          for (const b of list) if (b.committed > offset) offset = b.committed;
          // Revoked meanwhile: the next owner re-reads from the last commit (at least once).
          if (!owned.includes(partition) || offset <= before) continue;
          // Never backwards, even when this request fails: those pings are read again after a restart.
          commitAt.set(partition, offset);
          offsets.push({ topic, partition, offset: String(offset) });
          covered.push({ partition, offset, batches: list.filter((b) => b.committed > before) });
        }
        try {
          if (offsets.length > 0) {
            await consumer!.commitOffsets(offsets);
            for (const c of covered) {
              replayBelow.set(c.partition, c.offset);
              if (opts.onCommitted) for (const b of c.batches) opts.onCommitted(b.info);
            }
          }
        } catch (err) {
          logger.warn(
            { err, partitions: offsets.map((o) => o.partition) },
            'offset commit failed; these pings will be read again',
          );
        } finally {
          for (const list of taken.values()) for (const b of list) b.done();
        }
      }
    } finally {
      committing = false;
    }
  };
  // Per partition: a warm-up seek was issued to this offset; batches fetched before it are dropped.
  const seekTo = new Map<number, bigint>();
  let warming: Promise<void> | undefined;

  /** Seeks newly assigned partitions back to rebuild their presence state from recent pings. */
  const warm = async (partitions: number[]) => {
    try {
      const [committed] = await admin!.fetchOffsets({ groupId: opts.groupId, topics: [topic] });
      const bounds = await admin!.fetchTopicOffsets(topic);
      for (const partition of partitions) {
        const c = committed?.partitions.find((x) => x.partition === partition)?.offset;
        const b = bounds.find((x) => x.partition === partition);
        if (c === undefined || b === undefined || BigInt(c) < 0n) continue;
        const low = BigInt(b.low);
        const end = BigInt(c);
        const start = end - BigInt(warmup) > low ? end - BigInt(warmup) : low;
        if (start >= end) continue;
        const seen = replayBelow.get(partition) ?? -1n;
        replayBelow.set(partition, seen > end ? seen : end);
        seekTo.set(partition, start);
        consumer!.seek({ topic, partition, offset: String(start) });
        logger.info({ partition, from: String(start), to: String(end) }, 'rebuilding presence state');
      }
    } catch (err) {
      logger.warn({ err }, 'presence warm-up skipped');
    }
  };

  const deadLetter = async (dead: DeadLetter[]) => {
    const at = new Date().toISOString();
    await producer!.send({
      topic: opts.dlqTopic,
      acks: -1,
      messages: dead.map((d) => ({
        key: d.key,
        value: d.value,
        headers: {
          ...d.headers,
          'dlq-reason': d.reason,
          'dlq-source-topic': topic,
          'dlq-source-partition': String(d.partition),
          'dlq-source-offset': d.offset,
          'dlq-at': at,
        },
      })),
    });
  };

  /** Re-reads already processed messages: presence state only, no events, no dead letters. */
  const replay = (messages: KafkaMessage[], partition: number) => {
    if (rawHandler !== undefined) {
      rawHandler.submit(messages, partition, true).done.catch(() => undefined);
      return;
    }
    const pings: Ping[] = [];
    for (const m of messages) {
      const r = decoder.decode(m.value, m.key);
      if (typeof r !== 'string') pings.push(r);
    }
    void current!.handle(pings, partition, undefined, true);
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch, heartbeat, isStale } = payload;
    if (warming !== undefined) await warming;
    if (batch.messages.length === 0 || isStale()) return;
    const partition = batch.partition;
    const target = seekTo.get(partition);
    if (target !== undefined) {
      // Fetched before the warm-up seek: the seek delivers these messages again, in order.
      if (BigInt(batch.messages[0].offset) > target) return;
      seekTo.delete(partition);
    }
    const pings: Ping[] = [];
    const index: number[] = [];
    const dead: DeadLetter[] = [];
    const all = batch.messages;
    const below = replayBelow.get(partition) ?? -1n;
    let split = 0;
    while (split < all.length && BigInt(all[split].offset) < below) split++;
    if (split > 0) replay(all.slice(0, split), partition);
    if (split === all.length) {
      // Resolved (so the next fetch moves on) but not committed: the group's offset is already past them.
      payload.resolveOffset(all[split - 1].offset);
      return;
    }
    const messages = split === 0 ? all : all.slice(split);
    if (rawHandler !== undefined) return eachRawBatch(payload, messages);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const r = decoder.decode(m.value, m.key);
      if (typeof r === 'string') {
        metrics.invalid(r);
        dead.push({
          key: m.key,
          value: m.value,
          reason: r,
          partition,
          offset: m.offset,
          headers: m.headers,
        });
      } else {
        pings.push(r);
        index.push(i);
      }
    }
    metrics.pings('kafka', pings.length);
    const waiting = current!.handle(pings, partition, (i, err) => {
      const m = messages[index[i]];
      logger.warn({ err, partition, offset: m.offset }, 'ping failed in processing; dead-lettered');
      dead.push({
        key: m.key,
        value: m.value,
        reason: 'processing_failed',
        partition,
        offset: m.offset,
        headers: m.headers,
      });
    });
    // Back-pressure: keep the group membership alive while the writer drains.
    if (waiting !== undefined) await whileHeartbeating(waiting, heartbeat);
    if (dead.length > 0) await deadLetter(dead);
    if (isStale()) return;
    // Durability is awaited off the fetch path: the next batches are handled while the writer's next
    // flush makes this one's rows durable; its offset is committed (never backwards) once they are.
    const durable = current!.flush();
    const last = batch.lastOffset();
    const committed = BigInt(last) + 1n;
    payload.resolveOffset(last);
    const valid = pings.length;
    const invalid = messages.length - pings.length;
    const firstOffset = messages[0].offset;
    const commit = durable
      .then(() =>
        commitWhenDue(partition, committed, {
          partition,
          firstOffset,
          lastOffset: last,
          committed: String(committed),
          valid,
          invalid,
        }),
      )
      .catch((err: unknown) => {
        logger.warn({ err, partition }, 'offset commit failed; these pings will be read again');
      });
    commits.add(commit);
    void commit.finally(() => commits.delete(commit));
  };

  /**
   * The worker path: the batch's bytes go to the worker and the fetch loop moves on; its outcome is
   * dead-lettered (original bytes), made durable and committed off the fetch path, in batch order.
   */
  const eachRawBatch = async (payload: EachBatchPayload, messages: KafkaMessage[]) => {
    const { batch, heartbeat, isStale } = payload;
    const partition = batch.partition;
    const epoch = epochs.get(partition) ?? 0;
    const job = rawHandler!.submit(messages, partition, false);
    const firstOffset = messages[0].offset;
    const last = batch.lastOffset();
    const committed = BigInt(last) + 1n;
    const count = messages.length;
    // What dead-lettering needs besides the bytes (the worker returns those): the messages themselves
    // are not kept while the job is in flight, or kafkajs's objects for every queued message (~1 s of
    // the worker's work) would outlive the young generation and be promoted and collected as old.
    const where = deadLetterInfo(messages);
    const step = (tails.get(partition) ?? Promise.resolve()).then(async () => {
      const outcome = await job.done;
      metrics.pings('kafka', outcome.valid);
      if (outcome.invalid.length === 0) return outcome;
      const dead: DeadLetter[] = [];
      for (const { index, reason, key, value } of outcome.invalid) {
        const offset = where.offset(index);
        metrics.invalid(reason);
        if (reason === 'processing_failed')
          logger.warn({ partition, offset }, 'ping failed in processing; dead-lettered');
        dead.push({ key, value, reason, partition, offset, headers: where.headers(index) });
      }
      try {
        await deadLetter(dead);
      } catch (err) {
        // Read the batch again (at least once); nothing from here on commits until then.
        if ((epochs.get(partition) ?? 0) === epoch && owned.includes(partition)) {
          epochs.set(partition, epoch + 1);
          seekTo.set(partition, BigInt(firstOffset));
          consumer!.seek({ topic, partition, offset: firstOffset });
        }
        throw err;
      }
      return outcome;
    });
    tails.set(
      partition,
      step.catch(() => undefined),
    );
    // Back-pressure: keep the group membership alive while the worker or the writer catches up.
    if (job.wait !== undefined) await whileHeartbeating(job.wait, heartbeat);
    if (isStale()) return;
    payload.resolveOffset(last);
    const commit = step
      .then(async (outcome) => {
        await current!.flush();
        if ((epochs.get(partition) ?? 0) !== epoch) return;
        await commitWhenDue(partition, committed, {
          partition,
          firstOffset,
          lastOffset: last,
          committed: String(committed),
          valid: outcome.valid,
          invalid: count - outcome.valid,
        });
      })
      .catch((err: unknown) => {
        logger.warn({ err, partition }, 'batch not committed; these pings will be read again');
      });
    commits.add(commit);
    void commit.finally(() => commits.delete(commit));
  };

  const source = {
    kind: 'kafka' as const,
    get assigned() {
      return owned;
    },
    async start(handler: PingHandler) {
      current = handler;
      rawHandler = 'submit' in handler ? (handler as RawPingHandler) : undefined;
      producer = opts.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      consumer = opts.kafka.consumer({
        sessionTimeout: 30_000,
        heartbeatInterval: 3_000,
        ...opts.consumer,
        groupId: opts.groupId,
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const next = e.payload.memberAssignment[topic] ?? [];
        const revoked = owned.filter((p) => !next.includes(p));
        const added = next.filter((p) => !owned.includes(p));
        for (const p of revoked) {
          replayBelow.delete(p);
          commitAt.delete(p);
          tails.delete(p);
        }
        if (warmup > 0 && added.length > 0) {
          const w = warm(added);
          warming = w;
          void w.finally(() => {
            if (warming === w) warming = undefined;
          });
        }
        for (const p of revoked) seekTo.delete(p);
        owned = [...next].sort((a, b) => a - b);
        if (revoked.length > 0) handler.release(revoked);
        logger.info({ assigned: owned, revoked }, 'partitions assigned');
      });
      consumer.on(consumer.events.CRASH, (e) => {
        logger.error({ err: e.payload.error, restart: e.payload.restart }, 'kafka consumer crashed');
      });
      try {
        if (warmup > 0) {
          admin = opts.kafka.admin();
          await admin.connect();
        }
        await producer.connect();
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? false });
      } catch (err) {
        throw new AppError('KAFKA_UNAVAILABLE', `cannot reach Kafka for topic ${topic}`, {
          cause: err,
          retriable: true,
        });
      }
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
    },
    async stop() {
      // Stop fetching, commit what is durable, then leave (disconnect waits for the running batch).
      if (consumer && owned.length > 0) consumer.pause([{ topic }]);
      while (commits.size > 0) await Promise.all([...commits]);
      await consumer?.disconnect();
      while (commits.size > 0) await Promise.all([...commits]);
      await producer?.disconnect();
      await admin?.disconnect();
      if (owned.length > 0) current?.release(owned);
      owned = [];
    },
  };
  return source;
}

/**
 * Each message's offset (in a Float64Array when every offset of the batch is exact as a double, as
 * real offsets are; else the strings) and its headers where it has any: what a dead letter needs
 * besides the bytes, without keeping the kafkajs message objects.
 */
export function deadLetterInfo(messages: readonly KafkaMessage[]): {
  offset(index: number): string;
  headers(index: number): IHeaders | undefined;
} {
  const n = messages.length;
  let withHeaders: Map<number, IHeaders> | undefined;
  for (let i = 0; i < n; i++) {
    const h = messages[i].headers;
    if (h === undefined) continue;
    for (const _ in h) {
      withHeaders ??= new Map();
      withHeaders.set(i, h);
      break;
    }
  }
  const headers = (i: number) => withHeaders?.get(i);
  if (n === 0 || Number(messages[n - 1].offset) > Number.MAX_SAFE_INTEGER) {
    const strings = messages.map((m) => m.offset);
    return { offset: (i) => strings[i], headers };
  }
  const offsets = new Float64Array(n);
  for (let i = 0; i < n; i++) offsets[i] = Number(messages[i].offset);
  return { offset: (i) => String(offsets[i]), headers };
}

/** Awaits `p`, sending a group heartbeat every second meanwhile. */
async function whileHeartbeating(p: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
  const timer = setInterval(() => void heartbeat().catch(() => undefined), 1_000);
  try {
    await p;
  } finally {
    clearInterval(timer);
  }
}
