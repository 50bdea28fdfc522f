const HOUR_MS = 3_600_000;

// History blocks in one Float64Array pool: word 0 = entries × 16 + size class, then the entries as
// [decision time ms, campaign key × 4 + kind] pairs, oldest first. Class c holds 8 << c words, so
// the common short history (up to 3 entries) is one 64-byte line.
const CLASS_BITS = 16;

/** Words of a block of size class c. */
const blockWords = (c: number): number => 8 << c;
/** Entries a block of size class c can hold. */
const blockEntries = (c: number): number => ((8 << c) - 1) >>> 1;

/** Number of entries of the history block at `off` in `pool`. */
export const historyLength = (pool: Float64Array, off: number): number => Math.floor(pool[off] / CLASS_BITS);
/** Decision time of entry i (0 = oldest) of the block at `off`. */
export const entryTime = (pool: Float64Array, off: number, i: number): number => pool[off + 1 + 2 * i];
/** Campaign key of entry i of the block at `off`. */
export const entryCampaign = (pool: Float64Array, off: number, i: number): number =>
  pool[off + 2 + 2 * i] >>> 2;
/** Kind of entry i of the block at `off`: 1 sent, 2 holdout. */
export const entryKind = (pool: Float64Array, off: number, i: number): number => pool[off + 2 + 2 * i] & 3;

/** Per-campaign budget state, kept across campaign reloads. */
export interface BudgetState {
  spentTotal: number;
  day: number;
  spentDay: number;
  sent: number;
}

/**
 * Counters of sends per subscriber, per campaign and per tenant; rebuilt from decisions at start-up.
 *
 * A subscriber's recent marketing history (sends and holdouts; holdouts count toward the campaign's own
 * caps, not the global ones) is a block in one Float64Array pool, pruned past the retention. It is
 * found by the subscriber's `entry`: a number the caller keeps for that sid for the life of the
 * counters or until `release` (the consent engine's entryOf: the profile slot), so the per-event path
 * reads one Int32Array element instead of hashing the sid again; sids without one (−1) are kept in a Map
 * by sid and moved over when they get one.
 */
export interface Counters {
  /** Offset in `pool` of sid's history block, or −1 when there is none. */
  historyOf(sid: string, entry: number): number;
  /** The pool history offsets point into; replaced when it grows (read it again after `record`). */
  readonly pool: Float64Array;
  record(sid: string, entry: number, campKey: number, kind: 1 | 2, tsMs: number): void;
  /**
   * sid gives up `entry` (its profile left the slot the entry stands for): its history is kept by sid
   * until it is looked up with an entry again, so the entry's next holder starts without it.
   */
  release(entry: number, sid: string): void;
  /** The campaign's budget state: the same object for a campaign id for the life of the counters. */
  budget(campaignId: string): BudgetState;
  tenantSent(tenant: string): number;
  addTenantSent(tenant: string): void;
  /** Drops histories whose newest entry is older than retentionMs before nowMs (call now and then). */
  prune(nowMs: number): number;
  setRetention(ms: number): void;
  readonly subscribers: number;
}

