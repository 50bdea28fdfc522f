import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createFenceSync } from '../../../src/api/index.ts';
import { createMatcher } from '../../../src/geo/index.ts';
import { buildFence, type Harness, logger, startHarness } from './fixture.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test('a retailer creates a fence of its own tenant, and the live matcher matches it at once', async () => {
  const r = await h.call('POST', '/v1/geofences', {
    as: 'retailerA',
    json: buildFence({ id: 'acme-1', lon: 30.1, lat: 50.1 }),
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.properties.tenant, 'acme');
  assert.equal(r.json.version, 1);
  assert.equal(r.headers.get('etag'), '"1"');
  assert.equal(r.headers.get('location'), '/v1/geofences/acme-1');
  assert.deepEqual(
    h.matcher.match(30.1, 50.1, 10).map((f) => f.props.id),
    ['acme-1'],
  );
});

test('an operator must name the tenant, and a fence without an id gets one', async () => {
  const missing = await h.call('POST', '/v1/geofences', { as: 'analyst', json: buildFence() });
  assert.equal(missing.status, 400);
  assert.equal(missing.json.code, 'VALIDATION_FAILED');
  assert.match(missing.json.detail, /tenant/);
  const ok = await h.call('POST', '/v1/geofences?tenant=globex', {
    as: 'analyst',
    json: buildFence({ lon: 31, lat: 51 }),
  });
  assert.equal(ok.status, 201, ok.text);
  assert.match(ok.json.id, /^gf_[0-9a-f]{16}$/);
  assert.equal(ok.json.properties.tenant, 'globex');
});

test('the tenant never comes from the body: a retailer naming another tenant is refused', async () => {
  const r = await h.call('POST', '/v1/geofences', {
    as: 'retailerA',
    json: buildFence({ id: 'sneaky', tenant: 'globex' }),
  });
  assert.equal(r.status, 400);
  assert.equal(r.json.errors[0].path, 'properties.tenant');
  const q = await h.call('POST', '/v1/geofences?tenant=globex', {
    as: 'retailerA',
    json: buildFence({ id: 'sneaky2' }),
  });
  assert.equal(q.status, 404);
  assert.equal((await h.geofences.get('sneaky'))?.id, undefined);
});

test('version, status and other unknown fields in the body are rejected, not assigned', async () => {
  const f = buildFence({ id: 'mass' }) as any;
  f.version = 99;
  f.properties.status = 'active';
  const r = await h.call('POST', '/v1/geofences', { as: 'retailerA', json: f });
  assert.equal(r.status, 400);
  const paths = r.json.errors.map((e: { path: string }) => e.path).sort();
  assert.deepEqual(paths, ['properties.status', 'version']);
});

test('another tenant’s fence answers 404 to get, replace and delete, and stays untouched', async () => {
  await h.call('POST', '/v1/geofences', {
    as: 'retailerB',
    json: buildFence({ id: 'globex-1', lon: 32, lat: 49 }),
  });
  for (const [method, json] of [
    ['GET', undefined],
    ['PUT', buildFence({ name: 'hijacked' })],
    ['DELETE', undefined],
  ] as const) {
    const r = await h.call(method, '/v1/geofences/globex-1?version=1', { as: 'retailerA', json });
    // GET takes no version parameter: it is rejected before the lookup, but never with data.
    assert.ok(r.status === 404 || (method === 'GET' && r.status === 400), `${method} ${r.status}`);
    assert.ok(
      !r.text.includes('coordinates') && !r.text.includes('Store'),
      'nothing of the other tenant leaks',
    );
  }
  const get = await h.call('GET', '/v1/geofences/globex-1', { as: 'retailerA' });
  assert.equal(get.status, 404);
  assert.equal(get.json.code, 'GEOFENCE_NOT_FOUND');
  const own = await h.call('GET', '/v1/geofences/globex-1', { as: 'retailerB' });
  assert.equal(own.status, 200);
  assert.equal(own.json.properties.name, 'Store');
});

