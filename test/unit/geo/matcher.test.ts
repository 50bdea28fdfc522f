import assert from 'node:assert/strict';
import { test } from 'node:test';
import turfDistance from '@turf/distance';
import pointInPolygonHao from 'point-in-polygon-hao';
import { distanceToSegmentM } from '../../../src/geo/geodesy.ts';
import { buildFenceIndex, createMatcher, type Fence, validateFence } from '../../../src/geo/index.ts';
import { flattenPolygons, polygonsCover } from '../../../src/geo/pip.ts';
import { buildOracleCase } from '../../helpers/geo-oracle.ts';

const SEED = Number(process.env.GEO_SEED ?? Date.now() % 100_000);

function fence(id: string, geometry: unknown, props: Record<string, unknown> = {}): Fence {
  return validateFence({
    type: 'Feature',
    geometry,
    properties: { id, tenant: 't', name: id, storeId: id, maxAccuracyM: 1000, ...props },
  });
}

const ring = (x: number, y: number, d: number) => [
  [x, y],
  [x + d, y],
  [x + d, y + d],
  [x, y + d],
  [x, y],
];
const squareWithHole = fence('donut', {
  type: 'Polygon',
  coordinates: [ring(30, 50, 0.004), ring(30.001, 50.001, 0.002)],
});
const twoParts = fence('pair', {
  type: 'MultiPolygon',
  coordinates: [[ring(31, 50, 0.001)], [ring(31.003, 50, 0.001)]],
});
const circle = fence('kiosk', { type: 'Point', coordinates: [32, 50] }, { radiusM: 100, maxAccuracyM: 50 });

test('points on edges and vertices are inside, as PostGIS ST_Covers answers', () => {
  const m = createMatcher({ fences: [squareWithHole] });
  assert.equal(m.match(30, 50, 10).length, 1, 'vertex');
  assert.equal(m.match(30.002, 50, 10).length, 1, 'edge');
  assert.equal(m.match(30.001, 50.002, 10).length, 1, 'hole edge');
  assert.equal(m.match(30.002, 50.002, 10).length, 0, 'inside the hole');
  assert.equal(m.match(30.0005, 50.0005, 10).length, 1, 'between shell and hole');
  assert.equal(m.match(30.0041, 50.002, 10).length, 0, 'just outside');
});

test('a MultiPolygon matches in each part and not between them', () => {
  const m = createMatcher({ fences: [twoParts] });
  assert.equal(m.match(31.0005, 50.0005, 10)[0]?.props.id, 'pair');
  assert.equal(m.match(31.0035, 50.0005, 10)[0]?.props.id, 'pair');
  assert.equal(m.match(31.002, 50.0005, 10).length, 0);
});

test('a circle matches by great-circle distance, rim included', () => {
  const m = createMatcher({ fences: [circle] });
  assert.equal(m.match(32, 50, 10).length, 1);
  const east = (100 / (111194.9266 * Math.cos((50 * Math.PI) / 180))) * 0.9999;
  assert.equal(m.match(32 + east, 50, 10).length, 1);
  assert.equal(m.match(32 + east * 1.001, 50, 10).length, 0);
});

test('a ping less precise than the fence accepts never matches it', () => {
  const m = createMatcher({ fences: [circle] });
  assert.equal(m.match(32, 50, 50).length, 1);
  assert.equal(m.match(32, 50, 50.5).length, 0);
});

test('changes swap in a new snapshot while a held snapshot keeps answering as before', () => {
  const m = createMatcher({ fences: [circle] });
  const held = m.snapshot();
  m.upsert([squareWithHole]);
  m.remove(['kiosk']);
  const out = new Int32Array(8);
  assert.equal(held.matchInto(32, 50, 10, out), 1, 'old snapshot unchanged');
  assert.equal(m.match(32, 50, 10).length, 0);
  assert.equal(m.match(30.0005, 50.0005, 10).length, 1);
  assert.equal(m.size, 1);
  assert.ok(m.snapshot().version > held.version);
  m.upsert([fence('donut', { type: 'Point', coordinates: [32, 50] }, { radiusM: 10 })]);
  assert.equal(m.get('donut')?.kind, 'circle', 'upsert replaces by id');
  assert.equal(m.size, 1);
});

test('fences within buffer metres are near; farther ones are not', () => {
  const m = createMatcher({ fences: [squareWithHole] });
  const f = m.get('donut')!;
  const lonPerM = 1 / (111194.9266 * Math.cos((50.002 * Math.PI) / 180));
  assert.ok(m.near(f, 30.004 + 40 * lonPerM, 50.002, 50));
  assert.ok(!m.near(f, 30.004 + 60 * lonPerM, 50.002, 50));
});

