import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { backoffMs } from './backoff.ts';
import { type ByteSink, compileRowCodec, type RowCodec } from './row-codec.ts';
import { createSpill } from './spill.ts';
import type { Store, TableName } from './types.ts';

export interface WriterOptions {
  store: Store;
  logger: Logger;
  /** Folder of the spill file (batches the store could not take, replayed when it returns). */
  spillDir: string;
  /** Rows per insert (per table); a batch this full goes as soon as an insert slot is free. */
  batchRows?: number;
  /**
   * While every insert slot is busy a full batch keeps growing, up to this many rows (default 4 × batchRows):
   * under load inserts get bigger, so the per-insert work of ClickHouse (parts, views, merges) is spread
   * over more rows, instead of waiting in the queue as more small batches.
   */
  maxBatchRows?: number;
  /** A partly filled batch is sent after this long. */
  flushMs?: number;
  /** Rows held in memory (buffered + being inserted) before write() pushes back. */
  maxBufferedRows?: number;
  /** Continuous failure after which batches go to the spill file instead of waiting in memory. */
  spillAfterMs?: number;
  /** Inserts in flight at once. */
  maxInflight?: number;
  /** Longest pause between retries / store probes during an outage. */
  maxBackoffMs?: number;
}

export interface WriterStats {
  bufferedRows: number;
  queuedBatches: number;
  insertedRows: number;
  insertedBatches: number;
  failedAttempts: number;
  spilledRows: number;
  spilledBatches: number;
  replayedRows: number;
  replayedBatches: number;
  rejectedRows: number;
  backpressureWaits: number;
  outage: boolean;
  lastError: string | undefined;
}

export interface Writer {
  /**
   * Validates and buffers one row. Throws STORE_ROW_INVALID (naming table and column) for a row that
   * does not fit the table. Returns a promise only when the buffer is full: await it before writing more.
   */
  write(table: TableName, row: object): void | Promise<void>;
  /** Sends everything buffered so far; resolves when it is inserted or spilled to disk. */
  flush(): Promise<void>;
  /**
   * Resolves once every row written before the call is inserted or spilled, riding on the next timed
   * flush instead of forcing one: what a Kafka offset commit waits for without costing an insert per batch.
   */
  durable(): Promise<void>;
  /** Flushes, spills what the store will not take, and stops timers. */
  close(): Promise<void>;
  stats(): WriterStats;
}

/** The open batch of one table: its rows' CSV bytes are [0, size) of buf. */
interface TableBuffer extends ByteSink {
  codec: RowCodec;
  rows: number;
}

interface Batch {
  table: string;
  columns: readonly string[];
  token: string;
  rows: number;
  /** The CSV bytes; handed to the store as they are (no copy), turned into text only when spilled. */
  body: Buffer;
  done: () => void;
}

/** First chunk of a table's batch; it doubles as rows arrive (row-codec's reserve). */
const MIN_CHUNK_BYTES = 64 * 1024;

/**
 * The batched writer every stage writes through: per-table batches by size and time, retries with
 * backoff and jitter, a bounded buffer that pushes back on the caller, and a spill file that keeps
 * rows through an outage. Each batch carries one dedup token for life (retries and replays included).
 */
