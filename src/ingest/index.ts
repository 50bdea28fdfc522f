export { createPingDecoder, type PingDecoder, type PingDecoderOptions } from './decode.ts';
export { createFilePingSource, type FilePingSource, type FilePingSourceOptions } from './file-source.ts';
export { createHttpPingSource, type HttpIngestResult, type HttpPingSource } from './http-source.ts';
export { type CommittedBatch, createKafkaPingSource, type KafkaPingSourceOptions } from './kafka-source.ts';
export { createIngestMetrics, type IngestGauges, type IngestMetrics } from './metrics.ts';
export {
  createPingPipeline,
  type FootfallWriter,
  type PingPipeline,
  type PingPipelineDeps,
  type PipelineStats,
} from './pipeline.ts';
export { packRawBatch, type RawBatch, type RawMessage } from './raw-batch.ts';
export {
  INVALID_PING_REASONS,
  type InvalidPingReason,
  type Ping,
  type PingHandler,
  type PingSource,
  UNPARTITIONED,
} from './types.ts';
export {
  createWorkerPipeline,
  type RawBatchOutcome,
  type RawPingHandler,
  type WorkerPipeline,
  type WorkerPipelineDeps,
} from './worker-pipeline.ts';
