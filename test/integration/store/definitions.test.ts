import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isAppError } from '../../../src/errors.ts';
import { createDefinitions, type Store } from '../../../src/store/index.ts';
import { makeDataDir, openStore } from './fixture.ts';

interface Body {
  name: string;
  radiusM?: number;
}

let data: Awaited<ReturnType<typeof makeDataDir>>;
let store: Store;
before(async () => {
  data = await makeDataDir();
  store = await openStore(data.dir, { database: 'defs' });
});
after(async () => {
  await store?.close();
  await data.remove();
});

const audit = (id: string) =>
  store.query<{ action: string; actor: string; version_before: number; version_after: number; body: string }>(
    'SELECT action, actor, version_before, version_after, body FROM defs.audit_log WHERE entity_id = {id:String} ORDER BY version_after',
    { id },
  );

test('each put writes a new version and get returns the latest', async () => {
  const geofences = createDefinitions<Body>({ store, table: 'geofences' });
  assert.equal(await geofences.put('g1', 'acme', { name: 'Store 1' }, { actor: 'key-1' }), 1);
  assert.equal(
    await geofences.put(
      'g1',
      'acme',
      { name: 'Store 1b', radiusM: 200 },
      { actor: 'key-2', expectedVersion: 1 },
    ),
    2,
  );
  const got = await geofences.get('g1');
  assert.ok(got);
  assert.deepEqual(
    {
      id: got.id,
      tenant: got.tenant,
      version: got.version,
      deleted: got.deleted,
      body: got.body,
      by: got.updatedBy,
    },
    {
      id: 'g1',
      tenant: 'acme',
      version: 2,
      deleted: false,
      body: { name: 'Store 1b', radiusM: 200 },
      by: 'key-2',
    },
  );
  assert.ok(Math.abs(got.updatedAtMs - Date.now()) < 60_000);
  assert.equal(await geofences.get('nope'), undefined);
});

test('a stale expectedVersion is refused with VERSION_CONFLICT and changes nothing', async () => {
  const campaigns = createDefinitions<Body>({ store, table: 'campaigns' });
  await campaigns.put('c1', 'acme', { name: 'v1' }, { actor: 'a' });
  await campaigns.put('c1', 'acme', { name: 'v2' }, { actor: 'a' });
  await assert.rejects(
    campaigns.put('c1', 'acme', { name: 'lost update' }, { actor: 'b', expectedVersion: 1 }),
    (err: unknown) => {
      assert.ok(isAppError(err, 'VERSION_CONFLICT'));
      assert.equal(err.httpStatus, 409);
      assert.deepEqual(err.details, { id: 'c1', expectedVersion: 1, currentVersion: 2 });
      return true;
    },
  );
  await assert.rejects(
    campaigns.put('c-new', 'acme', { name: 'x' }, { actor: 'b', expectedVersion: 3 }),
    (err: unknown) => isAppError(err, 'VERSION_CONFLICT'),
  );
  assert.equal((await campaigns.get('c1'))?.body.name, 'v2');
  assert.equal(await campaigns.get('c-new'), undefined);
});

test('concurrent puts to one id are serialised: each gets its own version, none is lost', async () => {
  const segments = createDefinitions<Body>({ store, table: 'segments' });
  const versions = await Promise.all(
    Array.from({ length: 8 }, (_, i) => segments.put('seg', 'acme', { name: `n${i}` }, { actor: `a${i}` })),
  );
  assert.deepEqual(
    [...versions].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  // With expectedVersion, exactly one of two racing writers wins.
  const race = await Promise.allSettled([
    segments.put('seg', 'acme', { name: 'x' }, { actor: 'x', expectedVersion: 8 }),
    segments.put('seg', 'acme', { name: 'y' }, { actor: 'y', expectedVersion: 8 }),
  ]);
  assert.deepEqual(
    race.map((r) => r.status),
    ['fulfilled', 'rejected'],
  );
  assert.equal((await segments.get('seg'))?.version, 9);
});

test('remove soft-deletes: gone from list, still listed with includeDeleted, audited', async () => {
  const keys = createDefinitions<Body>({ store, table: 'api_keys' });
  await keys.put('k1', 'acme', { name: 'one' }, { actor: 'admin' });
  await keys.put('k2', 'acme', { name: 'two' }, { actor: 'admin' });
  await keys.put('k3', 'other', { name: 'three' }, { actor: 'admin' });
  assert.equal(await keys.remove('k2', { actor: 'admin', expectedVersion: 1 }), 2);
  assert.deepEqual(
    (await keys.list({ tenant: 'acme' })).map((d) => d.id),
    ['k1'],
  );
  const all = await keys.list({ includeDeleted: true });
  assert.deepEqual(
    all.map((d) => [d.id, d.deleted]),
    [
      ['k1', false],
      ['k2', true],
      ['k3', false],
    ],
  );
  assert.equal(all[1].body.name, 'two');
  await assert.rejects(keys.remove('k2', { actor: 'admin' }), (err: unknown) => isAppError(err, 'NOT_FOUND'));
  // A deleted id can be created again; versions keep counting.
  assert.equal(
    await keys.put('k2', 'acme', { name: 'two again' }, { actor: 'admin', expectedVersion: 2 }),
    3,
  );
  assert.deepEqual(
    (await audit('k2')).map((a) => [a.action, a.actor, a.version_before, a.version_after]),
    [
      ['create', 'admin', 0, 1],
      ['delete', 'admin', 1, 2],
      ['create', 'admin', 2, 3],
    ],
  );
  assert.equal((await audit('k2'))[1].body, '');
});

test('list pages through current versions in id order', async () => {
  const policy = createDefinitions<Body>({ store, table: 'policy' });
  for (const id of ['p3', 'p1', 'p2', 'p4']) await policy.put(id, '', { name: id }, { actor: 'ops' });
  await policy.put('p1', '', { name: 'p1 v2' }, { actor: 'ops' });
  const page1 = await policy.list({ limit: 2 });
  const page2 = await policy.list({ limit: 2, offset: 2 });
  assert.deepEqual(
    [...page1, ...page2].map((d) => [d.id, d.version]),
    [
      ['p1', 2],
      ['p2', 1],
      ['p3', 1],
      ['p4', 1],
    ],
  );
});