test(`the matcher agrees with a brute-force scan using point-in-polygon-hao on ≥100k seeded points, with 4 × 4 and 8 × 8 sub-cells (seed ${SEED})`, () => {
  const c = buildOracleCase(SEED, { fences: 600, snapBits: 20 });
  assert.ok(c.lon.length >= 100_000, `only ${c.lon.length} points`);
  // coarse (4 × 4) sub-cells where fences are sparse, fine (8 × 8) ones for every fence
  const indexes = [
    buildFenceIndex(c.fences, 1, { cellSizeM: 40 }),
    buildFenceIndex(c.fences, 1, { cellSizeM: 40, fineMinFences: 0 }),
  ];
  assert.equal(indexes[1].stats().fineEntries > 0, true);
  const polygonsOf = c.fences.map((f) => (f.kind === 'polygon' ? f.polygons : []));
  const out = new Int32Array(1024);
  const disagreements: string[] = [];
  for (let i = 0; i < c.lon.length; i++) {
    const lon = c.lon[i];
    const lat = c.lat[i];
    const expected: number[] = [];
    c.fences.forEach((f, s) => {
      const b = f.bbox;
      if (lon < b[0] || lon > b[2] || lat < b[1] || lat > b[3]) return;
      if (c.acc[i] > f.props.maxAccuracyM) return;
      if (f.kind === 'circle') {
        if (turfDistance([lon, lat], f.center, { units: 'meters' }) <= f.radiusM) expected.push(s);
      } else if (polygonsOf[s].some((poly) => pointInPolygonHao([lon, lat], poly) !== false))
        expected.push(s);
    });
    for (const [k, index] of indexes.entries()) {
      const n = index.matchInto(lon, lat, c.acc[i], out);
      const got = Array.from(out.subarray(0, n)).sort((a, b) => a - b);
      if (got.join() !== expected.join()) {
        disagreements.push(
          `index ${k}, ${c.kinds[i]} [${lon}, ${lat}] acc ${c.acc[i]}: ours [${got}] oracle [${expected}]`,
        );
      }
    }
  }
  assert.deepEqual(disagreements.slice(0, 10), [], `seed ${SEED}: ${disagreements.length} disagreements`);
});

test(`the grid answers exactly as the whole-polygon test on unsnapped coordinates, with 4 × 4 and 8 × 8 sub-cells (seed ${SEED})`, () => {
  const c = buildOracleCase(SEED + 1, { fences: 300 });
  const out = new Int32Array(1024);
  for (const [cellSizeM, fineMinFences] of [25, 60, 150].flatMap((m) => [
    [m, 0],
    [m, Infinity],
  ])) {
    const index = buildFenceIndex(c.fences, 1, { cellSizeM, fineMinFences });
    assert.equal(index.stats().fineEntries > 0, fineMinFences === 0);
    const flats = c.fences.map((f) => (f.kind === 'polygon' ? flattenPolygons(f.polygons) : null));
    let bad = 0;
    for (let i = 0; i < c.lon.length; i++) {
      const lon = c.lon[i];
      const lat = c.lat[i];
      const n = index.matchInto(lon, lat, 0, out);
      const got = Array.from(out.subarray(0, n)).sort((a, b) => a - b);
      const expected = index
        .search([lon, lat, lon, lat])
        .filter((s) => {
          const f = c.fences[s];
          return f.kind === 'circle' ? index.covers(s, lon, lat) : polygonsCover(flats[s]!, lon, lat);
        })
        .sort((a, b) => a - b);
      if (got.join() !== expected.join()) bad++;
    }
    assert.equal(
      bad,
      0,
      `seed ${SEED + 1}, cell ${cellSizeM} m, fine from ${fineMinFences}: ${bad} disagreements`,
    );
  }
});

for (const lazyIndex of [false, true]) {
  test(`a stream of upserts and removals keeps answering like a fresh index over the same fences${lazyIndex ? ' (index built on first match)' : ''}`, () => {
    const c = buildOracleCase(SEED + 2, { fences: 120 });
    const changes: string[] = [];
    const matcher = createMatcher({
      fences: c.fences.slice(0, 60),
      maxDelta: 25,
      lazyIndex,
      onChange: (ch) =>
        changes.push(
          ch.op === 'remove'
            ? `remove ${ch.ids.join()}`
            : `${ch.op} ${ch.fences.map((f) => f.props.id).join()}`,
        ),
    });
    const live = new Map(c.fences.slice(0, 60).map((f) => [f.props.id, f]));
    const out = new Int32Array(256);
    const expected: string[] = [];
    for (let step = 0; step < 80; step++) {
      const f = c.fences[(step * 7) % c.fences.length];
      if (step % 3 === 2) {
        if (live.has(f.props.id)) expected.push(`remove ${f.props.id}`);
        matcher.remove([f.props.id]);
        live.delete(f.props.id);
      } else {
        expected.push(`upsert ${f.props.id}`);
        matcher.upsert([f]);
        live.set(f.props.id, f);
      }
      const fresh = buildFenceIndex([...live.values()], 1);
      const snap = matcher.snapshot();
      assert.equal(snap.fences.length, live.size);
      assert.equal(matcher.size, live.size);
      for (const [id, want] of live) {
        assert.equal(matcher.get(id), want);
        assert.equal(snap.fences[snap.slotOf(id)], want);
      }
      assert.equal(matcher.get(f.props.id), live.get(f.props.id));
      for (let i = step; i < c.lon.length; i += 997) {
        const n = snap.matchInto(c.lon[i], c.lat[i], c.acc[i], out);
        const got = Array.from(out.subarray(0, n), (s) => snap.fences[s].props.id).sort();
        const m = fresh.matchInto(c.lon[i], c.lat[i], c.acc[i], out);
        const want = Array.from(out.subarray(0, m), (s) => fresh.fences[s].props.id).sort();
        assert.deepEqual(got, want, `seed ${SEED + 2}, step ${step}, point ${i}`);
      }
    }
    assert.deepEqual(changes, expected);
  });
}

