// Messages between the ingest worker (src/ingest/ingest-worker.ts) and its main-thread side
// (src/ingest/worker-pipeline.ts). Every job gets exactly one `done` answer, in the order sent.
import type { PackedFenceChange } from '../geo/index.ts';
import type { PresenceOptions } from '../presence/index.ts';
import type { PingDecoderOptions } from './decode.ts';
import type { RawBatch } from './raw-batch.ts';
import type { InvalidPingReason, Ping } from './types.ts';
import type { WorkerOutputs } from './worker-columns.ts';

/** `workerData` of the ingest worker. */
export interface WorkerInit {
  presence: PresenceOptions;
  decoder: Omit<PingDecoderOptions, 'now'>;
  /** Whether footfall rows are collected (the main thread has a writer). */
  footfall: boolean;
  sweepEveryMs?: number;
  logLevel: string;
}

export type WorkerJob =
  | { t: 'raw'; partition: number; replay: boolean; batch: RawBatch }
  | { t: 'pings'; partition: number; replay: boolean; pings: Ping[] }
  | { t: 'fences'; change: PackedFenceChange }
  | { t: 'release'; partitions: number[] }
  | { t: 'sweep'; watermarkMs: number | undefined };

/** What the worker knows of its state, sent with every answer. */
export interface WorkerCounters {
  pings: number;
  failed: number;
  partitions: number;
  tracked: number;
  /** Open visits: walking every subscriber costs, so refreshed at most once a second. */
  visits: number;
}

export type WorkerReply =
  | {
      t: 'done';
      out: WorkerOutputs;
      /** Message indices (raw jobs) or ping indices (ping jobs) that were rejected, and why. */
      invalidAt: number[];
      invalidWhy: InvalidPingReason[];
      /**
       * Raw jobs: each rejected message's key and value bytes (copies; null where the message had
       * none), so the main thread can dead-letter them without keeping the batch's messages meanwhile.
       */
      invalidKey: Array<Uint8Array | null>;
      invalidValue: Array<Uint8Array | null>;
      valid: number;
      counters: WorkerCounters;
    }
  | { t: 'log'; line: string }
  | { t: 'fatal'; message: string; stack?: string };
