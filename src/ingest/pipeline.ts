import type { Registry } from 'prom-client';
import type { Fence, Matcher } from '../geo/index.ts';
import type { Logger } from '../logger.ts';
import {
  createFenceLog,
  createPresenceTracker,
  type FootfallVisit,
  type PresenceEvent,
  type PresenceOptions,
  type PresenceSink,
  type PresenceTracker,
} from '../presence/index.ts';
import { createIngestMetrics, type IngestMetrics } from './metrics.ts';
import type { PingColumns } from './ping-columns.ts';
import type { Ping, PingHandler } from './types.ts';

/** What the pipeline needs from the store writer (`createWriter` in src/store). */
export interface FootfallWriter {
  write(table: string, row: object): void | Promise<void>;
}

export interface PingPipelineDeps {
  matcher: Matcher;
  /** The decision stage. */
  sink: PresenceSink;
  presence: PresenceOptions;
  /** The store writer for footfall rows; without one footfall is not recorded. */
  writer?: FootfallWriter;
  registry: Registry;
  logger: Logger;
  /**
   * Sweep presence state (timeouts, TTL) when event time has advanced this much (default 10 s) and
   * either as many pings as tracked subscribers arrived since, or 10 s of wall time passed: a sweep
   * walks all state, so it costs at most one subscriber visit per ping when event time runs fast
   * (replay). Exit timeouts are minutes (30 by default), so a sweep a few seconds late changes nothing.
   */
  sweepEveryMs?: number;
}

export interface PipelineStats {
  pings: number;
  failed: number;
  partitions: number;
  tracked: number;
  visits: number;
}

export interface PingPipeline extends PingHandler {
  readonly metrics: IngestMetrics;
  /**
   * As `handle`, for pings in columns (the ingest worker's decoded batches); `onFailed` gets the
   * position in the columns.
   */
  handleColumns(
    pings: PingColumns,
    partition: number,
    onFailed?: (index: number, err: unknown) => void,
    replay?: boolean,
  ): void | Promise<void>;
  /** Presence state of one partition (tests, benchmarks). */
  tracker(partition: number): PresenceTracker | undefined;
  /** Runs the timeout/TTL sweep of every partition as of `watermarkMs` (default: each one's own). */
  sweep(watermarkMs?: number): void;
  stats(): PipelineStats;
  /** `stats()` without open visits (which walks every subscriber): cheap enough per batch. */
  counts(): Omit<PipelineStats, 'visits'>;
}

interface PartitionState {
  tracker: PresenceTracker;
  /** Footfall rows not yet handed to the writer. */
  rows: FootfallVisit[];
  lastSweepMs: number;
  pingsSinceSweep: number;
  lastSweepAt: number;
}

const FOOTFALL_TABLE = 'footfall_visits';

/**
 * match → presence → (decide, footfall) for decoded pings. One presence tracker per partition, so a
 * revoked partition's state is dropped whole and never used by two instances.
 */
