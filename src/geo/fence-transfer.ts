import { unflattenPolygons } from './pip.ts';
import type { BBox, Fence, FenceProps, Position } from './types.ts';

/**
 * A fence as plain data for another thread (postMessage): a polygon's packed coordinates are copied
 * out of the shared chunk its index may hold them in, so a message never drags a whole chunk along.
 */
export type PackedFence =
  | {
      kind: 'polygon';
      props: FenceProps;
      coords: Float64Array;
      ringStart: Int32Array;
      partRing: Int32Array;
      bbox: BBox;
    }
  | { kind: 'circle'; props: FenceProps; center: Position; radiusM: number; bbox: BBox };

/** One change of the live fence set, in the order the matcher applied it. */
export type FenceChange =
  | { op: 'replace'; fences: readonly Fence[] }
  | { op: 'upsert'; fences: readonly Fence[] }
  | { op: 'remove'; ids: readonly string[] };

/** A fence change with its fences packed for postMessage. */
export type PackedFenceChange =
  | { op: 'replace' | 'upsert'; fences: PackedFence[] }
  | { op: 'remove'; ids: readonly string[] };

/** Packs fences for another thread (see PackedFence). */
export function packFences(fences: readonly Fence[]): PackedFence[] {
  const out: PackedFence[] = new Array(fences.length);
  for (let i = 0; i < fences.length; i++) {
    const f = fences[i];
    if (f.kind === 'circle') {
      out[i] = { kind: 'circle', props: f.props, center: f.center, radiusM: f.radiusM, bbox: f.bbox };
    } else {
      const { coords, ringStart, partRing } = f.flat;
      out[i] = {
        kind: 'polygon',
        props: f.props,
        coords: coords.slice(),
        ringStart: ringStart.slice(),
        partRing: partRing.slice(),
        bbox: f.bbox,
      };
    }
  }
  return out;
}

/** Rebuilds fences packed by `packFences` (the same geometry, new objects). */
export function unpackFences(packed: readonly PackedFence[]): Fence[] {
  return packed.map((p): Fence => {
    if (p.kind === 'circle') {
      return { kind: 'circle', props: p.props, center: p.center, radiusM: p.radiusM, bbox: p.bbox };
    }
    return {
      kind: 'polygon',
      props: p.props,
      flat: { coords: p.coords, ringStart: p.ringStart, partRing: p.partRing },
      bbox: p.bbox,
      // `this.flat`, as polygonFence: the index may swap in its own view of the same coordinates.
      get polygons() {
        return unflattenPolygons(this.flat);
      },
    };
  });
}

/** Packs one fence change for postMessage. */
export function packFenceChange(c: FenceChange): PackedFenceChange {
  return c.op === 'remove' ? c : { op: c.op, fences: packFences(c.fences) };
}
