import { isAppError } from '../errors.ts';
import { fenceCollectionSchema } from './schema.ts';
import type { Fence } from './types.ts';
import { type FenceLimits, validateFence } from './validate.ts';

export interface FeatureError {
  /** Position of the feature in the collection. */
  index: number;
  id?: string;
  code: string;
  problem: string;
  message: string;
}

export interface LoadResult {
  fences: Fence[];
  errors: FeatureError[];
}

/**
 * Validates every feature of a FeatureCollection on its own: good features load, each bad one is
 * reported with its position, id and problem. Duplicate ids inside the collection are errors too.
 */
export function loadFeatureCollection(
  input: unknown,
  limits: FenceLimits,
  source = 'collection',
): LoadResult {
  const parsed = fenceCollectionSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return {
      fences: [],
      errors: [
        {
          index: -1,
          code: 'GEOFENCE_INVALID',
          problem: 'SCHEMA',
          message: `${source}: not a GeoJSON FeatureCollection (${first.path.join('.') || 'root'}: ${first.message})`,
        },
      ],
    };
  }
  const fences: Fence[] = [];
  const errors: FeatureError[] = [];
  const seen = new Set<string>();
  parsed.data.features.forEach((feature, index) => {
    const rawId = (feature as { properties?: { id?: unknown }; id?: unknown } | null)?.properties?.id;
    const label = `${source}#${index}${typeof rawId === 'string' ? ` "${rawId}"` : ''}`;
    try {
      const fence = validateFence(feature, limits, label);
      if (seen.has(fence.props.id)) {
        errors.push({
          index,
          id: fence.props.id,
          code: 'GEOFENCE_INVALID',
          problem: 'DUPLICATE_ID',
          message: `geofence ${label}: id "${fence.props.id}" appears more than once`,
        });
        return;
      }
      seen.add(fence.props.id);
      fences.push(fence);
    } catch (err) {
      if (!isAppError(err, 'GEOFENCE_INVALID')) throw err;
      errors.push({
        index,
        id: typeof rawId === 'string' ? rawId : undefined,
        code: err.code,
        problem: (err.details as { problem: string }).problem,
        message: err.message,
      });
    }
  });
  return { fences, errors };
}

/** A fence as a GeoJSON Feature (circles as a Point with properties.radiusM), as geojson.io opens it. */
export function fenceToFeature(fence: Fence) {
  const { id, tenant, name, storeId, address, tags, maxAccuracyM, timeZone } = fence.props;
  const properties: Record<string, unknown> = {
    id,
    tenant,
    name,
    storeId,
    address,
    tags,
    maxAccuracyM,
    timeZone,
  };
  if (fence.kind === 'circle') {
    properties.radiusM = fence.radiusM;
    return {
      type: 'Feature' as const,
      id,
      geometry: { type: 'Point' as const, coordinates: [fence.center[0], fence.center[1]] },
      properties,
    };
  }
  const polygons = fence.polygons; // rebuilt from the packed geometry on each read
  const geometry =
    polygons.length === 1
      ? { type: 'Polygon' as const, coordinates: polygons[0] }
      : { type: 'MultiPolygon' as const, coordinates: polygons };
  return { type: 'Feature' as const, id, geometry, properties };
}

export function toFeatureCollection(fences: readonly Fence[]) {
  return { type: 'FeatureCollection' as const, features: fences.map(fenceToFeature) };
}
