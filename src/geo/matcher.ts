import { buildFenceIndex, type FenceIndex, type FenceIndexOptions, fenceNear } from './fence-index.ts';
import type { FenceChange } from './fence-transfer.ts';
import type { BBox, Fence, FenceSnapshot, Matcher } from './types.ts';

/** What readers use: a complete, immutable view of the fences at one version. */
export interface MatchSnapshot extends FenceSnapshot {
  matchInto(lon: number, lat: number, accM: number, out: Int32Array): number;
  covers(slot: number, lon: number, lat: number): boolean;
  search(bbox: BBox): number[];
  slotOf(id: string): number;
  readonly base: FenceIndex;
  readonly delta: FenceIndex;
}

export interface GeoMatcher extends Matcher {
  snapshot(): MatchSnapshot;
}

export interface MatcherOptions {
  fences?: readonly Fence[];
  index?: FenceIndexOptions;
  /** Changes accumulate in a small delta index; past this many fences the base is rebuilt. */
  maxDelta?: number;
  /** Hears every applied change, in order (an ingest worker keeps its own matcher in step with it). */
  onChange?: (change: FenceChange) => void;
  /**
   * Builds the spatial index only when something first matches against a snapshot. For a thread that
   * keeps the fence registry but leaves matching to another (the main thread while the ingest worker
   * matches): it then never holds an index (~0.7 KB per fence) nor spends the builds.
   */
  lazyIndex?: boolean;
}

const EMPTY: readonly Fence[] = [];

function composeSnapshot(
  version: number,
  base: FenceIndex,
  removed: Uint8Array,
  delta: FenceIndex,
): MatchSnapshot {
  const nb = base.fences.length;
  const fences: Fence[] = [];
  const liveBase: number[] = [];
  for (let s = 0; s < nb; s++) if (removed[s] === 0) liveBase.push(s);
  // Snapshot slots: live base fences first, then the delta's.
  const baseToSnap = new Int32Array(nb).fill(-1);
  for (const s of liveBase) {
    baseToSnap[s] = fences.length;
    fences.push(base.fences[s]);
  }
  const deltaOffset = fences.length;
  for (const f of delta.fences) fences.push(f);
  const anyRemoved = liveBase.length !== nb;
  const byId = new Map<string, number>();
  for (let i = 0; i < fences.length; i++) byId.set(fences[i]!.props.id, i);
  return {
    version,
    fences,
    base,
    delta,
    matchInto(lon, lat, accM, out) {
      let n = base.matchInto(lon, lat, accM, out);
      if (anyRemoved || deltaOffset !== nb) {
        let k = 0;
        for (let i = 0; i < n; i++) {
          const s = baseToSnap[out[i]];
          if (s >= 0) out[k++] = s;
        }
        n = k;
      }
      if (delta.fences.length === 0 || n >= out.length) return n;
      const m = delta.matchInto(lon, lat, accM, out.subarray(n));
      for (let i = n; i < n + m; i++) out[i] += deltaOffset;
      return n + m;
    },
    covers(slot, lon, lat) {
      if (slot >= deltaOffset) return delta.covers(slot - deltaOffset, lon, lat);
      return base.covers(base.slotOf(fences[slot].props.id), lon, lat);
    },
    search(bbox) {
      const out: number[] = [];
      for (const s of base.search(bbox)) if (baseToSnap[s] >= 0) out.push(baseToSnap[s]);
      for (const s of delta.search(bbox)) out.push(s + deltaOffset);
      return out;
    },
    slotOf(id) {
      return byId.get(id) ?? -1;
    },
  };
}

/** A snapshot whose index is built on first use; its slots are the positions in `fences`. */
function lazySnapshot(version: number, fences: readonly Fence[], index?: FenceIndexOptions): MatchSnapshot {
  const byId = new Map<string, number>();
  for (let i = 0; i < fences.length; i++) byId.set(fences[i]!.props.id, i);
  let built: MatchSnapshot | undefined;
  // One base over `fences` in order, nothing removed, no delta: index slot = position in `fences`.
  const ensure = (): MatchSnapshot =>
    (built ??= composeSnapshot(
      version,
      buildFenceIndex(fences, version, index),
      new Uint8Array(fences.length),
      buildFenceIndex(EMPTY, version, index),
    ));
  return {
    version,
    fences,
    matchInto: (lon, lat, accM, out) => ensure().matchInto(lon, lat, accM, out),
    covers: (slot, lon, lat) => ensure().covers(slot, lon, lat),
    search: (bbox) => ensure().search(bbox),
    slotOf: (id) => byId.get(id) ?? -1,
    get base() {
      return ensure().base;
    },
    get delta() {
      return ensure().delta;
    },
  };
}

/** How a matcher turns changes into its next snapshot (the two kinds below share everything else). */
interface SnapshotSource {
  current(): MatchSnapshot;
  replace(fences: readonly Fence[]): void;
  change(upserts: readonly Fence[], removals: readonly string[]): void;
}

