import RBush from 'rbush';
import { distanceM, distanceToSegmentM, METRES_PER_DEG_LAT } from './geodesy.ts';
import { type FlatPolygons, polygonsCover, ringSide } from './pip.ts';
import type { BBox, Fence, FenceSnapshot } from './types.ts';

export interface FenceIndexOptions {
  /** Edge of a grid cell in metres (at the fences' mean latitude). */
  cellSizeM?: number;
  /** Fences spanning more cells than this are answered by the R-tree alone. */
  maxCellsPerFence?: number;
}

export interface FenceIndexStats {
  fences: number;
  cells: number;
  entries: number;
  insideEntries: number;
  largeFences: number;
  buildMs: number;
  bytes: number;
}

/** An immutable index snapshot: never modified after construction, swapped whole by the matcher. */
export interface FenceIndex extends FenceSnapshot {
  /** Writes the slots of covering fences into `out` (stops when it is full) and returns how many. */
  matchInto(lon: number, lat: number, accM: number, out: Int32Array): number;
  /** Exact ST_Covers-style test of one fence by slot. */
  covers(slot: number, lon: number, lat: number): boolean;
  /** Slots of fences whose bounding box intersects `bbox` (R-tree). */
  search(bbox: BBox): number[];
  slotOf(id: string): number;
  stats(): FenceIndexStats;
}

interface TreeItem {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  slot: number;
}

// Cell-unit slack when marking boundary cells: far above rounding (1e-12) and far below a cell, so a
// cell not marked boundary is at least this far from every edge and its inside/outside is certain.
const EPS = 1e-6;
const RAD = Math.PI / 180;

/** The packed geometry of a polygon fence. */
export function flatOf(fence: Fence & { kind: 'polygon' }): FlatPolygons {
  return fence.flat;
}

/** True when (lon, lat) is covered by the fence grown by `bufferM` metres. */
export function fenceNear(fence: Fence, lon: number, lat: number, bufferM: number): boolean {
  if (fence.kind === 'circle')
    return distanceM(fence.center[0], fence.center[1], lon, lat) <= fence.radiusM + bufferM;
  // Outside the bounding box grown by the buffer: neither covered nor near (no ring walked).
  const grow = bufferM > 0 ? bufferM : 0;
  const dLat = grow / METRES_PER_DEG_LAT;
  const dLon = dLat / Math.max(0.01, Math.cos(lat * RAD));
  const b = fence.bbox;
  if (lon < b[0] - dLon || lon > b[2] + dLon || lat < b[1] - dLat || lat > b[3] + dLat) return false;
  // The whole bounding box within the buffer (an imprecise ping next to a small fence): near, no ring
  // walked. Judged on the box's farthest corner with a 2 % margin for the flat-earth approximation.
  if (grow > 0) {
    const kLon = METRES_PER_DEG_LAT * Math.cos(lat * RAD);
    const dx = Math.max(Math.abs(lon - b[0]), Math.abs(lon - b[2])) * kLon;
    const dy = Math.max(Math.abs(lat - b[1]), Math.abs(lat - b[3])) * METRES_PER_DEG_LAT;
    const reach = grow * 0.98;
    if (dx * dx + dy * dy <= reach * reach) return true;
  }
  const flat = flatOf(fence);
  if (polygonsCover(flat, lon, lat)) return true;
  if (bufferM <= 0) return false;
  const { coords, ringStart } = flat;
  for (let r = 0; r < ringStart.length - 1; r++) {
    for (let i = ringStart[r]; i < ringStart[r + 1] - 1; i++) {
      const d = distanceToSegmentM(
        lon,
        lat,
        coords[i * 2],
        coords[i * 2 + 1],
        coords[i * 2 + 2],
        coords[i * 2 + 3],
      );
      if (d <= bufferM) return true;
    }
  }
  return false;
}

function growInt32(a: Int32Array, min: number): Int32Array {
  if (a.length >= min) return a;
  const b = new Int32Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}

function hashCell(key: number): number {
  const h = Math.imul(key, 0x9e3779b1);
  return h ^ (h >>> 16);
}

