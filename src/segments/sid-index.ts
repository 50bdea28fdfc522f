import { FNV_OFFSET, FNV_PRIME, fmix32, fnv1a } from '../hash.ts';

/**
 * sid → slot map without a JS object per subscriber: an open-addressing table in 64-byte lines, each
 * holding 12 entries — a one-byte tag per entry (empty, deleted, or 8 bits of the sid's hash) followed by
 * the entries' Int32 slots — plus, per slot, the first 8 bytes of its sid and its length; longer sids keep
 * the rest in one Uint8Array arena. A probe reads the tags and slots of its home line in one cache miss,
 * touches a slot's sid bytes only when a tag matches (1 in 254 for another sid), and walks on to the next
 * line only when the home line is full (linear probing line by line). Finding a 16-hex sid thus costs one
 * miss in the table, then the head bytes and the length (both addressed by the slot, so they load
 * together), and a lookup of an absent sid usually ends in the table line alone. Sids are ASCII
 * pseudonyms (validated by the store): one byte per character, except lower-case hex sids of even
 * length (keyed-hash pseudonyms), which are packed two characters per byte.
 */

const MAX_LOAD = 0.7;
// A line: bytes 0–11 the tags of its 12 entries, bytes 12–15 unused, bytes 16–63 their Int32 slots.
const PER_LINE = 12;
const LINE_BYTES = 64;
const LINE_WORDS = 16;
const SLOT_WORD = 4;
// Per slot: the first 8 bytes of its sid and its length (bit 7: packed hex); only the bytes past the
// eighth go to the arena (offset per slot, allocated once a longer sid arrives). Checking a found
// 16-hex sid reads its 8 head bytes and its length, both addressed by the slot alone.
const HEAD_BYTES = 8;
// Tags: 0 = empty entry, 1 = deleted entry, 2..255 = live entry with that tag.
const TAG_EMPTY = 0;
const TAG_DELETED = 1;

/** A live entry's tag from the low hash bits (the home line comes from the high ones). */
function tagOf(h: number): number {
  return 2 + ((h & 0xff) % 254);
}

