import type { Fence } from '../geo/index.ts';

const HOUR_MS = 3_600_000;

/** One subscriber seen at a fence in an hour: the store keeps only the per-hour distinct count. */
export interface FootfallVisit {
  ts: number;
  sid: string;
  tenant: string;
  fence_id: string;
  store_id: string;
}

export interface FootfallCounter {
  /** Records that `sid` was inside `fence` at `tsMs`; a new (fence, hour, sid) queues one visit row. */
  observe(sid: string, fence: Fence, tsMs: number): void;
  /** Moves the queued visit rows into `out`; returns how many. */
  drainInto(out: FootfallVisit[]): number;
  /** Forgets hours that ended more than `lateMs` before `watermarkMs`. */
  sweep(watermarkMs: number, lateMs: number): void;
  /** (fence, hour, subscriber) triples currently remembered. */
  readonly size: number;
}

/**
 * Distinct subscribers per fence per hour. An exact set per hour de-duplicates in memory so each
 * (fence, hour, subscriber) is written once; the store's uniq state makes re-sent rows (after a
 * restart re-reads pings) harmless.
 */
export function createFootfallCounter(): FootfallCounter {
  const hours = new Map<number, Set<string>>();
  let pending: FootfallVisit[] = [];
  let size = 0;
  return {
    observe(sid, fence, tsMs) {
      const hour = tsMs - (tsMs % HOUR_MS);
      let seen = hours.get(hour);
      if (seen === undefined) {
        seen = new Set();
        hours.set(hour, seen);
      }
      const key = `${fence.props.id}\u0000${sid}`;
      if (seen.has(key)) return;
      seen.add(key);
      size++;
      pending.push({
        ts: tsMs,
        sid,
        tenant: fence.props.tenant,
        fence_id: fence.props.id,
        store_id: fence.props.storeId,
      });
    },
    drainInto(out) {
      const n = pending.length;
      for (let i = 0; i < n; i++) out.push(pending[i]);
      pending = [];
      return n;
    },
    sweep(watermarkMs, lateMs) {
      for (const [hour, seen] of hours) {
        if (hour + HOUR_MS + lateMs < watermarkMs) {
          size -= seen.size;
          hours.delete(hour);
        }
      }
    },
    get size() {
      return size;
    },
  };
}
