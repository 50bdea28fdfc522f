import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildFenceIndex,
  createMatcher,
  packFenceChange,
  packFences,
  unpackFences,
} from '../../../src/geo/index.ts';
import { buildOracleCase } from '../../helpers/geo-oracle.ts';

const SEED = Number(process.env.GEO_SEED ?? Date.now() % 100_000);

test(`fences packed for another thread come back with the same geometry and the properties matching reads (seed ${SEED})`, () => {
  const c = buildOracleCase(SEED, { fences: 300 });
  const packed = packFences(c.fences);
  // A structured clone, as postMessage makes it.
  const copy = unpackFences(structuredClone(packed));
  assert.equal(copy.length, c.fences.length);
  let circles = 0;
  for (let i = 0; i < copy.length; i++) {
    const a = c.fences[i];
    const b = copy[i];
    assert.equal(b.kind, a.kind);
    assert.deepEqual(b.bbox, a.bbox);
    for (const k of ['id', 'tenant', 'storeId', 'maxAccuracyM', 'timeZone'] as const) {
      assert.equal(b.props[k], a.props[k], `${a.props.id}.${k}`);
    }
    // What only the API and campaigns read stays behind.
    assert.equal(b.props.name, '');
    assert.deepEqual(b.props.tags, []);
    if (a.kind === 'circle' && b.kind === 'circle') {
      circles++;
      assert.deepEqual(b.center, a.center);
      assert.equal(b.radiusM, a.radiusM);
    } else if (a.kind === 'polygon' && b.kind === 'polygon') {
      assert.deepEqual(Array.from(b.flat.coords), Array.from(a.flat.coords));
      assert.deepEqual(Array.from(b.flat.ringStart), Array.from(a.flat.ringStart));
      assert.deepEqual(Array.from(b.flat.partRing), Array.from(a.flat.partRing));
      assert.deepEqual(b.polygons, a.polygons);
    }
  }
  assert.ok(circles > 0 && circles < copy.length, 'the case mixes circles and polygons');
  // An index over the copies answers every point as one over the originals.
  const want = buildFenceIndex(c.fences, 1);
  const got = createMatcher({ fences: copy });
  const o1 = new Int32Array(256);
  const o2 = new Int32Array(256);
  for (let i = 0; i < c.lon.length; i++) {
    const n = want.matchInto(c.lon[i], c.lat[i], c.acc[i], o1);
    const m = got.matchInto(c.lon[i], c.lat[i], c.acc[i], o2);
    const a = Array.from(o1.subarray(0, n), (s) => want.fences[s].props.id).sort();
    const b = Array.from(o2.subarray(0, m), (s) => copy[s].props.id).sort();
    assert.deepEqual(b, a, `seed ${SEED}, point ${i}`);
  }
});

test('an empty change and a removal pack as they are', () => {
  assert.deepEqual(packFenceChange({ op: 'remove', ids: ['a', 'b'] }), { op: 'remove', ids: ['a', 'b'] });
  const empty = packFenceChange({ op: 'upsert', fences: [] });
  assert.equal(empty.op, 'upsert');
  assert.deepEqual(
    unpackFences(structuredClone((empty as { fences: Parameters<typeof unpackFences>[0] }).fences)),
    [],
  );
});
