/**
 * sid → slot map without a JS object per subscriber: an open-addressing (linear probing) Int32 table
 * of slots, and the sid bytes in one Uint8Array arena (offset + length per slot). Sids are ASCII
 * pseudonyms (validated by the store), so one byte per character.
 */

const EMPTY = -1;
const TOMBSTONE = -2;
const MAX_LOAD = 0.7;

export const SID_PATTERN = /^[A-Za-z0-9_.:=+/-]{1,64}$/;

function hashSid(sid: string): number {
  // FNV-1a over the characters
  let h = 0x811c9dc5;
  for (let i = 0; i < sid.length; i++) {
    h ^= sid.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface SidIndex {
  /** Slot of the sid, or −1. */
  get(sid: string): number;
  /** Records sid at slot (the sid must not be present). */
  set(sid: string, slot: number): void;
  /** Removes the sid; returns its slot or −1. */
  remove(sid: string): number;
  /** The sid stored at a slot (only meaningful for live slots). */
  sidAt(slot: number): string;
  /** Grows the per-slot arrays to hold `capacity` slots. */
  growSlots(capacity: number): void;
  clear(): void;
  byteLength(): number;
}

export function createSidIndex(initialSlots: number): SidIndex {
  let table = new Int32Array(tableSizeFor(initialSlots)).fill(EMPTY);
  let used = 0;
  let tombstones = 0;
  let sidOff = new Uint32Array(initialSlots);
  let sidLen = new Uint8Array(initialSlots);
  let arena = new Uint8Array(Math.max(64, initialSlots * 16));
  let arenaUsed = 0;

  function tableSizeFor(n: number): number {
    let size = 16;
    while (size * MAX_LOAD < n + 1) size *= 2;
    return size;
  }

  function equalsAt(slot: number, sid: string): boolean {
    if (sidLen[slot] !== sid.length) return false;
    const off = sidOff[slot];
    for (let i = 0; i < sid.length; i++) if (arena[off + i] !== sid.charCodeAt(i)) return false;
    return true;
  }

  function find(sid: string): number {
    const mask = table.length - 1;
    let i = hashSid(sid) & mask;
    for (;;) {
      const s = table[i];
      if (s === EMPTY) return -1;
      if (s !== TOMBSTONE && equalsAt(s, sid)) return i;
      i = (i + 1) & mask;
    }
  }

  function insertSlot(sid: string, slot: number): void {
    const mask = table.length - 1;
    let i = hashSid(sid) & mask;
    while (table[i] >= 0) i = (i + 1) & mask;
    if (table[i] === TOMBSTONE) tombstones--;
    table[i] = slot;
    used++;
  }

  function rehash(size: number): void {
    const old = table;
    table = new Int32Array(size).fill(EMPTY);
    used = 0;
    tombstones = 0;
    for (let i = 0; i < old.length; i++) {
      const s = old[i];
      if (s >= 0) insertSlot(sidAt(s), s);
    }
  }

  function writeSid(sid: string, slot: number): void {
    // reuse the slot's old bytes when the new sid fits, else append
    let off = sidOff[slot];
    if (sidLen[slot] < sid.length) {
      if (arenaUsed + sid.length > arena.length) {
        const bigger = new Uint8Array(Math.max(arena.length * 2, arenaUsed + sid.length));
        bigger.set(arena.subarray(0, arenaUsed));
        arena = bigger;
      }
      off = arenaUsed;
      arenaUsed += sid.length;
      sidOff[slot] = off;
    }
    for (let i = 0; i < sid.length; i++) arena[off + i] = sid.charCodeAt(i);
    sidLen[slot] = sid.length;
  }

  function sidAt(slot: number): string {
    const off = sidOff[slot];
    return String.fromCharCode.apply(null, arena.subarray(off, off + sidLen[slot]) as unknown as number[]);
  }

  return {
    get(sid) {
      const i = find(sid);
      return i < 0 ? -1 : table[i];
    },
    set(sid, slot) {
      if (used + tombstones + 1 > table.length * MAX_LOAD) rehash(tableSizeFor(used + 1));
      writeSid(sid, slot);
      insertSlot(sid, slot);
    },
    remove(sid) {
      const i = find(sid);
      if (i < 0) return -1;
      const slot = table[i];
      table[i] = TOMBSTONE;
      used--;
      tombstones++;
      return slot;
    },
    sidAt,
    growSlots(capacity) {
      const off = new Uint32Array(capacity);
      off.set(sidOff);
      sidOff = off;
      const len = new Uint8Array(capacity);
      len.set(sidLen);
      sidLen = len;
    },
    clear() {
      table = new Int32Array(tableSizeFor(sidOff.length)).fill(EMPTY);
      used = 0;
      tombstones = 0;
      sidLen.fill(0);
      sidOff.fill(0);
      arenaUsed = 0;
    },
    byteLength() {
      return table.byteLength + sidOff.byteLength + sidLen.byteLength + arena.byteLength;
    },
  };
}