test('replacing with a stale version answers 409 and leaves the fence as it was', async () => {
  const created = await h.call('POST', '/v1/geofences', {
    as: 'retailerA',
    json: buildFence({ id: 'occ', lon: 30.3 }),
  });
  assert.equal(created.status, 201);
  const v2 = await h.call('PUT', '/v1/geofences/occ', {
    as: 'retailerA',
    json: buildFence({ name: 'second', lon: 30.3 }),
    headers: { 'if-match': '"1"' },
  });
  assert.equal(v2.status, 200, v2.text);
  assert.equal(v2.json.version, 2);
  const stale = await h.call('PUT', '/v1/geofences/occ?version=1', {
    as: 'retailerA',
    json: buildFence({ name: 'third' }),
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.code, 'VERSION_CONFLICT');
  assert.equal(stale.json.currentVersion, 2);
  const now = await h.call('GET', '/v1/geofences/occ', { as: 'retailerA' });
  assert.equal(now.json.properties.name, 'second');
  const noVersion = await h.call('PUT', '/v1/geofences/occ', {
    as: 'retailerA',
    json: buildFence({ name: 'x' }),
  });
  assert.equal(noVersion.status, 400);
  const staleDelete = await h.call('DELETE', '/v1/geofences/occ?version=1', { as: 'retailerA' });
  assert.equal(staleDelete.status, 409);
});

test('every change writes an audit row with who, what and the versions before and after', async () => {
  await h.call('POST', '/v1/geofences', { as: 'retailerA', json: buildFence({ id: 'aud', lon: 29 }) });
  await h.call('PUT', '/v1/geofences/aud?version=1', {
    as: 'retailerA',
    json: buildFence({ name: 'renamed', lon: 29 }),
  });
  const del = await h.call('DELETE', '/v1/geofences/aud', { as: 'retailerA', headers: { 'if-match': '2' } });
  assert.equal(del.status, 204);
  const audit = await h.call('GET', '/v1/audit?entity=geofences&entityId=aud', { as: 'analyst' });
  assert.equal(audit.status, 200, audit.text);
  const rows = audit.json.items.map((i: any) => [
    i.action,
    i.versionBefore,
    i.versionAfter,
    i.actor,
    i.tenant,
  ]);
  assert.deepEqual(rows, [
    ['delete', 2, 3, h.keyIds.retailerA, 'acme'],
    ['update', 1, 2, h.keyIds.retailerA, 'acme'],
    ['create', 0, 1, h.keyIds.retailerA, 'acme'],
  ]);
  assert.equal(audit.json.items[1].body.properties.name, 'renamed');
  const retailer = await h.call('GET', '/v1/audit', { as: 'retailerA' });
  assert.equal(retailer.status, 403);
});

test('a deleted fence is gone from get, list, export and the matcher, but kept in the store', async () => {
  await h.call('POST', '/v1/geofences', {
    as: 'retailerA',
    json: buildFence({ id: 'gone', lon: 28, lat: 48 }),
  });
  assert.equal(h.matcher.match(28, 48, 10).length, 1);
  const del = await h.call('DELETE', '/v1/geofences/gone', { as: 'retailerA' });
  assert.equal(del.status, 204);
  assert.equal(h.matcher.match(28, 48, 10).length, 0);
  assert.equal((await h.call('GET', '/v1/geofences/gone', { as: 'retailerA' })).status, 404);
  const list = await h.call('GET', '/v1/geofences?limit=1000', { as: 'retailerA' });
  assert.ok(!list.json.items.some((f: any) => f.id === 'gone'));
  const stored = await h.geofences.get('gone');
  assert.equal(stored?.deleted, true);
  const again = await h.call('DELETE', '/v1/geofences/gone', { as: 'retailerA' });
  assert.equal(again.status, 404);
});

test('a bulk import answers per feature: created, invalid (naming the problem) and conflicting ids', async () => {
  const collection = {
    type: 'FeatureCollection',
    features: [
      buildFence({ id: 'bulk-1', lon: 35, lat: 45 }),
      buildFence({ id: 'bulk-2', lon: 35.1, lat: 45 }),
      {
        ...buildFence({ id: 'bowtie' }),
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [30, 50],
              [30.002, 50.001],
              [30.002, 50],
              [30, 50.0015],
              [30, 50],
            ],
          ],
        },
      },
      buildFence({ id: 'acme-1' }),
      { type: 'Feature', geometry: null, properties: { name: 'x', storeId: 'y', bogus: 1 } },
      buildFence({ id: 'bulk-1' }),
      buildFence({ id: 'globex-1' }),
    ],
  };
  const r = await h.call('POST', '/v1/geofences', { as: 'retailerA', json: collection });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.created, 2);
  assert.equal(r.json.failed, 5);
  const byIndex = r.json.results.map((x: any) => [x.index, x.status, x.problem ?? x.code]);
  assert.deepEqual(byIndex, [
    [0, 'created', undefined],
    [1, 'created', undefined],
    [2, 'invalid', 'SELF_INTERSECTION'],
    [3, 'conflict', 'VERSION_CONFLICT'],
    [4, 'invalid', 'VALIDATION_FAILED'],
    [5, 'invalid', 'DUPLICATE_ID'],
    [6, 'conflict', 'VERSION_CONFLICT'],
  ]);
  assert.ok(r.json.results[4].errors.some((e: any) => e.path === 'properties.bogus'));
  assert.deepEqual(
    h.matcher.match(35, 45, 10).map((f) => f.props.id),
    ['bulk-1'],
  );
  const upsert = await h.call('POST', '/v1/geofences?mode=upsert', {
    as: 'retailerA',
    json: {
      type: 'FeatureCollection',
      features: [buildFence({ id: 'bulk-1', name: 'new', lon: 35, lat: 45 })],
    },
  });
  assert.equal(upsert.json.replaced, 1);
  assert.equal(upsert.json.results[0].version, 2);
});

