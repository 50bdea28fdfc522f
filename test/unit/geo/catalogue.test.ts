import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  createMatcher,
  DEFAULT_FENCE_LIMITS,
  loadCatalogue,
  toFeatureCollection,
} from '../../../src/geo/index.ts';

const CATALOGUE = new URL('../../../geofences/', import.meta.url).pathname;

test('every file in geofences/ loads without a single error', async () => {
  const result = await loadCatalogue(CATALOGUE, DEFAULT_FENCE_LIMITS);
  assert.deepEqual(result.errors, []);
  assert.ok(result.files.length > 0);
  assert.ok(result.fences.length >= 30, `${result.fences.length} stores`);
  const tenants = new Set(result.fences.map((f) => f.props.tenant));
  assert.ok(tenants.size >= 3, `${tenants.size} retailers`);
  assert.ok(
    result.fences.some((f) => f.kind === 'circle'),
    'a circle',
  );
  assert.ok(
    result.fences.some((f) => f.kind === 'polygon' && f.polygons.length > 1),
    'a MultiPolygon',
  );
  assert.ok(
    result.fences.some((f) => f.kind === 'polygon' && f.polygons.some((p) => p.length > 1)),
    'a hole',
  );
});

test('the exported catalogue is a FeatureCollection that loads back to the same fences', async () => {
  const { fences } = await loadCatalogue(CATALOGUE, DEFAULT_FENCE_LIMITS);
  const dir = mkdtempSync(join(tmpdir(), 'geofences-'));
  try {
    const exported = JSON.parse(JSON.stringify(toFeatureCollection(fences)));
    assert.equal(exported.type, 'FeatureCollection');
    writeFileSync(join(dir, 'export.geojson'), JSON.stringify(exported));
    const again = await loadCatalogue(dir, DEFAULT_FENCE_LIMITS);
    assert.deepEqual(again.errors, []);
    assert.deepEqual(again.fences, fences);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken file and a duplicate id are reported while the good fences still load', async () => {
  const { fences } = await loadCatalogue(CATALOGUE, DEFAULT_FENCE_LIMITS);
  const dir = mkdtempSync(join(tmpdir(), 'geofences-'));
  try {
    writeFileSync(join(dir, 'a.geojson'), JSON.stringify(toFeatureCollection(fences.slice(0, 3))));
    writeFileSync(join(dir, 'b.geojson'), JSON.stringify(toFeatureCollection(fences.slice(2, 4))));
    writeFileSync(join(dir, 'c.geojson'), '{ not json');
    const result = await loadCatalogue(dir, DEFAULT_FENCE_LIMITS);
    assert.equal(result.fences.length, 4);
    assert.deepEqual(result.errors.map((e) => [e.file, e.problem]).sort(), [
      ['b.geojson', 'DUPLICATE_ID'],
      ['c.geojson', 'SCHEMA'],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ping at a catalogue store matches that store', async () => {
  const { fences } = await loadCatalogue(CATALOGUE, DEFAULT_FENCE_LIMITS);
  const matcher = createMatcher({ fences });
  const kiosk = fences.find((f) => f.kind === 'circle')!;
  if (kiosk.kind !== 'circle') return;
  const hits = matcher.match(kiosk.center[0], kiosk.center[1], 20).map((f) => f.props.id);
  assert.ok(hits.includes(kiosk.props.id));
});
