import { AppError } from '../errors.ts';
import type { PingDecoder } from './decode.ts';
import type { IngestMetrics } from './metrics.ts';
import {
  type InvalidPingReason,
  type Ping,
  type PingHandler,
  type PingSource,
  UNPARTITIONED,
} from './types.ts';

export interface HttpIngestResult {
  accepted: number;
  rejectedCount: number;
  /** The first rejected items (0-based line or array index) with their reason. */
  rejected: Array<{ index: number; reason: InvalidPingReason }>;
}

export interface HttpPingSource extends PingSource {
  /**
   * Takes one request body: NDJSON (one ping per line) or a JSON array of pings. Valid pings are
   * processed before this resolves (back-pressure reaches the HTTP client); invalid ones are counted
   * and reported, never stored.
   */
  ingest(body: Buffer, contentType: string | undefined): Promise<HttpIngestResult>;
}

const MAX_REPORTED = 100;

/** Pings over HTTP, for operators without Kafka and for the embedded default. */
export function createHttpPingSource(opts: { decoder: PingDecoder; metrics: IngestMetrics }): HttpPingSource {
  const { decoder, metrics } = opts;
  let handler: PingHandler | undefined;
  return {
    kind: 'http',
    async start(h) {
      handler = h;
    },
    async stop() {
      handler = undefined;
    },
    async ingest(body, contentType) {
      if (handler === undefined) {
        throw new AppError('INTERNAL', 'ping ingest over HTTP is not running', {
          httpStatus: 503,
          retriable: true,
        });
      }
      const pings: Ping[] = [];
      const result: HttpIngestResult = { accepted: 0, rejectedCount: 0, rejected: [] };
      const reject = (index: number, reason: InvalidPingReason) => {
        metrics.invalid(reason);
        result.rejectedCount++;
        if (result.rejected.length < MAX_REPORTED) result.rejected.push({ index, reason });
      };
      const isArray = (contentType ?? '').startsWith('application/json');
      if (isArray) {
        let items: unknown;
        try {
          items = JSON.parse(body.toString('utf8'));
        } catch (err) {
          throw new AppError('BODY_MALFORMED', 'body is not valid JSON', { httpStatus: 400, cause: err });
        }
        if (!Array.isArray(items))
          throw new AppError('BODY_MALFORMED', 'expected a JSON array of pings', { httpStatus: 400 });
        for (let i = 0; i < items.length; i++) {
          const r = decoder.check(items[i]);
          if (typeof r === 'string') reject(i, r);
          else pings.push(r);
        }
      } else {
        let start = 0;
        let line = 0;
        while (start < body.length) {
          let end = body.indexOf(10, start);
          if (end < 0) end = body.length;
          const slice = body.subarray(start, end > start && body[end - 1] === 13 ? end - 1 : end);
          if (slice.length > 0) {
            const r = decoder.decode(slice);
            if (typeof r === 'string') reject(line, r);
            else pings.push(r);
          }
          start = end + 1;
          line++;
        }
      }
      metrics.pings('http', pings.length);
      const waiting = handler.handle(pings, UNPARTITIONED);
      if (waiting !== undefined) await waiting;
      await handler.flush();
      result.accepted = pings.length;
      return result;
    },
  };
}
