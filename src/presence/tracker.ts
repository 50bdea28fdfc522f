import type { Fence, FenceSnapshot } from '../geo/index.ts';
import type { PresenceOptions } from './options.ts';
import type { ExitCause, PresenceSink } from './types.ts';

// Visit states (the `state` column below): `INSIDE`, a visit that fired enter; `PRESENT`, inside since
// before the fence existed (no events); `EXITED`, a tombstone kept for the late tolerance so a reordered
// older ping cannot re-enter.
const INSIDE = 0;
const PRESENT = 1;
const EXITED = 2;
const NONE = -1;

const HOUR_MS = 3_600_000;

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
 *
 * State lives in columns, not objects: subscriber `s` (the slot its sid maps to) has its last ping in
 * `lastTs[s]`, `lastLon[s]`, `lastLat[s]` and its visits as a list through `next`, from `head[s]` to
 * `tail[s]` in the order they opened; visit `v` is row `v` of the visit columns. Visits open and end all
 * the time at a busy store, and objects living minutes of event time would each be promoted to V8's old
 * space and collected there; free rows are reused instead.
 */
export function createPresenceTracker(deps: PresenceTrackerDeps): PresenceTracker {
  const { options: o, sink, near, onPresentHour } = deps;
  const thresholds = o.dwellMs;
  const subs = new Map<string, number>();
  const s = { late: 0, duplicate: 0, enter: 0, dwell: 0, exit: 0, evicted: 0 };
  let watermark = Number.NEGATIVE_INFINITY;
  const fenceLog = deps.fenceLog ?? createFenceLog();
  let byId: ReadonlyMap<string, Fence> = new Map();
  let snapVersion = -1;
  const addedAt = (id: string) => fenceLog.addedAt(id);

  // Subscribers; free slots are chained through `head`.
  let subCap = 0;
  let lastTs = new Float64Array(0);
  let lastLon = new Float64Array(0);
  let lastLat = new Float64Array(0);
  let head = new Int32Array(0);
  let tail = new Int32Array(0);
  let subUsed = 0;
  let subFree = NONE;
  // Visits; free rows are chained through `next`. `fence` is the fence as of snapshot `version`
  // (re-resolved by id when the snapshot changes); `hour` the start of the hour the visit was last
  // reported to footfall in; `dwellIdx` the next dwell threshold to fire.
  let visitCap = 0;
  const fence: Array<Fence | undefined> = [];
  const fenceId: string[] = [];
  let version = new Float64Array(0);
  let state = new Uint8Array(0);
  let enterTs = new Float64Array(0);
  let lastInsideTs = new Float64Array(0);
  let exitTs = new Float64Array(0);
  let hour = new Float64Array(0);
  let dwellIdx = new Int32Array(0);
  let next = new Int32Array(0);
  let visitUsed = 0;
  let visitFree = NONE;

  const newSubscriber = (): number => {
    if (subFree !== NONE) {
      const at = subFree;
      subFree = head[at];
      return at;
    }
    if (subUsed === subCap) {
      subCap = Math.max(1_024, Math.ceil(subCap * 1.5));
      lastTs = grow(lastTs, new Float64Array(subCap));
      lastLon = grow(lastLon, new Float64Array(subCap));
      lastLat = grow(lastLat, new Float64Array(subCap));
      head = grow(head, new Int32Array(subCap));
      tail = grow(tail, new Int32Array(subCap));
    }
    return subUsed++;
  };

  const freeSubscriber = (at: number) => {
    head[at] = subFree;
    subFree = at;
  };

  const newVisit = (): number => {
    if (visitFree !== NONE) {
      const v = visitFree;
      visitFree = next[v];
      return v;
    }
    if (visitUsed === visitCap) {
      visitCap = Math.max(1_024, Math.ceil(visitCap * 1.5));
      version = grow(version, new Float64Array(visitCap));
      state = grow(state, new Uint8Array(visitCap));
      enterTs = grow(enterTs, new Float64Array(visitCap));
      lastInsideTs = grow(lastInsideTs, new Float64Array(visitCap));
      exitTs = grow(exitTs, new Float64Array(visitCap));
      hour = grow(hour, new Float64Array(visitCap));
      dwellIdx = grow(dwellIdx, new Int32Array(visitCap));
      next = grow(next, new Int32Array(visitCap));
    }
    fence.push(undefined);
    fenceId.push('');
    return visitUsed++;
  };

  /** Unlinks visit `v` (after `prev`, NONE for the first) from subscriber `at`'s list and frees it. */
  const dropVisit = (at: number, prev: number, v: number) => {
    const after = next[v];
    if (prev === NONE) head[at] = after;
    else next[prev] = after;
    if (tail[at] === v) tail[at] = prev;
    fence[v] = undefined;
    fenceId[v] = '';
    next[v] = visitFree;
    visitFree = v;
  };

  const onSnapshot = (snap: FenceSnapshot) => {
    snapVersion = snap.version;
    byId = fenceLog.sync(snap, watermark);
  };

  const exit = (sid: string, v: number, tsMs: number, cause: ExitCause) => {
    if (state[v] === INSIDE) {
      s.exit++;
      sink.onEvent({
        kind: 'exit',
        sid,
        fenceId: fenceId[v],
        tsMs,
        dwellMs: lastInsideTs[v] - enterTs[v],
        cause,
      });
    }
    state[v] = EXITED;
    exitTs[v] = tsMs;
  };

  const fireDwell = (sid: string, v: number, tsMs: number) => {
    const inside = tsMs - enterTs[v];
    while (dwellIdx[v] < thresholds.length && inside >= thresholds[dwellIdx[v]]) {
      s.dwell++;
      sink.onEvent({
        kind: 'dwell',
        sid,
        fenceId: fenceId[v],
        tsMs,
        dwellMs: inside,
        thresholdMs: thresholds[dwellIdx[v]],
      });
      dwellIdx[v]++;
    }
  };

  // `f` is the current snapshot's object for its id (see `version`), so identity is enough.
  const isMatched = (f: Fence, fences: readonly Fence[], slots: Int32Array, count: number) => {
    for (let i = 0; i < count; i++) if (fences[slots[i]] === f) return true;
    return false;
  };

  /** Under the `suppress` policy: was this subscriber there before the fence existed? */
  const presentBefore = (f: Fence, tsMs: number, prevTs: number, prevLon: number, prevLat: number) => {
    if (o.newFencePolicy !== 'suppress') return false;
    const added = addedAt(f.props.id);
    if (added === undefined) return false;
    // Nothing known from before this ping: presume they were there if it comes soon after creation.
    if (prevTs === Number.NEGATIVE_INFINITY) return tsMs < added + o.newFenceGraceMs;
    return prevTs <= added && near(f, prevLon, prevLat, 0);
  };

  /** An open visit or a tombstone still blocking re-entry at `tsMs`, of this fence object or id. */
  const blocks = (at: number, f: Fence, tsMs: number) => {
    // Usually the open visit holds this very fence object (refreshed before): no id needed.
    for (let v = head[at]; v !== NONE; v = next[v]) {
      if (fence[v] === f && (state[v] !== EXITED || tsMs <= exitTs[v])) return true;
    }
    // An exited visit may hold an older object of the same fence: compare ids.
    const id = f.props.id;
    for (let v = head[at]; v !== NONE; v = next[v]) {
      if (fenceId[v] === id && (state[v] !== EXITED || tsMs <= exitTs[v])) return true;
    }
    return false;
  };

  return {
    observe(sid, lon, lat, accM, tsMs, snapshot, slots, count) {
      let at = subs.get(sid);
      // Hot path: most pings are far from every fence and from every tracked visit.
      if (count === 0 && at === undefined) {
        if (tsMs > watermark) watermark = tsMs;
        return;
      }
      if (snapshot.version !== snapVersion) onSnapshot(snapshot);
      if (tsMs > watermark) watermark = tsMs;
      let prevTs = Number.NEGATIVE_INFINITY;
      let prevLon = 0;
      let prevLat = 0;
      if (at !== undefined) {
        if (tsMs < lastTs[at] - o.lateToleranceMs) {
          s.late++;
          return;
        }
        if (tsMs === lastTs[at] && lon === lastLon[at] && lat === lastLat[at]) {
          s.duplicate++;
          return;
        }
        prevTs = lastTs[at];
        prevLon = lastLon[at];
        prevLat = lastLat[at];
      } else {
        at = newSubscriber();
        lastTs[at] = tsMs;
        lastLon[at] = lon;
        lastLat[at] = lat;
        head[at] = NONE;
        tail[at] = NONE;
        subs.set(sid, at);
      }
      const fences = snapshot.fences;
      const newest = tsMs > prevTs ? tsMs : prevTs;

      // Existing visits: refresh, dwell, or exit.
      let prev = NONE;
      for (let v = head[at]; v !== NONE; ) {
        const after = next[v];
        if (state[v] === EXITED) {
          if (newest > exitTs[v] + o.lateToleranceMs) dropVisit(at, prev, v);
          else prev = v;
          v = after;
          continue;
        }
        if (version[v] !== snapVersion) {
          const current = byId.get(fenceId[v]);
          // The fence was removed: its visit ends silently (no exit event for a fence that no longer exists).
          if (current === undefined) {
            dropVisit(at, prev, v);
            v = after;
            continue;
          }
          fence[v] = current;
          version[v] = snapVersion;
        }
        prev = v;
        const f = fence[v] as Fence;
        const lastInside = lastInsideTs[v];
        if (tsMs > lastInside) {
          if (tsMs - lastInside > o.exitTimeoutMs) {
            exit(sid, v, lastInside + o.exitTimeoutMs, 'timeout');
          } else if (isMatched(f, fences, slots, count)) {
            lastInsideTs[v] = tsMs;
            if (onPresentHour !== undefined && tsMs - hour[v] >= HOUR_MS) {
              hour[v] = tsMs - (tsMs % HOUR_MS);
              onPresentHour(sid, f, tsMs);
            }
            if (state[v] === INSIDE) fireDwell(sid, v, tsMs);
          } else if (!near(f, lon, lat, accM > o.hysteresisM ? accM : o.hysteresisM)) {
            exit(sid, v, tsMs, 'outside');
          }
        }
        v = after;
      }

      // Fences covering the ping without an open visit: enter (or present-before-creation).
      for (let i = 0; i < count; i++) {
        const f = fences[slots[i]];
        if (blocks(at, f, tsMs)) continue;
        const id = f.props.id;
        const present = presentBefore(f, tsMs, prevTs, prevLon, prevLat);
        const v = newVisit();
        fence[v] = f;
        fenceId[v] = id;
        version[v] = snapVersion;
        state[v] = present ? PRESENT : INSIDE;
        enterTs[v] = tsMs;
        lastInsideTs[v] = tsMs;
        dwellIdx[v] = 0;
        exitTs[v] = 0;
        hour[v] = tsMs - (tsMs % HOUR_MS);
        next[v] = NONE;
        if (tail[at] === NONE) head[at] = v;
        else next[tail[at]] = v;
        tail[at] = v;
        onPresentHour?.(sid, f, tsMs);
        if (!present) {
          s.enter++;
          sink.onEvent({ kind: 'enter', sid, fenceId: id, tsMs, dwellMs: 0 });
        }
      }

      if (tsMs >= lastTs[at]) {
        lastTs[at] = tsMs;
        lastLon[at] = lon;
        lastLat[at] = lat;
      }
    },

    sweep(watermarkMs) {
      if (watermarkMs > watermark) watermark = watermarkMs;
      let evicted = 0;
      for (const [sid, at] of subs) {
        let prev = NONE;
        for (let v = head[at]; v !== NONE; ) {
          const after = next[v];
          if (state[v] !== EXITED && watermark - lastInsideTs[v] > o.exitTimeoutMs) {
            exit(sid, v, lastInsideTs[v] + o.exitTimeoutMs, 'timeout');
          }
          if (state[v] === EXITED && watermark > exitTs[v] + o.lateToleranceMs) dropVisit(at, prev, v);
          else prev = v;
          v = after;
        }
        if (head[at] === NONE && watermark - lastTs[at] > o.stateTtlMs) {
          subs.delete(sid);
          freeSubscriber(at);
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
      for (const at of subs.values()) {
        for (let v = head[at]; v !== NONE; v = next[v]) if (state[v] !== EXITED) open++;
      }
      return { tracked: subs.size, visits: open, ...s };
    },
  };
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
