import { z } from 'zod';
import type { HttpPingSource } from '../../ingest/index.ts';
import { INVALID_PING_REASONS } from '../../ingest/index.ts';
import { defineRoute, type RouteDef, reply } from '../kit.ts';

const resultSchema = z.object({
  accepted: z.number().int().describe('Valid pings processed.'),
  rejectedCount: z.number().int().describe('Invalid pings (counted in geotrigger_pings_invalid_total).'),
  rejected: z
    .array(z.object({ index: z.number().int(), reason: z.enum(INVALID_PING_REASONS) }))
    .describe('The first 100 invalid items: 0-based line (NDJSON) or array index, and why.'),
});

/** POST /v1/pings: location pings over HTTP (NDJSON or a JSON array), for operators without Kafka. */
export function pingRoutes(deps: { source: HttpPingSource; bodyLimit?: string }): RouteDef[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/pings',
      summary: 'Ingest location pings',
      description:
        'Body: NDJSON (application/x-ndjson, one `{sid, lat, lon, ts, acc, src}` per line) or a JSON array ' +
        '(application/json). Valid pings are processed before the answer; invalid ones are reported by ' +
        'index and reason and never stored.',
      tag: 'ingest',
      roles: ['ingest'],
      rawBody: {
        contentTypes: ['application/x-ndjson', 'application/json'],
        limit: deps.bodyLimit ?? '10mb',
      },
      response: resultSchema,
      status: 202,
      handler: async ({ body, req }) => {
        const result = await deps.source.ingest(body as unknown as Buffer, req.headers['content-type']);
        return reply(202, result);
      },
    }),
  ];
}