const SUB = 4;
const SUB_SHIFT = 2;
// Raster status (0 outside, 1 boundary, 2 inside) → 2-bit sub-cell state (0 outside, 1 inside, 2 boundary).
const STATE_CODE = Uint8Array.from([0, 2, 1]);
const ALL_INSIDE = 0x55555555;
const INV_POW4 = Float64Array.from({ length: SUB * SUB }, (_, k) => 4 ** -k);

// Per-fence hot record (Float64Array, stride HOT): everything a boundary test needs in one place.
const HOT = 8;
const K_KIND = 0; // 0 gridded polygon, 1 circle, 2 polygon answered without the grid
const K_CX = 1;
const K_CY = 2;
const K_R = 3;
const K_IY0 = 4;
const K_ROWBASE = 5;
const K_ROWS = 6;
const K_PARTBASE = 7;

/** Builds an index snapshot over `fences`; slots are positions in `fences`. */
export function buildFenceIndex(
  fences: readonly Fence[],
  version: number,
  options: FenceIndexOptions = {},
): FenceIndex {
  const started = performance.now();
  let cellSizeM = options.cellSizeM ?? 60;
  const maxCellsPerFence = options.maxCellsPerFence ?? 4096;
  const n = fences.length;

  const byId = new Map<string, number>();
  const hot = new Float64Array(n * HOT);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let positions = 0;
  let ringsTotal = 0;
  let partsTotal = 0;
  for (let s = 0; s < n; s++) {
    const f = fences[s];
    byId.set(f.props.id, s);
    const b = f.bbox;
    if (b[0] < minX) minX = b[0];
    if (b[1] < minY) minY = b[1];
    if (b[2] > maxX) maxX = b[2];
    if (b[3] > maxY) maxY = b[3];
    if (f.kind === 'polygon') {
      const flat = flatOf(f);
      positions += flat.coords.length / 2;
      ringsTotal += flat.ringStart.length - 1;
      partsTotal += flat.partRing.length - 1;
    }
  }
  // The R-tree over fence boxes answers bounding-box queries (API listings, map views); pings never
  // need it (the grid answers them), so it is bulk-loaded on the first query, not on every rebuild.
  let tree: RBush<TreeItem> | undefined;
  const treeOf = (): RBush<TreeItem> => {
    if (tree === undefined) {
      const items: TreeItem[] = new Array(n);
      for (let s = 0; s < n; s++) {
        const b = fences[s].bbox;
        items[s] = { minX: b[0], minY: b[1], maxX: b[2], maxY: b[3], slot: s };
      }
      tree = new RBush<TreeItem>();
      tree.load(items);
    }
    return tree;
  };

  // All polygon coordinates in one array; per fence a part table [partCount, shell ring of each
  // part (local ring numbers), ringCount] and absolute ring starts.
  const coords = new Float64Array(positions * 2);
  const ringStartG = new Int32Array(ringsTotal + n + 1);
  const partRingG = new Int32Array(partsTotal + 2 * n + 1);
  const ringBaseOf = new Int32Array(n);
  let pos = 0;
  let ringAt = 0;
  let partAt = 0;
  let maxRings = 1;
  for (let s = 0; s < n; s++) {
    const f = fences[s];
    const h = s * HOT;
    if (f.kind === 'circle') {
      hot[h + K_KIND] = 1;
      hot[h + K_CX] = f.center[0];
      hot[h + K_CY] = f.center[1];
      hot[h + K_R] = f.radiusM;
      continue;
    }
    const flat = flatOf(f);
    const rings = flat.ringStart.length - 1;
    const parts = flat.partRing.length - 1;
    if (rings > maxRings) maxRings = rings;
    coords.set(flat.coords, pos * 2);
    ringBaseOf[s] = ringAt;
    for (let r = 0; r <= rings; r++) ringStartG[ringAt + r] = pos + flat.ringStart[r];
    ringAt += rings + 1;
    hot[h + K_PARTBASE] = partAt;
    partRingG[partAt++] = parts;
    for (let p = 0; p <= parts; p++) partRingG[partAt++] = flat.partRing[p];
    pos += flat.coords.length / 2;
  }

  // Grid geometry; cells grow until every cell number fits in an int32.
  const midLat = n === 0 ? 0 : Math.max(-85, Math.min(85, (minY + maxY) / 2));
  let cw = 0;
  let ch = 0;
  let nx = 0;
  let ny = 0;
  let gx0 = 0;
  let gy0 = 0;
  for (;;) {
    cw = cellSizeM / (METRES_PER_DEG_LAT * Math.cos(midLat * RAD));
    ch = cellSizeM / METRES_PER_DEG_LAT;
    gx0 = n === 0 ? 0 : minX - cw;
    gy0 = n === 0 ? 0 : minY - ch;
    nx = n === 0 ? 1 : Math.ceil((maxX - gx0) / cw) + 2;
    ny = n === 0 ? 1 : Math.ceil((maxY - gy0) / ch) + 2;
    if (nx * ny < 2 ** 31 - 1) break;
    cellSizeM *= 2;
  }
  const invCw = 1 / cw;
  const invCh = 1 / ch;
  // Each cell is split into SUB × SUB sub-cells; fences are rasterised at sub-cell resolution and
  // every boundary entry carries a 2-bit state per sub-cell (outside / inside / boundary), so most
  // pings in a boundary cell are answered without touching the fence's geometry.
  const invFcw = invCw * SUB;
  const invFch = invCh * SUB;
  const fcw = cw / SUB;
  const fch = ch / SUB;

  // Upper bounds, so the big arrays are allocated once.
  let cellBound = 0;
  for (let s = 0; s < n; s++) {
    const b = fences[s].bbox;
    const w = Math.floor((b[2] - gx0) * invCw) - Math.floor((b[0] - gx0) * invCw) + 1;
    const h = Math.floor((b[3] - gy0) * invCh) - Math.floor((b[1] - gy0) * invCh) + 1;
    if (w * h <= maxCellsPerFence) cellBound += w * h;
  }
  const keys = new Int32Array(cellBound);
  const ents = new Int32Array(cellBound);
  const masks = new Float64Array(cellBound);
  let total = 0;
  const large: number[] = [];
  // Per gridded polygon and sub-cell row: the edges whose y-range meets the row, as (absolute
  // position of the edge start, local ring). A point in that row can only be affected by those
  // edges, so testing them alone gives exactly the full test's answer.
  let rowOffsets: Int32Array = new Int32Array(Math.max(4096, n * 16));
  let rowOffsetsLen = 0;
  let rowEdges: Int32Array = new Int32Array(Math.max(8192, Math.ceil(positions * 3.5)));
  let rowEdgesLen = 0;
  let pairRow: Int32Array = new Int32Array(256);
  let pairEdge: Int32Array = new Int32Array(256);
  let pairRing: Int32Array = new Int32Array(256);
  let rowCount = new Int32Array(64);
  let status = new Uint8Array(1024);
  let uv = new Float64Array(256);
  let crossings = new Float64Array(64);

  for (let s = 0; s < n; s++) {
    const f = fences[s];
    const hs = s * HOT;
    const b = f.bbox;
    const ix0 = Math.floor((b[0] - gx0) * invCw);
    const ix1 = Math.floor((b[2] - gx0) * invCw);
    const iy0 = Math.floor((b[1] - gy0) * invCh);
    const iy1 = Math.floor((b[3] - gy0) * invCh);
    const w = ix1 - ix0 + 1;
    const h = iy1 - iy0 + 1;
    if (w * h > maxCellsPerFence) {
      if (f.kind === 'polygon') hot[hs + K_KIND] = 2;
      large.push(s);
      continue;
    }
    // sub-cell raster of the fence's cells
    const fx0 = ix0 * SUB;
    const fy0 = iy0 * SUB;
    const W = w * SUB;
    const H = h * SUB;
    if (status.length < W * H) status = new Uint8Array(W * H * 2);
    status.fill(0, 0, W * H);

    if (f.kind === 'circle') {
      const cx = f.center[0];
      const cy = f.center[1];
      const r = f.radiusM;
      // Planar distances at the mean latitude are within this margin of great-circle ones here.
      const margin = 1 + r * 1e-3;
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
          if (dxN * dxN + dyN * dyN > (r + margin) * (r + margin)) continue;
          const fx = Math.abs(x0 - cx) > Math.abs(x1 - cx) ? x0 : x1;
          const dxF = (fx - cx) * kxF;
          status[row * W + col] = dxF * dxF + dyF * dyF <= (r - margin) * (r - margin) && r > margin ? 2 : 1;
        }
      }
    } else {
      const flat = flatOf(f);
      const fc = flat.coords;
      const ringStart = flat.ringStart;
      const partRing = flat.partRing;
      const ringBase = ringStartG[ringBaseOf[s]];
      const npos = fc.length / 2;
      if (uv.length < fc.length) uv = new Float64Array(fc.length * 2);
      for (let i = 0; i < npos; i++) {
        uv[i * 2] = (fc[i * 2] - gx0) * invFcw - fx0;
        uv[i * 2 + 1] = (fc[i * 2 + 1] - gy0) * invFch - fy0;
      }
      // Mark every sub-cell an edge passes through or near as boundary.
      let pairs = 0;
      for (let r = 0; r < ringStart.length - 1; r++) {
        for (let i = ringStart[r]; i < ringStart[r + 1] - 1; i++) {
          const u1 = uv[i * 2];
          const v1 = uv[i * 2 + 1];
          const u2 = uv[i * 2 + 2];
          const v2 = uv[i * 2 + 3];
          const vmin = (v1 < v2 ? v1 : v2) - EPS;
          const vmax = (v1 < v2 ? v2 : v1) + EPS;
          const rowStart = Math.max(0, Math.floor(vmin));
          const rowEnd = Math.min(H - 1, Math.floor(vmax));
          const dv = v2 - v1;
          for (let row = rowStart; row <= rowEnd; row++) {
            if (pairs === pairRow.length) {
              pairRow = growInt32(pairRow, pairs + 1);
              pairEdge = growInt32(pairEdge, pairs + 1);
              pairRing = growInt32(pairRing, pairs + 1);
            }
            pairRow[pairs] = row;
            pairEdge[pairs] = ringBase + i;
            pairRing[pairs++] = r;
            let umin: number;
            let umax: number;
            if (dv === 0) {
              umin = u1 < u2 ? u1 : u2;
              umax = u1 < u2 ? u2 : u1;
            } else {
              let t0 = ((row > vmin ? row : vmin) - v1) / dv;
              let t1 = ((row + 1 < vmax ? row + 1 : vmax) - v1) / dv;
              t0 = t0 < 0 ? 0 : t0 > 1 ? 1 : t0;
              t1 = t1 < 0 ? 0 : t1 > 1 ? 1 : t1;
              const ua = u1 + t0 * (u2 - u1);
              const ub = u1 + t1 * (u2 - u1);
              umin = ua < ub ? ua : ub;
              umax = ua < ub ? ub : ua;
            }
            const colStart = Math.max(0, Math.floor(umin - EPS));
            const colEnd = Math.min(W - 1, Math.floor(umax + EPS));
            for (let col = colStart; col <= colEnd; col++) status[row * W + col] = 1;
          }
        }
      }
      // Stable counting sort of (row, edge) pairs by row keeps each row's edges in ring order.
      if (rowCount.length < H + 1) rowCount = new Int32Array((H + 1) * 2);
      rowCount.fill(0, 0, H + 1);
      for (let k = 0; k < pairs; k++) rowCount[pairRow[k] + 1]++;
      hot[hs + K_IY0] = fy0;
      hot[hs + K_ROWS] = H;
      hot[hs + K_ROWBASE] = rowOffsetsLen;
      rowOffsets = growInt32(rowOffsets, rowOffsetsLen + H + 1);
      let acc = rowEdgesLen;
      for (let row = 0; row <= H; row++) {
        acc += rowCount[row];
        rowOffsets[rowOffsetsLen++] = acc;
        rowCount[row] = acc;
      }
      rowEdges = growInt32(rowEdges, (rowEdgesLen + pairs) * 2);
      for (let k = 0; k < pairs; k++) {
        const at = rowCount[pairRow[k]]++;
        rowEdges[at * 2] = pairEdge[k];
        rowEdges[at * 2 + 1] = pairRing[k];
      }
      rowEdgesLen += pairs;
      // Scanline through sub-cell centres: a sub-cell no edge touches is inside iff its centre is.
      // Only the edges listed for a row can cross its centre line, so each row walks its own list.
      const rowBase = hot[hs + K_ROWBASE];
      for (let p = 0; p < partRing.length - 1; p++) {
        const ringFrom = partRing[p];
        const ringTo = partRing[p + 1];
        for (let row = 0; row < H; row++) {
          const vc = row + 0.5;
          let k = 0;
          const listEnd = rowOffsets[rowBase + row + 1];
          for (let at = rowOffsets[rowBase + row]; at < listEnd; at++) {
            const r = rowEdges[at * 2 + 1];
            if (r < ringFrom || r >= ringTo) continue;
            {
              const i = rowEdges[at * 2] - ringBase;
              const v1 = uv[i * 2 + 1];
              const v2 = uv[i * 2 + 3];
              if ((v1 <= vc && vc < v2) || (v2 <= vc && vc < v1)) {
                const u1 = uv[i * 2];
                const u = u1 + ((vc - v1) * (uv[i * 2 + 2] - u1)) / (v2 - v1);
                if (k === crossings.length) {
                  const next = new Float64Array(k * 2);
                  next.set(crossings);
                  crossings = next;
                }
                // insertion sort: crossings per row are few
                let j = k++;
                while (j > 0 && crossings[j - 1] > u) {
                  crossings[j] = crossings[j - 1];
                  j--;
                }
                crossings[j] = u;
              }
            }
          }
          for (let c = 0; c + 1 < k; c += 2) {
            const colStart = Math.max(0, Math.ceil(crossings[c] - 0.5));
            const colEnd = Math.min(W - 1, Math.floor(crossings[c + 1] - 0.5));
            for (let col = colStart; col <= colEnd; col++) {
              if (status[row * W + col] === 0) status[row * W + col] = 2;
            }
          }
        }
      }
    }
    // One entry per cell that is not entirely outside: inside, or boundary with sub-cell states.
    for (let row = 0; row < h; row++) {
      const keyBase = (iy0 + row) * nx + ix0;
      for (let col = 0; col < w; col++) {
        // 2-bit sub-cell states (0 outside, 1 inside, 2 boundary), sub-cell k at bits 2k: the same
        // number as Σ state·4^k, built with integer ops.
        let mask = 0;
        for (let sy = 0; sy < SUB; sy++) {
          const line = (row * SUB + sy) * W + col * SUB;
          const shift = sy * SUB * 2;
          mask |=
            (STATE_CODE[status[line]] |
              (STATE_CODE[status[line + 1]] << 2) |
              (STATE_CODE[status[line + 2]] << 4) |
              (STATE_CODE[status[line + 3]] << 6)) <<
            shift;
        }
        if (mask === 0) continue;
        keys[total] = keyBase + col;
        ents[total] = mask === ALL_INSIDE ? s * 2 + 1 : s * 2;
        masks[total++] = mask >>> 0;
      }
    }
  }

  // Group entries by cell. The table holds, per occupied cell, [cell number + 1, first entry,
  // entry count, 0]: one cache line answers "anything here?" and "where?".
  let cap = 16;
  while (cap < total * 1.4) cap *= 2;
  const mask = cap - 1;
  const table = new Int32Array(cap * 4);
  const slotOfEntry = new Int32Array(total);

  let cells = 0;
  for (let e = 0; e < total; e++) {
    const key = keys[e];
    let t = hashCell(key) & mask;
    for (;;) {
      const k = table[t * 4];
      if (k === key + 1) {
        table[t * 4 + 2]++;
        break;
      }
      if (k === 0) {
        table[t * 4] = key + 1;
        table[t * 4 + 2] = 1;
        cells++;
        break;
      }
      t = (t + 1) & mask;
    }
    slotOfEntry[e] = t;
  }
  let running = 0;
  for (let t = 0; t < cap; t++) {
    if (table[t * 4] === 0) continue;
    table[t * 4 + 1] = running;
    table[t * 4 + 3] = running;
    running += table[t * 4 + 2];
  }
  // Entries: [slot * 2 + inside flag, maxAccuracyM, sub-cell states] so an accuracy miss or an
  // outside/inside sub-cell needs no fence lookup.
  const entries = new Float64Array(total * 3);
  let insideEntries = 0;
  for (let e = 0; e < total; e++) {
    const t = slotOfEntry[e];
    const at = table[t * 4 + 3]++;
    const v = ents[e];
    if (v & 1) insideEntries++;
    entries[at * 3] = v;
    entries[at * 3 + 1] = fences[v >> 1].props.maxAccuracyM;
    entries[at * 3 + 2] = masks[e];
  }
  // Occupancy bits over 8×8-cell blocks: small enough to stay in cache, so pings far from every
  // fence are answered without touching the table.
  const bnx = (nx >> 3) + 1;
  const bny = (ny >> 3) + 1;
  const blocks = new Int32Array(((bnx * bny) >> 5) + 1);
  for (let e = 0; e < total; e++) {
    const key = keys[e];
    const b = ((((key / nx) | 0) >> 3) * bnx + ((key % nx) >> 3)) | 0;
    blocks[b >> 5] |= 1 << (b & 31);
  }
  const largeSlots = Int32Array.from(large);
  const largeBoxes = new Float64Array(large.length * 4);
  const largeAcc = new Float64Array(large.length);
  for (let i = 0; i < large.length; i++) {
    largeBoxes.set(fences[large[i]].bbox, i * 4);
    largeAcc[i] = fences[large[i]].props.maxAccuracyM;
  }
  const fnx = nx * SUB;
  const fny = ny * SUB;
  const rowOff = rowOffsets.subarray(0, rowOffsetsLen);
  const rowEdge = rowEdges.subarray(0, rowEdgesLen * 2);
  const wn = new Int32Array(maxRings);

  // Same arithmetic as polygonsCover (PostGIS's winding test), restricted to the row's edges.
  const coversInRow = (slot: number, row: number, x: number, y: number): boolean => {
    const hs = slot * HOT;
    const pb = hot[hs + K_PARTBASE];
    const parts = partRingG[pb];
    const rings = partRingG[pb + 1 + parts];
    for (let r = 0; r < rings; r++) wn[r] = 0;
    const base = hot[hs + K_ROWBASE] + row;
    const end = rowOff[base + 1];
    for (let k = rowOff[base]; k < end; k++) {
      const i = rowEdge[k * 2] * 2;
      const x1 = coords[i];
      const y1 = coords[i + 1];
      const x2 = coords[i + 2];
      const y2 = coords[i + 3];
      const side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1);
      if (side === 0) {
        const minEX = x1 < x2 ? x1 : x2;
        const maxEX = x1 < x2 ? x2 : x1;
        const minEY = y1 < y2 ? y1 : y2;
        const maxEY = y1 < y2 ? y2 : y1;
        if (x >= minEX && x <= maxEX && y >= minEY && y <= maxEY) return true;
      }
      if (y1 <= y && y < y2 && side > 0) wn[rowEdge[k * 2 + 1]]++;
      else if (y2 <= y && y < y1 && side < 0) wn[rowEdge[k * 2 + 1]]--;
    }
    if (rings === 1) return wn[0] !== 0;
    for (let p = 0; p < parts; p++) {
      const shell = partRingG[pb + 1 + p];
      if (wn[shell] === 0) continue;
      let inHole = false;
      const next = partRingG[pb + 2 + p];
      for (let r = shell + 1; r < next; r++) {
        if (wn[r] !== 0) {
          inHole = true;
          break;
        }
      }
      if (!inHole) return true;
    }
    return false;
  };

  const coversWhole = (slot: number, x: number, y: number): boolean => {
    const b = fences[slot].bbox;
    if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) return false;
    const pb = hot[slot * HOT + K_PARTBASE];
    const parts = partRingG[pb];
    const rb = ringBaseOf[slot];
    for (let p = 0; p < parts; p++) {
      const shell = partRingG[pb + 1 + p];
      const next = partRingG[pb + 2 + p];
      const shellSide = ringSide(coords, ringStartG[rb + shell], ringStartG[rb + shell + 1], x, y);
      if (shellSide === -1) continue;
      if (shellSide === 0) return true;
      let inHole = false;
      for (let r = shell + 1; r < next; r++) {
        const side = ringSide(coords, ringStartG[rb + r], ringStartG[rb + r + 1], x, y);
        if (side === 0) return true;
        if (side === 1) {
          inHole = true;
          break;
        }
      }
      if (!inHole) return true;
    }
    return false;
  };

  const coversAt = (slot: number, lon: number, lat: number, v: number): boolean => {
    const hs = slot * HOT;
    const kind = hot[hs + K_KIND];
    if (kind === 1) return distanceM(hot[hs + K_CX], hot[hs + K_CY], lon, lat) <= hot[hs + K_R];
    if (kind === 0) {
      const row = Math.floor(v) - hot[hs + K_IY0];
      if (row >= 0 && row < hot[hs + K_ROWS]) return coversInRow(slot, row, lon, lat);
    }
    return coversWhole(slot, lon, lat);
  };
  const covers = (slot: number, lon: number, lat: number): boolean =>
    coversAt(slot, lon, lat, (lat - gy0) * invCh);

  const buildMs = performance.now() - started;
  const bytes =
    table.byteLength +
    entries.byteLength +
    blocks.byteLength +
    hot.byteLength +
    coords.byteLength +
    ringStartG.byteLength +
    partRingG.byteLength +
    rowOff.byteLength +
    rowEdge.byteLength;

  return {
    version,
    fences,
    matchInto(lon: number, lat: number, accM: number, out: Int32Array): number {
      let found = 0;
      const fu = (lon - gx0) * invFcw;
      const fv = (lat - gy0) * invFch;
      if (fu >= 0 && fv >= 0 && fu < fnx && fv < fny) {
        const fix = fu | 0;
        const fiy = fv | 0;
        const ix = fix >> SUB_SHIFT;
        const iy = fiy >> SUB_SHIFT;
        const b = (iy >> 3) * bnx + (ix >> 3);
        if ((blocks[b >> 5] & (1 << (b & 31))) !== 0) {
          const key = iy * nx + ix;
          const subScale = INV_POW4[((fiy & (SUB - 1)) << SUB_SHIFT) | (fix & (SUB - 1))];
          let t = hashCell(key) & mask;
          for (;;) {
            const k = table[t * 4];
            if (k === 0) break;
            if (k === key + 1) {
              const first = table[t * 4 + 1];
              const end = first + table[t * 4 + 2];
              for (let i = first; i < end && found < out.length; i++) {
                if (accM > entries[i * 3 + 1]) continue;
                const entry = entries[i * 3];
                if ((entry & 1) === 1) {
                  out[found++] = entry >> 1;
                  continue;
                }
                const state = (entries[i * 3 + 2] * subScale) & 3;
                if (state === 1 || (state === 2 && coversAt(entry >> 1, lon, lat, fv)))
                  out[found++] = entry >> 1;
              }
              break;
            }
            t = (t + 1) & mask;
          }
        }
      }
      for (let i = 0; i < largeSlots.length && found < out.length; i++) {
        if (lon < largeBoxes[i * 4] || lat < largeBoxes[i * 4 + 1]) continue;
        if (lon > largeBoxes[i * 4 + 2] || lat > largeBoxes[i * 4 + 3]) continue;
        const slot = largeSlots[i];
        if (accM <= largeAcc[i] && coversAt(slot, lon, lat, fv)) out[found++] = slot;
      }
      return found;
    },
    covers,
    search(bbox: BBox): number[] {
      return treeOf()
        .search({ minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3] })
        .map((t) => t.slot);
    },
    slotOf(id: string): number {
      return byId.get(id) ?? -1;
    },
    stats(): FenceIndexStats {
      return { fences: n, cells, entries: total, insideEntries, largeFences: large.length, buildMs, bytes };
    },
  };
}