export function createCounters(retentionMs = 8 * 24 * HOUR_MS): Counters {
  // heads[entry] = block offset + 1 (0 = no history)
  let heads = new Int32Array(1024);
  const bySid = new Map<string, number>();
  let pool = new Float64Array(8 * 1024);
  let poolUsed = 0;
  // Freed blocks by size class (a class list is created when a block of that class is first freed).
  const free: number[][] = [];
  let live = 0;
  const budgets = new Map<string, BudgetState>();
  const tenants = new Map<string, number>();
  let retention = retentionMs;

  const alloc = (c: number): number => {
    const list = free[c];
    if (list !== undefined && list.length > 0) return list.pop()!;
    const words = blockWords(c);
    if (poolUsed + words > pool.length) {
      let size = pool.length * 2;
      while (size < poolUsed + words) size *= 2;
      const next = new Float64Array(size);
      next.set(pool.subarray(0, poolUsed));
      pool = next;
    }
    const off = poolUsed;
    poolUsed += words;
    return off;
  };

  const release = (off: number) => {
    const c = pool[off] % CLASS_BITS;
    while (free.length <= c) free.push([]);
    free[c].push(off);
  };

  // A block of the smallest class holding n entries, its header set to n (the caller writes the entries).
  const blockFor = (n: number): number => {
    let c = 0;
    while (blockEntries(c) < n) c++;
    // the header keeps the class below CLASS_BITS: 131,071 entries within the retention at most
    if (c >= CLASS_BITS) throw new RangeError(`a subscriber history of ${n} entries`);
    const off = alloc(c);
    pool[off] = n * CLASS_BITS + c;
    return off;
  };

  const setHead = (sid: string, entry: number, off: number) => {
    if (entry < 0) {
      if (off < 0) bySid.delete(sid);
      else bySid.set(sid, off);
      return;
    }
    if (entry >= heads.length) {
      let size = heads.length * 2;
      while (size <= entry) size *= 2;
      const next = new Int32Array(size);
      next.set(heads);
      heads = next;
    }
    heads[entry] = off + 1;
  };

  // Moves a history kept by sid (recorded before sid had an entry) under its entry, merged by time.
  const adopt = (sid: string, entry: number): void => {
    const old = bySid.get(sid);
    if (old === undefined) return;
    bySid.delete(sid);
    const cur = entry < heads.length ? heads[entry] - 1 : -1;
    if (cur < 0) {
      setHead(sid, entry, old);
      return;
    }
    const a = historyLength(pool, old);
    const b = historyLength(pool, cur);
    const merged = blockFor(a + b);
    for (let i = 0, j = 0, k = 0; k < a + b; k++) {
      const fromA = j >= b || (i < a && entryTime(pool, old, i) <= entryTime(pool, cur, j));
      const src = fromA ? old + 1 + 2 * i++ : cur + 1 + 2 * j++;
      pool[merged + 1 + 2 * k] = pool[src];
      pool[merged + 2 + 2 * k] = pool[src + 1];
    }
    release(old);
    release(cur);
    live--;
    setHead(sid, entry, merged);
  };

  const historyOf = (sid: string, entry: number): number => {
    if (entry < 0) return bySid.size === 0 ? -1 : (bySid.get(sid) ?? -1);
    if (bySid.size !== 0) adopt(sid, entry);
    return entry < heads.length ? heads[entry] - 1 : -1;
  };

  return {
    historyOf,
    release(entry, sid) {
      const off = entry < heads.length ? heads[entry] - 1 : -1;
      if (off < 0) return;
      heads[entry] = 0;
      const kept = bySid.get(sid);
      bySid.set(sid, off);
      if (kept === undefined) return;
      // sid already had a history by sid (recorded while it had no entry): merge the two under the
      // entry, then keep the result by sid again
      setHead(sid, entry, kept);
      adopt(sid, entry);
      bySid.set(sid, heads[entry] - 1);
      heads[entry] = 0;
    },
    get pool() {
      return pool;
    },
    record(sid, entry, campKey, kind, tsMs) {
      let off = historyOf(sid, entry);
      if (off < 0) {
        off = blockFor(1);
        pool[off + 1] = tsMs;
        pool[off + 2] = campKey * 4 + kind;
        live++;
        setHead(sid, entry, off);
        return;
      }
      let n = historyLength(pool, off);
      const c = pool[off] % CLASS_BITS;
      // Drop expired entries while we are here: histories stay short without a full sweep.
      let k = 0;
      while (k < n && tsMs - entryTime(pool, off, k) > retention) k++;
      if (k > 0) {
        pool.copyWithin(off + 1, off + 1 + 2 * k, off + 1 + 2 * n);
        n -= k;
      }
      if (n === blockEntries(c)) {
        const next = blockFor(n + 1);
        pool.copyWithin(next + 1, off + 1, off + 1 + 2 * n);
        release(off);
        off = next;
        setHead(sid, entry, off);
      }
      pool[off + 1 + 2 * n] = tsMs;
      pool[off + 2 + 2 * n] = campKey * 4 + kind;
      pool[off] = (n + 1) * CLASS_BITS + (pool[off] % CLASS_BITS);
    },
    budget(campaignId) {
      let b = budgets.get(campaignId);
      if (!b) {
        b = { spentTotal: 0, day: -1, spentDay: 0, sent: 0 };
        budgets.set(campaignId, b);
      }
      return b;
    },
    tenantSent: (tenant) => tenants.get(tenant) ?? 0,
    addTenantSent(tenant) {
      tenants.set(tenant, (tenants.get(tenant) ?? 0) + 1);
    },
    prune(nowMs) {
      let removed = 0;
      const stale = (off: number): boolean => {
        const n = historyLength(pool, off);
        return n === 0 || nowMs - entryTime(pool, off, n - 1) > retention;
      };
      for (let e = 0; e < heads.length; e++) {
        const off = heads[e] - 1;
        if (off >= 0 && stale(off)) {
          release(off);
          heads[e] = 0;
          removed++;
        }
      }
      for (const [sid, off] of bySid) {
        if (stale(off)) {
          release(off);
          bySid.delete(sid);
          removed++;
        }
      }
      live -= removed;
      return removed;
    },
    setRetention(ms) {
      retention = ms;
    },
    get subscribers() {
      return live;
    },
  };
}
