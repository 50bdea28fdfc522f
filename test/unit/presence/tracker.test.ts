import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMatcher, destination, type Fence, type FenceProps } from '../../../src/geo/index.ts';
import {
  createPresenceTracker,
  type PresenceEvent,
  type PresenceOptions,
  presenceOptions,
} from '../../../src/presence/index.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const CENTRE: [number, number] = [30.5234, 50.4501];

function buildFence(
  overrides: Partial<FenceProps> & { center?: [number, number]; radiusM?: number } = {},
): Fence {
  const { center = CENTRE, radiusM = 100, ...props } = overrides;
  const dLat = radiusM / 111_320;
  const dLon = dLat / Math.cos((center[1] * Math.PI) / 180);
  return {
    kind: 'circle',
    center,
    radiusM,
    bbox: [center[0] - dLon, center[1] - dLat, center[0] + dLon, center[1] + dLat],
    props: {
      id: 'f1',
      tenant: 't1',
      name: 'Store',
      storeId: 's1',
      address: 'Khreshchatyk 1',
      tags: [],
      maxAccuracyM: 500,
      timeZone: 'Europe/Kyiv',
      ...props,
    },
  };
}

/** A point `m` metres east of the centre. */
function east(m: number): [number, number] {
  return destination(CENTRE[0], CENTRE[1], m, 90) as [number, number];
}

function harness(fences: Fence[] = [buildFence()], overrides: Partial<PresenceOptions> = {}) {
  const matcher = createMatcher({ fences });
  const events: PresenceEvent[] = [];
  const tracker = createPresenceTracker({
    options: presenceOptions({ dwellMs: [10 * MIN], ...overrides }),
    sink: { onEvent: (e) => events.push(e) },
    near: matcher.near,
  });
  const slots = new Int32Array(64);
  const ping = (atMin: number, where: [number, number] = CENTRE, accM = 20, sid = 'sub-1') => {
    const n = matcher.matchInto(where[0], where[1], accM, slots);
    tracker.observe(sid, where[0], where[1], accM, T0 + atMin * MIN, matcher.snapshot(), slots, n);
  };
  const kinds = () => events.map((e) => `${e.kind}@${(e.tsMs - T0) / MIN}`);
  return { matcher, tracker, events, ping, kinds };
}

test('a first ping inside a fence fires enter with event time', () => {
  const h = harness();
  h.ping(0);
  assert.deepEqual(h.events, [{ kind: 'enter', sid: 'sub-1', fenceId: 'f1', tsMs: T0, dwellMs: 0 }]);
});

test('pings far from every fence create no state', () => {
  const h = harness();
  for (let i = 0; i < 100; i++) h.ping(i, east(5_000), 20, `far-${i}`);
  assert.equal(h.tracker.size, 0);
  assert.equal(h.events.length, 0);
});

test('jitter across the boundary within the hysteresis margin does not flap', () => {
  const h = harness([buildFence()], { hysteresisM: 50 });
  h.ping(0, east(90));
  // Alternate just outside (within 100 m + 50 m) and just inside: one visit, no exit.
  for (let i = 1; i <= 8; i++) h.ping(i, east(i % 2 ? 130 : 95), 10);
  assert.deepEqual(h.kinds(), ['enter@0']);
  h.ping(9, east(400), 10);
  assert.deepEqual(h.kinds(), ['enter@0', 'exit@9']);
  assert.equal(h.events[1].dwellMs, 8 * MIN, 'duration runs from enter to the last ping inside');
  assert.equal(h.events[1].cause, 'outside');
});

test('an imprecise ping near the fence neither exits nor enters', () => {
  const h = harness([buildFence()], { hysteresisM: 50 });
  h.ping(0);
  // 300 m out but with 400 m uncertainty: the fence grown by the ping's accuracy still holds it.
  h.ping(1, east(300), 400);
  assert.deepEqual(h.kinds(), ['enter@0']);
  // The same distance with a precise fix is a real exit.
  h.ping(2, east(300), 10);
  assert.deepEqual(h.kinds(), ['enter@0', 'exit@2']);
});

test('dwell fires once, on the first ping after the threshold', () => {
  const h = harness();
  h.ping(0);
  h.ping(4);
  h.ping(9);
  assert.deepEqual(h.kinds(), ['enter@0']);
  h.ping(13); // sparse: the first ping past 10 min
  h.ping(20);
  assert.deepEqual(h.kinds(), ['enter@0', 'dwell@13']);
  assert.equal(h.events[1].dwellMs, 13 * MIN);
  assert.equal(h.events[1].thresholdMs, 10 * MIN);
});

test('a sparse ping crossing several dwell thresholds fires one dwell per threshold', () => {
  const h = harness([buildFence()], { dwellMs: [5 * MIN, 15 * MIN] });
  h.ping(0);
  h.ping(16);
  assert.deepEqual(h.kinds(), ['enter@0', 'dwell@16', 'dwell@16']);
  assert.deepEqual(
    h.events.slice(1).map((e) => e.thresholdMs),
    [5 * MIN, 15 * MIN],
  );
});

