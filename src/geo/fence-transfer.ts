import { unflattenPolygons } from './pip.ts';
import type { BBox, Fence, FenceProps } from './types.ts';

/**
 * Fences as plain columns for another thread (postMessage): every polygon's coordinates and ring
 * offsets in one Float64Array and two Int32Arrays, the properties as string columns. A structured clone
 * of this is a handful of buffers, not three small ArrayBuffers and a props object graph per fence —
 * for 100 k fences that was ~300 k separate allocations in the receiving thread, freed again as soon as
 * its index copied the geometry into records (the ingest worker's RSS kept most of them).
 *
 * Only what matching, presence and footfall read crosses over: id, tenant, storeId, maxAccuracyM and
 * timeZone. The receiving side's fences carry empty name, address and tags.
 */
export interface PackedFences {
  count: number;
  ids: string[];
  /** Index into `strings` per fence: tenant, storeId, timeZone. */
  tenant: Int32Array;
  storeId: string[];
  timeZone: Int32Array;
  strings: string[];
  maxAccuracyM: Float64Array;
  /** 1 = circle (center and radius in `circle`), 0 = polygon (geometry in the flat columns). */
  isCircle: Uint8Array;
  bbox: Float64Array;
  /** lon, lat, radiusM per fence (zeros for polygons). */
  circle: Float64Array;
  /** Per fence: where its coords, ringStart and partRing start in the shared columns (n + 1 entries each). */
  coordAt: Int32Array;
  ringAt: Int32Array;
  partAt: Int32Array;
  coords: Float64Array;
  ringStart: Int32Array;
  partRing: Int32Array;
}

/** Compatibility name: one batch of packed fences. */
export type PackedFence = PackedFences;

/** One change of the live fence set, in the order the matcher applied it. */
export type FenceChange =
  | { op: 'replace'; fences: readonly Fence[] }
  | { op: 'upsert'; fences: readonly Fence[] }
  | { op: 'remove'; ids: readonly string[] };

/** A fence change with its fences packed for postMessage. */
export type PackedFenceChange =
  | { op: 'replace' | 'upsert'; fences: PackedFences }
  | { op: 'remove'; ids: readonly string[] };

/** Packs fences for another thread (see PackedFences). */
export function packFences(fences: readonly Fence[]): PackedFences {
  const n = fences.length;
  let coordLen = 0;
  let ringLen = 0;
  let partLen = 0;
  for (const f of fences) {
    if (f.kind === 'circle') continue;
    coordLen += f.flat.coords.length;
    ringLen += f.flat.ringStart.length;
    partLen += f.flat.partRing.length;
  }
  const out: PackedFences = {
    count: n,
    ids: new Array(n),
    tenant: new Int32Array(n),
    storeId: new Array(n),
    timeZone: new Int32Array(n),
    strings: [],
    maxAccuracyM: new Float64Array(n),
    isCircle: new Uint8Array(n),
    bbox: new Float64Array(n * 4),
    circle: new Float64Array(n * 3),
    coordAt: new Int32Array(n + 1),
    ringAt: new Int32Array(n + 1),
    partAt: new Int32Array(n + 1),
    coords: new Float64Array(coordLen),
    ringStart: new Int32Array(ringLen),
    partRing: new Int32Array(partLen),
  };
  const stringNo = new Map<string, number>();
  const intern = (s: string): number => {
    let i = stringNo.get(s);
    if (i === undefined) {
      i = out.strings.length;
      out.strings.push(s);
      stringNo.set(s, i);
    }
    return i;
  };
  let c = 0;
  let r = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    const f = fences[i];
    out.ids[i] = f.props.id;
    out.tenant[i] = intern(f.props.tenant);
    out.storeId[i] = f.props.storeId;
    out.timeZone[i] = intern(f.props.timeZone);
    out.maxAccuracyM[i] = f.props.maxAccuracyM;
    out.bbox.set(f.bbox, i * 4);
    out.coordAt[i] = c;
    out.ringAt[i] = r;
    out.partAt[i] = p;
    if (f.kind === 'circle') {
      out.isCircle[i] = 1;
      out.circle[i * 3] = f.center[0];
      out.circle[i * 3 + 1] = f.center[1];
      out.circle[i * 3 + 2] = f.radiusM;
      continue;
    }
    const { coords, ringStart, partRing } = f.flat;
    out.coords.set(coords, c);
    out.ringStart.set(ringStart, r);
    out.partRing.set(partRing, p);
    c += coords.length;
    r += ringStart.length;
    p += partRing.length;
  }
  out.coordAt[n] = c;
  out.ringAt[n] = r;
  out.partAt[n] = p;
  return out;
}

const NO_TAGS: string[] = [];

/**
 * Rebuilds fences packed by `packFences`: the same geometry (views into the packed columns, which the
 * index copies into its records) and the properties that crossed over.
 */
export function unpackFences(packed: PackedFences): Fence[] {
  const out: Fence[] = new Array(packed.count);
  const { strings } = packed;
  for (let i = 0; i < packed.count; i++) {
    const props: FenceProps = {
      id: packed.ids[i],
      tenant: strings[packed.tenant[i]],
      name: '',
      storeId: packed.storeId[i],
      address: '',
      tags: NO_TAGS,
      maxAccuracyM: packed.maxAccuracyM[i],
      timeZone: strings[packed.timeZone[i]],
    };
    const b = packed.bbox;
    const bbox: BBox = [b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]];
    if (packed.isCircle[i] === 1) {
      const k = i * 3;
      out[i] = {
        kind: 'circle',
        props,
        center: [packed.circle[k], packed.circle[k + 1]],
        radiusM: packed.circle[k + 2],
        bbox,
      };
      continue;
    }
    out[i] = {
      kind: 'polygon',
      props,
      flat: {
        coords: packed.coords.subarray(packed.coordAt[i], packed.coordAt[i + 1]),
        ringStart: packed.ringStart.subarray(packed.ringAt[i], packed.ringAt[i + 1]),
        partRing: packed.partRing.subarray(packed.partAt[i], packed.partAt[i + 1]),
      },
      bbox,
      // `this.flat`, as polygonFence: the index may swap in its own view of the same coordinates.
      get polygons() {
        return unflattenPolygons(this.flat);
      },
    };
  }
  return out;
}

/** Packs one fence change for postMessage. */
export function packFenceChange(c: FenceChange): PackedFenceChange {
  return c.op === 'remove' ? c : { op: c.op, fences: packFences(c.fences) };
}
