// The presence tracker as it was with one object per subscriber and per visit (before the state moved
// into columns): the reference the property test compares the tracker against.
import type { Fence, FenceSnapshot } from '../../../src/geo/index.ts';
import type { PresenceOptions } from '../../../src/presence/options.ts';
import type { ExitCause, PresenceSink } from '../../../src/presence/types.ts';

/** `inside`: a visit that fired enter. `present`: inside since before the fence existed (no events). */
type VisitState = 'inside' | 'present' | 'exited';

interface Visit {
  fenceId: string;
  /** The fence as of snapshot `version` (re-resolved by id when the snapshot changes). */
  fence: Fence;
  version: number;
  state: VisitState;
  enterTs: number;
  lastInsideTs: number;
  /** Index of the next dwell threshold to fire. */
  dwellIdx: number;
  /** Exited visits stay as tombstones for the late tolerance, so a reordered older ping cannot re-enter. */
  exitTs: number;
  /** Start of the hour this visit was last reported to footfall in. */
  hour: number;
}

const HOUR_MS = 3_600_000;

interface Subscriber {
  lastTs: number;
  lastLon: number;
  lastLat: number;
  visits: Visit[];
}

export interface PresenceStats {
  /** Subscribers with state (inside or near a fence, or recently so). */
  tracked: number;
  /** Open visits (inside or present-before-creation). */
  visits: number;
  late: number;
  duplicate: number;
  enter: number;
  dwell: number;
  exit: number;
  evicted: number;
}

/** The per-(subscriber, fence) enter / dwell / exit state machine. Pure and synchronous: time comes in. */
export interface PresenceTracker {
  /**
   * Feeds one ping with the fences covering it (`slots[0..count)` index `snapshot.fences`). Events go to
   * the sink before this returns.
   */
  observe(
    sid: string,
    lon: number,
    lat: number,
    accM: number,
    tsMs: number,
    snapshot: FenceSnapshot,
    slots: Int32Array,
    count: number,
  ): void;
  /**
   * Ends visits that had no ping inside for the exit timeout and forgets idle subscribers, as of
   * `watermarkMs` (event time: the newest ping seen). Returns how many subscribers were forgotten.
   */
  sweep(watermarkMs: number): number;
  /** Newest event time seen (ms), or -Infinity. */
  readonly watermarkMs: number;
  readonly size: number;
  stats(): PresenceStats;
}

export interface PresenceTrackerDeps {
  options: PresenceOptions;
  sink: PresenceSink;
  /** True when (lon, lat) lies within bufferM metres of the fence (the matcher's `near`). */
  near(fence: Fence, lon: number, lat: number, bufferM: number): boolean;
  /**
   * Footfall: called once per open visit per hour of event time in which the subscriber is seen inside
   * (and again if they leave and return within the hour: the store's distinct count absorbs that).
   */
  onPresentHour?(sid: string, fence: Fence, tsMs: number): void;
  /** Shared by the trackers of one process (one per partition), so a fence change is diffed once. */
  fenceLog?: FenceLog;
}

/** Which fences exist (by id) and when each fence added after the first snapshot appeared. */
export interface FenceLog {
  /** Brings the log up to `snap` (a no-op when already there); returns id → fence. */
  sync(snap: FenceSnapshot, watermarkMs: number): ReadonlyMap<string, Fence>;
  /** Event time at which the fence appeared, or undefined for fences present from the start. */
  addedAt(id: string): number | undefined;
  /** Forgets additions older than `beforeMs`. */
  prune(beforeMs: number): void;
}

/** Creates a fence log; pass one to every tracker of a process. */
export function createFenceLog(): FenceLog {
  let version = -1;
  let byId = new Map<string, Fence>();
  let started = false;
  const added = new Map<string, number>();
  return {
    sync(snap, watermarkMs) {
      if (snap.version === version) return byId;
      version = snap.version;
      const next = new Map<string, Fence>();
      for (const f of snap.fences) {
        next.set(f.props.id, f);
        if (started && !byId.has(f.props.id)) added.set(f.props.id, watermarkMs);
      }
      byId = next;
      started = true;
      return byId;
    },
    addedAt: (id) => added.get(id),
    prune(beforeMs) {
      for (const [id, at] of added) if (at < beforeMs) added.delete(id);
    },
  };
}

