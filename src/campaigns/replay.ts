import { fnv1a } from '../hash.ts';
import type { PresenceEvent } from '../presence/types.ts';
import type { Store } from '../store/index.ts';

/**
 * Presence events a previous run already decided. After a crash the Kafka source re-reads the pings
 * after the last committed offset; the decisions those pings produced may already be in the store
 * (they are durable before the offset is committed, but the commit itself may not have happened).
 * Re-deciding them would add a second row per campaign (suppressed by the cap the first one set) and
 * inflate the reports' triggers. An event is the same when its subscriber, fence, trigger and event
 * time (the ping's timestamp) are: the restarted service loads those keys for the last minutes of
 * decisions and drops exact replays before the engine sees them.
 */
export interface ReplayFilter {
  /** True when this event was already decided by a previous run (and is dropped). */
  drops(event: PresenceEvent, nowMs: number): boolean;
  /** Keys held; 0 once the filter expired. */
  readonly size: number;
  /** Events dropped so far. */
  readonly dropped: number;
}

/** A 53-bit hash of an event's identity (two 32-bit FNV-1a hashes; collisions ~n²/2⁵⁴). */
export function replayKey(sid: string, fenceId: string, trigger: string, eventTsMs: number): number {
  const text = `${sid}\u0000${fenceId}\u0000${trigger}\u0000${eventTsMs}`;
  return fnv1a(text, 0x811c9dc5) * 2 ** 21 + (fnv1a(text, 0x9e3779b9) >>> 11);
}

/** A filter over `keys` that lets everything through once `untilMs` has passed (and frees them). */
export function createReplayFilter(keys: Iterable<number>, untilMs: number): ReplayFilter {
  let held: Set<number> | undefined = new Set(keys);
  if (held.size === 0) held = undefined;
  let dropped = 0;
  return {
    drops(event, nowMs) {
      if (held === undefined) return false;
      if (nowMs >= untilMs) {
        held = undefined;
        return false;
      }
      if (!held.has(replayKey(event.sid, event.fenceId, event.kind, event.tsMs))) return false;
      dropped++;
      return true;
    },
    get size() {
      return held?.size ?? 0;
    },
    get dropped() {
      return dropped;
    },
  };
}

/**
 * Loads the identities of the presence events decided in the last `windowMs` (decision time) and
 * returns a filter that holds them for another `windowMs`: pings re-read after a restart are from
 * just before the crash, and the Kafka source reaches the live stream well within that.
 */
export async function loadReplayFilter(opts: {
  store: Store;
  nowMs: number;
  windowMs: number;
}): Promise<ReplayFilter> {
  const { store, nowMs, windowMs } = opts;
  if (windowMs <= 0) return createReplayFilter([], nowMs);
  const rows = await store.query<{ sid: string; fence_id: string; trigger: string; event_ms: string }>(
    `SELECT DISTINCT sid, fence_id, trigger, toUnixTimestamp64Milli(event_ts) AS event_ms
     FROM ${store.database}.decisions
     WHERE ts >= fromUnixTimestamp64Milli({since:Int64}) AND trigger IN ('enter', 'dwell', 'exit')`,
    { since: nowMs - windowMs },
  );
  const keys: number[] = [];
  for (const r of rows) keys.push(replayKey(r.sid, r.fence_id, r.trigger, Number(r.event_ms)));
  return createReplayFilter(keys, nowMs + windowMs);
}
