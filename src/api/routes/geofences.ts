import { z } from 'zod';
import {
  type BBox,
  type Fence,
  type FenceLimits,
  fenceFeatureSchema,
  fencePropertiesSchema,
  type Matcher,
  validateFence,
} from '../../geo/index.ts';
import {
  AppError,
  canSee,
  defineRoute,
  isAppError,
  type Principal,
  type RouteDef,
  reply,
  tenantForWrite,
} from '../kit.ts';
import { decodeCursor, encodeCursor } from '../pagination.ts';
import { validationError } from '../problem.ts';
import {
  assertFenceTenant,
  type BulkMode,
  type GeofenceRepo,
  newFenceId,
  type StoredFence,
} from '../repos/geofences.ts';

export const tenantIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (up to 64)');

/** A geofence as clients send it: the geo stage's Feature, whose `properties.tenant` may be omitted. */
export const geofenceInputSchema = fenceFeatureSchema
  .extend({
    properties: fencePropertiesSchema
      .extend({
        tenant: tenantIdSchema
          .optional()
          .describe(
            'Omit: the tenant comes from the key (retailer) or ?tenant= (operator); if present it must match',
          ),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'GeofenceInput' });

const collectionInputSchema = z
  .strictObject({
    type: z.literal('FeatureCollection'),
    features: z.array(z.unknown()).min(1).max(10_000).describe('Each a GeofenceInput; validated one by one'),
    bbox: z.array(z.number()).optional(),
  })
  .meta({ id: 'GeofenceCollectionInput' });

export const geofenceSchema = fenceFeatureSchema
  .extend({
    version: z.number().int().describe('Send it back (If-Match or ?version=) to replace or delete'),
    updatedAt: z.string().describe('ISO 8601'),
  })
  .meta({ id: 'Geofence' });

const bulkResultSchema = z.object({
  index: z.number().int(),
  id: z.string().optional(),
  status: z.enum(['created', 'replaced', 'conflict', 'invalid']),
  version: z.number().int().optional(),
  code: z.string().optional(),
  problem: z.string().optional(),
  message: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

const bulkAnswerSchema = z
  .object({
    created: z.number().int(),
    replaced: z.number().int(),
    failed: z.number().int(),
    results: z.array(bulkResultSchema),
  })
  .meta({ id: 'GeofenceBulkResult' });

const bboxQuery = z
  .string()
  .max(200)
  .transform((s, ctx) => {
    const parts = s.split(',').map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
    const [minLon, minLat, maxLon, maxLat] = parts;
    const ok =
      parts.length === 4 &&
      parts.every(Number.isFinite) &&
      minLon >= -180 &&
      maxLon <= 180 &&
      minLat >= -90 &&
      maxLat <= 90 &&
      minLon <= maxLon &&
      minLat <= maxLat;
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        message: 'bbox is minLon,minLat,maxLon,maxLat within [-180,180]×[-90,90]',
      });
      return z.NEVER;
    }
    return parts as BBox;
  })
  .describe('minLon,minLat,maxLon,maxLat: fences whose bounding box intersects it');

const filterQuery = {
  tenant: tenantIdSchema.optional().describe('Operator keys: one tenant. Retailer keys: always their own'),
  tag: z.string().min(1).max(64).optional(),
  bbox: bboxQuery.optional(),
};

const versionQuery = z.coerce
  .number()
  .int()
  .min(1)
  .optional()
  .describe('Expected current version (or If-Match)');
const idParams = z.strictObject({ id: z.string().min(1).max(128) });
const cursorSchema = z.object({ after: z.string() });

/** What the geofence routes need: the repo, the geo limits, and the live matcher to update. */
export interface GeofenceRouteDeps {
  geofences: GeofenceRepo;
  limits: FenceLimits;
  /** The live matcher: changes are applied right after they are stored. */
  matcher?: Pick<Matcher, 'upsert' | 'remove'>;
}

function toView(s: StoredFence) {
  return { ...s.feature, version: s.version, updatedAt: new Date(s.updatedAtMs).toISOString() };
}

/** The version a client expects: `?version=` or an `If-Match: "N"` header. */
function expectedVersion(query: number | undefined, ifMatch: string | undefined): number | undefined {
  if (query !== undefined) return query;
  if (!ifMatch) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(ifMatch);
  if (!m) {
    throw new AppError(
      'VALIDATION_FAILED',
      `If-Match must be a version such as "3", got ${ifMatch.slice(0, 40)}`,
      {
        details: { errors: [{ path: 'headers.if-match', message: 'expected a quoted version number' }] },
      },
    );
  }
  return Number(m[1]);
}

/** The operator's ?tenant= filter, or the retailer's own tenant (another one answers 404). */
function listTenant(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.role !== 'retailer') return requested;
  return tenantForWrite(principal, requested);
}

/**
 * Parses and validates one feature for `tenant`: a missing id is generated, a tenant in the body
 * must match. Throws VALIDATION_FAILED (shape) or GEOFENCE_INVALID (geometry), naming the feature.
 */
