import { METRES_PER_DEG_LAT } from './geodesy.ts';

/** A sub-cell's state: no point of it is covered, every point is, or the exact test decides. */
export const OUTSIDE = 0;
export const INSIDE = 1;
export const BOUNDARY = 2;

/** The sub-cell lattice: sub-cell (u, v) spans lon gx0 + u·fcw … + fcw, lat gy0 + v·fch … + fch. */
export interface SubGrid {
  readonly gx0: number;
  readonly gy0: number;
  readonly fcw: number;
  readonly fch: number;
}

/** Growable work arrays, reused from fence to fence within one build. */
export interface RasterScratch {
  masks: Int32Array;
  uv: Float64Array;
  crossRow: Int32Array;
  crossU: Float64Array;
  rowStart: Int32Array;
  rowU: Float64Array;
}

export function createRasterScratch(): RasterScratch {
  return {
    masks: new Int32Array(1024),
    uv: new Float64Array(512),
    crossRow: new Int32Array(256),
    crossU: new Float64Array(256),
    rowStart: new Int32Array(256),
    rowU: new Float64Array(256),
  };
}

// Sub-cell-unit slack when marking boundary sub-cells: far above rounding (1e-12) and far below a
// sub-cell, so a sub-cell not marked boundary is at least this far from every edge and its
// inside/outside state holds for every point in it.
const EPS = 1e-6;
const RAD = Math.PI / 180;
const LOW_BITS = 0x55555555;
const HIGH_BITS = 0xaaaaaaaa | 0;

/**
 * A cell is split into S × S sub-cells, S = 4 or 8 (`subShift` 2 or 3), with a 2-bit state each held
 * in S² / 16 32-bit words per cell: sub-cell (sx, sy) at bits 2·(S·(sy mod R) + sx) of the cell's
 * word sy / R, R = 16 / S sub-rows per word. S = 4: one word, sub-cell (sx, sy) at bits 2·(4·sy + sx).
 */
export function maskWords(subShift: number): number {
  return 1 << (2 * subShift - 4);
}

/** Index of sub-row `row`'s word of cell column `c` in the masks of a W-cell-wide window. */
function wordOf(w: number, subShift: number, row: number, c: number): number {
  const rowShift = 4 - subShift;
  return (((row >> subShift) * w + c) << (2 * subShift - 4)) + ((row & ((1 << subShift) - 1)) >> rowShift);
}

/** Bits of sub-cells lo..hi of sub-row `row` in that sub-row's word. */
function spanBits(subShift: number, row: number, lo: number, hi: number): number {
  const sy = row & ((1 << (4 - subShift)) - 1);
  return ((1 << (2 * (hi - lo + 1))) - 1) << (2 * ((sy << subShift) + lo));
}

/** Bit offset of sub-cell column sx (within its cell) of sub-row `row` in that sub-row's word. */
function spanShift(subShift: number, row: number, sx: number): number {
  return 2 * (((row & ((1 << (4 - subShift)) - 1)) << subShift) + sx);
}

/** Marks sub-cells col0..col1 of sub-row `row` as boundary (whatever they were). */
function markBoundary(
  masks: Int32Array,
  w: number,
  subShift: number,
  row: number,
  col0: number,
  col1: number,
): void {
  const last = (1 << subShift) - 1;
  for (let c = col0 >> subShift; c <= col1 >> subShift; c++) {
    const lo = c === col0 >> subShift ? col0 & last : 0;
    const hi = c === col1 >> subShift ? col1 & last : last;
    const bits = spanBits(subShift, row, lo, hi);
    const at = wordOf(w, subShift, row, c);
    masks[at] = (masks[at] & ~bits) | (HIGH_BITS & bits);
  }
}

/** Marks sub-cells col0..col1 of sub-row `row` inside, except those already boundary. */
function markInside(
  masks: Int32Array,
  w: number,
  subShift: number,
  row: number,
  col0: number,
  col1: number,
): void {
  const last = (1 << subShift) - 1;
  for (let c = col0 >> subShift; c <= col1 >> subShift; c++) {
    const lo = c === col0 >> subShift ? col0 & last : 0;
    const hi = c === col1 >> subShift ? col1 & last : last;
    const bits = spanBits(subShift, row, lo, hi);
    const at = wordOf(w, subShift, row, c);
    const m = masks[at];
    masks[at] = m | (LOW_BITS & bits & ~((m & HIGH_BITS) >>> 1));
  }
}

/**
 * Writes the sub-cell states of the w × h cells whose lower-left sub-cell is (fx0, fy0), for the
 * fence record at `off` in `g`, into `scratch.masks` (cells row-major, `maskWords(subShift)` words
 * each) and returns it. `grid` is the lattice of sub-cells, 2^subShift per cell edge.
 */