test('duplicate pings produce nothing', () => {
  const h = harness();
  h.ping(0);
  h.ping(0);
  h.ping(11);
  h.ping(11);
  h.ping(12, east(500));
  h.ping(12, east(500));
  assert.deepEqual(h.kinds(), ['enter@0', 'dwell@11', 'exit@12']);
  assert.equal(h.tracker.stats().duplicate, 3);
});

test('a ping older than the newest beyond the tolerance changes nothing', () => {
  const h = harness([buildFence()], { lateToleranceMs: MIN });
  h.ping(0, east(500)); // tracked? no: far pings create no state
  h.ping(10);
  h.ping(20, east(500));
  assert.deepEqual(h.kinds(), ['enter@10', 'exit@20']);
  h.ping(15); // 5 min late: an old inside ping must not re-enter
  assert.deepEqual(h.kinds(), ['enter@10', 'exit@20']);
  assert.equal(h.tracker.stats().late, 1);
});

test('an out-of-order inside ping within the tolerance cannot re-open an exited visit', () => {
  const h = harness([buildFence()], { lateToleranceMs: 5 * MIN });
  h.ping(10);
  h.ping(20, east(500));
  h.ping(18); // older than the exit, within tolerance
  assert.deepEqual(h.kinds(), ['enter@10', 'exit@20']);
  h.ping(25); // a genuinely new return
  assert.deepEqual(h.kinds(), ['enter@10', 'exit@20', 'enter@25']);
});

test('an outside ping that arrives after a newer inside ping does not exit', () => {
  const h = harness([buildFence()], { lateToleranceMs: 5 * MIN });
  h.ping(0);
  h.ping(8);
  h.ping(6, east(500)); // reordered: older than the last inside ping
  assert.deepEqual(h.kinds(), ['enter@0']);
});

test('no ping for the exit timeout ends the visit at last inside + timeout, on the next ping', () => {
  const h = harness([buildFence()], { exitTimeoutMs: 30 * MIN });
  h.ping(0);
  h.ping(5);
  h.ping(60); // back inside after an hour of silence: timeout exit, then a new visit
  assert.deepEqual(h.kinds(), ['enter@0', 'exit@35', 'enter@60']);
  assert.equal(h.events[1].cause, 'timeout');
  assert.equal(h.events[1].dwellMs, 5 * MIN);
});

test('sweep ends silent visits and then forgets the subscriber after the state TTL', () => {
  const h = harness([buildFence()], { exitTimeoutMs: 30 * MIN, stateTtlMs: 60 * MIN });
  h.ping(0);
  h.ping(5);
  h.tracker.sweep(T0 + 20 * MIN);
  assert.deepEqual(h.kinds(), ['enter@0']);
  h.tracker.sweep(T0 + 36 * MIN);
  assert.deepEqual(h.kinds(), ['enter@0', 'exit@35']);
  assert.equal(h.tracker.size, 1, 'kept for late pings until the TTL');
  h.tracker.sweep(T0 + 66 * MIN);
  assert.equal(h.tracker.size, 0);
  // Once forgotten, the subscriber's next ping inside is a new visit.
  h.ping(70);
  assert.deepEqual(h.kinds(), ['enter@0', 'exit@35', 'enter@70']);
});

test('visits of different fences and subscribers are independent', () => {
  const other = buildFence({ id: 'f2', center: east(150), radiusM: 100 });
  const h = harness([buildFence(), other]);
  h.ping(0, east(60), 10, 'a'); // inside both
  h.ping(1, CENTRE, 10, 'b');
  h.ping(2, east(-60), 10, 'a'); // left f2 (210 m from its centre), still in f1
  const got = h.events.map((e) => `${e.sid}:${e.kind}:${e.fenceId}`);
  assert.deepEqual(got, ['a:enter:f1', 'a:enter:f2', 'b:enter:f1', 'a:exit:f2']);
});

test('a fence created while a subscriber is inside fires no enter until they leave and return', () => {
  const h = harness([buildFence({ id: 'old', center: east(2_000) })]);
  h.ping(0, east(2_000)); // tracked: inside another fence
  h.ping(1, CENTRE); // leaves 'old'; stands where the new fence will be
  h.matcher.upsert([buildFence({ id: 'new' })]);
  h.ping(2, CENTRE);
  h.ping(15, CENTRE);
  assert.deepEqual(
    h.events.map((e) => `${e.kind}:${e.fenceId}`),
    ['enter:old', 'exit:old'],
  );
  h.ping(16, east(600));
  h.ping(17, CENTRE);
  assert.deepEqual(
    h.events.map((e) => `${e.kind}:${e.fenceId}`),
    ['enter:old', 'exit:old', 'enter:new'],
  );
});

test('a subscriber who walks into a newly created fence gets an enter', () => {
  const h = harness([buildFence({ id: 'old', center: east(2_000) })]);
  h.ping(0, east(2_000));
  h.ping(1, east(1_000)); // outside where the new fence will be
  h.matcher.upsert([buildFence({ id: 'new' })]);
  h.ping(2, CENTRE);
  assert.deepEqual(
    h.events.map((e) => `${e.kind}:${e.fenceId}`),
    ['enter:old', 'exit:old', 'enter:new'],
  );
});