test('the list filters by tenant, tag and bounding box, and pages with a cursor', async () => {
  for (let i = 0; i < 5; i++) {
    await h.call('POST', '/v1/geofences', {
      as: 'retailerB',
      json: buildFence({ id: `page-${i}`, lon: 10 + i, lat: 10, tags: i % 2 ? ['odd'] : ['even'] }),
    });
  }
  const tag = await h.call('GET', '/v1/geofences?tag=odd', { as: 'retailerB' });
  assert.deepEqual(
    tag.json.items.map((f: any) => f.id),
    ['page-1', 'page-3'],
  );
  const box = await h.call('GET', '/v1/geofences?bbox=10.5,9,12.5,11', { as: 'analyst' });
  assert.deepEqual(
    box.json.items.map((f: any) => f.id),
    ['page-1', 'page-2'],
  );
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const r = await h.call('GET', `/v1/geofences?tenant=globex&limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
      as: 'analyst',
    });
    assert.equal(r.status, 200, r.text);
    seen.push(...r.json.items.map((f: any) => f.id));
    cursor = r.json.nextCursor;
  } while (cursor);
  assert.ok(['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'globex-1'].every((id) => seen.includes(id)));
  assert.ok(seen.every((id) => !id.startsWith('acme') && !id.startsWith('bulk')));
  const acmeList = await h.call('GET', '/v1/geofences?limit=1000', { as: 'retailerA' });
  assert.ok(acmeList.json.items.every((f: any) => f.properties.tenant === 'acme'));
  const otherTenant = await h.call('GET', '/v1/geofences?tenant=globex', { as: 'retailerA' });
  assert.equal(otherTenant.status, 404);
  const badBox = await h.call('GET', '/v1/geofences?bbox=1,2,3', { as: 'analyst' });
  assert.equal(badBox.status, 400);
  assert.equal(badBox.json.errors[0].path, 'query.bbox');
});

test('export answers a GeoJSON FeatureCollection of the caller’s fences that re-imports cleanly', async () => {
  const r = await h.call('GET', '/v1/geofences/export', { as: 'retailerB' });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /application\/geo\+json/);
  assert.equal(r.json.type, 'FeatureCollection');
  assert.ok(r.json.features.length >= 6);
  assert.ok(r.json.features.every((f: any) => f.properties.tenant === 'globex'));
  const reimport = await h.call('POST', '/v1/geofences?mode=upsert', { as: 'retailerB', json: r.json });
  assert.equal(reimport.status, 200, reimport.text);
  assert.equal(reimport.json.failed, 0);
});

test('a fence written through one instance reaches another instance’s matcher within a second', async () => {
  const remote = createMatcher({ fences: [] });
  const sync = createFenceSync({ geofences: h.geofences, matcher: remote, logger, intervalMs: 200 });
  sync.start();
  try {
    const created = await h.call('POST', '/v1/geofences', {
      as: 'retailerB',
      json: buildFence({ id: 'synced', lon: 40, lat: 40 }),
    });
    assert.equal(created.status, 201);
    const t0 = Date.now();
    while (remote.match(40, 40, 10).length === 0) {
      assert.ok(Date.now() - t0 < 1000, 'not synced within a second');
      await new Promise((r) => setTimeout(r, 20));
    }
    const del = await h.call('DELETE', '/v1/geofences/synced', { as: 'retailerB' });
    assert.equal(del.status, 204);
    const t1 = Date.now();
    while (remote.match(40, 40, 10).length > 0) {
      assert.ok(Date.now() - t1 < 1000, 'removal not synced within a second');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    sync.stop();
  }
});

test('a circle fence (Point + radiusM) sent as application/geo+json is stored and matched', async () => {
  const circle = {
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [30.5234, 50.4501] },
    properties: {
      id: 'acme-circle',
      name: 'Acme Khreshchatyk',
      storeId: 'K-1',
      radiusM: 150,
      tags: ['kyiv'],
    },
  };
  const r = await h.call('POST', '/v1/geofences', {
    as: 'retailerA',
    body: JSON.stringify(circle),
    headers: { 'content-type': 'application/geo+json' },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.properties.radiusM, 150);
  assert.deepEqual(
    h.matcher.match(30.5234, 50.4505, 10).map((f) => f.props.id),
    ['acme-circle'],
  );
  assert.equal(h.matcher.match(30.5234, 50.453, 10).length, 0, '320 m north is outside the 150 m circle');
  const moved = await h.call('PUT', '/v1/geofences/acme-circle', {
    as: 'retailerA',
    headers: { 'if-match': '"1"' },
    json: { ...circle, properties: { ...circle.properties, id: undefined, radiusM: 400 } },
  });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(h.matcher.match(30.5234, 50.453, 10).length, 1, 'the live matcher has the new radius');
});

test('the catalogue import writes new and changed fences once, keeps API deletions and other tenants’ ids', async () => {
  const { validateFence, DEFAULT_FENCE_LIMITS } = await import('../../../src/geo/index.ts');
  const fence = (id: string, tenant: string, name = 'Cat') =>
    validateFence(
      {
        ...buildFence({ id, lon: 50, lat: 10 }),
        properties: { ...buildFence({ id }).properties, id, tenant, name },
      },
      DEFAULT_FENCE_LIMITS,
    );
  const first = await h.geofences.importCatalogue([
    fence('cat-1', 'acme'),
    fence('cat-2', 'acme'),
    fence('cat-3', 'globex'),
  ]);
  assert.deepEqual(first, { written: 3, unchanged: 0, keptDeleted: [], conflicts: [] });
  const again = await h.geofences.importCatalogue([
    fence('cat-1', 'acme'),
    fence('cat-2', 'acme', 'Renamed'),
    fence('cat-3', 'globex'),
  ]);
  assert.deepEqual(again, { written: 1, unchanged: 2, keptDeleted: [], conflicts: [] });
  assert.equal((await h.geofences.get('cat-1'))?.version, 1, 'an unchanged fence gets no new version');
  assert.equal((await h.geofences.get('cat-2'))?.version, 2);
  await h.call('DELETE', '/v1/geofences/cat-1', { as: 'retailerA' });
  const third = await h.geofences.importCatalogue([fence('cat-1', 'acme'), fence('cat-3', 'acme')]);
  assert.deepEqual(third, { written: 0, unchanged: 0, keptDeleted: ['cat-1'], conflicts: ['cat-3'] });
  assert.equal((await h.geofences.get('cat-3'))?.tenant, 'globex');
});

test('of ten concurrent replaces sent with the same version exactly one wins; the rest answer 409', async () => {
  await h.call('POST', '/v1/geofences', {
    as: 'retailerA',
    json: buildFence({ id: 'race', lon: 60, lat: 10 }),
  });
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      h.call('PUT', '/v1/geofences/race?version=1', {
        as: 'retailerA',
        json: buildFence({ name: `w${i}`, lon: 60, lat: 10 }),
      }),
    ),
  );
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
  const winner = answers.find((a) => a.status === 200)!;
  const now = await h.call('GET', '/v1/geofences/race', { as: 'retailerA' });
  assert.equal(now.json.version, 2);
  assert.equal(now.json.properties.name, winner.json.properties.name);
  const audit = await h.call('GET', '/v1/audit?entity=geofences&entityId=race', { as: 'analyst' });
  assert.equal(audit.json.items.length, 2, 'one create and one update, nothing from the losers');
});
