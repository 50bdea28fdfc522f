// sid → number for tens of millions of subscribers without a JS string, Map entry or heap number per
// subscriber: the profile store's open-addressing sid index (sid bytes in one arena, hex pseudonyms
// packed two characters per byte) plus one Float64Array of values. About 28 B per entry, against ~130 B
// for the same entries in V8 Maps (string key, table entry, boxed number), which held a 24 M-subscriber
// consent state to several GB. Sids the index cannot hold (non-ASCII, longer than 64) go to a plain Map.

import { createSidIndex, type SidIndex } from '../segments/sid-index.ts';

/** True when the compact index can store sid byte for byte (printable ASCII, 1–64 characters). */
function compactable(sid: string): boolean {
  const n = sid.length;
  if (n === 0 || n > 64) return false;
  for (let i = 0; i < n; i++) {
    const c = sid.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

export class SidNumberMap {
  private index: SidIndex;
  private values: Float64Array;
  private count = 0;
  // compact entries deleted (their value is NaN; their number is never given to another sid)
  private removed = 0;
  private readonly other = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity);
    this.index = createSidIndex(cap);
    this.values = new Float64Array(cap);
  }

  get(sid: string): number | undefined {
    // The index holds only compactable sids and compares them byte for byte, so any other sid simply
    // is not found there: no separate validation pass on the hot path.
    const slot = this.index.get(sid);
    if (slot >= 0) return this.values[slot];
    return this.other.size === 0 ? undefined : this.other.get(sid);
  }

  /**
   * The compact entry of sid (0, 1, 2, … in insertion order; entries are never removed, so a sid keeps
   * its number for the map's life), or −1 when sid has none (absent, or kept in the fallback Map).
   */
  entryOf(sid: string): number {
    return this.index.get(sid);
  }

  /** Value of compact entry `entry` (from entryOf). */
  valueAt(entry: number): number {
    return this.values[entry];
  }

  /** Value of a sid kept outside the compact entries. */
  otherValue(sid: string): number | undefined {
    return this.other.size === 0 ? undefined : this.other.get(sid);
  }

  has(sid: string): boolean {
    return this.get(sid) !== undefined;
  }

  set(sid: string, value: number): this {
    if (!compactable(sid)) {
      this.other.set(sid, value);
      return this;
    }
    const slot = this.index.get(sid);
    if (slot >= 0) {
      this.values[slot] = value;
      return this;
    }
    if (this.count === this.values.length) this.grow();
    const s = this.count++;
    this.index.set(sid, s);
    this.values[s] = value;
    return this;
  }

  /**
   * Removes sid and returns its value (undefined when absent). A compact entry's number is not reused:
   * its 25 bytes stay allocated until the map is dropped.
   */
  delete(sid: string): number | undefined {
    const slot = this.index.remove(sid);
    if (slot >= 0) {
      const v = this.values[slot];
      this.values[slot] = Number.NaN;
      this.removed++;
      return v;
    }
    if (this.other.size === 0) return undefined;
    const v = this.other.get(sid);
    this.other.delete(sid);
    return v;
  }

  /** Entries held (compact and fallback). */
  get size(): number {
    return this.count - this.removed + this.other.size;
  }

  *entries(): IterableIterator<[string, number]> {
    for (let s = 0; s < this.count; s++) {
      const v = this.values[s];
      if (!Number.isNaN(v)) yield [this.index.sidAt(s), v];
    }
    yield* this.other.entries();
  }

  /** Bytes of the typed arrays (the fallback Map is not counted). */
  byteLength(): number {
    return this.index.byteLength() + this.values.byteLength;
  }

  private grow(): void {
    const cap = this.values.length * 2;
    this.index.growSlots(cap);
    const v = new Float64Array(cap);
    v.set(this.values);
    this.values = v;
  }
}