export function rasterFence(
  g: Float64Array,
  off: number,
  grid: SubGrid,
  subShift: number,
  fx0: number,
  fy0: number,
  w: number,
  h: number,
  scratch: RasterScratch,
): Int32Array {
  const words = w * h * maskWords(subShift);
  if (scratch.masks.length < words) scratch.masks = new Int32Array(words * 2);
  const masks = scratch.masks;
  masks.fill(0, 0, words);
  if (g[off] === 1) rasterCircle(g, off, grid, subShift, fx0, fy0, w, h, masks);
  else rasterPolygon(g, off, grid, subShift, fx0, fy0, w, h, scratch);
  return masks;
}

function rasterCircle(
  g: Float64Array,
  off: number,
  grid: SubGrid,
  subShift: number,
  fx0: number,
  fy0: number,
  w: number,
  h: number,
  masks: Int32Array,
): void {
  const { gx0, gy0, fcw, fch } = grid;
  const W = w << subShift;
  const H = h << subShift;
  const last = (1 << subShift) - 1;
  const cx = g[off + 1];
  const cy = g[off + 2];
  const r = g[off + 3];
  // Planar distances at the mean latitude are within this margin of great-circle ones here.
  const margin = 1 + r * 1e-3;
  const far = (r + margin) * (r + margin);
  const near = r > margin ? (r - margin) * (r - margin) : -1;
  for (let row = 0; row < H; row++) {
    const y0 = gy0 + (fy0 + row) * fch;
    const y1 = y0 + fch;
    const nyp = cy < y0 ? y0 : cy > y1 ? y1 : cy;
    const fy = Math.abs(y0 - cy) > Math.abs(y1 - cy) ? y0 : y1;
    const kxN = METRES_PER_DEG_LAT * Math.cos(((cy + nyp) / 2) * RAD);
    const kxF = METRES_PER_DEG_LAT * Math.cos(((cy + fy) / 2) * RAD);
    const dyN = (nyp - cy) * METRES_PER_DEG_LAT;
    const dyF = (fy - cy) * METRES_PER_DEG_LAT;
    for (let col = 0; col < W; col++) {
      const x0 = gx0 + (fx0 + col) * fcw;
      const x1 = x0 + fcw;
      const nxp = cx < x0 ? x0 : cx > x1 ? x1 : cx;
      const dxN = (nxp - cx) * kxN;
      if (dxN * dxN + dyN * dyN > far) continue;
      const fx = Math.abs(x0 - cx) > Math.abs(x1 - cx) ? x0 : x1;
      const dxF = (fx - cx) * kxF;
      const state = dxF * dxF + dyF * dyF <= near ? INSIDE : BOUNDARY;
      masks[wordOf(w, subShift, row, col >> subShift)] |= state << spanShift(subShift, row, col & last);
    }
  }
}