/** The Matcher API over a snapshot source: reads go to the current snapshot, changes are forwarded. */
function matcherOver(src: SnapshotSource, opts: MatcherOptions): GeoMatcher {
  let scratch = new Int32Array(64);
  return {
    match(lon: number, lat: number, accM: number): Fence[] {
      const snap = src.current();
      if (scratch.length < snap.fences.length) scratch = new Int32Array(snap.fences.length);
      const n = snap.matchInto(lon, lat, accM, scratch);
      const out: Fence[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = snap.fences[scratch[i]];
      return out;
    },
    matchInto: (lon, lat, accM, out) => src.current().matchInto(lon, lat, accM, out),
    near: fenceNear,
    snapshot: () => src.current(),
    get(id: string): Fence | undefined {
      const snap = src.current();
      const slot = snap.slotOf(id);
      return slot < 0 ? undefined : snap.fences[slot];
    },
    replaceAll(fences: readonly Fence[]): void {
      src.replace([...fences]);
      opts.onChange?.({ op: 'replace', fences });
    },
    upsert(fences: readonly Fence[]): void {
      if (fences.length === 0) return;
      src.change(fences, []);
      opts.onChange?.({ op: 'upsert', fences });
    },
    remove(ids: readonly string[]): void {
      const snap = src.current();
      if (!ids.some((id) => snap.slotOf(id) >= 0)) return;
      src.change([], ids);
      opts.onChange?.({ op: 'remove', ids });
    },
    get size() {
      return src.current().fences.length;
    },
  };
}

/** With `lazyIndex`: the fence list changes in place of ids; each snapshot indexes only on demand. */
function lazySource(opts: MatcherOptions): SnapshotSource {
  let current = lazySnapshot(1, [...(opts.fences ?? EMPTY)], opts.index);
  const publish = (fences: readonly Fence[]) => {
    current = lazySnapshot(current.version + 1, fences, opts.index);
  };
  return {
    current: () => current,
    replace: publish,
    change(upserts, removals) {
      const gone = new Set(removals);
      const fresh = new Map<string, Fence>();
      for (const f of upserts) fresh.set(f.props.id, f);
      const next: Fence[] = [];
      for (const f of current.fences) {
        if (gone.has(f.props.id)) continue;
        const g = fresh.get(f.props.id);
        next.push(g ?? f);
        fresh.delete(f.props.id);
      }
      for (const f of fresh.values()) next.push(f);
      publish(next);
    },
  };
}

/**
 * The live matcher: readers always see one complete immutable snapshot. A change builds a new small
 * delta index next to the unchanged base (tombstoning replaced or removed base fences) and swaps the
 * composed snapshot in with one assignment; when the delta grows large the base is rebuilt.
 */
export function createMatcher(opts: MatcherOptions = {}): GeoMatcher {
  return matcherOver(opts.lazyIndex ? lazySource(opts) : deltaSource(opts), opts);
}

/** Base index plus a small delta index; the base is rebuilt when the delta grows past `maxDelta`. */
function deltaSource(opts: MatcherOptions): SnapshotSource {
  const maxDelta = opts.maxDelta ?? 2000;
  let base = buildFenceIndex(opts.fences ?? EMPTY, 1, opts.index);
  let removed = new Uint8Array(base.fences.length);
  let delta = buildFenceIndex(EMPTY, 1, opts.index);
  let current = composeSnapshot(1, base, removed, delta);
  const rebuild = (fences: readonly Fence[]) => {
    const version = current.version + 1;
    base = buildFenceIndex(fences, version, opts.index);
    removed = new Uint8Array(base.fences.length);
    delta = buildFenceIndex(EMPTY, version, opts.index);
    current = composeSnapshot(version, base, removed, delta);
  };
  const change = (upserts: readonly Fence[], removals: readonly string[]) => {
    const gone = new Set(removals);
    for (const f of upserts) gone.add(f.props.id);
    const nextRemoved = removed.slice();
    for (const id of gone) {
      const s = base.slotOf(id);
      if (s >= 0) nextRemoved[s] = 1;
    }
    const replaced = new Map(upserts.map((f) => [f.props.id, f]));
    const nextDelta = delta.fences.filter((f) => !gone.has(f.props.id));
    for (const f of replaced.values()) nextDelta.push(f);
    if (nextDelta.length > maxDelta) {
      const all = [...base.fences.filter((_, s) => nextRemoved[s] === 0), ...nextDelta];
      rebuild(all);
      return;
    }
    const version = current.version + 1;
    removed = nextRemoved;
    delta = buildFenceIndex(nextDelta, version, opts.index);
    current = composeSnapshot(version, base, removed, delta);
  };

  return { current: () => current, replace: rebuild, change };
}
