/** A location ping as the operator publishes it (Kafka value, HTTP line, file line). */
export interface Ping {
  /** Subscriber pseudonym (a keyed hash, never the phone number); also the Kafka key. */
  sid: string;
  lat: number;
  lon: number;
  /** Event time, ms since epoch. */
  ts: number;
  /** Uncertainty radius in metres. */
  acc: number;
  /** Where the fix came from (gps, cell, wifi, ...); '' when the producer did not say. */
  src: string;
}

/** Why a message was dead-lettered: the `dlq-reason` header and the metric label. */
export const INVALID_PING_REASONS = [
  'too_large',
  'invalid_json',
  'not_object',
  'sid_missing',
  'sid_invalid',
  'lat_missing',
  'lat_invalid',
  'lon_missing',
  'lon_invalid',
  'ts_missing',
  'ts_invalid',
  'ts_future',
  'ts_past',
  'acc_missing',
  'acc_invalid',
  'src_invalid',
  'key_mismatch',
  'processing_failed',
] as const;
export type InvalidPingReason = (typeof INVALID_PING_REASONS)[number];

/** The partition HTTP and file pings are tracked under: never a Kafka partition, so never revoked. */
export const UNPARTITIONED = -1;

/** Where a batch of pings goes: the ping pipeline (decode is the source's job). */
export interface PingHandler {
  /**
   * Processes pings of one partition (UNPARTITIONED for HTTP and file). Returns a promise only under
   * back-pressure: the source reads no more until it settles. `onFailed` hears of pings whose
   * processing threw (a bug, not bad input): they are skipped, never retried forever. `replay`: pings
   * already processed before a restart or rebalance, read again only to rebuild presence state; they
   * produce no events.
   */
  handle(
    pings: readonly Ping[],
    partition: number,
    onFailed?: (index: number, err: unknown) => void,
    replay?: boolean,
  ): void | Promise<void>;
  /** Resolves once the outputs of everything handled so far were handed to the store and decide. */
  flush(): Promise<void>;
  /** Partitions this instance no longer owns: their presence state is dropped. */
  release(partitions: readonly number[]): void;
}

/** One transport delivering pings: Kafka, HTTP or a file. */
export interface PingSource {
  readonly kind: 'kafka' | 'http' | 'file';
  /** Starts delivering pings to the handler; resolves once the source is running. */
  start(handler: PingHandler): Promise<void>;
  /** Stops reading; resolves once the last batch was handled (and, for Kafka, committed). */
  stop(): Promise<void>;
}