export function createPingPipeline(deps: PingPipelineDeps): PingPipeline {
  const { matcher, presence, writer } = deps;
  const logger = deps.logger.child({ stage: 'ingest' });
  const sweepEveryMs = deps.sweepEveryMs ?? 10_000;
  const partitions = new Map<number, PartitionState>();
  const fenceLog = createFenceLog();
  const metrics = createIngestMetrics(deps.registry, {
    tracked: () => sum((p) => p.tracker.size),
    visits: () => sum((p) => p.tracker.stats().visits),
  });
  // While replaying (state warm-up) events are already known downstream: they are swallowed.
  let replaying = false;
  const sink: PresenceSink = {
    onEvent(e: PresenceEvent) {
      if (replaying) return;
      metrics.event(e.kind);
      deps.sink.onEvent(e);
    },
  };
  // The most fences one ping can match; the matcher stops filling at the array's length.
  const slots = new Int32Array(1024);
  const pending = new Set<Promise<void>>();
  let pings = 0;
  let failed = 0;

  function sum(f: (p: PartitionState) => number): number {
    let n = 0;
    for (const p of partitions.values()) n += f(p);
    return n;
  }

  const stateOf = (partition: number): PartitionState => {
    let p = partitions.get(partition);
    if (p === undefined) {
      const rows: FootfallVisit[] = [];
      const onPresentHour =
        writer === undefined
          ? undefined
          : (sid: string, fence: Fence, ts: number) => {
              rows.push({
                ts,
                sid,
                tenant: fence.props.tenant,
                fence_id: fence.props.id,
                store_id: fence.props.storeId,
              });
            };
      p = {
        tracker: createPresenceTracker({
          options: presence,
          sink,
          near: matcher.near,
          fenceLog,
          onPresentHour,
        }),
        rows,
        lastSweepMs: Number.NEGATIVE_INFINITY,
        pingsSinceSweep: 0,
        lastSweepAt: performance.now(),
      };
      partitions.set(partition, p);
    }
    return p;
  };

  const sweepOne = (p: PartitionState, watermarkMs: number) => {
    p.lastSweepMs = watermarkMs;
    p.pingsSinceSweep = 0;
    p.lastSweepAt = performance.now();
    p.tracker.sweep(watermarkMs);
  };

  const handOver = (p: PartitionState): Promise<void> | undefined => {
    if (writer === undefined || p.rows.length === 0) return undefined;
    const rows = p.rows;
    const waits: Promise<void>[] = [];
    for (const row of rows) {
      const w = writer.write(FOOTFALL_TABLE, row);
      if (w !== undefined) waits.push(w);
    }
    rows.length = 0;
    if (waits.length === 0) return undefined;
    metrics.backpressure();
    const done = Promise.all(waits).then(() => undefined);
    pending.add(done);
    void done.finally(() => pending.delete(done));
    return done;
  };

  const processingFailed = (
    err: unknown,
    partition: number,
    i: number,
    onFailed: ((index: number, err: unknown) => void) | undefined,
  ) => {
    failed++;
    metrics.invalid('processing_failed');
    logger.error({ err, partition }, 'ping processing failed; ping skipped');
    onFailed?.(i, err);
  };

  /** After a batch: counts, the amortised sweep, and the footfall rows to the writer. */
  const afterBatch = (p: PartitionState, count: number, replay: boolean) => {
    replaying = false;
    if (replay) return undefined;
    pings += count;
    p.pingsSinceSweep += count;
    const { tracker } = p;
    const wm = tracker.watermarkMs;
    if (
      wm - p.lastSweepMs >= sweepEveryMs &&
      (p.pingsSinceSweep >= tracker.size || performance.now() - p.lastSweepAt >= 10_000)
    ) {
      sweepOne(p, wm);
    }
    return handOver(p);
  };

  return {
    metrics,
    handle(
      batch: readonly Ping[],
      partition: number,
      onFailed?: (index: number, err: unknown) => void,
      replay = false,
    ) {
      const p = stateOf(partition);
      replaying = replay;
      const snap = matcher.snapshot();
      const { tracker } = p;
      for (let i = 0; i < batch.length; i++) {
        const ping = batch[i];
        try {
          const n = matcher.matchInto(ping.lon, ping.lat, ping.acc, slots);
          tracker.observe(ping.sid, ping.lon, ping.lat, ping.acc, ping.ts, snap, slots, n);
        } catch (err) {
          processingFailed(err, partition, i, onFailed);
        }
      }
      return afterBatch(p, batch.length, replay);
    },
    handleColumns(cols, partition, onFailed, replay = false) {
      const p = stateOf(partition);
      replaying = replay;
      const snap = matcher.snapshot();
      const { tracker } = p;
      const { sid, lon, lat, acc, ts } = cols;
      for (let i = 0; i < cols.n; i++) {
        try {
          const n = matcher.matchInto(lon[i], lat[i], acc[i], slots);
          tracker.observe(sid[i], lon[i], lat[i], acc[i], ts[i], snap, slots, n);
        } catch (err) {
          processingFailed(err, partition, i, onFailed);
        }
      }
      return afterBatch(p, cols.n, replay);
    },
    async flush() {
      if (pending.size > 0) await Promise.all(pending);
      await deps.sink.drain?.();
    },
    release(revoked) {
      for (const partition of revoked) {
        const p = partitions.get(partition);
        if (p === undefined) continue;
        // Rows counted so far still go out; the next owner rebuilds presence from its own reads.
        void handOver(p);
        partitions.delete(partition);
        logger.info({ partition, tracked: p.tracker.size }, 'partition released; presence state dropped');
      }
    },
    tracker: (partition) => partitions.get(partition)?.tracker,
    sweep(watermarkMs) {
      for (const p of partitions.values()) {
        sweepOne(p, watermarkMs ?? p.tracker.watermarkMs);
        void handOver(p);
      }
    },
    counts: () => ({ pings, failed, partitions: partitions.size, tracked: sum((p) => p.tracker.size) }),
    stats: () => ({
      pings,
      failed,
      partitions: partitions.size,
      tracked: sum((p) => p.tracker.size),
      visits: sum((p) => p.tracker.stats().visits),
    }),
  };
}
