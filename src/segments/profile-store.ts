import { AppError } from '../errors.ts';
import { ATTRIBUTES, type Attribute } from './catalogue.ts';
import { createEncoder, decodeValue, type Profile, type ProfileInput } from './codec.ts';
import { ALIVE_BIT, allocColumn, buildLayout, type Column, type Layout } from './layout.ts';
import { createSidIndex, SID_PATTERN } from './sid-index.ts';

export interface ProfileStoreMemory {
  /** Bytes of the attribute columns (allocated capacity). */
  columns: number;
  /** Bytes of the sid → slot map: hash table, per-slot offsets/lengths and the sid byte arena. */
  index: number;
  total: number;
}

/**
 * Subscriber profiles in columns (one typed array per attribute), addressed by sid. Upsert replaces
 * the whole profile; deleted slots are reused. Reads on the hot path go through `cols[col][slot]`
 * (see `compileSegment`), so there is no object per subscriber.
 */
export interface ProfileStore {
  readonly catalogue: readonly Attribute[];
  readonly layout: Layout;
  /** Column arrays, indexed by `layout.attrs[i].col`. Replaced (not mutated in place) when the store grows. */
  readonly cols: readonly Column[];
  /** Number of live profiles. */
  readonly size: number;
  /** Slots in use or freed: scans run over [0, highWater). */
  readonly highWater: number;
  readonly capacity: number;
  /** Changes whenever a sid gains or loses its slot (insert, delete, clear): a cached slotOf stays valid while it is unchanged. */
  readonly generation: number;
  /** Inserts or replaces the whole profile of sid; throws PROFILE_ROW_INVALID (nothing written) on a bad value. */
  upsert(sid: string, attrs: ProfileInput): number;
  /** Removes sid's profile; false when it was not there. */
  delete(sid: string): boolean;
  /** Slot of sid, or −1. */
  slotOf(sid: string): number;
  isLive(slot: number): boolean;
  sidAt(slot: number): string | undefined;
  /** The decoded profile of sid, or undefined. */
  get(sid: string): Profile | undefined;
  decodeSlot(slot: number): Profile;
  clear(): void;
  memory(): ProfileStoreMemory;
}

export interface ProfileStoreOptions {
  /** Initial slot capacity; the store doubles when full. */
  capacity?: number;
  catalogue?: readonly Attribute[];
}

/** Creates an empty columnar profile store. */
export function createProfileStore(options: ProfileStoreOptions = {}): ProfileStore {
  const catalogue = options.catalogue ?? ATTRIBUTES;
  const layout = buildLayout(catalogue);
  let capacity = Math.max(16, options.capacity ?? 1024);
  const cols: Column[] = layout.columnKinds.map((k) => allocColumn(k, capacity));
  const flags = layout.flagsCol;
  const index = createSidIndex(capacity);
  const free: number[] = [];
  let highWater = 0;
  let size = 0;
  let generation = 0;
  const scratch = new Float64Array(layout.attrs.length);
  const encoders = layout.attrs.map(createEncoder);
  const indexOf = new Map(layout.attrs.map((a, i) => [a.attr.name, i]));

  function grow(): void {
    const next = capacity * 2;
    for (let c = 0; c < cols.length; c++) {
      const col = allocColumn(layout.columnKinds[c], next);
      col.set(cols[c]);
      cols[c] = col;
    }
    index.growSlots(next);
    capacity = next;
  }

  function encodeInto(attrs: ProfileInput): void {
    scratch.fill(0);
    // walk the row's own keys once (fast for-in over JSON.parse objects) instead of 41 keyed loads
    for (const key in attrs) {
      const i = indexOf.get(key);
      if (i !== undefined) scratch[i] = encoders[i](attrs[key]);
      else if (key !== 'sid') {
        throw new AppError('PROFILE_ROW_INVALID', `unknown attribute ${JSON.stringify(key.slice(0, 40))}`, {
          httpStatus: 400,
          details: { attribute: key },
        });
      }
    }
  }

  // where each attribute's raw value goes, resolved once
  const valueCols: number[] = [];
  const valueIdx: number[] = [];
  const boolCols: number[] = [];
  const boolIdx: number[] = [];
  const boolShift: number[] = [];
  layout.attrs.forEach((a, i) => {
    if (a.attr.type === 'bool') {
      boolCols.push(a.col);
      boolIdx.push(i);
      boolShift.push(a.shift);
    } else {
      valueCols.push(a.col);
      valueIdx.push(i);
    }
  });
  const extraFlagCols = layout.columnKinds.flatMap((k, c) =>
    k === 'u32' && c !== flags && boolCols.includes(c) ? [c] : [],
  );

  function write(slot: number): void {
    for (let i = 0; i < valueCols.length; i++) cols[valueCols[i]][slot] = scratch[valueIdx[i]];
    // the live bit and each bool's two bits go into the flags words
    for (let i = 0; i < extraFlagCols.length; i++) cols[extraFlagCols[i]][slot] = 0;
    let word = ALIVE_BIT;
    for (let i = 0; i < boolCols.length; i++) {
      const bits = scratch[boolIdx[i]] << boolShift[i];
      if (boolCols[i] === flags) word |= bits;
      else cols[boolCols[i]][slot] |= bits;
    }
    cols[flags][slot] = word >>> 0;
  }

  function checkSid(sid: unknown): asserts sid is string {
    if (typeof sid !== 'string' || !SID_PATTERN.test(sid)) {
      throw new AppError('PROFILE_ROW_INVALID', 'sid: expected 1–64 characters of [A-Za-z0-9_.:=+/-]', {
        httpStatus: 400,
        details: { attribute: 'sid' },
      });
    }
  }

  const store: ProfileStore = {
    catalogue,
    layout,
    cols,
    get size() {
      return size;
    },
    get highWater() {
      return highWater;
    },
    get capacity() {
      return capacity;
    },
    get generation() {
      return generation;
    },
    upsert(sid, attrs) {
      checkSid(sid);
      encodeInto(attrs);
      let slot = index.get(sid);
      if (slot < 0) {
        if (free.length > 0) slot = free.pop()!;
        else {
          if (highWater === capacity) grow();
          slot = highWater++;
        }
        index.set(sid, slot);
        size++;
        generation++;
      }
      write(slot);
      return slot;
    },
    delete(sid) {
      const slot = index.remove(sid);
      if (slot < 0) return false;
      for (let c = 0; c < cols.length; c++) cols[c][slot] = 0;
      free.push(slot);
      size--;
      generation++;
      return true;
    },
    slotOf(sid) {
      return index.get(sid);
    },
    isLive(slot) {
      return slot >= 0 && slot < highWater && (cols[flags][slot] & ALIVE_BIT) !== 0;
    },
    sidAt(slot) {
      return store.isLive(slot) ? index.sidAt(slot) : undefined;
    },
    get(sid) {
      const slot = index.get(sid);
      return slot < 0 ? undefined : store.decodeSlot(slot);
    },
    decodeSlot(slot) {
      const out: Profile = {};
      for (const a of layout.attrs) {
        const raw = a.attr.type === 'bool' ? (cols[a.col][slot] >>> a.shift) & 3 : cols[a.col][slot];
        out[a.attr.name] = decodeValue(a, raw);
      }
      return out;
    },
    clear() {
      for (const col of cols) col.fill(0);
      index.clear();
      free.length = 0;
      highWater = 0;
      size = 0;
      generation++;
    },
    memory() {
      const columns = cols.reduce((n, c) => n + c.byteLength, 0);
      const idx = index.byteLength() + free.length * 8;
      return { columns, index: idx, total: columns + idx };
    },
  };
  return store;
}
