import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import { AppError } from '../errors.ts';
import { type FenceChange, packFenceChange } from '../geo/index.ts';
import type { Logger } from '../logger.ts';
import type { PresenceOptions, PresenceSink } from '../presence/index.ts';
import type { PingDecoderOptions } from './decode.ts';
import { createIngestMetrics, type IngestMetrics } from './metrics.ts';
import type { FootfallWriter, PipelineStats } from './pipeline.ts';
import { packRawBatch, type RawMessage } from './raw-batch.ts';
import type { InvalidPingReason, Ping, PingHandler } from './types.ts';
import { eventAt, rowAt } from './worker-columns.ts';
import type { WorkerCounters, WorkerInit, WorkerJob, WorkerReply } from './worker-protocol.ts';

/**
 * What became of one raw batch: how many pings were valid, and which messages were rejected, why, and
 * their original key and value bytes (for the dead-letter topic: the source need not keep the batch's
 * messages while it is in flight).
 */
export interface RawBatchOutcome {
  valid: number;
  invalid: Array<{ index: number; reason: InvalidPingReason; key: Buffer | null; value: Buffer | null }>;
}

const asBuffer = (b: Uint8Array | null) =>
  b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.length);

/** A handler that takes undecoded Kafka messages (decode happens where match and presence run). */
export interface RawPingHandler extends PingHandler {
  /**
   * Queues one partition's messages. `done` resolves once the batch's events went to decide and its
   * footfall rows to the writer (not yet durable: see `flush`); `wait`, when set, is back-pressure: read
   * no more until it settles. Replayed messages (`replay`) only rebuild presence state.
   */
  submit(
    messages: readonly RawMessage[],
    partition: number,
    replay: boolean,
  ): { done: Promise<RawBatchOutcome>; wait: Promise<void> | undefined };
}

export interface WorkerPipelineDeps {
  /** The decision stage. */
  sink: PresenceSink;
  presence: PresenceOptions;
  /** Validation limits of the worker's decoder (its clock is the worker's own). */
  decoder?: Omit<PingDecoderOptions, 'now'>;
  /** The store writer for footfall rows; without one footfall is not recorded. */
  writer?: FootfallWriter;
  registry: Registry;
  logger: Logger;
  /** See PingPipelineDeps.sweepEveryMs. */
  sweepEveryMs?: number;
  /**
   * Pings queued to the worker beyond which the source is told to wait (default 262 144: about a
   * second of the worker's work, so it never runs dry while kafkajs fetches and decodes the next
   * fetch's record batches, which at 32 MB per fetch takes the main thread a good part of a second).
   */
  maxQueuedPings?: number;
}

export interface WorkerPipeline extends RawPingHandler {
  readonly metrics: IngestMetrics;
  /** Resolves once the worker answered its first job; rejects (AppError INTERNAL) if it could not start. */
  readonly ready: Promise<void>;
  /** Undefined while the worker runs; the error that ended it otherwise (readiness reports it). */
  readonly failure: AppError | undefined;
  /** Forwards one fence change of the main thread's matcher; applied in order with the pings. */
  fences(change: FenceChange): void;
  /** Runs the timeout/TTL sweep of every partition in the worker (see PingPipeline.sweep). */
  sweep(watermarkMs?: number): void;
  /** The worker's state as of its last answer. */
  stats(): PipelineStats;
  /** Stops the worker (after `flush`). */
  close(): Promise<void>;
  /** The thread itself (operations and tests). */
  readonly worker: Worker;
}

interface Job {
  kind: WorkerJob['t'];
  pings: number;
  resolve(r: Extract<WorkerReply, { t: 'done' }>): void;
  reject(err: AppError): void;
}

const FOOTFALL_TABLE = 'footfall_visits';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/**
 * Starts the worker's TypeScript module. Node 20 resolves a worker's entry before an inherited
 * `--import tsx` has registered its loader, so a small bootstrap registers tsx first, then imports it.
 */
