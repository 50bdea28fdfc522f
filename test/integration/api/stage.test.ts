import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ApiStage, createApiStage, createMetricsRegistry } from '../../../src/api/index.ts';
import {
  createMatcher,
  DEFAULT_FENCE_LIMITS,
  type GeoMatcher,
  validateFence,
} from '../../../src/geo/index.ts';
import { createStore, type Store } from '../../../src/store/index.ts';
import { buildFence, logger } from './fixture.ts';

let dir: string;
let store: Store;
let matcher: GeoMatcher;
let stage: ApiStage;
let url: string;

const catalogueFence = (id: string, lon: number) =>
  validateFence(
    { ...buildFence({ id, lon, lat: 10 }), properties: { ...buildFence().properties, id, tenant: 'acme' } },
    DEFAULT_FENCE_LIMITS,
  );

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geotrigger-api-stage-'));
  store = await createStore({
    config: { user: 'default', password: '', database: 'stage', dataDir: dir, ttlDays: 30, minGroupSize: 10 },
    logger,
  });
  matcher = createMatcher({ fences: [] });
  stage = await createApiStage({
    logger,
    store,
    matcher,
    limits: DEFAULT_FENCE_LIMITS,
    metricsRegistry: createMetricsRegistry(),
    dataDir: dir,
    catalogue: [catalogueFence('cat-a', 1), catalogueFence('cat-b', 2)],
    readiness: { kafka: () => true },
  });
  url = `http://127.0.0.1:${await stage.listen(0, '127.0.0.1')}`;
});
after(async () => {
  await stage?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('the stage imports the catalogue, loads the matcher from the store and serves with the generated admin key', async () => {
  assert.deepEqual(stage.catalogueImport, { written: 2, unchanged: 0, keptDeleted: [], conflicts: [] });
  assert.equal(matcher.size, 2);
  assert.deepEqual(
    matcher.match(1, 10, 10).map((f) => f.props.id),
    ['cat-a'],
  );
  const admin = (await readFile(join(dir, 'admin-api-key'), 'utf8')).trim();
  const r = await fetch(`${url}/v1/geofences?limit=10`, { headers: { authorization: `Bearer ${admin}` } });
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { items: unknown[] }).items.length, 2);
  const ready = (await (await fetch(`${url}/readyz`)).json()) as { checks: Record<string, string> };
  assert.deepEqual(ready.checks, { store: 'up', kafka: 'up' });
});

test('a fence written into the store by another instance reaches this matcher through the running sync', async () => {
  await stage.geofences.put(catalogueFence('elsewhere', 3), { expectedVersion: 0, actor: 'other-instance' });
  const t0 = Date.now();
  while (matcher.match(3, 10, 10).length === 0) {
    assert.ok(Date.now() - t0 < 1500, 'not applied within the sync period');
    await new Promise((r) => setTimeout(r, 25));
  }
});