// near() takes shortcuts (the buffered bounding box; a box wholly within the buffer); they must never
// change its answer: covered, or within buffer metres of some edge.
test('near agrees with a brute-force edge scan for random points and buffers', () => {
  const m = createMatcher({ fences: [squareWithHole] });
  const f = m.get('donut')!;
  const flat = flattenPolygons(f.kind === 'circle' ? [] : f.polygons);
  const brute = (lon: number, lat: number, bufferM: number) => {
    if (polygonsCover(flat, lon, lat)) return true;
    if (bufferM <= 0) return false;
    for (let r = 0; r < flat.ringStart.length - 1; r++) {
      for (let i = flat.ringStart[r]; i < flat.ringStart[r + 1] - 1; i++) {
        const c = flat.coords;
        const d = distanceToSegmentM(lon, lat, c[i * 2], c[i * 2 + 1], c[i * 2 + 2], c[i * 2 + 3]);
        if (d <= bufferM) return true;
      }
    }
    return false;
  };
  let state = SEED >>> 0 || 1;
  const rnd = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  let near = 0;
  for (let i = 0; i < 20_000; i++) {
    const lon = 30.004 + (rnd() - 0.5) * 0.2;
    const lat = 50.004 + (rnd() - 0.5) * 0.12;
    const bufferM = rnd() < 0.1 ? 0 : rnd() * 6_000;
    const want = brute(lon, lat, bufferM);
    if (want) near++;
    assert.equal(m.near(f, lon, lat, bufferM), want, `seed ${SEED}: ${lon}, ${lat}, ${bufferM} m`);
  }
  assert.ok(near > 1_000 && near < 19_000, `both answers exercised (${near} near)`);
});

test('a fence exports the same coordinates before and after an index took over its geometry', () => {
  const before = JSON.stringify(squareWithHole.kind === 'polygon' ? squareWithHole.polygons : null);
  const m = createMatcher({ fences: [squareWithHole, twoParts] });
  m.match(30.0005, 50.0005, 10);
  const f = m.get('donut')!;
  assert.equal(JSON.stringify(f.kind === 'polygon' ? f.polygons : null), before);
  const pair = m.get('pair')!;
  assert.equal(pair.kind === 'polygon' ? pair.polygons.length : 0, 2);
});

// The build sorts cell entries by block in place (not stably) and then restores each cell's slot
// order; with small cells there are thousands of blocks and so many sort buckets. The answer must
// list the covering fences in slot order (a full `out` keeps the lowest slots), exactly as a scan
// of every fence in slot order would.
test(`matchInto lists covering fences in slot order, also when \`out\` fills, over many sort buckets (seed ${SEED})`, () => {
  const c = buildOracleCase(SEED + 3, { fences: 500 });
  const flats = c.fences.map((f) => (f.kind === 'polygon' ? flattenPolygons(f.polygons) : null));
  for (const [cellSizeM, fineMinFences] of [
    [8, Infinity],
    [15, 0],
    [60, 24],
  ]) {
    const index = buildFenceIndex(c.fences, 1, { cellSizeM, fineMinFences, maxCellsPerFence: 1e9 });
    assert.equal(index.stats().largeFences, 0);
    const out = new Int32Array(256);
    const short = new Int32Array(2);
    let bad = 0;
    let multi = 0;
    for (let i = 0; i < c.lon.length; i++) {
      const lon = c.lon[i];
      const lat = c.lat[i];
      const expected: number[] = [];
      for (let s = 0; s < c.fences.length; s++) {
        const f = c.fences[s];
        const b = f.bbox;
        if (lon < b[0] || lon > b[2] || lat < b[1] || lat > b[3]) continue;
        if (c.acc[i] > f.props.maxAccuracyM) continue;
        if (f.kind === 'circle' ? index.covers(s, lon, lat) : polygonsCover(flats[s]!, lon, lat))
          expected.push(s);
      }
      if (expected.length > 1) multi++;
      const n = index.matchInto(lon, lat, c.acc[i], out);
      const k = index.matchInto(lon, lat, c.acc[i], short);
      if (Array.from(out.subarray(0, n)).join() !== expected.join()) bad++;
      else if (Array.from(short.subarray(0, k)).join() !== expected.slice(0, 2).join()) bad++;
    }
    assert.ok(multi > 100, `only ${multi} points in more than one fence`);
    assert.equal(bad, 0, `seed ${SEED + 3}, cell ${cellSizeM} m: ${bad} answers out of slot order or wrong`);
  }
});
