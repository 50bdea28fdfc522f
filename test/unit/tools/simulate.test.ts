import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoSid } from '../../../src/demo.ts';
import { createMatcher, DEFAULT_FENCE_LIMITS, distanceM, loadCatalogue } from '../../../src/geo/index.ts';
import { createPingDecoder } from '../../../src/ingest/index.ts';
import { createMovement, type Fix } from '../../../tools/sim/movement.ts';

const CATALOGUE = new URL('../../../geofences/', import.meta.url).pathname;
const SEED = Number(process.env.SIM_SEED ?? 7);
const START = Date.UTC(2026, 4, 12, 9, 0, 0);

async function simulate(opts: { subscribers: number; minutes: number; seed?: number }) {
  const { fences, errors } = await loadCatalogue(CATALOGUE, DEFAULT_FENCE_LIMITS);
  assert.deepEqual(errors, []);
  const matcher = createMatcher({ fences });
  const movement = createMovement({
    matcher,
    subscribers: opts.subscribers,
    sidOf: demoSid,
    seed: opts.seed ?? SEED,
    startMs: START,
  });
  const fixes: Fix[] = [];
  // One-second ticks, as the tool runs.
  for (let t = START; t <= START + opts.minutes * 60_000; t += 1_000) fixes.push(...movement.advance(t));
  return { matcher, movement, fixes };
}

test(`every ping is valid for the service's decoder, from HTTP and from Kafka (seed ${SEED})`, async () => {
  const { fixes } = await simulate({ subscribers: 200, minutes: 3 });
  assert.ok(fixes.length > 200 * 30, `${fixes.length} pings`);
  let clock = START;
  const decoder = createPingDecoder({ now: () => clock, maxFutureMs: 300_000, maxPastMs: 168 * 3_600_000 });
  for (const f of fixes) {
    // Each ping is sent at or after its own timestamp: never in the future for the service.
    clock = f.ping.ts + 1_000;
    const line = JSON.stringify(f.ping);
    const http = decoder.decode(line);
    assert.equal(typeof http, 'object', `seed ${SEED}: ${line} → ${String(http)}`);
    const kafka = decoder.decode(Buffer.from(line), Buffer.from(f.ping.sid));
    assert.equal(typeof kafka, 'object', `seed ${SEED}: ${line} → ${String(kafka)}`);
    assert.ok(Number.isInteger(f.ping.ts));
    assert.ok(f.ping.acc >= 3 && f.ping.acc <= 2_500, `acc ${f.ping.acc}`);
  }
  // Subscriber ids are the demo base's, in order.
  const sids = new Set(fixes.map((f) => f.ping.sid));
  assert.equal(sids.size, 200);
  for (let i = 0; i < 200; i++) assert.ok(sids.has(demoSid(i)), `demoSid(${i})`);
});

test('each subscriber reports every few seconds, in time order', async () => {
  const { fixes } = await simulate({ subscribers: 100, minutes: 2 });
  const last = new Map<string, number>();
  const gaps: number[] = [];
  for (const f of fixes) {
    const prev = last.get(f.ping.sid);
    if (prev !== undefined) gaps.push(f.ping.ts - prev);
    last.set(f.ping.sid, f.ping.ts);
  }
  assert.ok(Math.min(...gaps) >= 3_000, `min gap ${Math.min(...gaps)} ms`);
  assert.ok(Math.max(...gaps) <= 7_000, `max gap ${Math.max(...gaps)} ms`);
  for (let i = 1; i < fixes.length; i++) assert.ok(fixes[i].ping.ts >= fixes[i - 1].ping.ts);
});

test(`about a third of the walkers end up inside a store fence by the real matcher (seed ${SEED})`, async () => {
  const n = 300;
  const { matcher, movement, fixes } = await simulate({ subscribers: n, minutes: 8 });
  // What the service would see: a noisy ping matched with its accuracy against each fence's limit.
  const matched = new Map<string, Set<string>>();
  for (const f of fixes) {
    for (const fence of matcher.match(f.ping.lon, f.ping.lat, f.ping.acc)) {
      const s = matched.get(f.ping.sid) ?? new Set<string>();
      s.add(fence.props.id);
      matched.set(f.ping.sid, s);
    }
  }
  const share = matched.size / n;
  assert.ok(share >= 0.25 && share <= 0.45, `seed ${SEED}: ${matched.size} of ${n} matched a fence`);
  // Nearly every store-goer is seen in the very store they headed for.
  const goers = movement.walkers.filter((w) => w.firstStoreId !== undefined);
  assert.ok(goers.length >= n * 0.25 && goers.length <= n * 0.42, `${goers.length} store-goers`);
  const hit = goers.filter((w) => matched.get(w.sid)?.has(w.firstStoreId!)).length;
  assert.ok(hit >= goers.length * 0.9, `seed ${SEED}: ${hit} of ${goers.length} matched their store`);
  // They start outside: their first ping is not inside their store (no enter before walking in).
  const firstTrue = new Map<string, Fix>();
  for (const f of fixes) if (!firstTrue.has(f.ping.sid)) firstTrue.set(f.ping.sid, f);
  for (const w of goers) {
    const f = firstTrue.get(w.sid)!;
    const fence = matcher.get(w.firstStoreId!)!;
    assert.equal(matcher.near(fence, f.trueLon, f.trueLat, 0), false, `${w.sid} starts inside`);
  }
  // Some linger: several minutes of fixes inside the same fence.
  const browsing = movement.walkers.filter((w) => w.visits > 0).length;
  assert.ok(browsing >= goers.length * 0.9, `${browsing} entered a store`);
  assert.ok(movement.insideCount() > 0);
});

test('walkers move at walking speed and GPS noise stays within a few accuracy radii', async () => {
  const { fixes } = await simulate({ subscribers: 150, minutes: 10 });
  const prev = new Map<string, Fix>();
  const speeds: number[] = [];
  let far = 0;
  for (const f of fixes) {
    const p = prev.get(f.ping.sid);
    if (p) {
      const d = distanceM(p.trueLon, p.trueLat, f.trueLon, f.trueLat);
      const v = d / ((f.ping.ts - p.ping.ts) / 1000);
      assert.ok(v <= 2.0, `${f.ping.sid} moved at ${v.toFixed(2)} m/s`);
      speeds.push(v);
    }
    prev.set(f.ping.sid, f);
    const err = distanceM(f.trueLon, f.trueLat, f.ping.lon, f.ping.lat);
    if (err > 4 * f.ping.acc) far++;
  }
  const moving = speeds.filter((v) => v > 1.0);
  const mean = moving.reduce((a, b) => a + b, 0) / moving.length;
  assert.ok(mean > 1.2 && mean < 1.6, `mean walking speed ${mean.toFixed(2)} m/s`);
  // Some stand still or browse at times (pauses, stores).
  assert.ok(speeds.some((v) => v < 0.7));
  assert.ok(far / fixes.length < 0.001, `${far} of ${fixes.length} pings beyond 4 × acc`);
});

test('the same seed gives the same pings; another seed gives others', async () => {
  const a = await simulate({ subscribers: 50, minutes: 1, seed: 11 });
  const b = await simulate({ subscribers: 50, minutes: 1, seed: 11 });
  const c = await simulate({ subscribers: 50, minutes: 1, seed: 12 });
  assert.deepEqual(
    a.fixes.map((f) => f.ping),
    b.fixes.map((f) => f.ping),
  );
  assert.notDeepEqual(
    a.fixes.map((f) => f.ping),
    c.fixes.map((f) => f.ping),
  );
});
