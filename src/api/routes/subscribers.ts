import { z } from 'zod';
import {
  type ProfileRepository,
  type ProfileStore,
  profileInputSchemaFor,
  SID_PATTERN,
} from '../../segments/index.ts';
import { AppError, defineRoute, type RouteDef, reply } from '../kit.ts';

export interface SubscriberRouteDeps {
  profiles: ProfileStore;
  repository: ProfileRepository;
  /** Largest upload accepted by the import route ('500mb', '2gb' or bytes). Default '500mb'. */
  importLimit?: string | number;
}

function parseBytes(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit);
  if (!m) throw new AppError('CONFIG_INVALID', `not a size: ${limit}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

/** The request body as chunks, failing with BODY_TOO_LARGE once it passes `limit` bytes. */
async function* limited(body: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > limit)
      throw new AppError('BODY_TOO_LARGE', `profile upload is above ${limit} bytes; split it`);
    yield chunk;
  }
}

const sidParams = z.strictObject({ sid: z.string().regex(SID_PATTERN, 'a subscriber pseudonym') });

const loadResultSchema = z
  .object({
    loaded: z.number().int(),
    rejected: z.number().int(),
    errors: z
      .array(z.object({ line: z.number().int(), message: z.string() }))
      .describe('The first 100 errors'),
  })
  .meta({ id: 'ProfileImportResult' });

/** Subscriber profile import (NDJSON / CSV upload), one-profile upsert, read and erase, store statistics. */
export function subscriberRoutes(deps: SubscriberRouteDeps): RouteDef[] {
  const { profiles, repository } = deps;
  const profileSchema = profileInputSchemaFor(profiles.catalogue);
  const importLimit = parseBytes(deps.importLimit ?? '500mb');
  return [
    defineRoute({
      method: 'post',
      path: '/v1/subscribers/import',
      summary:
        'Import subscriber profiles (NDJSON or CSV, streamed); bad rows are counted and reported, never fatal',
      description:
        'Bodies above PROFILES_IMPORT_LIMIT answer 413 (rows before the limit stay imported). NDJSON: one profile object per line with `sid` and catalogue attributes. CSV: a header with `sid` and attribute ' +
        'names; sets as `a|b|c`, dates ISO-8601, empty cells unknown. Each profile replaces the stored one for its sid.',
      tag: 'subscribers',
      roles: ['analyst'],
      rawBody: { contentTypes: ['application/x-ndjson', 'application/ndjson', 'text/csv'], stream: true },
      response: loadResultSchema,
      handler: async ({ req }) => {
        const format = req.is('text/csv') ? 'csv' : 'ndjson';
        // rows before the limit stay imported; the answer is 413
        return repository.import(limited(req, importLimit), format);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/subscribers/stats',
      summary: 'How many profiles are loaded and the memory they take',
      tag: 'subscribers',
      roles: ['analyst', 'viewer'],
      response: z.object({
        profiles: z.number().int(),
        capacity: z.number().int(),
        memoryBytes: z.object({ columns: z.number(), index: z.number(), total: z.number() }),
        bytesPerProfile: z.number(),
      }),
      handler: () => {
        const memory = profiles.memory();
        return {
          profiles: profiles.size,
          capacity: profiles.capacity,
          memoryBytes: memory,
          bytesPerProfile: profiles.size === 0 ? 0 : Math.round((memory.total / profiles.size) * 10) / 10,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/subscribers/:sid',
      summary: "One subscriber's profile (analysts only)",
      tag: 'subscribers',
      roles: ['analyst'],
      params: sidParams,
      response: z.record(z.string(), z.unknown()),
      handler: ({ params }) => {
        const profile = profiles.get(params.sid);
        if (!profile) throw new AppError('NOT_FOUND', 'no profile for that subscriber');
        return { sid: params.sid, ...profile };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/subscribers/:sid',
      summary: "Replace one subscriber's profile",
      tag: 'subscribers',
      roles: ['analyst'],
      params: sidParams,
      body: profileSchema,
      status: 200,
      response: z.record(z.string(), z.unknown()),
      handler: async ({ params, body }) => {
        await repository.upsert(params.sid, body as Record<string, unknown>);
        return { sid: params.sid, ...profiles.get(params.sid) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/subscribers/:sid',
      summary: "Erase one subscriber's profile (memory and store)",
      tag: 'subscribers',
      roles: ['analyst'],
      params: sidParams,
      status: 204,
      handler: async ({ params }) => {
        if (!(await repository.delete(params.sid)))
          throw new AppError('NOT_FOUND', 'no profile for that subscriber');
        return reply(204);
      },
    }),
  ];
}