function rasterPolygon(
  g: Float64Array,
  off: number,
  grid: SubGrid,
  subShift: number,
  fx0: number,
  fy0: number,
  w: number,
  h: number,
  scratch: RasterScratch,
): void {
  const W = w << subShift;
  const H = h << subShift;
  // header values are small integers stored as doubles; `| 0` keeps the loops on int32
  const rings = g[off + 1] | 0;
  const parts = g[off + 2] | 0;
  const starts = off + 4 + parts;
  const p0 = g[starts] | 0;
  const npos = (g[starts + rings] | 0) - p0;
  const invFcw = 1 / grid.fcw;
  const invFch = 1 / grid.fch;
  if (scratch.uv.length < npos * 2) scratch.uv = new Float64Array(npos * 4);
  const uv = scratch.uv;
  for (let i = 0, at = p0 * 2; i < npos * 2; i += 2, at += 2) {
    uv[i] = (g[at] - grid.gx0) * invFcw - fx0;
    uv[i + 1] = (g[at + 1] - grid.gy0) * invFch - fy0;
  }
  // One pass over each part's edges marks every sub-cell an edge passes through or near as
  // boundary and collects where the edge crosses sub-cell centre lines; then a scanline through
  // the centres fills the rest of the part (its holes pair up with its shell): a sub-cell no edge
  // touches is inside iff its centre is.
  const masks = scratch.masks;
  for (let p = 0; p < parts; p++) {
    let n = 0;
    const ringTo = g[off + 4 + p] | 0;
    for (let r = g[off + 3 + p] | 0; r < ringTo; r++) {
      const to = (g[starts + r + 1] | 0) - p0 - 1;
      for (let i = (g[starts + r] | 0) - p0; i < to; i++) {
        const u1 = uv[i * 2];
        const v1 = uv[i * 2 + 1];
        const u2 = uv[i * 2 + 2];
        const v2 = uv[i * 2 + 3];
        const du = u2 - u1;
        const dv = v2 - v1;
        const lo = v1 < v2 ? v1 : v2;
        const hi = v1 < v2 ? v2 : v1;
        const vmin = lo - EPS;
        const vmax = hi + EPS;
        const rowEnd = Math.min(H - 1, Math.floor(vmax));
        const rowStart = Math.max(0, Math.floor(vmin));
        if (rowStart === rowEnd) {
          // Within one sub-row (most edges): its u-range is the edge's own, no clipping per row.
          const umin = u1 < u2 ? u1 : u2;
          const umax = u1 < u2 ? u2 : u1;
          const colStart = Math.max(0, Math.floor(umin - EPS));
          const colEnd = Math.min(W - 1, Math.floor(umax + EPS));
          if (colStart <= colEnd) markBoundary(masks, w, subShift, rowStart, colStart, colEnd);
          const vc = rowStart + 0.5;
          if ((v1 <= vc && vc < v2) || (v2 <= vc && vc < v1)) {
            if (n === scratch.crossRow.length) growCrossings(scratch);
            scratch.crossRow[n] = rowStart;
            scratch.crossU[n++] = u1 + (vc - v1) * du * (1 / dv);
          }
          continue;
        }
        if (dv === 0) {
          const umin = u1 < u2 ? u1 : u2;
          const umax = u1 < u2 ? u2 : u1;
          const colStart = Math.max(0, Math.floor(umin - EPS));
          const colEnd = Math.min(W - 1, Math.floor(umax + EPS));
          if (colStart > colEnd) continue;
          for (let row = rowStart; row <= rowEnd; row++)
            markBoundary(masks, w, subShift, row, colStart, colEnd);
          continue;
        }
        const perV = 1 / dv;
        for (let row = rowStart; row <= rowEnd; row++) {
          // the edge's u-range over the row grown by EPS in v, then by EPS in u
          let t0 = ((row - EPS > vmin ? row - EPS : vmin) - v1) * perV;
          let t1 = ((row + 1 + EPS < vmax ? row + 1 + EPS : vmax) - v1) * perV;
          t0 = t0 < 0 ? 0 : t0 > 1 ? 1 : t0;
          t1 = t1 < 0 ? 0 : t1 > 1 ? 1 : t1;
          const ua = u1 + t0 * du;
          const ub = u1 + t1 * du;
          const colStart = Math.max(0, Math.floor((ua < ub ? ua : ub) - EPS));
          const colEnd = Math.min(W - 1, Math.floor((ua < ub ? ub : ua) + EPS));
          if (colStart <= colEnd) markBoundary(masks, w, subShift, row, colStart, colEnd);
          // the centre line of this row, if the edge crosses it (half-open in v, as the winding test)
          const vc = row + 0.5;
          if ((v1 <= vc && vc < v2) || (v2 <= vc && vc < v1)) {
            if (n === scratch.crossRow.length) growCrossings(scratch);
            scratch.crossRow[n] = row;
            scratch.crossU[n++] = u1 + (vc - v1) * du * perV;
          }
        }
      }
    }
    if (n === 0) continue;
    // Counting sort of the crossings by row.
    if (scratch.rowStart.length < H + 1) scratch.rowStart = new Int32Array((H + 1) * 2);
    if (scratch.rowU.length < n) scratch.rowU = new Float64Array(n * 2);
    const rowStart = scratch.rowStart;
    const rowU = scratch.rowU;
    const crossRow = scratch.crossRow;
    const crossU = scratch.crossU;
    rowStart.fill(0, 0, H + 1);
    for (let k = 0; k < n; k++) rowStart[crossRow[k] + 1]++;
    for (let row = 0; row < H; row++) rowStart[row + 1] += rowStart[row];
    // rowStart[row] serves as the row's write cursor; afterwards it holds the row's end
    for (let k = 0; k < n; k++) rowU[rowStart[crossRow[k]]++] = crossU[k];
    let from = 0;
    for (let row = 0; row < H; row++) {
      const to = rowStart[row];
      // insertion sort: crossings per row are few
      for (let k = from + 1; k < to; k++) {
        const u = rowU[k];
        let j = k;
        while (j > from && rowU[j - 1] > u) {
          rowU[j] = rowU[j - 1];
          j--;
        }
        rowU[j] = u;
      }
      for (let c = from; c + 1 < to; c += 2) {
        const colStart = Math.max(0, Math.ceil(rowU[c] - 0.5));
        const colEnd = Math.min(W - 1, Math.floor(rowU[c + 1] - 0.5));
        if (colStart <= colEnd) markInside(masks, w, subShift, row, colStart, colEnd);
      }
      from = to;
    }
  }
}

function growCrossings(s: RasterScratch): void {
  const row = new Int32Array(s.crossRow.length * 2);
  row.set(s.crossRow);
  s.crossRow = row;
  const u = new Float64Array(s.crossU.length * 2);
  u.set(s.crossU);
  s.crossU = u;
}
