import RBush from 'rbush';
import { BOUNDARY, createRasterScratch, INSIDE, type RasterScratch, rasterFence } from './fence-raster.ts';
import { CHUNK_BITS, CHUNK_MASK, flatOf, polygonRecordCovers, recordOf } from './fence-record.ts';
import { distanceM, distanceToSegmentM, METRES_PER_DEG_LAT } from './geodesy.ts';
import { polygonsCover } from './pip.ts';
import type { BBox, Fence, FenceSnapshot } from './types.ts';

export interface FenceIndexOptions {
  /** Edge of a grid cell in metres (at the fences' mean latitude). */
  cellSizeM?: number;
  /** Fences spanning more cells than this are answered by the R-tree alone. */
  maxCellsPerFence?: number;
  /**
   * A fence gets 8 × 8 sub-cells per cell instead of 4 × 4 when at least this many fences have the
   * centre of their bounding box in the same 8 × 8-cell block as its own (0: every fence).
   */
  fineMinFences?: number;
}

export interface FenceIndexStats {
  fences: number;
  cells: number;
  entries: number;
  insideEntries: number;
  /** Entries with 8 × 8 sub-cells. */
  fineEntries: number;
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

const RAD = Math.PI / 180;

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

/** Set bits in a 32-bit word. */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

// Each cell is split into 4 × 4 sub-cells with a 2-bit state each (OUTSIDE / INSIDE / BOUNDARY),
// sub-cell (sx, sy) at bits 2·(4·sy + sx) of a 32-bit mask; a fine entry splits it into 8 × 8 in four
// such words (sub-rows 2k and 2k + 1 in word k; see fence-raster.ts). Pings locate their 8 × 8
// sub-cell; its 4 × 4 parent is the same position halved.
const SUB = 4;
const SUB_SHIFT = 2;
const FINE_SHIFT = 3;
const FINE = 1 << FINE_SHIFT;
const ALL_INSIDE = 0x55555555;
// Where fences crowd (city centres, ~50 per cell), a ping's cell holds many boundary entries; the
// finer sub-cells halve the exact tests there, at twice the rasterisation for those fences only.
const FINE_MIN_FENCES = 24;
const FINE_MAX_SHARE = 0.2;
const FINE_HIST = 4096;
// Cells are grouped in 8 × 8 blocks; an occupied block's 64 cells get consecutive entry ranges, so
// neighbouring cells share cache lines and an empty block costs one bit.
const BLOCK_SHIFT = 3;
// Entry word 0: bit 0 wholly inside, bit 1 fine, bits 2–9 accuracy class, bits 10–31 slot; word 1 the
// sub-cell mask, or for a fine entry where its four words start in the fine-mask array.
const FINE_ENTRY = 2;
const ACC_SHIFT = 2;
const ACC_OTHER = 255;
const SLOT_SHIFT = 10;
const MAX_SLOTS = 2 ** (32 - SLOT_SHIFT);
// Pass 2 sorts cell entries in about this many block ranges (see there).
const PARTITION_BUCKETS = 256;

/** Work arrays of a build, kept for the next one (builds are synchronous, so never overlap). */
interface BuildWork {
  boxes: Float64Array;
  cell: Int32Array;
  word: Int32Array;
  mask: Int32Array;
  cursor: Int32Array;
  fine: Int32Array;
  density: Int32Array;
  raster: RasterScratch;
}

// Reusing them keeps a rebuild's fresh allocations to the index it returns (~16 MB per 100 k
// fences rather than ~50 MB), so rebuilds rarely cross V8's external-memory threshold, which forces
// a full collection of the heap holding the GeoJSON fences (~0.4 s at 100 k fences).
let kept: BuildWork | undefined;
const KEEP_WORK_BYTES = 128 * 2 ** 20;

function workFor(n: number): BuildWork {
  kept ??= {
    boxes: new Float64Array(0),
    cell: new Int32Array(0),
    word: new Int32Array(0),
    mask: new Int32Array(0),
    cursor: new Int32Array(0),
    fine: new Int32Array(0),
    density: new Int32Array(0),
    raster: createRasterScratch(),
  };
  if (kept.boxes.length < n * 4) kept.boxes = new Float64Array(n * 4);
  return kept;
}

function triplesFor(work: BuildWork, count: number): void {
  if (work.cell.length < count) {
    const size = Math.ceil(count * 1.25);
    work.cell = new Int32Array(size);
    work.word = new Int32Array(size);
    work.mask = new Int32Array(size);
  }
}

/**
 * 1 per slot whose fence gets 8 × 8 sub-cells: at least `minFences` bounding-box centres in its
 * centre's block, counted in an open-addressing table of block numbers (the grid is too large for an
 * array of counts).
 */
function fineFences(
  work: BuildWork,
  boxes: Float64Array,
  n: number,
  gx0: number,
  gy0: number,
  invCw: number,
  invCh: number,
  bnx: number,
  minFences: number,
): Uint8Array {
  const fine = new Uint8Array(n);
  if (minFences <= 1) return fine.fill(1);
  let size = 1024;
  while (size < n * 2) size *= 2;
  if (work.density.length < size * 3) work.density = new Int32Array(size * 3);
  // [block + 1 (0 = free), count] pairs, then each slot's pair index
  const table = work.density;
  table.fill(0, 0, size * 2);
  const mask = size - 1;
  for (let s = 0; s < n; s++) {
    const ix = Math.floor(((boxes[s * 4] + boxes[s * 4 + 2]) / 2 - gx0) * invCw);
    const iy = Math.floor(((boxes[s * 4 + 1] + boxes[s * 4 + 3]) / 2 - gy0) * invCh);
    const key = (iy >> BLOCK_SHIFT) * bnx + (ix >> BLOCK_SHIFT) + 1;
    let h = Math.imul(key, 0x9e3779b1) & mask;
    while (table[h * 2] !== 0 && table[h * 2] !== key) h = (h + 1) & mask;
    table[h * 2] = key;
    table[h * 2 + 1]++;
    table[size * 2 + s] = h;
  }
  // At most FINE_MAX_SHARE of the fences: where nearly every block is crowded (1 M fences) the
  // threshold rises to the most crowded ones, so the build's extra rasterisation stays bounded.
  const hist = new Int32Array(FINE_HIST);
  for (let s = 0; s < n; s++) hist[Math.min(FINE_HIST - 1, table[table[size * 2 + s] * 2 + 1])]++;
  let threshold = FINE_HIST - 1;
  for (let k = FINE_HIST - 1, sum = 0; k >= minFences; k--) {
    sum += hist[k];
    if (sum > n * FINE_MAX_SHARE) break;
    threshold = k;
  }
  if (threshold < minFences) threshold = minFences;
  for (let s = 0; s < n; s++) if (table[table[size * 2 + s] * 2 + 1] >= threshold) fine[s] = 1;
  return fine;
}

/** Builds an index snapshot over `fences`; slots are positions in `fences`. */
export function buildFenceIndex(
  fences: readonly Fence[],
  version: number,
  options: FenceIndexOptions = {},
): FenceIndex {
  const started = performance.now();
  let cellSizeM = options.cellSizeM ?? 60;
  const maxCellsPerFence = options.maxCellsPerFence ?? 4096;
  const fineMinFences = options.fineMinFences ?? FINE_MIN_FENCES;
  const n = fences.length;
  if (n > MAX_SLOTS) throw new RangeError(`a fence index holds at most ${MAX_SLOTS} fences, not ${n}`);

  // Per slot: the bounding box, copied once so later passes do not chase fence objects.
  const work = workFor(n);
  const boxes = work.boxes;
  // Per slot: where its record lives (chunk number << CHUNK_BITS | offset) and its accuracy class.
  const recOf = new Int32Array(n);
  const accOf = new Float64Array(n);
  const chunks: Float64Array[] = [];
  const chunks32: Int32Array[] = [];
  const chunkNo = new Map<Float64Array, number>();
  // Accuracy classes: the distinct maxAccuracyM values (a few in practice); the rest look up accOf.
  const accValues = new Float64Array(ACC_OTHER + 1);
  accValues[ACC_OTHER] = Infinity;
  const accClass = new Map<number, number>();
  const accCode = new Uint8Array(n);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let lastChunk: Float64Array | undefined;
  let lastNo = 0;
  let recordBytes = 0;
  for (let s = 0; s < n; s++) {
    const f = fences[s];
    const b = f.bbox;
    if (b[0] < minX) minX = b[0];
    if (b[1] < minY) minY = b[1];
    if (b[2] > maxX) maxX = b[2];
    if (b[3] > maxY) maxY = b[3];
    boxes[s * 4] = b[0];
    boxes[s * 4 + 1] = b[1];
    boxes[s * 4 + 2] = b[2];
    boxes[s * 4 + 3] = b[3];
    const rec = recordOf(f);
    recordBytes += rec.size * 8;
    if (rec.chunk !== lastChunk) {
      lastChunk = rec.chunk;
      let no = chunkNo.get(rec.chunk);
      if (no === undefined) {
        no = chunks.length;
        chunks.push(rec.chunk);
        chunks32.push(rec.chunk32);
        chunkNo.set(rec.chunk, no);
      }
      lastNo = no;
    }
    recOf[s] = (lastNo << CHUNK_BITS) | rec.off;
    const acc = f.props.maxAccuracyM;
    accOf[s] = acc;
    let cls = accClass.get(acc);
    if (cls === undefined) {
      cls = accClass.size < ACC_OTHER ? accClass.size : ACC_OTHER;
      if (cls !== ACC_OTHER) {
        accClass.set(acc, cls);
        accValues[cls] = acc;
      }
    }
    accCode[s] = cls;
  }
  // The R-tree over fence boxes answers bounding-box queries (API listings, map views); pings never
  // need it (the grid answers them), so it is bulk-loaded on the first query, not on every rebuild.
  let tree: RBush<TreeItem> | undefined;
  // Likewise the id → slot map: snapshots keep their own, so most indexes never need this one.
  let byId: Map<string, number> | undefined;
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
  const subGrid = { gx0, gy0, fcw: cw / SUB, fch: ch / SUB };
  const fineGrid = { gx0, gy0, fcw: cw / FINE, fch: ch / FINE };
  const invFine = invCw * FINE;
  const invFineH = invCh * FINE;
  const bnx = (nx >> BLOCK_SHIFT) + 1;
  const bny = (ny >> BLOCK_SHIFT) + 1;
  const fineOf = fineFences(work, boxes, n, gx0, gy0, invCw, invCh, bnx, fineMinFences);

  // Pass 1: rasterise every fence into (cell, entry word, sub-cell mask) triples, in slot order.
  let cellBound = 0;
  let fineBound = 0;
  for (let s = 0; s < n; s++) {
    const w = Math.floor((boxes[s * 4 + 2] - gx0) * invCw) - Math.floor((boxes[s * 4] - gx0) * invCw) + 1;
    const h = Math.floor((boxes[s * 4 + 3] - gy0) * invCh) - Math.floor((boxes[s * 4 + 1] - gy0) * invCh) + 1;
    if (w * h <= maxCellsPerFence) {
      cellBound += w * h;
      if (fineOf[s] !== 0) fineBound += w * h;
    }
  }
  triplesFor(work, cellBound);
  // one allocation up front: growing by doubling at 1 M fences meant a dozen large allocations, each
  // a chance for V8's external-memory check to force a full collection of the fence heap
  if (work.fine.length < fineBound * 4) work.fine = new Int32Array(fineBound * 4);
  const tripleCell = work.cell;
  const tripleWord = work.word;
  const tripleMask = work.mask;
  let total = 0;
  let insideEntries = 0;
  let fineCount = 0;
  const large: number[] = [];
  const scratch = work.raster;
  for (let s = 0; s < n; s++) {
    const ix0 = Math.floor((boxes[s * 4] - gx0) * invCw);
    const ix1 = Math.floor((boxes[s * 4 + 2] - gx0) * invCw);
    const iy0 = Math.floor((boxes[s * 4 + 1] - gy0) * invCh);
    const iy1 = Math.floor((boxes[s * 4 + 3] - gy0) * invCh);
    const w = ix1 - ix0 + 1;
    const h = iy1 - iy0 + 1;
    if (w * h > maxCellsPerFence) {
      large.push(s);
      continue;
    }
    const r = recOf[s];
    const word = (s << SLOT_SHIFT) | (accCode[s] << ACC_SHIFT);
    if (fineOf[s] !== 0) {
      const masks = rasterFence(
        chunks[r >>> CHUNK_BITS],
        r & CHUNK_MASK,
        fineGrid,
        FINE_SHIFT,
        ix0 * FINE,
        iy0 * FINE,
        w,
        h,
        scratch,
      );
      const tmpFine = work.fine;
      for (let row = 0; row < h; row++) {
        const cellBase = (iy0 + row) * nx + ix0;
        for (let col = 0; col < w; col++) {
          const k = (row * w + col) * 4;
          const m0 = masks[k];
          const m1 = masks[k + 1];
          const m2 = masks[k + 2];
          const m3 = masks[k + 3];
          if ((m0 | m1 | m2 | m3) === 0) continue;
          tripleCell[total] = cellBase + col;
          if (m0 === ALL_INSIDE && m1 === ALL_INSIDE && m2 === ALL_INSIDE && m3 === ALL_INSIDE) {
            tripleWord[total] = word | 1;
            tripleMask[total++] = ALL_INSIDE;
            insideEntries++;
            continue;
          }
          tripleWord[total] = word | FINE_ENTRY;
          tripleMask[total++] = fineCount;
          tmpFine[fineCount * 4] = m0;
          tmpFine[fineCount * 4 + 1] = m1;
          tmpFine[fineCount * 4 + 2] = m2;
          tmpFine[fineCount * 4 + 3] = m3;
          fineCount++;
        }
      }
      continue;
    }
    const masks = rasterFence(
      chunks[r >>> CHUNK_BITS],
      r & CHUNK_MASK,
      subGrid,
      SUB_SHIFT,
      ix0 * SUB,
      iy0 * SUB,
      w,
      h,
      scratch,
    );
    for (let row = 0; row < h; row++) {
      const cellBase = (iy0 + row) * nx + ix0;
      for (let col = 0; col < w; col++) {
        const mask = masks[row * w + col];
        if (mask === 0) continue;
        tripleCell[total] = cellBase + col;
        if (mask === ALL_INSIDE) {
          tripleWord[total] = word | 1;
          insideEntries++;
        } else tripleWord[total] = word;
        tripleMask[total++] = mask;
      }
    }
  }

  // Pass 2: occupancy bits per block, their running count per 32-bit word, then a counting sort of
  // the triples into per-cell runs (block number · 64 + cell within the block).
  const words = ((bnx * bny) >> 5) + 1;
  const bits = new Int32Array(words);
  for (let e = 0; e < total; e++) {
    const c = tripleCell[e];
    const iy = (c / nx) | 0;
    const blk = (iy >> BLOCK_SHIFT) * bnx + ((c - iy * nx) >> BLOCK_SHIFT);
    bits[blk >> 5] |= 1 << (blk & 31);
  }
  const rank = new Int32Array(words);
  let blocks = 0;
  for (let k = 0; k < words; k++) {
    rank[k] = blocks;
    blocks += popcount(bits[k]);
  }
  const cellOf = (c: number): number => {
    const iy = (c / nx) | 0;
    const ix = c - iy * nx;
    const blk = (iy >> BLOCK_SHIFT) * bnx + (ix >> BLOCK_SHIFT);
    const k = blk >> 5;
    const below = popcount(bits[k] & ~(-1 << (blk & 31)));
    return ((rank[k] + below) << 6) | ((iy & 7) << 3) | (ix & 7);
  };
  // One int32 run per occupied block: 65 absolute indices (where each of its 64 cells' entries
  // start, then their end) followed by the entries, so a cell's offsets and entries share a page.
  // The triples (in slot order, scattered over the whole grid) are first partitioned by block range
  // into buckets whose runs span a few hundred kB, then each bucket is counted and placed on its own:
  // the counting sort's random writes stay in cache instead of missing once per entry.
  const data = new Int32Array(blocks * 65 + total * 2);
  const bucketShift = Math.max(0, Math.ceil(Math.log2((blocks + 1) / PARTITION_BUCKETS)));
  const buckets = (blocks >> bucketShift) + 1;
  const bucketStart = new Int32Array(buckets + 1);
  for (let e = 0; e < total; e++) {
    const c = cellOf(tripleCell[e]);
    tripleCell[e] = c;
    bucketStart[((c >>> 6) >>> bucketShift) + 1]++;
  }
  for (let b = 0; b < buckets; b++) bucketStart[b + 1] += bucketStart[b];
  // In place (American flag sort: each misplaced triple is swapped into the next free place of its
  // bucket until the one that belongs here arrives), so no second set of triple arrays is allocated:
  // at 1 M fences those were ~190 MB of fresh buffers, and V8's external-memory check answered them
  // with extra full collections of the fence heap. The order within a bucket is lost; the cells' runs
  // are put back in slot order below, so the index is the same as a stable sort's.
  const bucketAt = bucketStart.slice(0, buckets);
  for (let b = 0; b < buckets; b++) {
    const end = bucketStart[b + 1];
    for (let i = bucketAt[b]; i < end; i = bucketAt[b]) {
      let c = tripleCell[i];
      let w = tripleWord[i];
      let m = tripleMask[i];
      let to = (c >>> 6) >>> bucketShift;
      while (to !== b) {
        const j = bucketAt[to]++;
        const c2 = tripleCell[j];
        const w2 = tripleWord[j];
        const m2 = tripleMask[j];
        tripleCell[j] = c;
        tripleWord[j] = w;
        tripleMask[j] = m;
        c = c2;
        w = w2;
        m = m2;
        to = (c >>> 6) >>> bucketShift;
      }
      tripleCell[i] = c;
      tripleWord[i] = w;
      tripleMask[i] = m;
      bucketAt[b] = i + 1;
    }
  }
  // Per occupied block: where its run starts in `data`, then which of its 64 cells hold entries (two
  // words), so a ping in an empty cell of an occupied block stops before reading `data`.
  const blockInfo = new Int32Array(blocks * 4);
  if (work.cursor.length < (1 << bucketShift) * 64) work.cursor = new Int32Array((1 << bucketShift) * 64);
  const cursor = work.cursor;
  let size = 0;
  let cells = 0;
  for (let b = 0; b < buckets; b++) {
    const k0 = b << bucketShift;
    const k1 = Math.min(blocks, k0 + (1 << bucketShift));
    const local0 = k0 * 64;
    cursor.fill(0, 0, (k1 - k0) * 64);
    for (let e = bucketStart[b]; e < bucketStart[b + 1]; e++) cursor[tripleCell[e] - local0]++;
    for (let k = k0; k < k1; k++) {
      const base = size;
      blockInfo[k * 4] = base;
      let at = base + 65;
      for (let l = 0, i = (k - k0) * 64; l < 64; l++, i++) {
        data[base + l] = at;
        const count = cursor[i];
        if (count !== 0) {
          cells++;
          blockInfo[k * 4 + 1 + (l >> 5)] |= 1 << (l & 31);
        }
        cursor[i] = at;
        at += count * 2;
      }
      data[base + 64] = at;
      size = at;
    }
    for (let e = bucketStart[b]; e < bucketStart[b + 1]; e++) {
      const i = tripleCell[e] - local0;
      const at = cursor[i];
      cursor[i] = at + 2;
      data[at] = tripleWord[e];
      data[at + 1] = tripleMask[e];
    }
    // Each cell's entries in slot order (as pass 1 wrote them): insertion sort on the entry word,
    // whose high bits are the slot (one entry per slot and cell); runs are short (~2, ≤ ~60).
    for (let k = k0; k < k1; k++) {
      const base = blockInfo[k * 4];
      for (let l = 0; l < 64; l++) {
        const from = data[base + l];
        const to = data[base + l + 1];
        for (let i = from + 2; i < to; i += 2) {
          const w = data[i];
          if (data[i - 2] >>> SLOT_SHIFT <= w >>> SLOT_SHIFT) continue;
          const m = data[i + 1];
          let j = i - 2;
          while (j >= from && data[j] >>> SLOT_SHIFT > w >>> SLOT_SHIFT) {
            data[j + 2] = data[j];
            data[j + 3] = data[j + 1];
            j -= 2;
          }
          data[j + 2] = w;
          data[j + 3] = m;
        }
      }
    }
  }

  // Fine masks in data order, so a cell's fine entries read one contiguous run.
  const fine = new Int32Array(fineCount * 4);
  if (fineCount > 0) {
    const tmpFine = work.fine;
    let at = 0;
    for (let k = 0; k < blocks; k++) {
      const base = blockInfo[k * 4];
      const end = data[base + 64];
      for (let i = base + 65; i < end; i += 2) {
        if ((data[i] & FINE_ENTRY) === 0) continue;
        const t = data[i + 1] * 4;
        fine[at] = tmpFine[t];
        fine[at + 1] = tmpFine[t + 1];
        fine[at + 2] = tmpFine[t + 2];
        fine[at + 3] = tmpFine[t + 3];
        data[i + 1] = at;
        at += 4;
      }
    }
  }

  // very large builds (1 M fences: ~300 MB of work arrays) do not keep theirs
  const workBytes = work.boxes.byteLength + work.cell.byteLength * 3 + work.cursor.byteLength;
  if (workBytes + work.fine.byteLength + work.density.byteLength > KEEP_WORK_BYTES) kept = undefined;
  const largeSlots = Int32Array.from(large);
  const largeBoxes = new Float64Array(large.length * 4);
  for (let i = 0; i < large.length; i++)
    largeBoxes.set(boxes.subarray(large[i] * 4, large[i] * 4 + 4), i * 4);
  const fnx = nx * FINE;
  const fny = ny * FINE;

  const covers = (slot: number, lon: number, lat: number): boolean => {
    const r = recOf[slot];
    const g = chunks[r >>> CHUNK_BITS];
    const off = r & CHUNK_MASK;
    if (g[off] === 1) return distanceM(g[off + 1], g[off + 2], lon, lat) <= g[off + 3];
    return polygonRecordCovers(g, chunks32[r >>> CHUNK_BITS], off, lon, lat);
  };

  // Fences too large for the grid, after the grid's `found` answers.
  const matchLarge = (lon: number, lat: number, accM: number, out: Int32Array, found: number): number => {
    for (let i = 0; i < largeSlots.length && found < out.length; i++) {
      if (lon < largeBoxes[i * 4] || lat < largeBoxes[i * 4 + 1]) continue;
      if (lon > largeBoxes[i * 4 + 2] || lat > largeBoxes[i * 4 + 3]) continue;
      const slot = largeSlots[i];
      if (accM <= accOf[slot] && covers(slot, lon, lat)) out[found++] = slot;
    }
    return found;
  };

  // Written by every ping's touch loop so the loads in it are kept.
  let _sink = 0;
  const buildMs = performance.now() - started;
  const bytes =
    blockInfo.byteLength +
    data.byteLength +
    fine.byteLength +
    bits.byteLength +
    rank.byteLength +
    recOf.byteLength +
    accOf.byteLength +
    recordBytes;

  return {
    version,
    fences,
    matchInto(lon: number, lat: number, accM: number, out: Int32Array): number {
      let found = 0;
      const fu = (lon - gx0) * invFine;
      const fv = (lat - gy0) * invFineH;
      if (fu >= 0 && fv >= 0 && fu < fnx && fv < fny) {
        const fix = fu | 0;
        const fiy = fv | 0;
        const ix = fix >> FINE_SHIFT;
        const iy = fiy >> FINE_SHIFT;
        const blk = (iy >> BLOCK_SHIFT) * bnx + (ix >> BLOCK_SHIFT);
        const word = bits[blk >> 5];
        const bit = blk & 31;
        if (((word >>> bit) & 1) !== 0) {
          const k = (rank[blk >> 5] + popcount(word & ~(-1 << bit))) << 2;
          const l = ((iy & 7) << 3) | (ix & 7);
          if (((blockInfo[k + 1 + (l >> 5)] >>> (l & 31)) & 1) === 0)
            return matchLarge(lon, lat, accM, out, 0);
          const cell = blockInfo[k] + l;
          const shift = (((fiy >> 1) & (SUB - 1)) << 3) | (((fix >> 1) & (SUB - 1)) << 1);
          const fineWord = (fiy & (FINE - 1)) >> 1;
          const fineShift = ((fiy & 1) << 4) | ((fix & (FINE - 1)) << 1);
          const first = data[cell];
          const end = data[cell + 1];
          // Touch the record of every fence that needs the exact test before running any, so
          // their cache misses overlap instead of queueing one behind another (fences the ping is
          // too imprecise for are skipped: their records would be fetched for nothing).
          let touched = 0;
          for (let i = first; i < end; i += 2) {
            const e = data[i];
            if ((e & 1) !== 0) continue;
            const cls = (e >>> ACC_SHIFT) & ACC_OTHER;
            if (accM > accValues[cls]) continue;
            const m = data[i + 1];
            const state = (e & FINE_ENTRY) === 0 ? (m >>> shift) & 3 : (fine[m + fineWord] >>> fineShift) & 3;
            if (state === BOUNDARY) {
              const r = recOf[e >>> SLOT_SHIFT];
              touched += chunks[r >>> CHUNK_BITS][r & CHUNK_MASK];
            }
          }
          _sink = touched;
          for (let i = first; i < end && found < out.length; i += 2) {
            const e = data[i];
            const cls = (e >>> ACC_SHIFT) & ACC_OTHER;
            const slot = e >>> SLOT_SHIFT;
            if (accM > accValues[cls] || (cls === ACC_OTHER && accM > accOf[slot])) continue;
            if ((e & 1) !== 0) {
              out[found++] = slot;
              continue;
            }
            const m = data[i + 1];
            const state = (e & FINE_ENTRY) === 0 ? (m >>> shift) & 3 : (fine[m + fineWord] >>> fineShift) & 3;
            if (state === INSIDE || (state === BOUNDARY && covers(slot, lon, lat))) out[found++] = slot;
          }
        }
      }
      return matchLarge(lon, lat, accM, out, found);
    },
    covers,
    search(bbox: BBox): number[] {
      return treeOf()
        .search({ minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3] })
        .map((t) => t.slot);
    },
    slotOf(id: string): number {
      if (byId === undefined) {
        byId = new Map();
        for (let s = 0; s < n; s++) byId.set(fences[s].props.id, s);
      }
      return byId.get(id) ?? -1;
    },
    stats(): FenceIndexStats {
      return {
        fences: n,
        cells,
        entries: total,
        insideEntries,
        fineEntries: fineCount,
        largeFences: large.length,
        buildMs,
        bytes,
      };
    },
  };
}
