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

/** createMatcher with `lazyIndex`: the fence list changes in place of ids; indexes only on demand. */
function createLazyMatcher(opts: MatcherOptions): GeoMatcher {
  let current = lazySnapshot(1, [...(opts.fences ?? EMPTY)], opts.index);
  let scratch = new Int32Array(64);
  const publish = (fences: readonly Fence[]) => {
    current = lazySnapshot(current.version + 1, fences, opts.index);
  };
  return {
    match(lon: number, lat: number, accM: number): Fence[] {
      const snap = current;
      if (scratch.length < snap.fences.length) scratch = new Int32Array(snap.fences.length);
      const n = snap.matchInto(lon, lat, accM, scratch);
      const out: Fence[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = snap.fences[scratch[i]];
      return out;
    },
    matchInto: (lon, lat, accM, out) => current.matchInto(lon, lat, accM, out),
    near: fenceNear,
    snapshot: () => current,
    get(id: string): Fence | undefined {
      const slot = current.slotOf(id);
      return slot < 0 ? undefined : current.fences[slot];
    },
    replaceAll(fences: readonly Fence[]): void {
      publish([...fences]);
      opts.onChange?.({ op: 'replace', fences });
    },
    upsert(fences: readonly Fence[]): void {
      if (fences.length === 0) return;
      const next = [...current.fences];
      const fresh = new Map<string, Fence>();
      for (const f of fences) fresh.set(f.props.id, f);
      for (let i = 0; i < next.length; i++) {
        const f = fresh.get(next[i].props.id);
        if (f !== undefined) {
          next[i] = f;
          fresh.delete(f.props.id);
        }
      }
      for (const f of fresh.values()) next.push(f);
      publish(next);
      opts.onChange?.({ op: 'upsert', fences });
    },
    remove(ids: readonly string[]): void {
      if (!ids.some((id) => current.slotOf(id) >= 0)) return;
      const gone = new Set(ids);
      publish(current.fences.filter((f) => !gone.has(f.props.id)));
      opts.onChange?.({ op: 'remove', ids });
    },
    get size() {
      return current.fences.length;
    },
  };
}

/**
 * The live matcher: readers always see one complete immutable snapshot. A change builds a new small
 * delta index next to the unchanged base (tombstoning replaced or removed base fences) and swaps the
 * composed snapshot in with one assignment; when the delta grows large the base is rebuilt.
 */
export function createMatcher(opts: MatcherOptions = {}): GeoMatcher {
  if (opts.lazyIndex) return createLazyMatcher(opts);
  const maxDelta = opts.maxDelta ?? 2000;
  let base = buildFenceIndex(opts.fences ?? EMPTY, 1, opts.index);
  let removed = new Uint8Array(base.fences.length);
  let delta = buildFenceIndex(EMPTY, 1, opts.index);
  let current = composeSnapshot(1, base, removed, delta);
  let scratch = new Int32Array(Math.max(64, current.fences.length));

  const publish = () => {
    if (scratch.length < current.fences.length) scratch = new Int32Array(current.fences.length);
  };
  const rebuild = (fences: readonly Fence[]) => {
    const version = current.version + 1;
    base = buildFenceIndex(fences, version, opts.index);
    removed = new Uint8Array(base.fences.length);
    delta = buildFenceIndex(EMPTY, version, opts.index);
    current = composeSnapshot(version, base, removed, delta);
    publish();
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
    publish();
  };

  return {
    match(lon: number, lat: number, accM: number): Fence[] {
      const snap = current;
      const n = snap.matchInto(lon, lat, accM, scratch);
      const out: Fence[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = snap.fences[scratch[i]];
      return out;
    },
    matchInto(lon: number, lat: number, accM: number, out: Int32Array): number {
      return current.matchInto(lon, lat, accM, out);
    },
    near: fenceNear,
    snapshot: () => current,
    get(id: string): Fence | undefined {
      const slot = current.slotOf(id);
      return slot < 0 ? undefined : current.fences[slot];
    },
    replaceAll(fences: readonly Fence[]): void {
      rebuild([...fences]);
      opts.onChange?.({ op: 'replace', fences });
    },
    upsert(fences: readonly Fence[]): void {
      if (fences.length === 0) return;
      change(fences, []);
      opts.onChange?.({ op: 'upsert', fences });
    },
    remove(ids: readonly string[]): void {
      if (!ids.some((id) => current.slotOf(id) >= 0)) return;
      change([], ids);
      opts.onChange?.({ op: 'remove', ids });
    },
    get size() {
      return current.fences.length;
    },
  };
}
