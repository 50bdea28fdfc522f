import { AppError } from '../errors.ts';
import { ATTRIBUTES, type Attribute } from './catalogue.ts';
import { createEncoder, decodeValue, type Profile, type ProfileInput } from './codec.ts';
import {
  ALIVE_BIT,
  type AttributeSlot,
  allocRows,
  buildLayout,
  type Layout,
  type ProfileRows,
  readRaw,
} from './layout.ts';
import { createSidIndex, SID_PATTERN } from './sid-index.ts';

export interface ProfileStoreMemory {
  /** Bytes of the attribute rows (allocated capacity × stride); named after the former columns, kept for the API. */
  columns: number;
  /** Bytes of the sid → slot map: hash table, per-slot offsets/lengths and the sid byte arena. */
  index: number;
  total: number;
}

/**
 * Subscriber profiles as fixed-size rows (all of one subscriber's attributes contiguous; see layout.ts),
 * addressed by sid. Upsert replaces the whole profile; deleted slots are reused. Reads on the hot path go
 * through `rows` (see `compileSegment`), so there is no object per subscriber.
 */
export interface ProfileStore {
  readonly catalogue: readonly Attribute[];
  readonly layout: Layout;
  /** The row views. The object stays the same; its views are replaced (not mutated in place) when the store grows. */
  readonly rows: ProfileRows;
  /** Number of live profiles. */
  readonly size: number;
  /** Slots in use or freed: scans run over [0, highWater). */
  readonly highWater: number;
  readonly capacity: number;
  /** Changes whenever a sid gains or loses its slot (insert, delete, clear): a cached slotOf stays valid while it is unchanged. */
  readonly generation: number;
  /** Inserts or replaces the whole profile of sid; throws PROFILE_ROW_INVALID (nothing written) on a bad value. */
  upsert(sid: string, attrs: ProfileInput): number;
  /**
   * Like upsert, with the profile already encoded: `raws[i]` is the raw value of `layout.attrs[i]` as the
   * codec's encoders produce it (not checked again; the sid is). For loaders that parse straight to raws.
   */
  upsertEncoded(sid: string, raws: ArrayLike<number>): number;
  /** Removes sid's profile; false when it was not there. */
  delete(sid: string): boolean;
  /** Slot of sid, or −1. */
  slotOf(sid: string): number;
  /**
   * slotOf with a one-entry cache (valid while `generation` is unchanged): the per-event stages (segment
   * checks, language, consent) ask about the same sid several times per event and share one lookup.
   */
  lookup(sid: string): number;
  /**
   * Tells `listener` whenever a slot is given to a sid (insert) or taken from one (delete, clear), so
   * other stages can keep per-subscriber state in arrays indexed by slot (consent) and move it out
   * before the slot passes to another subscriber. Called synchronously, after the index changed.
   */
  onSlot(listener: SlotListener): void;
  isLive(slot: number): boolean;
  sidAt(slot: number): string | undefined;
  /** The raw stored value of one attribute at a slot (0 = missing; see layout.ts). */
  rawAt(slot: number, attr: AttributeSlot): number;
  /** The decoded profile of sid, or undefined. */
  get(sid: string): Profile | undefined;
  decodeSlot(slot: number): Profile;
  clear(): void;
  memory(): ProfileStoreMemory;
}

/** See ProfileStore.onSlot. */
export interface SlotListener {
  /** `slot` now holds sid's profile (a new sid; a replaced profile keeps its slot and is not told). */
  assigned(slot: number, sid: string): void;
  /** sid's profile left `slot` (deleted, or the store cleared); the slot may go to another sid next. */
  released(slot: number, sid: string): void;
}

export interface ProfileStoreOptions {
  /** Initial slot capacity; the store doubles when full. */
  capacity?: number;
  catalogue?: readonly Attribute[];
}

