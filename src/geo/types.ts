import { recordOf } from './fence-record.ts';
import { type FlatPolygons, flattenPolygons, unflattenPolygons } from './pip.ts';

/** Properties every store geofence carries (GeoJSON Feature `properties`). */
export interface FenceProps {
  id: string;
  /** The retailer that owns the fence. */
  tenant: string;
  name: string;
  storeId: string;
  address: string;
  tags: string[];
  /** The largest ping uncertainty (metres) this fence accepts; pings less precise never match it. */
  maxAccuracyM: number;
  /** IANA time zone of the store, e.g. Europe/Kyiv. */
  timeZone: string;
}

export type Position = [number, number];
export type PolygonCoords = Position[][];

/**
 * A validated geofence, orientation-normalised (RFC 7946: shells counter-clockwise, holes clockwise).
 * A polygon fence keeps its coordinates packed (`flat`: one Float64Array and ring/part offsets) — not
 * one JS array per vertex, which for 100 k fences was ~380 MB of heap and ~4 M objects for every major
 * GC to trace. `polygons` rebuilds the GeoJSON arrays on each read: for export and tests, not hot paths.
 */
export type Fence =
  | { kind: 'polygon'; props: FenceProps; readonly polygons: PolygonCoords[]; flat: FlatPolygons; bbox: BBox }
  | { kind: 'circle'; props: FenceProps; center: Position; radiusM: number; bbox: BBox };

/** A polygon fence over normalised GeoJSON polygon coordinates (see Fence). */
export function polygonFence(props: FenceProps, polygons: readonly PolygonCoords[], bbox: BBox): Fence {
  const fence: Fence = {
    kind: 'polygon',
    props,
    flat: flattenPolygons(polygons),
    bbox,
    // `this.flat`, not a captured copy: the fence swaps in its record's view of the same coordinates.
    get polygons() {
      return unflattenPolygons(this.flat);
    },
  };
  // The geometry record the index's exact test reads (coordinates in latitude bands) is written once,
  // here at import, next to validation; every index built over this fence object references it.
  recordOf(fence);
  return fence;
}

/** [minLon, minLat, maxLon, maxLat] */
export type BBox = [number, number, number, number];

/**
 * Answers "which fences contain this ping?" against an immutable snapshot; `replace`/`upsert`/`remove`
 * build a new snapshot off to the side and swap it in one assignment.
 */
export interface Matcher {
  /** Fences covering (lon, lat) whose maxAccuracyM ≥ accM. Allocates only the result array. */
  match(lon: number, lat: number, accM: number): Fence[];
  /** Zero-allocation variant: writes fence slots into `out`, returns the count. Slots index `snapshot().fences`. */
  matchInto(lon: number, lat: number, accM: number, out: Int32Array): number;
  /** True when (lon, lat) lies within `bufferM` metres of the fence (buffer 0 = covered). */
  near(fence: Fence, lon: number, lat: number, bufferM: number): boolean;
  snapshot(): FenceSnapshot;
  get(id: string): Fence | undefined;
  replaceAll(fences: readonly Fence[]): void;
  upsert(fences: readonly Fence[]): void;
  remove(ids: readonly string[]): void;
  readonly size: number;
}

export interface FenceSnapshot {
  readonly version: number;
  readonly fences: readonly Fence[];
}