/**
 * Creates a presence tracker. State exists only for subscribers seen inside a fence, kept while a visit
 * is open and for `stateTtlMs` after their last ping; `sweep` bounds it.
 */
export function createReferenceTracker(deps: PresenceTrackerDeps): PresenceTracker {
  const { options: o, sink, near, onPresentHour } = deps;
  const thresholds = o.dwellMs;
  const subs = new Map<string, Subscriber>();
  const s = { late: 0, duplicate: 0, enter: 0, dwell: 0, exit: 0, evicted: 0 };
  let watermark = Number.NEGATIVE_INFINITY;
  const fenceLog = deps.fenceLog ?? createFenceLog();
  let byId: ReadonlyMap<string, Fence> = new Map();
  let snapVersion = -1;
  const addedAt = (id: string) => fenceLog.addedAt(id);

  const onSnapshot = (snap: FenceSnapshot) => {
    snapVersion = snap.version;
    byId = fenceLog.sync(snap, watermark);
  };

  const exit = (sid: string, v: Visit, tsMs: number, cause: ExitCause) => {
    if (v.state === 'inside') {
      s.exit++;
      sink.onEvent({
        kind: 'exit',
        sid,
        fenceId: v.fenceId,
        tsMs,
        dwellMs: v.lastInsideTs - v.enterTs,
        cause,
      });
    }
    v.state = 'exited';
    v.exitTs = tsMs;
  };

  const fireDwell = (sid: string, v: Visit, tsMs: number) => {
    const inside = tsMs - v.enterTs;
    while (v.dwellIdx < thresholds.length && inside >= thresholds[v.dwellIdx]) {
      s.dwell++;
      sink.onEvent({
        kind: 'dwell',
        sid,
        fenceId: v.fenceId,
        tsMs,
        dwellMs: inside,
        thresholdMs: thresholds[v.dwellIdx],
      });
      v.dwellIdx++;
    }
  };

  // `fence` is the current snapshot's object for its id (see Visit.version), so identity is enough.
  const isMatched = (fence: Fence, fences: readonly Fence[], slots: Int32Array, count: number) => {
    for (let i = 0; i < count; i++) if (fences[slots[i]] === fence) return true;
    return false;
  };

  /** Under the `suppress` policy: was this subscriber there before the fence existed? */
  const presentBefore = (fence: Fence, tsMs: number, prevTs: number, prevLon: number, prevLat: number) => {
    if (o.newFencePolicy !== 'suppress') return false;
    const added = addedAt(fence.props.id);
    if (added === undefined) return false;
    // Nothing known from before this ping: presume they were there if it comes soon after creation.
    if (prevTs === Number.NEGATIVE_INFINITY) return tsMs < added + o.newFenceGraceMs;
    return prevTs <= added && near(fence, prevLon, prevLat, 0);
  };

  return {
    observe(sid, lon, lat, accM, tsMs, snapshot, slots, count) {
      let st = subs.get(sid);
      // Hot path: most pings are far from every fence and from every tracked visit.
      if (count === 0 && st === undefined) {
        if (tsMs > watermark) watermark = tsMs;
        return;
      }
      if (snapshot.version !== snapVersion) onSnapshot(snapshot);
      if (tsMs > watermark) watermark = tsMs;
      let prevTs = Number.NEGATIVE_INFINITY;
      let prevLon = 0;
      let prevLat = 0;
      if (st !== undefined) {
        if (tsMs < st.lastTs - o.lateToleranceMs) {
          s.late++;
          return;
        }
        if (tsMs === st.lastTs && lon === st.lastLon && lat === st.lastLat) {
          s.duplicate++;
          return;
        }
        prevTs = st.lastTs;
        prevLon = st.lastLon;
        prevLat = st.lastLat;
      } else {
        st = { lastTs: tsMs, lastLon: lon, lastLat: lat, visits: [] };
        subs.set(sid, st);
      }
      const fences = snapshot.fences;
      const visits = st.visits;
      const newest = tsMs > prevTs ? tsMs : prevTs;

      // Existing visits: refresh, dwell, or exit.
      for (let i = 0; i < visits.length; i++) {
        const v = visits[i];
        if (v.state === 'exited') {
          if (newest > v.exitTs + o.lateToleranceMs) visits.splice(i--, 1);
          continue;
        }
        if (v.version !== snapVersion) {
          const current = byId.get(v.fenceId);
          // The fence was removed: its visit ends silently (no exit event for a fence that no longer exists).
          if (current === undefined) {
            visits.splice(i--, 1);
            continue;
          }
          v.fence = current;
          v.version = snapVersion;
        }
        const fence = v.fence;
        if (tsMs <= v.lastInsideTs) continue;
        if (tsMs - v.lastInsideTs > o.exitTimeoutMs) {
          exit(sid, v, v.lastInsideTs + o.exitTimeoutMs, 'timeout');
          continue;
        }
        if (isMatched(fence, fences, slots, count)) {
          v.lastInsideTs = tsMs;
          if (onPresentHour !== undefined && tsMs - v.hour >= HOUR_MS) {
            v.hour = tsMs - (tsMs % HOUR_MS);
            onPresentHour(sid, fence, tsMs);
          }
          if (v.state === 'inside') fireDwell(sid, v, tsMs);
        } else if (!near(fence, lon, lat, accM > o.hysteresisM ? accM : o.hysteresisM)) {
          exit(sid, v, tsMs, 'outside');
        }
      }

      // Fences covering the ping without an open visit: enter (or present-before-creation).
      for (let i = 0; i < count; i++) {
        const fence = fences[slots[i]];
        // Usually the open visit holds this very fence object (refreshed above): no id needed.
        let blocked = false;
        for (let j = 0; j < visits.length; j++) {
          const v = visits[j];
          if (v.fence === fence && (v.state !== 'exited' || tsMs <= v.exitTs)) {
            blocked = true;
            break;
          }
        }
        if (blocked) continue;
        // An exited visit may hold an older object of the same fence: compare ids.
        const id = fence.props.id;
        for (let j = 0; j < visits.length; j++) {
          const v = visits[j];
          if (v.fenceId === id && (v.state !== 'exited' || tsMs <= v.exitTs)) {
            blocked = true;
            break;
          }
        }
        if (blocked) continue;
        const present = presentBefore(fence, tsMs, prevTs, prevLon, prevLat);
        visits.push({
          fenceId: id,
          fence,
          version: snapVersion,
          state: present ? 'present' : 'inside',
          enterTs: tsMs,
          lastInsideTs: tsMs,
          dwellIdx: 0,
          exitTs: 0,
          hour: tsMs - (tsMs % HOUR_MS),
        });
        onPresentHour?.(sid, fence, tsMs);
        if (!present) {
          s.enter++;
          sink.onEvent({ kind: 'enter', sid, fenceId: id, tsMs, dwellMs: 0 });
        }
      }

      if (tsMs >= st.lastTs) {
        st.lastTs = tsMs;
        st.lastLon = lon;
        st.lastLat = lat;
      }
    },

    sweep(watermarkMs) {
      if (watermarkMs > watermark) watermark = watermarkMs;
      let evicted = 0;
      for (const [sid, st] of subs) {
        const visits = st.visits;
        for (let i = 0; i < visits.length; i++) {
          const v = visits[i];
          if (v.state !== 'exited' && watermark - v.lastInsideTs > o.exitTimeoutMs) {
            exit(sid, v, v.lastInsideTs + o.exitTimeoutMs, 'timeout');
          }
          if (v.state === 'exited' && watermark > v.exitTs + o.lateToleranceMs) visits.splice(i--, 1);
        }
        if (visits.length === 0 && watermark - st.lastTs > o.stateTtlMs) {
          subs.delete(sid);
          evicted++;
        }
      }
      fenceLog.prune(watermark - Math.max(o.newFenceGraceMs, o.stateTtlMs));
      s.evicted += evicted;
      return evicted;
    },

    get watermarkMs() {
      return watermark;
    },
    get size() {
      return subs.size;
    },
    stats() {
      let open = 0;
      for (const st of subs.values()) for (const v of st.visits) if (v.state !== 'exited') open++;
      return { tracked: subs.size, visits: open, ...s };
    },
  };
}
