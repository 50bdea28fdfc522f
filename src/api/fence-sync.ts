import type { Matcher } from '../geo/index.ts';
import type { Logger } from '../logger.ts';
import type { GeofenceRepo } from './repos/geofences.ts';

export interface FenceSync {
  /** Applies changes stored since the last poll; resolves with how many fences changed. */
  poll(): Promise<number>;
  start(): void;
  stop(): void;
}

/**
 * Keeps a matcher in step with geofence changes made through other instances' APIs: every
 * `intervalMs` it reads the fences written since the last poll and upserts/removes them. (Changes
 * made through this instance's API reach its matcher immediately.)
 */
export function createFenceSync(opts: {
  geofences: GeofenceRepo;
  matcher: Pick<Matcher, 'upsert' | 'remove'>;
  logger: Logger;
  /** Poll period; 1000 ms keeps the "a change reaches the matcher within a second" promise across instances. */
  intervalMs?: number;
  /** How far back each poll re-reads (rows stamped late by the writer's clock); default 2000 ms. */
  overlapMs?: number;
  /** Changes after this time are applied (ms since epoch); default: now, as the matcher was just loaded. */
  sinceMs?: number;
  /**
   * The (id, version) rows the matcher was just loaded with, and when each was written: those inside
   * the first polls' overlap are not applied again (after a catalogue import that was every fence
   * imported in the last 2 s, read and upserted once more).
   */
  loaded?: Iterable<{ id: string; version: number; updatedAtMs: number }>;
}): FenceSync {
  const logger = opts.logger.child({ stage: 'api', component: 'fence-sync' });
  // Rows are stamped by the writer's clock: re-read a short overlap so a row stamped a little in the
  // past (clock skew, slow insert) is not skipped. Re-applying a fence is idempotent.
  const overlapMs = opts.overlapMs ?? 2000;
  let sinceMs = opts.sinceMs ?? Date.now();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  // (id, version) applied within the overlap window, with the time it was written: pruned as the
  // window moves on, so the map stays as small as the recent changes.
  const seen = new Map<string, { version: number; atMs: number }>();
  for (const r of opts.loaded ?? []) {
    if (r.updatedAtMs >= sinceMs - overlapMs) seen.set(r.id, { version: r.version, atMs: sinceMs });
  }

  const poll = async (): Promise<number> => {
    const startedMs = Date.now();
    const from = sinceMs - overlapMs;
    const { upserts, removed, untilMs } = await opts.geofences.changedSince(
      from,
      (id, version) => seen.get(id)?.version === version,
    );
    // The window moves on with the clock, not only with the changes: when nothing changes, a poll
    // still reads just the last overlap (not every head since start-up — after a catalogue import that
    // was tens of thousands of rows parsed every second, ~3 % of the main thread).
    sinceMs = Math.max(sinceMs, untilMs, startedMs);
    // The overlap re-reads recent changes: apply each (id, version) once.
    const fresh = upserts.filter((c) => seen.get(c.id)?.version !== c.version);
    const gone = removed.filter((c) => seen.get(c.id)?.version !== c.version);
    if (fresh.length > 0) opts.matcher.upsert(fresh.map((c) => c.fence!));
    if (gone.length > 0) opts.matcher.remove(gone.map((c) => c.id));
    for (const c of [...fresh, ...gone]) seen.set(c.id, { version: c.version, atMs: untilMs });
    const horizon = sinceMs - overlapMs;
    if (seen.size > 0 && fresh.length + gone.length === 0) {
      for (const [id, e] of seen) if (e.atMs < horizon) seen.delete(id);
    }
    return fresh.length + gone.length;
  };

  return {
    poll,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = true;
        poll()
          .then((n) => n > 0 && logger.debug({ changed: n }, 'geofence changes applied'))
          .catch((err) => logger.warn({ err }, 'geofence sync poll failed'))
          .finally(() => {
            running = false;
          });
      }, opts.intervalMs ?? 1000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
