/**
 * sid → slot map without a JS object per subscriber: an open-addressing (linear probing) Int32 table
 * of slots with a one-byte tag per table entry (empty, deleted, or 8 bits of the sid's hash), and the
 * sid bytes in one Uint8Array arena (offset + length per slot). A probe reads the tag array first and
 * touches the slot and the sid bytes only when the tag matches (1 in 254 for another sid), so a lookup
 * costs about one cache miss in the tags, one in the table and two for the sid bytes, and a lookup of an
 * absent sid usually ends in the tags alone. Sids are ASCII
 * pseudonyms (validated by the store): one byte per character, except lower-case hex sids of even
 * length (keyed-hash pseudonyms), which are packed two characters per byte.
 */

const EMPTY = -1;
const TOMBSTONE = -2;
const MAX_LOAD = 0.7;
// Tags: 0 = empty entry, 1 = deleted entry, 2..255 = live entry with that tag.
const TAG_EMPTY = 0;
const TAG_DELETED = 1;

/** A live entry's tag from the hash bits the table index does not use first. */
function tagOf(h: number): number {
  return 2 + ((h >>> 24) % 254);
}

export const SID_PATTERN = /^[A-Za-z0-9_.:=+/-]{1,64}$/;

const PACKED = 0x80;

/** Value of a lower-case hex digit, or −1. */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** True when sid is lower-case hex of even length (stored packed). */
function packable(sid: string): boolean {
  if ((sid.length & 1) !== 0) return false;
  for (let i = 0; i < sid.length; i++) if (nibble(sid.charCodeAt(i)) < 0) return false;
  return true;
}

const HEX = '0123456789abcdef';

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
  let tags = new Uint8Array(table.length);
  let used = 0;
  let tombstones = 0;
  let sidOff = new Uint32Array(initialSlots);
  let sidLen = new Uint8Array(initialSlots);
  let arena = new Uint8Array(Math.max(64, initialSlots * 8));
  let arenaUsed = 0;

  function tableSizeFor(n: number): number {
    let size = 16;
    while (size * MAX_LOAD < n + 1) size *= 2;
    return size;
  }

  function equalsAt(slot: number, sid: string): boolean {
    const len = sidLen[slot];
    const off = sidOff[slot];
    if ((len & PACKED) !== 0) {
      const bytes = len & 0x7f;
      if (sid.length !== bytes * 2) return false;
      for (let i = 0; i < bytes; i++) {
        const hi = nibble(sid.charCodeAt(2 * i));
        const lo = nibble(sid.charCodeAt(2 * i + 1));
        if (hi < 0 || lo < 0 || arena[off + i] !== ((hi << 4) | lo)) return false;
      }
      return true;
    }
    if (len !== sid.length) return false;
    for (let i = 0; i < sid.length; i++) if (arena[off + i] !== sid.charCodeAt(i)) return false;
    return true;
  }

  function find(sid: string): number {
    const mask = table.length - 1;
    const h = hashSid(sid);
    const tag = tagOf(h);
    let i = h & mask;
    for (;;) {
      const t = tags[i];
      if (t === TAG_EMPTY) return -1;
      if (t === tag && equalsAt(table[i], sid)) return i;
      i = (i + 1) & mask;
    }
  }

  function insertSlot(sid: string, slot: number): void {
    const mask = table.length - 1;
    const h = hashSid(sid);
    let i = h & mask;
    while (tags[i] > TAG_DELETED) i = (i + 1) & mask;
    if (tags[i] === TAG_DELETED) tombstones--;
    table[i] = slot;
    tags[i] = tagOf(h);
    used++;
  }

  function rehash(size: number): void {
    const old = table;
    table = new Int32Array(size).fill(EMPTY);
    tags = new Uint8Array(size);
    used = 0;
    tombstones = 0;
    for (let i = 0; i < old.length; i++) {
      const s = old[i];
      if (s >= 0) insertSlot(sidAt(s), s);
    }
  }

  function writeSid(sid: string, slot: number): void {
    const packed = packable(sid);
    const bytes = packed ? sid.length / 2 : sid.length;
    // reuse the slot's old bytes when the new sid fits, else append
    let off = sidOff[slot];
    if ((sidLen[slot] & 0x7f) < bytes) {
      if (arenaUsed + bytes > arena.length) {
        const bigger = new Uint8Array(Math.max(arena.length * 2, arenaUsed + bytes));
        bigger.set(arena.subarray(0, arenaUsed));
        arena = bigger;
      }
      off = arenaUsed;
      arenaUsed += bytes;
      sidOff[slot] = off;
    }
    if (packed) {
      for (let i = 0; i < bytes; i++) {
        arena[off + i] = (nibble(sid.charCodeAt(2 * i)) << 4) | nibble(sid.charCodeAt(2 * i + 1));
      }
      sidLen[slot] = bytes | PACKED;
    } else {
      for (let i = 0; i < bytes; i++) arena[off + i] = sid.charCodeAt(i);
      sidLen[slot] = bytes;
    }
  }

  function sidAt(slot: number): string {
    const off = sidOff[slot];
    const len = sidLen[slot];
    if ((len & PACKED) === 0) {
      return String.fromCharCode.apply(null, arena.subarray(off, off + len) as unknown as number[]);
    }
    let out = '';
    for (let i = 0; i < (len & 0x7f); i++) out += HEX[arena[off + i] >> 4] + HEX[arena[off + i] & 15];
    return out;
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
      tags[i] = TAG_DELETED;
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
      tags = new Uint8Array(table.length);
      used = 0;
      tombstones = 0;
      sidLen.fill(0);
      sidOff.fill(0);
      arenaUsed = 0;
    },
    byteLength() {
      return table.byteLength + tags.byteLength + sidOff.byteLength + sidLen.byteLength + arena.byteLength;
    },
  };
}
