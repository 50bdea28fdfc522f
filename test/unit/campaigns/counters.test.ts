import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryCampaign, entryKind, entryTime, historyLength } from '../../../src/campaigns/counters.ts';
import { createCounters } from '../../../src/campaigns/index.ts';
import { rng } from './builders.ts';

type Entry = [tsMs: number, campKey: number, kind: number];

/** The counters' history as the simple model keeps it: arrays by sid, pruned on record like before. */
function modelCounters(retention: number) {
  const bySid = new Map<string, Entry[]>();
  return {
    record(sid: string, campKey: number, kind: number, tsMs: number) {
      const h = bySid.get(sid);
      if (!h) {
        bySid.set(sid, [[tsMs, campKey, kind]]);
        return;
      }
      while (h.length > 0 && tsMs - h[0][0] > retention) h.shift();
      h.push([tsMs, campKey, kind]);
    },
    history: (sid: string): Entry[] => bySid.get(sid) ?? [],
    prune(nowMs: number) {
      let removed = 0;
      for (const [sid, h] of bySid) {
        if (h.length === 0 || nowMs - h[h.length - 1][0] > retention) {
          bySid.delete(sid);
          removed++;
        }
      }
      return removed;
    },
    get subscribers() {
      return bySid.size;
    },
  };
}

const read = (c: ReturnType<typeof createCounters>, sid: string, entry: number): Entry[] => {
  const off = c.historyOf(sid, entry);
  if (off < 0) return [];
  const pool = c.pool;
  const out: Entry[] = [];
  for (let i = 0; i < historyLength(pool, off); i++)
    out.push([entryTime(pool, off, i), entryCampaign(pool, off, i), entryKind(pool, off, i)]);
  return out;
};

test('pooled histories match a plain per-sid array model over random records, entries, adoption and pruning', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = rng(seed);
    const retention = 3_600_000 * (1 + Math.floor(r() * 48));
    const counters = createCounters(retention);
    const model = modelCounters(retention);
    const sids = Array.from({ length: 60 }, (_, i) => `sid-${i}`);
    // An entry appears for a sid at some point (like a consent record) and never changes after.
    const entries = new Map<string, number>();
    const entryOf = (sid: string) => entries.get(sid) ?? -1;
    let now = 1_700_000_000_000;
    for (let step = 0; step < 20_000; step++) {
      now += Math.floor(r() * 600_000);
      const sid = sids[Math.floor(r() * sids.length)];
      const op = r();
      if (op < 0.05 && !entries.has(sid)) entries.set(sid, entries.size * 3 + Math.floor(r() * 3));
      else if (op < 0.06) assert.equal(counters.prune(now), model.prune(now), `seed ${seed} step ${step}`);
      else if (op < 0.7) {
        const campKey = Math.floor(r() * 20);
        const kind = r() < 0.8 ? 1 : 2;
        counters.record(sid, entryOf(sid), campKey, kind, now);
        model.record(sid, campKey, kind, now);
      } else {
        assert.deepEqual(read(counters, sid, entryOf(sid)), model.history(sid), `seed ${seed} step ${step}`);
      }
    }
    for (const sid of sids)
      assert.deepEqual(read(counters, sid, entryOf(sid)), model.history(sid), `seed ${seed} final ${sid}`);
    assert.equal(counters.subscribers, model.subscribers, `seed ${seed}`);
  }
});

test('a history kept by sid moves under the subscriber entry, merged by time with one already there', () => {
  const counters = createCounters();
  counters.record('a', -1, 1, 1, 1_000);
  counters.record('a', -1, 2, 1, 3_000);
  counters.record('b', -1, 4, 1, 1_500);
  // 'a' gets entry 7: the first access by entry adopts the sid-keyed history
  assert.deepEqual(read(counters, 'a', 7), [
    [1_000, 1, 1],
    [3_000, 2, 1],
  ]);
  assert.equal(counters.historyOf('a', -1), -1);
  // 'b' has a history under its entry and (out of the ordinary) one by sid: both merge in time order
  counters.record('b', 9, 5, 2, 2_000);
  counters.record('b', -1, 6, 1, 2_500);
  assert.deepEqual(read(counters, 'b', 9), [
    [1_500, 4, 1],
    [2_000, 5, 2],
    [2_500, 6, 1],
  ]);
  assert.equal(counters.subscribers, 2);
});

test('a long history moves to larger blocks and keeps every entry in order', () => {
  const counters = createCounters(1e12);
  for (let i = 0; i < 20_000; i++) counters.record('x', 0, i, 1, i * 10);
  const h = read(counters, 'x', 0);
  assert.equal(h.length, 20_000);
  assert.deepEqual(
    h.map((e) => e[1]),
    Array.from({ length: 20_000 }, (_, i) => i),
  );
});
