import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createFenceSync } from '../../../src/api/fence-sync.ts';
import { createGeofenceRepo } from '../../../src/api/repos/geofences.ts';
import { createMatcher, DEFAULT_FENCE_LIMITS, type Fence, validateFence } from '../../../src/geo/index.ts';
import type { Store } from '../../../src/store/index.ts';
import { logger, makeDataDir, openStore } from '../store/fixture.ts';
import { buildFence } from './fixture.ts';

// Two instances share one ClickHouse: one writes fences, the other's sync applies them to its matcher.
let data: Awaited<ReturnType<typeof makeDataDir>>;
let store: Store;

before(async () => {
  data = await makeDataDir();
  store = await openStore(data.dir, { database: 'fence_sync' });
});
after(async () => {
  await store.close();
  await data.remove();
});

function fence(i: number, name = `Store ${i}`): Fence {
  return validateFence(
    buildFence({
      id: `f${i}`,
      tenant: 'acme',
      lon: 30 + (i % 100) * 0.01,
      lat: 50 + Math.floor(i / 100) * 0.01,
      name,
    }),
    DEFAULT_FENCE_LIMITS,
  );
}

/** The store, with every query's SQL and rows shown to `seen` (the repo under test reads through it). */
function watchQueries(store: Store, seen: (sql: string, rows: Record<string, unknown>[]) => void): Store {
  return new Proxy(store, {
    get(target, prop, recv) {
      if (prop !== 'query') return Reflect.get(target, prop, recv);
      return async (sql: string, params?: Record<string, unknown>) => {
        const rows = (await target.query(sql, params)) as Record<string, unknown>[];
        seen(sql, rows);
        return rows;
      };
    },
  });
}

test('a fence written by another instance reaches the matcher once; re-reading the overlap applies nothing', async () => {
  const writer = createGeofenceRepo({ store, limits: DEFAULT_FENCE_LIMITS, logger });
  const reader = createGeofenceRepo({ store, limits: DEFAULT_FENCE_LIMITS, logger });
  const matcher = createMatcher();
  const sync = createFenceSync({ geofences: reader, matcher, logger, sinceMs: Date.now() - 1 });
  await writer.bulkWrite(
    Array.from({ length: 2_000 }, (_, i) => fence(i)),
    { tenant: 'acme', mode: 'create', actor: 'test' },
  );
  assert.equal(await sync.poll(), 2_000);
  assert.equal(matcher.size, 2_000);
  // The next polls re-read the overlap window: nothing new, nothing applied, and no fence body read
  // (a catalogue import of 100k fences inside the window used to be parsed again on every poll).
  let bodies = 0;
  const spy = watchQueries(store, (_sql, rows) => {
    for (const r of rows) if ('body' in r) bodies++;
  });
  const spied = createGeofenceRepo({ store: spy, limits: DEFAULT_FENCE_LIMITS, logger });
  const sync2 = createFenceSync({ geofences: spied, matcher, logger, sinceMs: Date.now() - 1 });
  await sync2.poll(); // a fresh sync applies what it has not seen yet, once
  bodies = 0;
  assert.equal(await sync2.poll(), 0);
  assert.equal(await sync2.poll(), 0);
  assert.equal(bodies, 0, 'already applied versions are skipped before their bodies are read');
  // A replaced fence is applied once with its new version.
  await writer.put(fence(7, 'Renamed'), { expectedVersion: 1, actor: 'test' });
  assert.equal(await sync.poll(), 1);
  assert.equal(matcher.get('f7')?.props.name, 'Renamed');
  assert.equal(await sync.poll(), 0);
});

test('with nothing new, a poll reads only the last overlap: heads of older changes are not read again', async () => {
  const writer = createGeofenceRepo({ store, limits: DEFAULT_FENCE_LIMITS, logger });
  let heads = 0;
  const spy = watchQueries(store, (sql, rows) => {
    if (sql.includes('updated_at_ms')) heads += rows.length;
  });
  const matcher = createMatcher();
  const sync = createFenceSync({
    geofences: createGeofenceRepo({ store: spy, limits: DEFAULT_FENCE_LIMITS, logger }),
    matcher,
    logger,
    sinceMs: Date.now() - 1,
    overlapMs: 300,
  });
  await writer.bulkWrite(
    Array.from({ length: 500 }, (_, i) => fence(10_000 + i)),
    { tenant: 'acme', mode: 'create', actor: 'test' },
  );
  // ≥: the window also reaches 300 ms back, where the previous test's last change may lie.
  assert.ok((await sync.poll()) >= 500);
  assert.ok(matcher.get('f10000') && matcher.get('f10499'));
  assert.ok(heads >= 500);
  await new Promise((r) => setTimeout(r, 400)); // past the overlap
  await sync.poll(); // its window still reaches back to the first poll's start
  heads = 0;
  assert.equal(await sync.poll(), 0);
  assert.equal(heads, 0, 'an idle poll reads no heads once the overlap has passed');
  // A change made now is still seen, once.
  await writer.put(fence(10_003, 'Moved'), { expectedVersion: 1, actor: 'test' });
  assert.equal(await sync.poll(), 1);
  assert.equal(matcher.get('f10003')?.props.name, 'Moved');
});

test('fences the matcher was just loaded with are not applied again by the first polls', async () => {
  const writer = createGeofenceRepo({ store, limits: DEFAULT_FENCE_LIMITS, logger });
  const reader = createGeofenceRepo({ store, limits: DEFAULT_FENCE_LIMITS, logger });
  await writer.bulkWrite(
    Array.from({ length: 300 }, (_, i) => fence(20_000 + i)),
    { tenant: 'acme', mode: 'create', actor: 'test' },
  );
  // As the API stage starts: load everything, then sync from now with a 2 s overlap.
  const sinceMs = Date.now();
  const loaded: { id: string; version: number; updatedAtMs: number }[] = [];
  const upserted: string[] = [];
  const matcher = createMatcher();
  matcher.replaceAll(
    await reader.all((id, version, updatedAtMs) => loaded.push({ id, version, updatedAtMs })),
  );
  assert.ok(loaded.some((r) => r.id === 'f20299'));
  const watched = {
    upsert: (fs: readonly Fence[]) => {
      upserted.push(...fs.map((f) => f.props.id));
      matcher.upsert(fs);
    },
    remove: (ids: readonly string[]) => matcher.remove(ids),
  };
  const sync = createFenceSync({ geofences: reader, matcher: watched, logger, sinceMs, loaded });
  assert.equal(await sync.poll(), 0);
  assert.deepEqual(upserted, []);
  // Without `loaded`, the overlap re-applies the import's last rows (what the option prevents).
  const naive = createFenceSync({ geofences: reader, matcher: watched, logger, sinceMs });
  assert.ok((await naive.poll()) >= 300);
  upserted.length = 0;
  // A later change of a loaded fence is applied.
  await writer.put(fence(20_001, 'Changed'), { expectedVersion: 1, actor: 'test' });
  assert.equal(await sync.poll(), 1);
  assert.deepEqual(upserted, ['f20001']);
  assert.equal(matcher.get('f20001')?.props.name, 'Changed');
});
