import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom } from '../../../bench/lib/random.ts';
import { createMatcher, destination, type Fence } from '../../../src/geo/index.ts';
import {
  createPresenceTracker,
  NEW_FENCE_POLICIES,
  type PresenceEvent,
  presenceOptions,
} from '../../../src/presence/index.ts';
import { createReferenceTracker } from './reference-tracker.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const CENTRE: [number, number] = [30.5234, 50.4501];

function circle(id: string, centre: [number, number], radiusM: number): Fence {
  const dLat = radiusM / 111_320;
  const dLon = dLat / Math.cos((centre[1] * Math.PI) / 180);
  return {
    kind: 'circle',
    center: centre,
    radiusM,
    bbox: [centre[0] - dLon, centre[1] - dLat, centre[0] + dLon, centre[1] + dLat],
    props: {
      id,
      tenant: 't1',
      name: id,
      storeId: `store-${id}`,
      address: '',
      tags: [],
      maxAccuracyM: 5_000,
      timeZone: 'Europe/Kyiv',
    },
  };
}

test('the column-based tracker gives the object-based one’s events, footfall and stats on random traffic', () => {
  for (let round = 0; round < 12; round++) {
    const seed = Number(process.env.SEED ?? 606) + round;
    const rnd = createRandom(seed);
    const place = (): [number, number] =>
      destination(CENTRE[0], CENTRE[1], rnd.range(0, 800), rnd.range(0, 360)) as [number, number];
    let nextId = 0;
    const fences = Array.from({ length: 12 }, () => circle(`f${nextId++}`, place(), rnd.range(30, 250)));
    const matcher = createMatcher({ fences });
    const options = presenceOptions({
      dwellMs: [rnd.int(2, 10) * MIN, rnd.int(11, 30) * MIN],
      exitTimeoutMs: rnd.int(5, 40) * MIN,
      hysteresisM: rnd.range(0, 100),
      stateTtlMs: rnd.int(10, 120) * MIN,
      lateToleranceMs: rnd.int(0, 5) * MIN,
      newFencePolicy: rnd.pick(NEW_FENCE_POLICIES),
      newFenceGraceMs: rnd.int(0, 15) * MIN,
    });
    const log: { a: string[]; b: string[] } = { a: [], b: [] };
    const record = (to: string[]) => ({
      sink: { onEvent: (e: PresenceEvent) => void to.push(JSON.stringify(e)) },
      onPresentHour: (sid: string, f: Fence, ts: number) => void to.push(`hour ${sid} ${f.props.id} ${ts}`),
    });
    const a = createPresenceTracker({ options, near: matcher.near, ...record(log.a) });
    const b = createReferenceTracker({ options, near: matcher.near, ...record(log.b) });
    const slots = new Int32Array(64);
    const subs = Array.from({ length: 40 }, (_, i) => ({ sid: `sub-${i}`, at: place(), ts: T0 }));
    let now = T0;
    for (let step = 0; step < 20_000; step++) {
      const r = rnd.next();
      if (r < 0.003) {
        // Fences come and go and change shape: new snapshots, visits re-resolved by id or ended.
        const c = rnd.int(0, 2);
        if (c === 0) matcher.upsert([circle(`f${nextId++}`, place(), rnd.range(30, 250))]);
        else if (c === 1) matcher.upsert([circle(`f${rnd.int(0, nextId - 1)}`, place(), rnd.range(30, 250))]);
        else matcher.remove([`f${rnd.int(0, nextId - 1)}`]);
        continue;
      }
      if (r < 0.006) {
        const wm = now + rnd.int(-5, 60) * MIN;
        assert.equal(a.sweep(wm), b.sweep(wm), `seed ${seed} step ${step}`);
        continue;
      }
      const sub = rnd.pick(subs);
      if (rnd.chance(0.1)) sub.at = place();
      const [lon, lat] = rnd.chance(0.05)
        ? sub.at
        : (destination(sub.at[0], sub.at[1], Math.abs(rnd.normal()) * 60, rnd.range(0, 360)) as [
            number,
            number,
          ]);
      let ts: number;
      const t = rnd.next();
      if (t < 0.05)
        ts = sub.ts; // duplicate time (a duplicate when the place repeats)
      else if (t < 0.1)
        ts = sub.ts - rnd.int(0, 10) * MIN; // late or out of order
      else ts = sub.ts + rnd.int(0, 8) * MIN + rnd.int(0, 59_999);
      sub.ts = Math.max(sub.ts, ts);
      now = Math.max(now, ts);
      const acc = rnd.chance(0.6) ? rnd.range(5, 50) : rnd.range(100, 2_000);
      const n = matcher.matchInto(lon, lat, acc, slots);
      const snap = matcher.snapshot();
      a.observe(sub.sid, lon, lat, acc, ts, snap, slots, n);
      b.observe(sub.sid, lon, lat, acc, ts, snap, slots, n);
      if (log.a.length !== log.b.length || log.a[log.a.length - 1] !== log.b[log.b.length - 1]) {
        assert.deepEqual(log.a, log.b, `seed ${seed} step ${step}`);
      }
    }
    assert.deepEqual(log.a, log.b, `seed ${seed}`);
    assert.deepEqual(a.stats(), b.stats(), `seed ${seed}`);
    assert.equal(a.size, b.size);
    assert.equal(a.watermarkMs, b.watermarkMs);
    assert.ok(a.stats().enter > 50 && a.stats().exit > 50, `seed ${seed}: ${JSON.stringify(a.stats())}`);
  }
});