export function createWriter(opts: WriterOptions): Writer {
  const { store } = opts;
  const logger = opts.logger.child({ stage: 'store', component: 'writer' });
  const batchRows = opts.batchRows ?? 20_000;
  const maxBatchRows = Math.max(batchRows, opts.maxBatchRows ?? 4 * batchRows);
  const flushMs = opts.flushMs ?? 1_000;
  const maxBufferedRows = opts.maxBufferedRows ?? 200_000;
  const spillAfterMs = opts.spillAfterMs ?? 5_000;
  const maxInflight = opts.maxInflight ?? 2;
  const maxBackoffMs = opts.maxBackoffMs ?? 5_000;
  const spill = createSpill(opts.spillDir);

  const buffers = new Map<string, TableBuffer>();
  const queue: Batch[] = [];
  const pending = new Set<Promise<void>>();
  let waiters: (() => void)[] = [];
  let buffered = 0;
  let inflight = 0;
  let failingSince: number | undefined;
  let failures = 0;
  let outage = false;
  let retryAt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let replaying: Promise<void> | undefined;
  // Spilled batches may be waiting on disk (true at start: a previous run may have left some).
  let spillPending = true;
  let closed = false;
  const s = {
    insertedRows: 0,
    insertedBatches: 0,
    failedAttempts: 0,
    spilledRows: 0,
    spilledBatches: 0,
    replayedRows: 0,
    replayedBatches: 0,
    rejectedRows: 0,
    backpressureWaits: 0,
    lastError: undefined as string | undefined,
  };

  const release = (rows: number) => {
    buffered -= rows;
    if (buffered < maxBufferedRows && waiters.length > 0) {
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    }
  };

  const bufferFor = (table: string): TableBuffer => {
    let buf = buffers.get(table);
    if (buf) return buf;
    const columns = store.columns(table);
    if (!columns) {
      throw new AppError('STORE_ROW_INVALID', `${table}: no such table in ${store.database}`, {
        details: { table },
      });
    }
    buf = {
      codec: compileRowCodec(table, columns),
      buf: Buffer.allocUnsafe(MIN_CHUNK_BYTES),
      size: 0,
      rows: 0,
    };
    buffers.set(table, buf);
    return buf;
  };

  const cut = (buf: TableBuffer) => {
    if (buf.rows === 0) return;
    let done!: () => void;
    const p = new Promise<void>((resolve) => {
      done = resolve;
    });
    pending.add(p);
    p.then(() => pending.delete(p));
    queue.push({
      table: buf.codec.table,
      columns: buf.codec.columns,
      token: randomUUID(),
      rows: buf.rows,
      body: buf.buf.subarray(0, buf.size),
      done,
    });
    // The batch keeps its bytes until inserted: the next batch starts in a fresh chunk, sized like this one.
    buf.buf = Buffer.allocUnsafe(Math.max(MIN_CHUNK_BYTES, buf.size + (buf.size >>> 3)));
    buf.size = 0;
    buf.rows = 0;
  };

  const spillBatch = async (b: Batch) => {
    try {
      const body = b.body.toString('utf8');
      await spill.append({ table: b.table, columns: b.columns, token: b.token, rows: b.rows, body });
      s.spilledRows += b.rows;
      s.spilledBatches++;
      spillPending = true;
      release(b.rows);
      b.done();
    } catch (err) {
      // The disk refused too: keep the batch in memory and try again later.
      logger.error({ err, table: b.table, rows: b.rows }, 'cannot write spill file');
      queue.unshift(b);
      schedule(maxBackoffMs);
    }
  };

  const schedule = (delayMs: number) => {
    retryAt = Date.now() + delayMs;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      // Timers run on the monotonic clock; don't let Date.now() skew leave the queue parked.
      retryAt = 0;
      if (spillPending && queue.length === 0 && !closed) void replay();
      pump();
    }, delayMs);
  };

  const onFailure = (err: unknown) => {
    s.failedAttempts++;
    failures++;
    s.lastError = (err as Error).message;
    const now = Date.now();
    failingSince ??= now;
    if (!outage && now - failingSince >= spillAfterMs) {
      outage = true;
      logger.warn({ err, failingMs: now - failingSince }, 'store unavailable; spilling batches to disk');
    } else if (failures === 1) {
      logger.warn({ err }, 'insert failed; retrying with backoff');
    }
    schedule(backoffMs(failures, 100, maxBackoffMs));
  };

  const onSuccess = () => {
    if (failures > 0 || outage) {
      logger.info({ failedAttempts: failures, spilled: s.spilledRows }, 'store reachable again');
      failures = 0;
      failingSince = undefined;
      outage = false;
    }
    if (spillPending && !closed) void replay();
  };

  const send = async (b: Batch) => {
    inflight++;
    try {
      await store.insertCsv(b.table, b.columns, b.body, b.token);
      s.insertedRows += b.rows;
      s.insertedBatches++;
      release(b.rows);
      b.done();
      onSuccess();
    } catch (err) {
      // Rows were validated on the way in, so a failure is the store's: keep the batch and its token.
      queue.unshift(b);
      onFailure(err);
    } finally {
      inflight--;
      pump();
    }
  };

  function pump(): void {
    if (outage) {
      // Probe with one batch when the backoff has elapsed; everything else goes to disk.
      const probe = Date.now() >= retryAt && inflight === 0 ? queue.shift() : undefined;
      while (queue.length > 0) void spillBatch(queue.shift()!);
      if (probe) void send(probe);
      return;
    }
    if (Date.now() < retryAt) return;
    // Batches that grew past batchRows while every slot was busy go now.
    for (const buf of buffers.values()) {
      if (buf.rows >= batchRows && inflight + queue.length < maxInflight) cut(buf);
    }
    while (inflight < maxInflight && queue.length > 0) void send(queue.shift()!);
  }

  /** An insert could start right now (no outage, no backoff, a free slot nobody queued for). */
  const slotFree = () => !outage && inflight + queue.length < maxInflight && Date.now() >= retryAt;

  const replayFiles = async () => {
    // Cleared first: a batch spilled while this replay runs sets it again.
    spillPending = false;
    const files = await spill.takeForReplay();
    for (const file of files) {
      for await (const batch of spill.read(file)) {
        if (batch instanceof Error) {
          logger.warn({ err: batch, file }, 'skipping a torn line in the spill file');
          continue;
        }
        try {
          await store.insertCsv(batch.table, batch.columns, batch.body, batch.token);
        } catch (err) {
          // Leave the file: batches already replayed carry their tokens and are not inserted twice.
          spillPending = true;
          onFailure(err);
          return;
        }
        s.replayedRows += batch.rows;
        s.replayedBatches++;
      }
      await spill.remove(file);
      logger.info({ file }, 'spill file replayed');
    }
    onSuccess();
  };

  function replay(): Promise<void> {
    replaying ??= replayFiles()
      .catch((err) => {
        spillPending = true;
        logger.error({ err }, 'spill replay failed');
        schedule(maxBackoffMs);
      })
      .finally(() => {
        replaying = undefined;
        // Batches spilled while this replay ran went to a fresh file: take that one too.
        if (spillPending && !closed && failures === 0) void replay();
      });
    return replaying;
  }

  let durableWaiters: (() => void)[] = [];
  const timer = setInterval(() => {
    for (const buf of buffers.values()) cut(buf);
    pump();
    if (durableWaiters.length > 0) {
      const ws = durableWaiters;
      durableWaiters = [];
      timer.unref();
      void drain().then(() => {
        for (const w of ws) w();
      });
    }
  }, flushMs);
  timer.unref();
  void replay();

  const drain = async () => {
    for (const buf of buffers.values()) cut(buf);
    pump();
    while (pending.size > 0) await Promise.all([...pending]);
  };

  return {
    write(table, row) {
      if (closed) throw new AppError('STORE_UNAVAILABLE', 'writer is closed');
      if (buffered >= 2 * maxBufferedRows) {
        throw new AppError('STORE_BACKPRESSURE', `writer buffer full (${buffered} rows); await write()`, {
          retriable: true,
        });
      }
      const buf = bufferFor(table);
      try {
        buf.codec.encodeInto(row, buf);
      } catch (err) {
        s.rejectedRows++;
        throw err;
      }
      buf.rows++;
      buffered++;
      if (buf.rows >= batchRows && (buf.rows >= maxBatchRows || slotFree())) {
        cut(buf);
        pump();
      }
      if (buffered >= maxBufferedRows) {
        s.backpressureWaits++;
        for (const b of buffers.values()) cut(b);
        pump();
        return new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    async flush() {
      await drain();
      if (replaying) await replaying;
    },
    durable() {
      if (closed) return drain();
      // Someone waits on the next tick: keep the process alive until it comes.
      timer.ref();
      return new Promise<void>((resolve) => durableWaiters.push(resolve));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await drain();
      for (const w of durableWaiters.splice(0)) w();
      if (replaying) await replaying;
      if (retryTimer) clearTimeout(retryTimer);
      await spill.close();
    },
    stats: () => ({
      ...s,
      bufferedRows: buffered,
      queuedBatches: queue.length,
      outage,
    }),
  };
}
