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
 * x1, y1, ...]; a position p is the pair at doubles 2p and 2p + 1. In a single-ring polygon the
 * edge bands sit between the header and the coordinates: [min lat, max lat, bands per degree, then
 * as int32s: band count B, first edge of each band (B + 1 entries), the edges (start positions)].
 * Band b holds every edge whose latitude range meets it, so a test at latitude y reads the header,
 * band(y)'s few edges and their coordinates, all within a few hundred bytes.
 */
export interface FenceRecord {
  readonly chunk: Float64Array;
  /** The same chunk as int32s (edge band lists). */
  readonly chunk32: Int32Array;
  /** Index of the record's first double in `chunk`. */
  readonly off: number;
  /** Doubles the record occupies. */
  readonly size: number;
  /** The polygon view of the same coordinates (undefined for circles). */
  readonly flat: FlatPolygons | undefined;
}

/**
 * Offsets within a chunk fit in this many bits; an index packs a chunk number above them. 16 MiB
 * chunks hold seven or eight whole 2 MiB-aligned huge pages each (with GLIBC_TUNABLES
 * glibc.malloc.hugetlb=1), so exact tests on records scattered over ~70 MB rarely miss the TLB;
 * 2 MiB chunks, never aligned, got almost none.
 */
export const CHUNK_BITS = 21;
export const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
const CHUNK_DOUBLES = 1 << CHUNK_BITS;

// Records of fences built one after another share a chunk; a chunk is freed with the last fence or
// index that refers to it.
let chunk = new Float64Array(0);
let chunk32 = new Int32Array(0);
let used = 0;
const records = new WeakMap<Fence, FenceRecord>();

function reserve(size: number): { chunk: Float64Array; chunk32: Int32Array; off: number } {
  if (size > CHUNK_DOUBLES) {
    const own = new Float64Array(size);
    return { chunk: own, chunk32: new Int32Array(own.buffer), off: 0 };
  }
  if (used + size > chunk.length) {
    chunk = new Float64Array(CHUNK_DOUBLES);
    chunk32 = new Int32Array(chunk.buffer);
    used = 0;
  }
  const off = used;
  // keep every record at an even index so positions stay whole pairs
  used += size + (size & 1);
  return { chunk, chunk32, off };
}

/** The band of latitude y: monotonic in y, so an edge's band range covers every y on the edge. */
export function bandOf(y: number, minY: number, perDeg: number, bands: number): number {
  const b = Math.floor((y - minY) * perDeg);
  return b < 0 ? 0 : b >= bands ? bands - 1 : b;
}

