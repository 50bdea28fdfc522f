import turfArea from '@turf/area';
import { AppError } from '../errors.ts';
import { fenceFeatureSchema } from './schema.ts';
import {
  type BBox,
  type Fence,
  type FenceProps,
  type PolygonCoords,
  type Position,
  polygonFence,
} from './types.ts';

/** Limits applied to every fence; from configuration. */
export interface FenceLimits {
  maxVertices: number;
  maxAreaKm2: number;
  defaultMaxAccuracyM: number;
}

export const DEFAULT_FENCE_LIMITS: FenceLimits = {
  maxVertices: 2000,
  maxAreaKm2: 50,
  defaultMaxAccuracyM: 500,
};

/** The specific reasons a fence is rejected; carried in `details.problem`. */
export const FENCE_PROBLEMS = [
  'SCHEMA',
  'MISSING_ID',
  'UNSUPPORTED_GEOMETRY',
  'COORDINATE_NOT_FINITE',
  'COORDINATE_OUT_OF_RANGE',
  'RING_NOT_CLOSED',
  'RING_TOO_SHORT',
  'RING_DEGENERATE',
  'SELF_INTERSECTION',
  'RINGS_CROSS',
  'HOLE_OUTSIDE_SHELL',
  'TOO_MANY_VERTICES',
  'RADIUS_OUT_OF_RANGE',
  'AREA_TOO_LARGE',
  'EMPTY_MULTIPOLYGON',
  'TIME_ZONE_INVALID',
  'DUPLICATE_ID',
] as const;
export type FenceProblem = (typeof FENCE_PROBLEMS)[number];

export const MAX_RADIUS_M = 50_000;

function fail(
  label: string,
  problem: FenceProblem,
  message: string,
  extra: Record<string, unknown> = {},
): never {
  throw new AppError('GEOFENCE_INVALID', `geofence ${label}: ${message}`, {
    httpStatus: 400,
    details: { feature: label, problem, ...extra },
  });
}

const timeZoneCache = new Map<string, boolean>();
function isTimeZone(tz: string): boolean {
  let ok = timeZoneCache.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    timeZoneCache.set(tz, ok);
  }
  return ok;
}

function checkPosition(label: string, p: readonly number[], where: string): Position {
  const lon = p[0];
  const lat = p[1];
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) {
    fail(label, 'COORDINATE_NOT_FINITE', `${where} has a coordinate that is not a finite number`, { where });
  }
  if (lon < -180 || lon > 180 || lat < -90 || lat > 90) {
    fail(
      label,
      'COORDINATE_OUT_OF_RANGE',
      `${where} [${lon}, ${lat}] is outside lon −180..180, lat −90..90`,
      {
        where,
      },
    );
  }
  return [lon, lat];
}

/** Twice the signed planar area of a closed ring; positive = counter-clockwise. */
function signedArea2(ring: Position[]): number {
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  }
  return s;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const v = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return px >= Math.min(ax, bx) && px <= Math.max(ax, bx) && py >= Math.min(ay, by) && py <= Math.max(ay, by);
}

/** 0 = disjoint, 1 = proper crossing, 2 = touching or collinear overlap. */
function segmentsIntersect(a: Position, b: Position, c: Position, d: Position): 0 | 1 | 2 {
  const o1 = orient(a[0], a[1], b[0], b[1], c[0], c[1]);
  const o2 = orient(a[0], a[1], b[0], b[1], d[0], d[1]);
  const o3 = orient(c[0], c[1], d[0], d[1], a[0], a[1]);
  const o4 = orient(c[0], c[1], d[0], d[1], b[0], b[1]);
  if (o1 * o2 < 0 && o3 * o4 < 0) return 1;
  if (o1 === 0 && onSegment(a[0], a[1], b[0], b[1], c[0], c[1])) return 2;
  if (o2 === 0 && onSegment(a[0], a[1], b[0], b[1], d[0], d[1])) return 2;
  if (o3 === 0 && onSegment(c[0], c[1], d[0], d[1], a[0], a[1])) return 2;
  if (o4 === 0 && onSegment(c[0], c[1], d[0], d[1], b[0], b[1])) return 2;
  return 0;
}

