import { z } from 'zod';
import {
  type Attribute,
  assertValidRule,
  compileSegment,
  compileSegmentSql,
  opsFor,
  type ProfileStore,
  ruleShapeSchema,
  type SegmentService,
  type StoredSegment,
  segmentShapeSchema,
  shareSize,
} from '../../segments/index.ts';
import { AppError, defineRoute, type Principal, type RouteDef, reply } from '../kit.ts';

export interface SegmentRouteDeps {
  segments: SegmentService;
  /** The live profile store (for ad-hoc previews). */
  profiles: ProfileStore;
  clock?: () => number;
}

const idParams = z.strictObject({ id: z.string().min(1).max(64) });
const versionQuery = z.coerce
  .number()
  .int()
  .min(1)
  .optional()
  .describe('Expected current version (or If-Match)');

const segmentViewSchema = segmentShapeSchema
  .extend({
    version: z.number().int(),
    updatedAt: z.string().describe('ISO 8601'),
    updatedBy: z.string(),
  })
  .meta({ id: 'Segment' });

const retailerSegmentSchema = z
  .object({ id: z.string(), name: z.string(), description: z.string() })
  .meta({ id: 'OfferedSegment' });

const sizeSchema = z
  .object({
    id: z.string(),
    at: z.string().describe('ISO 8601: the time inactivity rules were evaluated against'),
    count: z.number().int().describe('Exact number of subscribers in the segment'),
    breakdown: z.record(z.string(), z.number().int()).optional().describe('Count per value of ?by='),
  })
  .meta({ id: 'SegmentSize' });

const sharedSizeSchema = z
  .object({
    id: z.string(),
    at: z.string(),
    size: z.number().int().nullable().describe('Rounded to roundTo; null when below the minimum'),
    roundedTo: z.number().int(),
    belowMinimum: z.boolean(),
  })
  .meta({ id: 'SharedSegmentSize' });

const attributeViewSchema = z.object({
  name: z.string(),
  group: z.string(),
  type: z.string(),
  description: z.string(),
  min: z.number().optional(),
  max: z.number().optional(),
  scale: z.number().optional(),
  values: z.array(z.string()).optional(),
  operators: z.array(z.string()),
});

const isOperator = (p: Principal) => p.role !== 'retailer';

function view(s: StoredSegment) {
  return {
    ...s.segment,
    version: s.version,
    updatedAt: new Date(s.updatedAtMs).toISOString(),
    updatedBy: s.updatedBy,
  };
}

function expectedVersion(query: number | undefined, ifMatch: string | undefined): number | undefined {
  if (query !== undefined) return query;
  if (!ifMatch) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(ifMatch);
  if (!m) {
    throw new AppError('VALIDATION_FAILED', 'If-Match must be a version such as "3"', {
      details: { errors: [{ path: 'headers.if-match', message: 'expected a quoted version number' }] },
    });
  }
  return Number(m[1]);
}

