import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import type { PingDecoder } from './decode.ts';
import type { IngestMetrics } from './metrics.ts';
import { type Ping, type PingHandler, type PingSource, UNPARTITIONED } from './types.ts';

export interface FilePingSourceOptions {
  /** NDJSON file, one ping per line, in event-time order. */
  path: string;
  /**
   * Replay speed: 1 = real time (gaps between ping timestamps are waited out), 60 = a minute per
   * second, 0 = as fast as possible.
   */
  speed: number;
  decoder: PingDecoder;
  metrics: IngestMetrics;
  logger: Logger;
  batchSize?: number;
}

export interface FilePingSource extends PingSource {
  /** Resolves when the whole file was replayed (or the source stopped). */
  readonly done: Promise<{ lines: number; pings: number; invalid: number }>;
}

/** Replays a recorded ping file, for demos and backtests. Invalid lines are counted and skipped. */
export function createFilePingSource(opts: FilePingSourceOptions): FilePingSource {
  const logger = opts.logger.child({ stage: 'ingest', source: 'file' });
  const batchSize = opts.batchSize ?? 1_000;
  const abort = new AbortController();
  let resolveDone!: (v: { lines: number; pings: number; invalid: number }) => void;
  let rejectDone!: (err: unknown) => void;
  const done = new Promise<{ lines: number; pings: number; invalid: number }>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });

  const replay = async (handler: PingHandler) => {
    const counts = { lines: 0, pings: 0, invalid: 0 };
    const rl = createInterface({ input: createReadStream(opts.path), crlfDelay: Number.POSITIVE_INFINITY });
    let batch: Ping[] = [];
    let firstTs: number | undefined;
    const startedAt = performance.now();
    const send = async () => {
      if (batch.length === 0) return;
      opts.metrics.pings('file', batch.length);
      counts.pings += batch.length;
      const waiting = handler.handle(batch, UNPARTITIONED);
      batch = [];
      if (waiting !== undefined) await waiting;
    };
    try {
      for await (const line of rl) {
        if (abort.signal.aborted) break;
        counts.lines++;
        if (line.length === 0) continue;
        const r = opts.decoder.decode(line);
        if (typeof r === 'string') {
          opts.metrics.invalid(r);
          counts.invalid++;
          continue;
        }
        if (opts.speed > 0) {
          firstTs ??= r.ts;
          const dueMs = (r.ts - firstTs) / opts.speed - (performance.now() - startedAt);
          if (dueMs > 1) {
            await send();
            await sleep(dueMs, undefined, { signal: abort.signal }).catch(() => undefined);
          }
        }
        batch.push(r);
        if (batch.length >= batchSize) await send();
      }
      await send();
      await handler.flush();
      logger.info(counts, 'file replay finished');
      resolveDone(counts);
    } catch (err) {
      rejectDone(err);
    } finally {
      rl.close();
    }
  };

  return {
    kind: 'file',
    done,
    async start(handler) {
      void replay(handler);
    },
    async stop() {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}