interface Edge {
  ring: number;
  index: number;
  a: Position;
  b: Position;
  minX: number;
  maxX: number;
}

/**
 * Finds self-intersections within a ring and crossings between rings of one polygon with a sweep
 * over edges sorted by their west end.
 */
function checkTopology(label: string, rings: Position[][], where: string): void {
  const edges: Edge[] = [];
  const ringEdgeCount: number[] = [];
  rings.forEach((ring, r) => {
    ringEdgeCount.push(ring.length - 1);
    for (let i = 0; i < ring.length - 1; i++) {
      const a = ring[i];
      const b = ring[i + 1];
      edges.push({ ring: r, index: i, a, b, minX: Math.min(a[0], b[0]), maxX: Math.max(a[0], b[0]) });
    }
  });
  edges.sort((e, f) => e.minX - f.minX);
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i];
    for (let j = i + 1; j < edges.length && edges[j].minX <= e.maxX; j++) {
      const f = edges[j];
      if (Math.max(e.a[1], e.b[1]) < Math.min(f.a[1], f.b[1])) continue;
      if (Math.max(f.a[1], f.b[1]) < Math.min(e.a[1], e.b[1])) continue;
      const hit = segmentsIntersect(e.a, e.b, f.a, f.b);
      if (hit === 0) continue;
      if (e.ring === f.ring) {
        const n = ringEdgeCount[e.ring];
        const gap = Math.abs(e.index - f.index);
        const adjacent = gap === 1 || gap === n - 1;
        if (adjacent) {
          // Adjacent edges share a vertex; they are bad only when they fold back onto each other.
          const shared = e.b === f.a || (e.b[0] === f.a[0] && e.b[1] === f.a[1]) ? e.b : e.a;
          const p = e.a === shared || (e.a[0] === shared[0] && e.a[1] === shared[1]) ? e.b : e.a;
          const q = f.a === shared || (f.a[0] === shared[0] && f.a[1] === shared[1]) ? f.b : f.a;
          const collinear = orient(p[0], p[1], shared[0], shared[1], q[0], q[1]) === 0;
          const sameDirection =
            (p[0] - shared[0]) * (q[0] - shared[0]) + (p[1] - shared[1]) * (q[1] - shared[1]) > 0;
          if (!(collinear && sameDirection)) continue;
        }
        const at = e.a;
        fail(
          label,
          'SELF_INTERSECTION',
          `${where} ring ${e.ring} intersects itself near [${at[0]}, ${at[1]}]`,
          {
            where,
            ring: e.ring,
            edges: [e.index, f.index],
          },
        );
      }
      if (hit === 1) {
        fail(
          label,
          'RINGS_CROSS',
          `${where} rings ${e.ring} and ${f.ring} cross near [${e.a[0]}, ${e.a[1]}]`,
          {
            where,
            rings: [e.ring, f.ring],
          },
        );
      }
    }
  }
}

function ringContainsOrTouches(ring: Position[], x: number, y: number): boolean {
  let wn = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i];
    const [x2, y2] = ring[i + 1];
    const side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1);
    if (side === 0 && onSegment(x1, y1, x2, y2, x, y)) return true;
    if (y1 <= y && y < y2 && side > 0) wn++;
    else if (y2 <= y && y < y1 && side < 0) wn--;
  }
  return wn !== 0;
}