/** Segment CRUD, audience sizes, samples and SQL for operators; offered segments with rounded sizes for retailers. */
export function segmentRoutes(deps: SegmentRouteDeps): RouteDef[] {
  const { segments, profiles } = deps;
  const clock = deps.clock ?? Date.now;
  const catalogue: readonly Attribute[] = profiles.catalogue;

  /** The segment, or 404 — also for a retailer asking for one not offered to retailers. */
  const visible = (id: string, principal: Principal) => {
    const s = segments.get(id);
    if (!s || (!isOperator(principal) && !s.segment.offeredToRetailers)) {
      throw new AppError('SEGMENT_NOT_FOUND', `no segment ${JSON.stringify(id)}`);
    }
    return s;
  };

  return [
    defineRoute({
      method: 'get',
      path: '/v1/segments/attributes',
      summary: 'The subscriber attribute catalogue segment rules are written against',
      tag: 'segments',
      roles: ['analyst', 'viewer', 'retailer'],
      response: z.object({ items: z.array(attributeViewSchema) }),
      handler: () => ({
        items: catalogue.map((a) => ({
          ...a,
          values: 'values' in a ? [...a.values] : undefined,
          operators: [...opsOf(a)],
        })),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments',
      summary: 'List segments (retailers: only those offered to retailers, without rules)',
      tag: 'segments',
      roles: ['analyst', 'viewer', 'retailer'],
      response: z.object({ items: z.array(z.union([segmentViewSchema, retailerSegmentSchema])) }),
      handler: ({ principal }) => {
        const all = segments.list();
        if (isOperator(principal)) return { items: all.map(view) };
        return {
          items: all
            .filter((s) => s.segment.offeredToRetailers)
            .map((s) => ({ id: s.segment.id, name: s.segment.name, description: s.segment.description })),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id',
      summary: 'One segment',
      tag: 'segments',
      roles: ['analyst', 'viewer', 'retailer'],
      params: idParams,
      response: z.union([segmentViewSchema, retailerSegmentSchema]),
      handler: ({ params, principal }) => {
        const s = visible(params.id, principal);
        if (isOperator(principal)) return reply(200, view(s), { headers: { etag: `"${s.version}"` } });
        return { id: s.segment.id, name: s.segment.name, description: s.segment.description };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/segments',
      summary: 'Create a segment',
      description:
        'The rule is validated against the attribute catalogue: an unknown attribute, a value of the wrong type, an enum ' +
        'value not allowed, an empty list each answer 400 SEGMENT_INVALID with `problem` naming the reason and `errors` the path.',
      tag: 'segments',
      roles: ['analyst'],
      body: segmentShapeSchema,
      status: 201,
      response: segmentViewSchema,
      errors: { 409: 'The id is taken (VERSION_CONFLICT)' },
      handler: async ({ body, principal }) => {
        if (segments.get(body.id)) {
          throw new AppError('VERSION_CONFLICT', `segment id "${body.id}" is taken; replace it with PUT`);
        }
        const s = await segments.put(body, { expectedVersion: 0, actor: principal.keyId });
        return reply(201, view(s), {
          headers: { location: `/v1/segments/${encodeURIComponent(s.segment.id)}`, etag: `"${s.version}"` },
        });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/segments/:id',
      summary: 'Replace a segment (optimistic concurrency with ?version= or If-Match)',
      tag: 'segments',
      roles: ['analyst'],
      params: idParams,
      query: z.strictObject({ version: versionQuery }),
      body: segmentShapeSchema,
      response: segmentViewSchema,
      errors: { 409: 'Stale version (VERSION_CONFLICT)' },
      handler: async ({ params, query, body, principal, req }) => {
        if (body.id !== params.id) {
          throw new AppError('VALIDATION_FAILED', `id "${body.id}" differs from the URL's "${params.id}"`, {
            details: { errors: [{ path: 'id', message: 'must match the id in the URL' }] },
          });
        }
        const current = segments.get(params.id);
        const expected = expectedVersion(query.version, req.headers['if-match']) ?? current?.version ?? 0;
        const s = await segments.put(body, { expectedVersion: expected, actor: principal.keyId });
        return reply(200, view(s), { headers: { etag: `"${s.version}"` } });
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/segments/:id',
      summary: 'Delete a segment',
      tag: 'segments',
      roles: ['analyst'],
      params: idParams,
      query: z.strictObject({ version: versionQuery }),
      status: 204,
      handler: async ({ params, query, principal, req }) => {
        visible(params.id, principal);
        await segments.remove(params.id, {
          expectedVersion: expectedVersion(query.version, req.headers['if-match']),
          actor: principal.keyId,
        });
        return reply(204);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id/size',
      summary:
        'Audience size now: exact (operators, optional breakdown by one attribute) or rounded (retailers)',
      tag: 'segments',
      roles: ['analyst', 'viewer', 'retailer'],
      params: idParams,
      query: z.strictObject({
        by: z
          .string()
          .min(1)
          .max(64)
          .optional()
          .describe('Operators: count per value of this enum/bool/int/set attribute'),
      }),
      response: z.union([sizeSchema, sharedSizeSchema]),
      handler: ({ params, query, principal }) => {
        const s = visible(params.id, principal);
        const now = clock();
        const at = new Date(now).toISOString();
        if (isOperator(principal)) {
          const { count, breakdown } = segments.size(params.id, now, query.by);
          return { id: s.segment.id, at, count, breakdown };
        }
        if (query.by !== undefined) {
          throw new AppError('FORBIDDEN', 'breakdowns are for operator analysts only');
        }
        const shared = shareSize(segments.size(params.id, now).count, s.segment.shareRules);
        return { id: s.segment.id, at, ...shared, roundedTo: s.segment.shareRules.roundTo };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id/sample',
      summary: 'A random sample of matching subscriber pseudonyms (analysts only)',
      tag: 'segments',
      roles: ['analyst'],
      params: idParams,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(20) }),
      response: z.object({ id: z.string(), sids: z.array(z.string()) }),
      handler: ({ params, query, principal }) => {
        visible(params.id, principal);
        return { id: params.id, sids: segments.sample(params.id, clock(), query.limit) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/segments/:id/sql',
      summary: 'The segment as ClickHouse SQL over the subscribers table, for dashboards',
      tag: 'segments',
      roles: ['analyst'],
      params: idParams,
      response: z.object({ sql: z.string(), where: z.string(), params: z.record(z.string(), z.unknown()) }),
      handler: ({ params, principal }) =>
        compileSegmentSql(visible(params.id, principal).segment.rule, clock()),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/segments/preview',
      summary: 'Size an unsaved rule (exact count, optional breakdown)',
      tag: 'segments',
      roles: ['analyst'],
      body: z.strictObject({ rule: ruleShapeSchema, by: z.string().min(1).max(64).optional() }),
      response: sizeSchema,
      handler: ({ body }) => {
        const compiled = compileSegment(assertValidRule(body.rule, catalogue), catalogue);
        const now = clock();
        const at = new Date(now).toISOString();
        if (body.by === undefined) return { id: '', at, count: compiled.count(profiles, now) };
        const { total, groups } = compiled.breakdown(profiles, now, body.by);
        return { id: '', at, count: total, breakdown: groups };
      },
    }),
  ];
}

function opsOf(attr: Attribute): readonly string[] {
  // mirrors validateRule: current_month applies only to 1..12 month attributes
  const ops = opsFor(attr.type);
  return attr.type === 'int' && !(attr.min === 1 && attr.max === 12)
    ? ops.filter((o) => o !== 'current_month')
    : ops;
}