function startWorker(init: WorkerInit): Worker {
  const entry = new URL('./ingest-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

/**
 * decode → match → presence in a worker thread (src/ingest/ingest-worker.ts); events go to the
 * decision stage and footfall rows to the writer here, on the calling thread, in the order the worker
 * produced them (per partition: ping order). Jobs are answered in the order sent, so fence changes
 * apply between the batches they were made between.
 */
export function createWorkerPipeline(deps: WorkerPipelineDeps): WorkerPipeline {
  const { sink, writer } = deps;
  const logger = deps.logger.child({ stage: 'ingest', thread: 'worker' });
  const maxQueued = deps.maxQueuedPings ?? 262_144;
  let counters: WorkerCounters = { pings: 0, failed: 0, partitions: 0, tracked: 0, visits: 0 };
  const metrics = createIngestMetrics(deps.registry, {
    tracked: () => counters.tracked,
    visits: () => counters.visits,
  });
  const init: WorkerInit = {
    presence: deps.presence,
    decoder: deps.decoder ?? {},
    footfall: writer !== undefined,
    sweepEveryMs: deps.sweepEveryMs,
    logLevel: deps.logger.level,
  };
  const worker = startWorker(init);
  const jobs: Job[] = [];
  let head = 0;
  let queuedPings = 0;
  let failure: AppError | undefined;
  let closing = false;
  // Writer back-pressure: the source waits on this before reading on.
  const pendingWrites = new Set<Promise<void>>();
  let blocked: Promise<void> | undefined;
  let drained: Array<() => void> = [];
  let last: Promise<unknown> = Promise.resolve();

  const fail = (err: AppError) => {
    if (failure !== undefined) return;
    failure = err;
    logger.error({ err }, 'ingest worker failed; ping processing stopped');
    for (let i = head; i < jobs.length; i++) jobs[i].reject(err);
    jobs.length = 0;
    head = 0;
    queuedPings = 0;
    for (const d of drained) d();
    drained = [];
  };

  const enqueue = (job: WorkerJob, pings: number, transfer?: ArrayBuffer[]) => {
    if (failure !== undefined) return Promise.reject(failure);
    const p = new Promise<Extract<WorkerReply, { t: 'done' }>>((resolve, reject) => {
      jobs.push({ kind: job.t, pings, resolve, reject });
    });
    queuedPings += pings;
    worker.postMessage(job, transfer);
    last = p.catch(() => undefined);
    return p;
  };

  const handOver = (r: Extract<WorkerReply, { t: 'done' }>) => {
    const { out } = r;
    for (let i = 0; i < out.events.n; i++) {
      const e = eventAt(out, i);
      metrics.event(e.kind);
      sink.onEvent(e);
    }
    if (writer === undefined || out.rows.n === 0) return;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < out.rows.n; i++) {
      const w = writer.write(FOOTFALL_TABLE, rowAt(out, i));
      if (w !== undefined) waits.push(w);
    }
    if (waits.length === 0) return;
    metrics.backpressure();
    const done = Promise.all(waits).then(() => undefined);
    pendingWrites.add(done);
    blocked = done;
    void done.finally(() => {
      pendingWrites.delete(done);
      if (blocked === done) blocked = undefined;
    });
  };

  worker.on('message', (r: WorkerReply) => {
    if (r.t === 'log') return void relog(logger, r.line);
    if (r.t === 'fatal') {
      fail(new AppError('INTERNAL', `the ingest worker failed: ${r.message}`));
      void worker.terminate();
      return;
    }
    const job = jobs[head++];
    if (head === jobs.length) {
      jobs.length = 0;
      head = 0;
    } else if (head >= 1_024) {
      // Under sustained load the queue never empties: drop the answered jobs now and then.
      jobs.splice(0, head);
      head = 0;
    }
    counters = r.counters;
    queuedPings -= job.pings;
    try {
      handOver(r);
    } catch (err) {
      logger.error({ err }, 'handing presence events over failed');
    }
    job.resolve(r);
    if (queuedPings < maxQueued && drained.length > 0) {
      const d = drained;
      drained = [];
      for (const f of d) f();
    }
  });
  worker.on('error', (err) => fail(new AppError('INTERNAL', 'the ingest worker crashed', { cause: err })));
  worker.on('exit', (code) => {
    if (!closing) fail(new AppError('INTERNAL', `the ingest worker exited (code ${code})`));
  });

  const backlog = (): Promise<void> | undefined => {
    if (queuedPings < maxQueued) return blocked;
    const room = new Promise<void>((r) => drained.push(r));
    return blocked === undefined ? room : Promise.all([room, blocked]).then(() => undefined);
  };

  const outcome = (r: Extract<WorkerReply, { t: 'done' }>): RawBatchOutcome => ({
    valid: r.valid,
    invalid: r.invalidAt.map((index, i) => ({
      index,
      reason: r.invalidWhy[i],
      key: asBuffer(r.invalidKey[i] ?? null),
      value: asBuffer(r.invalidValue[i] ?? null),
    })),
  });

  const ready = enqueue({ t: 'sweep', watermarkMs: undefined }, 0).then(() => undefined);
  // A worker that never starts rejects `ready`; the catch keeps that from being an unhandled rejection.
  ready.catch(() => undefined);

  return {
    metrics,
    ready,
    worker,
    get failure() {
      return failure;
    },
    submit(messages, partition, replay) {
      const batch = packRawBatch(messages);
      const done = enqueue({ t: 'raw', partition, replay, batch }, messages.length, [batch.bytes]).then(
        outcome,
      );
      return { done, wait: backlog() };
    },
    handle(pings: readonly Ping[], partition: number, onFailed, replay = false) {
      const done = enqueue({ t: 'pings', partition, replay, pings: pings as Ping[] }, pings.length).then(
        (r) => {
          if (!replay) {
            for (let i = 0; i < r.invalidAt.length; i++) {
              metrics.invalid('processing_failed');
              onFailed?.(r.invalidAt[i], new AppError('INTERNAL', 'ping processing failed in the worker'));
            }
          }
        },
      );
      const wait = backlog();
      // HTTP and file sources answer only after their pings were processed.
      return wait === undefined ? done : Promise.all([done, wait]).then(() => undefined);
    },
    async flush() {
      await last;
      if (failure !== undefined) throw failure;
      if (pendingWrites.size > 0) await Promise.all(pendingWrites);
      await sink.drain?.();
    },
    release(partitions) {
      if (partitions.length === 0) return;
      enqueue({ t: 'release', partitions: [...partitions] }, 0).catch(() => undefined);
    },
    fences(change) {
      enqueue({ t: 'fences', change: packFenceChange(change) }, 0).catch(() => undefined);
    },
    sweep(watermarkMs) {
      enqueue({ t: 'sweep', watermarkMs }, 0).catch(() => undefined);
    },
    stats: () => ({ ...counters }),
    async close() {
      closing = true;
      await worker.terminate();
    },
  };
}

/** Writes a worker's pino line through the main thread's logger (same level, fields and message). */
function relog(logger: Logger, line: string) {
  try {
    const {
      level,
      msg,
      time: _time,
      pid: _pid,
      hostname: _host,
      // the main logger's child adds its own stage
      stage: _stage,
      ...fields
    } = JSON.parse(line) as {
      level: number;
      msg?: string;
      [k: string]: unknown;
    };
    const name = LOG_LEVELS[Math.min(5, Math.max(0, Math.floor(level / 10) - 1))];
    logger[name](fields, msg);
  } catch {
    logger.warn('an ingest worker log line could not be read');
  }
}