/** Creates an empty row-major profile store. */
export function createProfileStore(options: ProfileStoreOptions = {}): ProfileStore {
  const catalogue = options.catalogue ?? ATTRIBUTES;
  const layout = buildLayout(catalogue);
  const stride = layout.bytesPerSlot;
  let capacity = Math.max(16, options.capacity ?? 1024);
  const rows = allocRows(layout, capacity);
  // u16 index of the live word's high half, inside a row
  const liveHalf = (layout.flagsOffset >> 1) + 1;
  const LIVE = ALIVE_BIT >>> 16;
  const index = createSidIndex(capacity);
  const free: number[] = [];
  let highWater = 0;
  let size = 0;
  let generation = 0;
  const scratch = new Float64Array(layout.attrs.length);
  const encoders = layout.attrs.map(createEncoder);
  const indexOf = new Map(layout.attrs.map((a, i) => [a.attr.name, i]));
  const listeners: SlotListener[] = [];
  let lastSid = '';
  let lastSlot = -1;
  let lastGeneration = -1;

  function grow(): void {
    const next = capacity * 2;
    const bigger = allocRows(layout, next);
    bigger.u8.set(rows.u8);
    rows.u8 = bigger.u8;
    rows.u16 = bigger.u16;
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

  // where each attribute's raw value goes, resolved once: byte offsets of u8 fields, u16 offsets of the rest
  const u8At: number[] = [];
  const u8Idx: number[] = [];
  const u16At: number[] = [];
  const u16Idx: number[] = [];
  const u32At: number[] = [];
  const u32Idx: number[] = [];
  const boolWord: number[] = [];
  const boolIdx: number[] = [];
  const boolMul: number[] = [];
  // bit fields: the u16 word (index among the row's bit-field words), the shift, the raw value's index
  const bitWordAt: number[] = [];
  const bitWord: number[] = [];
  const bitShift: number[] = [];
  const bitIdx: number[] = [];
  layout.attrs.forEach((a, i) => {
    if (a.kind === 'bits') {
      let w = bitWordAt.indexOf(a.offset >> 1);
      if (w < 0) w = bitWordAt.push(a.offset >> 1) - 1;
      bitWord.push(w);
      bitShift.push(a.shift);
      bitIdx.push(i);
    } else if (a.attr.type === 'bool') {
      boolWord.push(layout.flagOffsets.indexOf(a.offset));
      boolIdx.push(i);
      boolMul.push(2 ** a.shift);
    } else if (a.kind === 'u8') {
      u8At.push(a.offset);
      u8Idx.push(i);
    } else if (a.kind === 'u16') {
      u16At.push(a.offset >> 1);
      u16Idx.push(i);
    } else {
      u32At.push(a.offset >> 1);
      u32Idx.push(i);
    }
  });
  const flagAt = layout.flagOffsets.map((o) => o >> 1);
  const words = new Float64Array(flagAt.length);
  const bitWords = new Int32Array(bitWordAt.length);

  function write(slot: number, raws: ArrayLike<number>): void {
    const { u8, u16 } = rows;
    const base = slot * stride;
    const half = base >> 1;
    for (let i = 0; i < u8At.length; i++) u8[base + u8At[i]] = raws[u8Idx[i]];
    for (let i = 0; i < u16At.length; i++) u16[half + u16At[i]] = raws[u16Idx[i]];
    for (let i = 0; i < u32At.length; i++) {
      const v = raws[u32Idx[i]];
      u16[half + u32At[i]] = v & 0xffff;
      u16[half + u32At[i] + 1] = v >>> 16;
    }
    bitWords.fill(0);
    for (let i = 0; i < bitIdx.length; i++) bitWords[bitWord[i]] |= raws[bitIdx[i]] << bitShift[i];
    for (let w = 0; w < bitWordAt.length; w++) u16[half + bitWordAt[w]] = bitWords[w];
    // the live bit and each bool's two bits go into the flags words (as doubles: bit 31 stays unsigned)
    words.fill(0);
    words[0] = ALIVE_BIT;
    for (let i = 0; i < boolIdx.length; i++) words[boolWord[i]] += raws[boolIdx[i]] * boolMul[i];
    for (let w = 0; w < flagAt.length; w++) {
      u16[half + flagAt[w]] = words[w] % 65536;
      u16[half + flagAt[w] + 1] = Math.floor(words[w] / 65536);
    }
  }

  function insertSlot(sid: string): number {
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
      for (const l of listeners) l.assigned(slot, sid);
    }
    return slot;
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
    rows,
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
      const slot = insertSlot(sid);
      write(slot, scratch);
      return slot;
    },
    upsertEncoded(sid, raws) {
      checkSid(sid);
      const slot = insertSlot(sid);
      write(slot, raws);
      return slot;
    },
    delete(sid) {
      const slot = index.remove(sid);
      if (slot < 0) return false;
      rows.u8.fill(0, slot * stride, (slot + 1) * stride);
      free.push(slot);
      size--;
      generation++;
      for (const l of listeners) l.released(slot, sid);
      return true;
    },
    slotOf(sid) {
      return index.get(sid);
    },
    lookup(sid) {
      if (sid === lastSid && generation === lastGeneration) return lastSlot;
      lastSid = sid;
      lastGeneration = generation;
      lastSlot = index.get(sid);
      return lastSlot;
    },
    onSlot(listener) {
      listeners.push(listener);
    },
    isLive(slot) {
      return slot >= 0 && slot < highWater && (rows.u16[((slot * stride) >> 1) + liveHalf] & LIVE) !== 0;
    },
    sidAt(slot) {
      return store.isLive(slot) ? index.sidAt(slot) : undefined;
    },
    rawAt(slot, attr) {
      return readRaw(rows, stride, slot, attr);
    },
    get(sid) {
      const slot = index.get(sid);
      return slot < 0 ? undefined : store.decodeSlot(slot);
    },
    decodeSlot(slot) {
      const out: Profile = {};
      for (const a of layout.attrs) out[a.attr.name] = decodeValue(a, readRaw(rows, stride, slot, a));
      return out;
    },
    clear() {
      // the listeners hear of every live slot, after the sids are gone
      const live: [number, string][] = [];
      if (listeners.length > 0)
        for (let s = 0; s < highWater; s++) if (store.isLive(s)) live.push([s, index.sidAt(s)]);
      rows.u8.fill(0);
      index.clear();
      free.length = 0;
      highWater = 0;
      size = 0;
      generation++;
      for (const [s, sid] of live) for (const l of listeners) l.released(s, sid);
    },
    memory() {
      const columns = rows.u8.byteLength;
      const idx = index.byteLength() + free.length * 8;
      return { columns, index: idx, total: columns + idx };
    },
  };
  return store;
}
