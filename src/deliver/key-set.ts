/**
 * The outbox's memory of idempotency keys: 64-bit hashes of the keys with the minute each was taken,
 * in an open-addressing table of typed arrays — ~20 bytes per key where a Map of key strings took
 * ~190. At a contracted 200 SMS/s and two days of retention that is ~35 M keys: 0.7 GB instead of
 * 6.6 GB. Two different keys share a hash with probability ~n / 2⁶⁴ per lookup (one in ~5·10¹¹ at
 * 35 M keys); the cost of such a collision is one message not sent, never one sent twice.
 */

/** Two independent 32-bit hashes of a key (FNV-1a with different bases, murmur3's finaliser). */
export function keyHash(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [fmix(a) >>> 0, fmix(b ^ key.length) >>> 0];
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The 16-hex-digit form journaled by compaction. */
export function hashHex(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

export function parseHashHex(hex: string): [number, number] | undefined {
  if (!/^[0-9a-f]{16}$/.test(hex)) return undefined;
  return [Number.parseInt(hex.slice(0, 8), 16), Number.parseInt(hex.slice(8), 16)];
}

// Entry states in `mins`: 0 empty, 1 deleted; a live entry holds its minute + 2.
const EMPTY = 0;
const DELETED = 1;
const MAX_LOAD = 0.6;

export class KeySet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mins: Uint32Array;
  private mask: number;
  private live = 0;
  private used = 0;

  constructor(expected = 1024) {
    let cap = 16;
    while (cap * MAX_LOAD < expected) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.mins = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.live;
  }

  /** Bytes held by the table. */
  get byteLength(): number {
    return this.hi.byteLength * 3;
  }

  private find(hi: number, lo: number): number {
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
    for (;;) {
      const m = this.mins[i];
      if (m === EMPTY) return -1 - i;
      if (m !== DELETED && this.hi[i] === hi && this.lo[i] === lo) return i;
      i = (i + 1) & this.mask;
    }
  }

  hasHash(hi: number, lo: number): boolean {
    return this.find(hi, lo) >= 0;
  }

  has(key: string): boolean {
    const [hi, lo] = keyHash(key);
    return this.find(hi, lo) >= 0;
  }

  /** Records a key taken at `tsMs` (a later time replaces an earlier one). */
  add(key: string, tsMs: number): void {
    const [hi, lo] = keyHash(key);
    this.addHash(hi, lo, tsMs);
  }

  addHash(hi: number, lo: number, tsMs: number): void {
    const minute = Math.max(0, Math.floor(tsMs / 60_000)) + 2;
    const at = this.find(hi, lo);
    if (at >= 0) {
      if (minute > this.mins[at]) this.mins[at] = minute;
      return;
    }
    if (this.used + 1 > this.mins.length * MAX_LOAD) {
      this.rehash(
        this.live + 1 > this.mins.length * MAX_LOAD * 0.5 ? this.mins.length * 2 : this.mins.length,
      );
      this.addHash(hi, lo, tsMs);
      return;
    }
    const i = -1 - at;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.mins[i] = minute;
    this.live++;
    this.used++;
  }

  delete(key: string): boolean {
    const [hi, lo] = keyHash(key);
    const at = this.find(hi, lo);
    if (at < 0) return false;
    this.mins[at] = DELETED;
    this.live--;
    return true;
  }

  /** Forgets keys taken before `cutoffMs`; returns how many. */
  purge(cutoffMs: number): number {
    const cut = Math.floor(cutoffMs / 60_000) + 2;
    let n = 0;
    for (let i = 0; i < this.mins.length; i++) {
      const m = this.mins[i];
      if (m > DELETED && m < cut) {
        this.mins[i] = DELETED;
        n++;
      }
    }
    this.live -= n;
    if (n > 0) this.rehash(this.mins.length);
    return n;
  }

  /** Calls `fn` for every live key hash with its time (ms, to the minute). */
  forEach(fn: (hi: number, lo: number, tsMs: number) => void): void {
    for (let i = 0; i < this.mins.length; i++) {
      const m = this.mins[i];
      if (m > DELETED) fn(this.hi[i], this.lo[i], (m - 2) * 60_000);
    }
  }

  private rehash(capacity: number): void {
    let cap = 16;
    while (cap < capacity || cap * MAX_LOAD < this.live + 1) cap *= 2;
    const { hi, lo, mins } = this;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.mins = new Uint32Array(cap);
    this.mask = cap - 1;
    this.live = 0;
    this.used = 0;
    for (let i = 0; i < mins.length; i++) {
      if (mins[i] <= DELETED) continue;
      const at = -1 - this.find(hi[i], lo[i]);
      this.hi[at] = hi[i];
      this.lo[at] = lo[i];
      this.mins[at] = mins[i];
      this.live++;
      this.used++;
    }
  }
}
