// The ingest worker thread: decode → match → presence off the main thread. It owns its own matcher
// (kept in step by the fence changes the main thread forwards, applied in order) and the presence
// trackers of every partition; it answers each job with the events, footfall rows and rejected
// messages it produced. Started by src/ingest/worker-pipeline.ts.
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createMatcher, type PackedFenceChange, unpackFences } from '../geo/index.ts';
import { REDACT_PATHS } from '../logger.ts';
import type { FootfallVisit } from '../presence/index.ts';
import { createPingDecoder } from './decode.ts';
import { createPingColumns, reservePingColumns } from './ping-columns.ts';
import { createPingPipeline } from './pipeline.ts';
import type { InvalidPingReason } from './types.ts';
import { createOutputCollector, outputBuffers } from './worker-columns.ts';
import type { WorkerCounters, WorkerInit, WorkerJob, WorkerReply } from './worker-protocol.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (r: WorkerReply, transfer?: ArrayBuffer[]) => port.postMessage(r, transfer);

// Log lines go to the main thread, which writes them through its own logger.
const logger = pino(
  {
    level: init.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  },
  { write: (line: string) => post({ t: 'log', line }) },
);

const outputs = createOutputCollector();
const matcher = createMatcher();
const pipeline = createPingPipeline({
  matcher,
  sink: { onEvent: (e) => outputs.event(e) },
  presence: init.presence,
  writer: init.footfall ? { write: (_table, row) => outputs.row(row as FootfallVisit) } : undefined,
  registry: new Registry(),
  logger,
  sweepEveryMs: init.sweepEveryMs,
});
const decoder = createPingDecoder(init.decoder);
// One batch's decoded pings, reused from job to job.
const decoded = createPingColumns();

let visits = 0;
let visitsAt = Number.NEGATIVE_INFINITY;
const counters = (): WorkerCounters => {
  const now = performance.now();
  if (now - visitsAt >= 1_000) {
    visitsAt = now;
    visits = pipeline.stats().visits;
  }
  return { ...pipeline.counts(), visits };
};

let invalidAt: number[] = [];
let invalidWhy: InvalidPingReason[] = [];
const reject = (i: number, why: InvalidPingReason) => {
  invalidAt.push(i);
  invalidWhy.push(why);
};

const NO_BYTES: Array<Uint8Array | null> = [];
let invalidKey = NO_BYTES;
let invalidValue = NO_BYTES;

/** Copies the key and value of each rejected message of a raw batch into the answer. */
const rejectedBytes = (bytes: Uint8Array, at: Int32Array) => {
  if (invalidAt.length === 0) return;
  invalidKey = [];
  invalidValue = [];
  for (const i of invalidAt) {
    const j = i * 4;
    // Copies (new Uint8Array of a view): a view would clone the whole batch's buffer with it.
    invalidKey.push(at[j] < 0 ? null : new Uint8Array(bytes.subarray(at[j], at[j + 1])));
    invalidValue.push(at[j + 2] < 0 ? null : new Uint8Array(bytes.subarray(at[j + 2], at[j + 3])));
  }
};

const answer = (valid: number) => {
  const out = outputs.take();
  post(
    { t: 'done', out, invalidAt, invalidWhy, invalidKey, invalidValue, valid, counters: counters() },
    outputBuffers(out),
  );
  invalidAt = [];
  invalidWhy = [];
  invalidKey = NO_BYTES;
  invalidValue = NO_BYTES;
};

const applyFences = (c: PackedFenceChange) => {
  if (c.op === 'remove') matcher.remove(c.ids);
  else if (c.op === 'upsert') matcher.upsert(unpackFences(c.fences));
  else matcher.replaceAll(unpackFences(c.fences));
};

const run = (job: WorkerJob) => {
  switch (job.t) {
    case 'raw': {
      const { batch, partition, replay } = job;
      const bytes = Buffer.from(batch.bytes);
      const at = batch.at;
      reservePingColumns(decoded, batch.count);
      for (let i = 0; i < batch.count; i++) {
        const j = i * 4;
        const r =
          at[j + 2] < 0
            ? 'invalid_json'
            : decoder.decodeInto(bytes, at[j + 2], at[j + 3], at[j], at[j + 1], decoded, i);
        if (r !== undefined && !replay) reject(i, r);
      }
      const { index } = decoded;
      pipeline.handleColumns(decoded, partition, (i) => reject(index[i], 'processing_failed'), replay);
      rejectedBytes(bytes, at);
      return answer(decoded.n);
    }
    case 'pings':
      pipeline.handle(job.pings, job.partition, (i) => reject(i, 'processing_failed'), job.replay);
      return answer(job.pings.length);
    case 'fences':
      applyFences(job.change);
      return answer(0);
    case 'release':
      pipeline.release(job.partitions);
      return answer(0);
    case 'sweep':
      pipeline.sweep(job.watermarkMs);
      return answer(0);
  }
};

port.on('message', (job: WorkerJob) => {
  try {
    run(job);
  } catch (err) {
    // A bug, not bad input (the pipeline contains per-ping failures): the main thread treats it as a crash.
    const e = err instanceof Error ? err : new Error(String(err));
    post({ t: 'fatal', message: e.message, stack: e.stack });
  }
});