function toFence(input: unknown, tenant: string, limits: FenceLimits, label: string, pathId?: string): Fence {
  const parsed = geofenceInputSchema.safeParse(input);
  if (!parsed.success) throw validationError('body', parsed.error);
  const feature = parsed.data;
  const props = feature.properties;
  if (props.tenant !== undefined && props.tenant !== tenant) {
    throw new AppError('VALIDATION_FAILED', `${label}: properties.tenant must be '${tenant}' or absent`, {
      details: { errors: [{ path: 'properties.tenant', message: `must be '${tenant}' or absent` }] },
    });
  }
  const bodyId = props.id ?? (feature.id === undefined ? undefined : String(feature.id));
  if (pathId !== undefined && bodyId !== undefined && bodyId !== pathId) {
    throw new AppError('VALIDATION_FAILED', `${label}: id '${bodyId}' differs from the URL's '${pathId}'`, {
      details: { errors: [{ path: 'properties.id', message: 'must match the id in the URL or be absent' }] },
    });
  }
  const id = pathId ?? bodyId ?? newFenceId();
  return validateFence({ ...feature, id, properties: { ...props, id, tenant } }, limits, label);
}

/** Geofence management: create (one or a bulk collection), get, list, replace, delete, export. */
export function geofenceRoutes(deps: GeofenceRouteDeps): RouteDef[] {
  const { geofences: repo, limits, matcher } = deps;
  const roles = ['analyst', 'retailer'] as const;

  const createOne = async (input: unknown, tenant: string, actor: string) => {
    const fence = toFence(input, tenant, limits, 'feature');
    const id = fence.props.id;
    const cur = await repo.get(id);
    if (cur && (!cur.deleted || cur.tenant !== tenant)) {
      throw new AppError(
        'VERSION_CONFLICT',
        `geofence id "${id}" is taken; replace it with PUT or pick another id`,
        {
          details: cur.tenant === tenant ? { currentVersion: cur.version } : undefined,
        },
      );
    }
    const version = await repo.put(fence, { expectedVersion: cur?.version ?? 0, actor });
    matcher?.upsert([fence]);
    const stored = await repo.get(id);
    return reply(201, stored ? toView(stored) : undefined, {
      headers: { location: `/v1/geofences/${encodeURIComponent(id)}`, etag: `"${version}"` },
    });
  };

  const createMany = async (features: unknown[], tenant: string, mode: BulkMode, actor: string) => {
    const results: z.infer<typeof bulkResultSchema>[] = new Array(features.length);
    const fences: Fence[] = [];
    const indexOf = new Map<string, number>();
    features.forEach((input, index) => {
      try {
        const fence = toFence(input, tenant, limits, `features.${index}`);
        if (indexOf.has(fence.props.id)) {
          results[index] = {
            index,
            id: fence.props.id,
            status: 'invalid',
            code: 'GEOFENCE_INVALID',
            problem: 'DUPLICATE_ID',
            message: `id "${fence.props.id}" appears more than once in the collection`,
          };
          return;
        }
        indexOf.set(fence.props.id, index);
        fences.push(fence);
      } catch (err) {
        if (!isAppError(err, 'VALIDATION_FAILED', 'GEOFENCE_INVALID')) throw err;
        const d = err.details as
          | { problem?: string; errors?: { path: string; message: string }[] }
          | undefined;
        results[index] = {
          index,
          status: 'invalid',
          code: err.code,
          problem: d?.problem,
          message: err.message,
          errors: d?.errors,
        };
      }
    });
    const written = await repo.bulkWrite(fences, { tenant, mode, actor });
    const applied: Fence[] = [];
    for (const [i, w] of written.entries()) {
      const index = indexOf.get(w.id)!;
      results[index] =
        w.status === 'conflict'
          ? { index, id: w.id, status: 'conflict', code: 'VERSION_CONFLICT', message: w.message }
          : { index, id: w.id, status: w.status, version: w.version };
      if (w.status !== 'conflict') applied.push(fences[i]);
    }
    if (applied.length > 0) matcher?.upsert(applied);
    const count = (s: string) => results.filter((r) => r.status === s).length;
    return {
      created: count('created'),
      replaced: count('replaced'),
      failed: count('invalid') + count('conflict'),
      results,
    };
  };

  return [
    defineRoute({
      method: 'post',
      path: '/v1/geofences',
      summary: 'Create a geofence (Feature) or import many (FeatureCollection, answered per feature)',
      description:
        'Retailer keys create fences of their own tenant. Operator keys (analyst, admin) must name the tenant with ?tenant=. ' +
        'A Feature answers 201 with the stored fence; a FeatureCollection answers 200 with one result per feature ' +
        '(mode=create refuses existing ids, mode=upsert replaces the tenant’s own).',
      tag: 'geofences',
      roles,
      body: z.discriminatedUnion('type', [geofenceInputSchema, collectionInputSchema]),
      query: z.strictObject({
        tenant: tenantIdSchema.optional(),
        mode: z.enum(['create', 'upsert']).default('create').describe('Bulk import only'),
      }),
      status: 201,
      response: geofenceSchema,
      otherResponses: {
        200: { description: 'Bulk import: one result per feature', schema: bulkAnswerSchema },
      },
      errors: {
        409: 'The id is taken (VERSION_CONFLICT)',
        422: 'The geometry is invalid (GEOFENCE_INVALID)',
      },
      handler: async ({ body, query, principal }) => {
        const tenant = tenantForWrite(principal, query.tenant);
        if (body.type === 'Feature') return createOne(body, tenant, principal.keyId);
        return reply(200, await createMany(body.features, tenant, query.mode, principal.keyId));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/geofences',
      summary: 'List geofences (filters: tenant, tag, bbox; keyset pagination)',
      tag: 'geofences',
      roles: ['analyst', 'retailer'],
      query: z.strictObject({
        ...filterQuery,
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        cursor: z.string().min(1).max(512).optional().describe('nextCursor of the previous page'),
      }),
      response: z.object({ items: z.array(geofenceSchema), nextCursor: z.string().optional() }),
      handler: async ({ query, principal }) => {
        const cursor = decodeCursor(query.cursor, cursorSchema);
        if (query.cursor && !cursor) {
          throw new AppError('VALIDATION_FAILED', 'cursor is not one this API issued', {
            details: { errors: [{ path: 'query.cursor', message: 'not a cursor issued by this API' }] },
          });
        }
        const rows = await repo.list({
          tenant: listTenant(principal, query.tenant),
          tag: query.tag,
          bbox: query.bbox,
          afterId: cursor?.after,
          limit: query.limit + 1,
        });
        const items = rows.slice(0, query.limit).map(toView);
        const more = rows.length > query.limit;
        return more ? { items, nextCursor: encodeCursor({ after: items[items.length - 1].id }) } : { items };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/geofences/export',
      summary: 'Export geofences as one GeoJSON FeatureCollection (same filters as the list)',
      tag: 'geofences',
      roles: ['analyst', 'retailer'],
      query: z.strictObject(filterQuery),
      responseContentType: 'application/geo+json',
      response: z.object({ type: z.literal('FeatureCollection'), features: z.array(fenceFeatureSchema) }),
      handler: async ({ query, principal }) => {
        const tenant = listTenant(principal, query.tenant);
        const features: StoredFence['feature'][] = [];
        let afterId: string | undefined;
        for (;;) {
          const page = await repo.list({ tenant, tag: query.tag, bbox: query.bbox, afterId, limit: 5000 });
          for (const s of page) features.push(s.feature);
          if (page.length < 5000) break;
          afterId = page[page.length - 1].id;
        }
        return reply(
          200,
          { type: 'FeatureCollection', features },
          {
            contentType: 'application/geo+json',
            headers: { 'content-disposition': 'attachment; filename="geofences.geojson"' },
          },
        );
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/geofences/:id',
      summary: 'One geofence (ETag = its version)',
      tag: 'geofences',
      roles: ['analyst', 'retailer'],
      params: idParams,
      response: geofenceSchema,
      handler: async ({ params, principal }) => {
        const s = assertFenceTenant(await repo.get(params.id), params.id, (t) => canSee(principal, t));
        return reply(200, toView(s), { headers: { etag: `"${s.version}"` } });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/geofences/:id',
      summary:
        'Replace a geofence; send the version you read (If-Match or ?version=): a stale one answers 409',
      tag: 'geofences',
      roles,
      params: idParams,
      query: z.strictObject({ version: versionQuery }),
      body: geofenceInputSchema,
      response: geofenceSchema,
      errors: { 409: 'Stale version (VERSION_CONFLICT)', 422: 'The geometry is invalid (GEOFENCE_INVALID)' },
      handler: async ({ params, query, body, principal, req }) => {
        const expected = expectedVersion(query.version, req.headers['if-match']);
        const cur = assertFenceTenant(await repo.get(params.id), params.id, (t) => canSee(principal, t));
        if (expected === undefined) {
          throw new AppError(
            'VALIDATION_FAILED',
            'send the version you are replacing (If-Match: "N" or ?version=N)',
            {
              details: { errors: [{ path: 'query.version', message: 'required (or an If-Match header)' }] },
            },
          );
        }
        const fence = toFence(body, cur.tenant, limits, `"${params.id}"`, params.id);
        const version = await repo.put(fence, { expectedVersion: expected, actor: principal.keyId });
        matcher?.upsert([fence]);
        const stored = await repo.get(params.id);
        return reply(200, stored ? toView(stored) : undefined, { headers: { etag: `"${version}"` } });
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/geofences/:id',
      summary: 'Delete a geofence (soft: kept with its history); a version, if sent, must be current',
      tag: 'geofences',
      roles,
      params: idParams,
      query: z.strictObject({ version: versionQuery }),
      status: 204,
      errors: { 409: 'Stale version (VERSION_CONFLICT)' },
      handler: async ({ params, query, principal, req }) => {
        const expected = expectedVersion(query.version, req.headers['if-match']);
        assertFenceTenant(await repo.get(params.id), params.id, (t) => canSee(principal, t));
        await repo.remove(params.id, { expectedVersion: expected, actor: principal.keyId });
        matcher?.remove([params.id]);
        return reply(204);
      },
    }),
  ];
}