/** Home line of hash h among `lines` lines: the high 24 bits scaled to the range (exact in a double). */
function homeOf(h: number, lines: number): number {
  return Math.floor(((h >>> 8) * lines) / 16_777_216);
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
  // FNV-1a over the characters, then fmix32 so both ends of the word are well mixed
  return fnv1a(sid);
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
  let lines = linesFor(initialSlots);
  let table = new Int32Array(lines * LINE_WORDS);
  let tags = new Uint8Array(table.buffer);
  let used = 0;
  let tombstones = 0;
  let heads = new Uint8Array(initialSlots * HEAD_BYTES);
  let sidLen = new Uint8Array(initialSlots);
  let tailOff: Uint32Array | undefined;
  let arena = new Uint8Array(64);
  let arenaUsed = 0;

  function linesFor(n: number): number {
    return Math.max(2, Math.ceil((n + 1) / (PER_LINE * MAX_LOAD)));
  }

  function equalsAt(slot: number, sid: string): boolean {
    const r = slot * HEAD_BYTES;
    const len = sidLen[slot];
    const bytes = len & 0x7f;
    const head = bytes < HEAD_BYTES ? bytes : HEAD_BYTES;
    if ((len & PACKED) !== 0) {
      if (sid.length !== bytes * 2) return false;
      for (let i = 0; i < head; i++) {
        const hi = nibble(sid.charCodeAt(2 * i));
        const lo = nibble(sid.charCodeAt(2 * i + 1));
        if (hi < 0 || lo < 0 || heads[r + i] !== ((hi << 4) | lo)) return false;
      }
      if (bytes === head) return true;
      const off = tailOff![slot] - HEAD_BYTES;
      for (let i = HEAD_BYTES; i < bytes; i++) {
        const hi = nibble(sid.charCodeAt(2 * i));
        const lo = nibble(sid.charCodeAt(2 * i + 1));
        if (hi < 0 || lo < 0 || arena[off + i] !== ((hi << 4) | lo)) return false;
      }
      return true;
    }
    if (bytes !== sid.length) return false;
    for (let i = 0; i < head; i++) if (heads[r + i] !== sid.charCodeAt(i)) return false;
    if (bytes === head) return true;
    const off = tailOff![slot] - HEAD_BYTES;
    for (let i = HEAD_BYTES; i < bytes; i++) if (arena[off + i] !== sid.charCodeAt(i)) return false;
    return true;
  }

  // The table word of the entry holding sid, or −1.
  function find(sid: string): number {
    const h = hashSid(sid);
    const tag = tagOf(h);
    let line = homeOf(h, lines);
    for (;;) {
      const base = line * LINE_BYTES;
      for (let j = 0; j < PER_LINE; j++) {
        const t = tags[base + j];
        if (t === TAG_EMPTY) return -1;
        if (t === tag) {
          const w = line * LINE_WORDS + SLOT_WORD + j;
          if (equalsAt(table[w], sid)) return w;
        }
      }
      line = line + 1 === lines ? 0 : line + 1;
    }
  }

  function insertSlot(h: number, slot: number): void {
    let line = homeOf(h, lines);
    for (;;) {
      const base = line * LINE_BYTES;
      for (let j = 0; j < PER_LINE; j++) {
        const t = tags[base + j];
        if (t > TAG_DELETED) continue;
        if (t === TAG_DELETED) tombstones--;
        table[line * LINE_WORDS + SLOT_WORD + j] = slot;
        tags[base + j] = tagOf(h);
        used++;
        return;
      }
      line = line + 1 === lines ? 0 : line + 1;
    }
  }

  function rehash(nextLines: number): void {
    const oldTable = table;
    const oldTags = tags;
    const oldLines = lines;
    lines = nextLines;
    table = new Int32Array(lines * LINE_WORDS);
    tags = new Uint8Array(table.buffer);
    used = 0;
    tombstones = 0;
    for (let line = 0; line < oldLines; line++) {
      for (let j = 0; j < PER_LINE; j++) {
        if (oldTags[line * LINE_BYTES + j] <= TAG_DELETED) continue;
        const s = oldTable[line * LINE_WORDS + SLOT_WORD + j];
        insertSlot(hashAt(s), s);
      }
    }
  }

  // Byte i of a sid's stored form: its head in the slot's record, the rest in the arena.
  function byteAt(slot: number, i: number): number {
    return i < HEAD_BYTES ? heads[slot * HEAD_BYTES + i] : arena[tailOff![slot] + i - HEAD_BYTES];
  }

  function writeSid(sid: string, slot: number): void {
    const packed = packable(sid);
    const bytes = packed ? sid.length / 2 : sid.length;
    const r = slot * HEAD_BYTES;
    const tail = bytes - HEAD_BYTES;
    if (tail > 0 && tailOff === undefined) tailOff = new Uint32Array(sidLen.length);
    // reuse the slot's old tail bytes when the new tail fits, else append
    if (tail > 0 && (sidLen[slot] & 0x7f) - HEAD_BYTES < tail) {
      if (arenaUsed + tail > arena.length) {
        const bigger = new Uint8Array(Math.max(arena.length * 2, arenaUsed + tail));
        bigger.set(arena.subarray(0, arenaUsed));
        arena = bigger;
      }
      tailOff![slot] = arenaUsed;
      arenaUsed += tail;
    }
    const off = tail > 0 ? tailOff![slot] - HEAD_BYTES : 0;
    for (let i = 0; i < bytes; i++) {
      const b = packed
        ? (nibble(sid.charCodeAt(2 * i)) << 4) | nibble(sid.charCodeAt(2 * i + 1))
        : sid.charCodeAt(i);
      if (i < HEAD_BYTES) heads[r + i] = b;
      else arena[off + i] = b;
    }
    sidLen[slot] = packed ? bytes | PACKED : bytes;
  }

  // hashSid of the sid stored at slot, from its bytes (rehashing builds no strings)
  function hashAt(slot: number): number {
    const len = sidLen[slot];
    const bytes = len & 0x7f;
    let h = FNV_OFFSET;
    for (let i = 0; i < bytes; i++) {
      const b = byteAt(slot, i);
      if ((len & PACKED) === 0) h = Math.imul(h ^ b, FNV_PRIME);
      else {
        h = Math.imul(h ^ HEX.charCodeAt(b >> 4), FNV_PRIME);
        h = Math.imul(h ^ HEX.charCodeAt(b & 15), FNV_PRIME);
      }
    }
    return fmix32(h);
  }

  function sidAt(slot: number): string {
    const len = sidLen[slot];
    const bytes = len & 0x7f;
    let out = '';
    if ((len & PACKED) === 0) for (let i = 0; i < bytes; i++) out += String.fromCharCode(byteAt(slot, i));
    else
      for (let i = 0; i < bytes; i++) {
        const b = byteAt(slot, i);
        out += HEX[b >> 4] + HEX[b & 15];
      }
    return out;
  }

  return {
    get(sid) {
      const i = find(sid);
      return i < 0 ? -1 : table[i];
    },
    set(sid, slot) {
      // Past the load limit: twice the room the live entries need (or the same room, when deleted
      // entries made up the difference).
      if (used + tombstones + 1 > lines * PER_LINE * MAX_LOAD) rehash(linesFor(2 * (used + 1)));
      writeSid(sid, slot);
      insertSlot(hashSid(sid), slot);
    },
    remove(sid) {
      const w = find(sid);
      if (w < 0) return -1;
      const slot = table[w];
      // the tag of word w: same line, entry (w mod 16) − 4
      tags[(w >> 4) * LINE_BYTES + (w & 15) - SLOT_WORD] = TAG_DELETED;
      used--;
      tombstones++;
      return slot;
    },
    sidAt,
    growSlots(capacity) {
      const h = new Uint8Array(capacity * HEAD_BYTES);
      h.set(heads);
      heads = h;
      const len = new Uint8Array(capacity);
      len.set(sidLen);
      sidLen = len;
      if (tailOff !== undefined) {
        const off = new Uint32Array(capacity);
        off.set(tailOff);
        tailOff = off;
      }
    },
    clear() {
      lines = linesFor(sidLen.length);
      table = new Int32Array(lines * LINE_WORDS);
      tags = new Uint8Array(table.buffer);
      used = 0;
      tombstones = 0;
      heads.fill(0);
      sidLen.fill(0);
      tailOff?.fill(0);
      arenaUsed = 0;
    },
    byteLength() {
      return (
        table.byteLength +
        heads.byteLength +
        sidLen.byteLength +
        (tailOff?.byteLength ?? 0) +
        arena.byteLength
      );
    },
  };
}