test('an unknown subscriber inside a fence created moments ago is presumed already there', () => {
  const h = harness([buildFence({ id: 'old', center: east(5_000) })], { newFenceGraceMs: 15 * MIN });
  h.ping(0, east(5_000), 10, 'other'); // sets the watermark
  h.matcher.upsert([buildFence({ id: 'new' })]);
  h.ping(1, CENTRE, 10, 'stranger');
  assert.deepEqual(
    h.events.map((e) => `${e.sid}:${e.kind}:${e.fenceId}`),
    ['other:enter:old'],
  );
});

test('with the enter policy a fence created around a subscriber fires enter at once', () => {
  const h = harness([buildFence({ id: 'old', center: east(5_000) })], { newFencePolicy: 'enter' });
  h.ping(0, east(5_000), 10, 'other');
  h.matcher.upsert([buildFence({ id: 'new' })]);
  h.ping(1, CENTRE, 10, 'stranger');
  assert.deepEqual(
    h.events.map((e) => `${e.sid}:${e.kind}:${e.fenceId}`),
    ['other:enter:old', 'stranger:enter:new'],
  );
});

test('a removed fence ends its visits without an exit event', () => {
  const h = harness();
  h.ping(0);
  h.matcher.remove(['f1']);
  h.ping(1);
  assert.deepEqual(h.kinds(), ['enter@0']);
  assert.equal(h.tracker.stats().visits, 0);
});

test('a ping less precise than the fence accepts does not enter it', () => {
  const h = harness([buildFence({ maxAccuracyM: 100 })]);
  h.ping(0, CENTRE, 800);
  assert.deepEqual(h.kinds(), []);
});

test('seeded random walks never produce two enters without an exit between them', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000);
  let x = seed;
  const rnd = () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
  const h = harness([buildFence()], { hysteresisM: 30, lateToleranceMs: 2 * MIN });
  let t = 0;
  for (let i = 0; i < 5_000; i++) {
    t += rnd() < 0.1 ? -rnd() * 3 : rnd() * 2; // occasional reordering
    const sid = `s${Math.floor(rnd() * 20)}`;
    h.ping(t, east(rnd() * 300 - 150), 5 + rnd() * 200, sid);
    if (rnd() < 0.05) h.ping(t, east(0), 10, sid);
  }
  const open = new Map<string, boolean>();
  for (const e of h.events) {
    const k = `${e.sid}/${e.fenceId}`;
    if (e.kind === 'enter') assert.ok(!open.get(k), `seed ${seed}: double enter for ${k}`);
    if (e.kind === 'exit') assert.ok(open.get(k), `seed ${seed}: exit without enter for ${k}`);
    if (e.kind === 'dwell') assert.ok(open.get(k), `seed ${seed}: dwell outside a visit for ${k}`);
    if (e.kind !== 'dwell') open.set(k, e.kind === 'enter');
  }
  assert.ok(h.events.length > 0, `seed ${seed}: the walk produced events`);
});

test('the default configuration maps onto valid presence options', async () => {
  const { loadConfig } = await import('../../../src/config.ts');
  const { presenceOptionsFromConfig } = await import('../../../src/presence/index.ts');
  const o = presenceOptionsFromConfig(loadConfig({ PRESENCE_DWELL_MINUTES: '15,5' }));
  assert.deepEqual(o.dwellMs, [5 * MIN, 15 * MIN]);
  assert.equal(o.exitTimeoutMs, 30 * MIN);
  assert.equal(o.newFencePolicy, 'suppress');
});

test('footfall hears of each open visit once per hour of event time', () => {
  const matcher = createMatcher({ fences: [buildFence(), buildFence({ id: 'f2', radiusM: 300 })] });
  const seen: string[] = [];
  const tracker = createPresenceTracker({
    options: presenceOptions({ exitTimeoutMs: 90 * MIN }),
    sink: { onEvent: () => undefined },
    near: matcher.near,
    onPresentHour: (sid, fence, ts) => seen.push(`${sid}/${fence.props.id}/${(ts - T0) / MIN}`),
  });
  const slots = new Int32Array(8);
  const ping = (atMin: number, where: [number, number], sid = 'a') =>
    tracker.observe(
      sid,
      where[0],
      where[1],
      10,
      T0 + atMin * MIN,
      matcher.snapshot(),
      slots,
      matcher.matchInto(where[0], where[1], 10, slots),
    );
  ping(0, CENTRE); // T0 is 10:00 — both fences
  ping(20, CENTRE);
  ping(40, east(200)); // left f1 (hysteresis 50 m), still in f2
  ping(65, east(200)); // a new hour in f2
  ping(70, CENTRE, 'b');
  assert.deepEqual(seen, ['a/f1/0', 'a/f2/0', 'a/f2/65', 'b/f1/70', 'b/f2/70']);
});