function normaliseRing(label: string, raw: readonly (readonly number[])[], where: string): Position[] {
  if (raw.length < 4) {
    fail(label, 'RING_TOO_SHORT', `${where} has ${raw.length} positions; a ring needs at least 4`, { where });
  }
  const ring: Position[] = [];
  for (let i = 0; i < raw.length; i++) {
    const p = checkPosition(label, raw[i], `${where} position ${i}`);
    const prev = ring[ring.length - 1];
    // Repeated consecutive positions carry no shape; dropping them keeps every edge non-degenerate.
    if (prev && prev[0] === p[0] && prev[1] === p[1]) continue;
    ring.push(p);
  }
  const first = raw[0];
  const last = raw[raw.length - 1];
  if (first[0] !== last[0] || first[1] !== last[1]) {
    fail(label, 'RING_NOT_CLOSED', `${where} is not closed: the first and last positions differ`, { where });
  }
  if (ring.length < 4) {
    fail(label, 'RING_DEGENERATE', `${where} has fewer than 3 distinct positions`, { where });
  }
  return ring;
}

function normalisePolygon(
  label: string,
  rawRings: readonly (readonly (readonly number[])[])[],
  where: string,
) {
  const rings = rawRings.map((r, i) => normaliseRing(label, r, `${where} ring ${i}`));
  // RFC 7946: shells counter-clockwise, holes clockwise. Orientation is fixed, never a reason to reject.
  rings.forEach((ring, i) => {
    const ccw = signedArea2(ring) > 0;
    if ((i === 0) !== ccw) ring.reverse();
  });
  checkTopology(label, rings, where);
  rings.forEach((ring, i) => {
    if (signedArea2(ring) === 0)
      fail(label, 'RING_DEGENERATE', `${where} ring ${i} encloses no area`, { where });
  });
  const shell = rings[0];
  for (let h = 1; h < rings.length; h++) {
    const hole = rings[h];
    const outside = hole.find((p) => !ringContainsOrTouches(shell, p[0], p[1]));
    if (outside) {
      fail(
        label,
        'HOLE_OUTSIDE_SHELL',
        `${where} hole ${h} lies outside its shell at [${outside[0]}, ${outside[1]}]`,
        {
          where,
          hole: h,
        },
      );
    }
  }
  return rings;
}

function bboxOf(polygons: PolygonCoords[]): BBox {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const poly of polygons) {
    for (const p of poly[0]) {
      if (p[0] < minX) minX = p[0];
      if (p[0] > maxX) maxX = p[0];
      if (p[1] < minY) minY = p[1];
      if (p[1] > maxY) maxY = p[1];
    }
  }
  return [minX, minY, maxX, maxY];
}

export function circleBBox(center: Position, radiusM: number): BBox {
  const dLat = radiusM / 111194.9266445587;
  const maxLat = Math.min(89.9, Math.abs(center[1]) + dLat);
  const dLon = Math.min(180, radiusM / (111194.9266445587 * Math.cos((maxLat * Math.PI) / 180)));
  // A hair of slack so rounding never leaves a rim point outside its own bounding box.
  const slack = 1e-9;
  return [
    center[0] - dLon - slack,
    center[1] - dLat - slack,
    center[0] + dLon + slack,
    center[1] + dLat + slack,
  ];
}