function writeRecord(fence: Fence): FenceRecord {
  if (fence.kind === 'circle') {
    const { chunk: g, chunk32: g32, off } = reserve(4);
    g[off] = 1;
    g[off + 1] = fence.center[0];
    g[off + 2] = fence.center[1];
    g[off + 3] = fence.radiusM;
    return { chunk: g, chunk32: g32, off, size: 4, flat: undefined };
  }
  // The fence's packed geometry (validated, orientation-normalised).
  const src = fence.flat;
  const rings = src.ringStart.length - 1;
  const positions = src.ringStart[rings];
  const parts = src.partRing.length - 1;
  const sc = src.coords;
  let header = 3 + parts + 1 + rings + 1;
  header += header & 1;
  // Edge bands for single-ring polygons: about three edges per band.
  const edges = positions - 1;
  const bands = rings === 1 ? Math.min(256, Math.max(1, Math.ceil(edges / 3))) : 0;
  let bandEntries = 0;
  let minY = Infinity;
  let maxY = -Infinity;
  if (bands > 0) {
    // One ring: positions 0 .. positions - 1 of `sc`.
    for (let i = 0; i < positions; i++) {
      const y = sc[i * 2 + 1];
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    const perDeg = maxY > minY ? bands / (maxY - minY) : 0;
    for (let i = 0; i < edges; i++) {
      const ax = sc[i * 2];
      const ay = sc[i * 2 + 1];
      const bx = sc[i * 2 + 2];
      const by = sc[i * 2 + 3];
      if (ax === bx && ay === by) continue;
      bandEntries +=
        bandOf(Math.max(ay, by), minY, perDeg, bands) - bandOf(Math.min(ay, by), minY, perDeg, bands) + 1;
    }
  }
  let bandDoubles = bands > 0 ? 3 + Math.ceil((1 + bands + 1 + bandEntries) / 2) : 0;
  bandDoubles += bandDoubles & 1;
  header += bandDoubles;
  const size = header + positions * 2;
  const { chunk: g, chunk32: g32, off } = reserve(size);
  const partRing = src.partRing;
  const ringStart = src.ringStart;
  const base = (off + header) / 2;
  g[off + 1] = rings;
  g[off + 2] = parts;
  g.set(sc, off + header);
  for (let p = 0; p <= parts; p++) g[off + 3 + p] = partRing[p];
  for (let k = 0; k <= rings; k++) g[off + 4 + parts + k] = base + ringStart[k];
  if (bands > 0) writeBands(g, g32, off + header - bandDoubles, base, edges, bands, minY, maxY);
  const coords = g.subarray(off + header, off + header + positions * 2);
  return { chunk: g, chunk32: g32, off, size, flat: { coords, ringStart, partRing } };
}

function writeBands(
  g: Float64Array,
  g32: Int32Array,
  at: number,
  base: number,
  edges: number,
  bands: number,
  minY: number,
  maxY: number,
): void {
  const perDeg = maxY > minY ? bands / (maxY - minY) : 0;
  g[at] = minY;
  g[at + 1] = maxY;
  g[at + 2] = perDeg;
  const head = (at + 3) * 2;
  g32[head] = bands;
  const start = head + 1;
  g32.fill(0, start, start + bands + 1);
  // count per band, prefix sums, then fill using start[b] as a cursor and shift back
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < edges; i++) {
      const p = (base + i) * 2;
      const y1 = g[p + 1];
      const y2 = g[p + 3];
      if (g[p] === g[p + 2] && y1 === y2) continue;
      const b0 = bandOf(y1 < y2 ? y1 : y2, minY, perDeg, bands);
      const b1 = bandOf(y1 < y2 ? y2 : y1, minY, perDeg, bands);
      for (let b = b0; b <= b1; b++) {
        if (pass === 0) g32[start + b + 1]++;
        else g32[g32[start + b]++] = base + i;
      }
    }
    if (pass === 0) {
      g32[start] = start + bands + 1;
      for (let b = 0; b < bands; b++) g32[start + b + 1] += g32[start + b];
    }
  }
  for (let b = bands; b > 0; b--) g32[start + b] = g32[start + b - 1];
  g32[start] = start + bands + 1;
}

/** The fence's record, written on first use and reused by every later index over the same object. */
export function recordOf(fence: Fence): FenceRecord {
  let rec = records.get(fence);
  if (rec === undefined) {
    rec = writeRecord(fence);
    records.set(fence, rec);
    // The record holds the same coordinates: the fence keeps the record's view and drops its own copy
    // (chunks are never reused, so the view stays valid as long as the fence lives).
    if (fence.kind === 'polygon' && rec.flat !== undefined) fence.flat = rec.flat;
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
export function polygonRecordCovers(
  g: Float64Array,
  g32: Int32Array,
  off: number,
  x: number,
  y: number,
): boolean {
  // header values are small integers stored as doubles; `| 0` keeps the loops on int32
  const rings = g[off + 1] | 0;
  const parts = g[off + 2] | 0;
  const starts = off + 4 + parts;
  if (rings === 1) return bandCovers(g, g32, starts + 2 + (parts & 1), x, y);
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

/** ringSide(...) !== -1 for a single ring, over the edges of y's band only (same arithmetic). */
function bandCovers(g: Float64Array, g32: Int32Array, at: number, x: number, y: number): boolean {
  // outside the ring's latitude range no edge can hold or wind around the point
  if (y < g[at] || y > g[at + 1]) return false;
  const head = (at + 3) * 2;
  const bands = g32[head];
  const b = bandOf(y, g[at], g[at + 2], bands);
  const end = g32[head + 2 + b];
  let wn = 0;
  for (let k = g32[head + 1 + b]; k < end; k++) {
    const i = g32[k] * 2;
    const x1 = g[i];
    const y1 = g[i + 1];
    const x2 = g[i + 2];
    const y2 = g[i + 3];
    const side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1);
    if (side === 0) {
      const minX = x1 < x2 ? x1 : x2;
      const maxX = x1 < x2 ? x2 : x1;
      const minY = y1 < y2 ? y1 : y2;
      const maxY = y1 < y2 ? y2 : y1;
      if (x >= minX && x <= maxX && y >= minY && y <= maxY) return true;
    }
    if (y1 <= y && y < y2 && side > 0) wn++;
    else if (y2 <= y && y < y1 && side < 0) wn--;
  }
  return wn !== 0;
}
