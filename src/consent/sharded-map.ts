// A string-keyed map split over several V8 Maps. One V8 Map holds at most 2^24 (16,777,216) entries
// and throws "Map maximum size exceeded" beyond; a national operator's consent state (one entry per
// subscriber, tens of millions) needs more. Shards are picked by a cheap hash of the key.

const MAX_PER_MAP = 1 << 24;

export class ShardedMap<V> {
  private readonly shards: Map<string, V>[];
  private readonly mask: number;

  /** `shards` is rounded up to a power of two; 16 shards hold up to ~268 M entries. */
  constructor(shards = 16) {
    let n = 1;
    while (n < shards) n <<= 1;
    this.shards = Array.from({ length: n }, () => new Map<string, V>());
    this.mask = n - 1;
  }

  private shard(key: string): Map<string, V> {
    // FNV-1a over the last (up to) 8 UTF-16 units: pseudonyms differ most at the end.
    let h = 0x811c9dc5;
    for (let i = Math.max(0, key.length - 8); i < key.length; i++) {
      h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    }
    return this.shards[(h ^ (h >>> 15)) & this.mask];
  }

  get(key: string): V | undefined {
    return this.shard(key).get(key);
  }

  has(key: string): boolean {
    return this.shard(key).has(key);
  }

  set(key: string, value: V): this {
    const m = this.shard(key);
    if (m.size >= MAX_PER_MAP && !m.has(key)) {
      throw new RangeError(`ShardedMap: a shard is full (${MAX_PER_MAP} entries); use more shards`);
    }
    m.set(key, value);
    return this;
  }

  delete(key: string): boolean {
    return this.shard(key).delete(key);
  }

  clear(): void {
    for (const m of this.shards) m.clear();
  }

  get size(): number {
    let n = 0;
    for (const m of this.shards) n += m.size;
    return n;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const m of this.shards) yield* m.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}
