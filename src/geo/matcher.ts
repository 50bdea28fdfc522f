import { buildFenceIndex, type FenceIndex, type FenceIndexOptions, fenceNear } from './fence-index.ts';
import type { Fence, Matcher } from './types.ts';

export interface GeoMatcher extends Matcher {
  snapshot(): FenceIndex;
}

/**
 * The live matcher: readers always see one complete immutable snapshot; every change builds a new
 * snapshot off to the side and swaps it in with a single assignment.
 */
export function createMatcher(
  opts: { fences?: readonly Fence[]; index?: FenceIndexOptions } = {},
): GeoMatcher {
  let current = buildFenceIndex(opts.fences ?? [], 1, opts.index);
  let scratch = new Int32Array(Math.max(64, current.fences.length));

  const swap = (fences: readonly Fence[]) => {
    const next = buildFenceIndex(fences, current.version + 1, opts.index);
    if (scratch.length < fences.length) scratch = new Int32Array(fences.length);
    current = next;
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
      swap([...fences]);
    },
    upsert(fences: readonly Fence[]): void {
      if (fences.length === 0) return;
      const replaced = new Map(fences.map((f) => [f.props.id, f]));
      const next: Fence[] = [];
      for (const f of current.fences) {
        const r = replaced.get(f.props.id);
        if (r) {
          next.push(r);
          replaced.delete(f.props.id);
        } else next.push(f);
      }
      for (const f of replaced.values()) next.push(f);
      swap(next);
    },
    remove(ids: readonly string[]): void {
      const gone = new Set(ids);
      const next = current.fences.filter((f) => !gone.has(f.props.id));
      if (next.length !== current.fences.length) swap(next);
    },
    get size() {
      return current.fences.length;
    },
  };
}