function findNonFinite(value: unknown, path: number[], depth = 0): number[] | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (!Array.isArray(value) || depth > 4) return undefined;
  for (let i = 0; i < value.length; i++) {
    const hit = findNonFinite(value[i], [...path, i], depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Validates one GeoJSON Feature as a geofence and returns it normalised. Throws AppError
 * GEOFENCE_INVALID whose message names the feature and the problem (details.problem is one of
 * FENCE_PROBLEMS).
 */
export function validateFence(
  input: unknown,
  limits: FenceLimits = DEFAULT_FENCE_LIMITS,
  label?: string,
): Fence {
  const rawId =
    input && typeof input === 'object'
      ? ((input as { properties?: { id?: unknown } }).properties?.id ?? (input as { id?: unknown }).id)
      : undefined;
  const name = label ?? (typeof rawId === 'string' || typeof rawId === 'number' ? `"${rawId}"` : '(unnamed)');
  const geometry0 = (input as { geometry?: { coordinates?: unknown } } | null)?.geometry;
  const badPath = findNonFinite(geometry0?.coordinates, []);
  if (badPath) {
    fail(name, 'COORDINATE_NOT_FINITE', `geometry.coordinates.${badPath.join('.')} is not a finite number`, {
      path: badPath,
    });
  }
  const parsed = fenceFeatureSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0];
    fail(name, 'SCHEMA', `${first.path || '(root)'}: ${first.message}`, { issues });
  }
  const feature = parsed.data;
  const p = feature.properties;
  const id = p.id ?? (feature.id === undefined ? undefined : String(feature.id));
  if (!id) fail(name, 'MISSING_ID', 'has no id (properties.id or Feature.id)');
  if (!isTimeZone(p.timeZone)) {
    fail(name, 'TIME_ZONE_INVALID', `time zone "${p.timeZone}" is not an IANA time zone`);
  }
  const props: FenceProps = {
    id,
    tenant: p.tenant,
    name: p.name,
    storeId: p.storeId,
    address: p.address,
    tags: p.tags,
    maxAccuracyM: p.maxAccuracyM ?? limits.defaultMaxAccuracyM,
    timeZone: p.timeZone,
  };
  const geometry = feature.geometry;

  if (geometry === null || geometry.type === 'Point') {
    const centerRaw = geometry ? geometry.coordinates : p.center;
    if (!centerRaw) fail(name, 'UNSUPPORTED_GEOMETRY', 'has no geometry and no circle center');
    const center = checkPosition(name, centerRaw, 'circle center');
    const radiusM = p.radiusM;
    if (radiusM === undefined) fail(name, 'RADIUS_OUT_OF_RANGE', 'is a circle without properties.radiusM');
    if (!Number.isFinite(radiusM) || radiusM <= 0 || radiusM > MAX_RADIUS_M) {
      fail(name, 'RADIUS_OUT_OF_RANGE', `radius ${radiusM} m is outside (0, ${MAX_RADIUS_M}] m`);
    }
    const areaKm2 = (Math.PI * radiusM * radiusM) / 1e6;
    if (areaKm2 > limits.maxAreaKm2) {
      fail(
        name,
        'AREA_TOO_LARGE',
        `area ${areaKm2.toFixed(3)} km² is above the limit of ${limits.maxAreaKm2} km²`,
      );
    }
    return { kind: 'circle', props, center, radiusM, bbox: circleBBox(center, radiusM) };
  }

  if (p.radiusM !== undefined || p.center !== undefined) {
    fail(
      name,
      'UNSUPPORTED_GEOMETRY',
      `radiusM/center are only allowed on circles, not on a ${geometry.type}`,
    );
  }
  const rawPolygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  if (rawPolygons.length === 0) fail(name, 'EMPTY_MULTIPOLYGON', 'is a MultiPolygon with no polygons');
  let vertices = 0;
  for (const poly of rawPolygons) for (const ring of poly) vertices += ring.length;
  if (vertices > limits.maxVertices) {
    fail(name, 'TOO_MANY_VERTICES', `has ${vertices} vertices; the limit is ${limits.maxVertices}`);
  }
  const polygons: PolygonCoords[] = rawPolygons.map((poly, i) =>
    normalisePolygon(name, poly, geometry.type === 'Polygon' ? 'polygon' : `polygon ${i}`),
  );
  const areaM2 = turfArea({ type: 'MultiPolygon', coordinates: polygons });
  if (areaM2 / 1e6 > limits.maxAreaKm2) {
    fail(
      name,
      'AREA_TOO_LARGE',
      `area ${(areaM2 / 1e6).toFixed(3)} km² is above the limit of ${limits.maxAreaKm2} km²`,
    );
  }
  return polygonFence(props, polygons, bboxOf(polygons));
}
