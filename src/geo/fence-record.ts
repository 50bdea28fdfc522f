import { type FlatPolygons, ringSide } from './pip.ts';
import type { Fence } from './types.ts';

/**
 * A fence's exact-test geometry, written once per fence object into a shared chunk of doubles, so
 * an index build references it instead of copying it and one exact test reads one contiguous run
 * of memory (header, then coordinates).
 *
 * Circle record: [1, centre lon, centre lat, radius m].
 * Polygon record: [0, ring count R, part count P, first ring of each part (P + 1 entries), start of
 * each ring as an absolute position in the chunk (R + 1 entries), padding to an even index, x0, y0,
 * x1, y1, ...]; a position p is the pair at doubles 2p and 2p + 1.
 */
export interface FenceRecord {
  readonly chunk: Float64Array;
  /** Index of the record's first double in `chunk`. */
  readonly off: number;
  /** Doubles the record occupies. */
  readonly size: number;
  /** The polygon view of the same coordinates (undefined for circles). */
  readonly flat: FlatPolygons | undefined;
}

/** Offsets within a chunk fit in this many bits; an index packs a chunk number above them. */
export const CHUNK_BITS = 18;
export const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
const CHUNK_DOUBLES = 1 << CHUNK_BITS;

// Records of fences built one after another share a chunk; a chunk is freed with the last fence or
// index that refers to it.
let chunk = new Float64Array(0);
let used = 0;
const records = new WeakMap<Fence, FenceRecord>();

function reserve(size: number): { chunk: Float64Array; off: number } {
  if (size > CHUNK_DOUBLES) return { chunk: new Float64Array(size), off: 0 };
  if (used + size > chunk.length) {
    chunk = new Float64Array(CHUNK_DOUBLES);
    used = 0;
  }
  const off = used;
  // keep every record at an even index so positions stay whole pairs
  used += size + (size & 1);
  return { chunk, off };
}

function writeRecord(fence: Fence): FenceRecord {
  if (fence.kind === 'circle') {
    const { chunk: g, off } = reserve(4);
    g[off] = 1;
    g[off + 1] = fence.center[0];
    g[off + 2] = fence.center[1];
    g[off + 3] = fence.radiusM;
    return { chunk: g, off, size: 4, flat: undefined };
  }
  let positions = 0;
  let rings = 0;
  for (const poly of fence.polygons) {
    for (const ring of poly) {
      positions += ring.length;
      rings++;
    }
  }
  const parts = fence.polygons.length;
  let header = 3 + parts + 1 + rings + 1;
  header += header & 1;
  const size = header + positions * 2;
  const { chunk: g, off } = reserve(size);
  const partRing = new Int32Array(parts + 1);
  const ringStart = new Int32Array(rings + 1);
  const base = (off + header) / 2;
  g[off + 1] = rings;
  g[off + 2] = parts;
  let pos = 0;
  let r = 0;
  let at = off + header;
  for (let p = 0; p < parts; p++) {
    partRing[p] = r;
    for (const ring of fence.polygons[p]) {
      ringStart[r++] = pos;
      for (const c of ring) {
        g[at++] = c[0];
        g[at++] = c[1];
        pos++;
      }
    }
  }
  ringStart[r] = pos;
  partRing[parts] = r;
  for (let p = 0; p <= parts; p++) g[off + 3 + p] = partRing[p];
  for (let k = 0; k <= rings; k++) g[off + 4 + parts + k] = base + ringStart[k];
  const coords = g.subarray(off + header, off + size);
  return { chunk: g, off, size, flat: { coords, ringStart, partRing } };
}

/** The fence's record, written on first use and reused by every later index over the same object. */
export function recordOf(fence: Fence): FenceRecord {
  let rec = records.get(fence);
  if (rec === undefined) {
    rec = writeRecord(fence);
    records.set(fence, rec);
  }
  return rec;
}

/** The flattened geometry of a polygon fence (a view of its record). */
export function flatOf(fence: Fence & { kind: 'polygon' }): FlatPolygons {
  return recordOf(fence).flat as FlatPolygons;
}

/**
 * Exact ST_Covers test of the polygon record at `off`: the same arithmetic as `polygonsCover`
 * (PostGIS's winding test), on edges or vertices inside, holes excluded.
 */
export function polygonRecordCovers(g: Float64Array, off: number, x: number, y: number): boolean {
  // header values are small integers stored as doubles; `| 0` keeps the loops on int32
  const rings = g[off + 1] | 0;
  const parts = g[off + 2] | 0;
  const starts = off + 4 + parts;
  if (rings === 1) return ringSide(g, g[starts] | 0, g[starts + 1] | 0, x, y) !== -1;
  for (let p = 0; p < parts; p++) {
    const shell = g[off + 3 + p] | 0;
    const next = g[off + 4 + p] | 0;
    const shellSide = ringSide(g, g[starts + shell] | 0, g[starts + shell + 1] | 0, x, y);
    if (shellSide === -1) continue;
    if (shellSide === 0) return true;
    let inHole = false;
    for (let r = shell + 1; r < next; r++) {
      const side = ringSide(g, g[starts + r] | 0, g[starts + r + 1] | 0, x, y);
      if (side === 0) return true;
      if (side === 1) {
        inHole = true;
        break;
      }
    }
    if (!inHole) return true;
  }
  return false;
}
