import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProfileStore, isAppErrorCode } from './helpers.ts';

const buildProfile = (overrides: Record<string, unknown> = {}) => ({
  age: 34,
  gender: 'female',
  arpu: 23.45,
  has_children: true,
  app_user: false,
  interests: ['sports', 'coffee'],
  last_purchase_at: '2026-10-01',
  churn_score: 0.37,
  ...overrides,
});

test('an upserted profile reads back with every attribute, unknown ones as null', () => {
  const store = createProfileStore({ capacity: 16 });
  store.upsert('a1', buildProfile());
  const p = store.get('a1')!;
  assert.equal(p.age, 34);
  assert.equal(p.gender, 'female');
  assert.equal(p.arpu, 23.45);
  assert.equal(p.has_children, true);
  assert.equal(p.app_user, false);
  assert.deepEqual(p.interests, ['sports', 'coffee']);
  assert.equal(p.last_purchase_at, '2026-10-01');
  assert.equal(p.churn_score, 0.37);
  assert.equal(p.language, null);
  assert.equal(p.loyalty_member, null);
  assert.equal(store.size, 1);
});

test('upsert replaces the whole profile of an existing sid in the same slot', () => {
  const store = createProfileStore();
  const slot = store.upsert('a1', buildProfile());
  assert.equal(store.upsert('a1', { age: 50 }), slot);
  assert.equal(store.size, 1);
  assert.equal(store.get('a1')!.age, 50);
  assert.equal(store.get('a1')!.gender, null);
  assert.deepEqual(store.get('a1')!.interests, []);
});

test('delete frees the slot for reuse and forgets the sid', () => {
  const store = createProfileStore();
  store.upsert('a1', buildProfile());
  const slot = store.slotOf('a1');
  assert.equal(store.delete('a1'), true);
  assert.equal(store.delete('a1'), false);
  assert.equal(store.slotOf('a1'), -1);
  assert.equal(store.isLive(slot), false);
  assert.equal(store.size, 0);
  assert.equal(store.upsert('b2-longer-sid', buildProfile()), slot);
  assert.equal(store.sidAt(slot), 'b2-longer-sid');
});

test('the store grows past its initial capacity and keeps every sid addressable', () => {
  const store = createProfileStore({ capacity: 16 });
  for (let i = 0; i < 5000; i++) store.upsert(`sid-${i}`, { age: 10 + (i % 90) });
  for (let i = 0; i < 5000; i += 2) store.delete(`sid-${i}`);
  assert.equal(store.size, 2500);
  for (let i = 0; i < 5000; i++) {
    const slot = store.slotOf(`sid-${i}`);
    if (i % 2 === 0) assert.equal(slot, -1);
    else {
      assert.equal(store.sidAt(slot), `sid-${i}`);
      assert.equal(store.get(`sid-${i}`)!.age, 10 + (i % 90));
    }
  }
});

test('a bad value is rejected with PROFILE_ROW_INVALID naming the attribute, and nothing is written', () => {
  const store = createProfileStore();
  store.upsert('a1', buildProfile());
  const cases: [Record<string, unknown>, string][] = [
    [{ age: 5 }, 'age'],
    [{ age: 30.5 }, 'age'],
    [{ gender: 'robot' }, 'gender'],
    [{ interests: ['sports', 'knitting'] }, 'interests'],
    [{ has_children: 'maybe' }, 'has_children'],
    [{ last_activity_at: 'yesterday' }, 'last_activity_at'],
    [{ arpu: 'lots' }, 'arpu'],
    [{ favourite_colour: 'red' }, 'favourite_colour'],
  ];
  for (const [attrs, name] of cases) {
    assert.throws(
      () => store.upsert('a1', attrs),
      (err: unknown) => isAppErrorCode(err, 'PROFILE_ROW_INVALID') && (err as Error).message.includes(name),
      name,
    );
  }
  assert.equal(store.get('a1')!.age, 34);
});

test('a sid with characters outside the pseudonym alphabet is rejected', () => {
  const store = createProfileStore();
  for (const sid of ['', 'has space', 'x'.repeat(65), 'ключ']) {
    assert.throws(
      () => store.upsert(sid, {}),
      (err: unknown) => isAppErrorCode(err, 'PROFILE_ROW_INVALID'),
    );
  }
});

test('CSV-style strings are accepted for numbers, booleans, sets and dates', () => {
  const store = createProfileStore();
  store.upsert('a1', {
    age: '41',
    has_children: 'no',
    interests: 'travel|books',
    last_activity_at: '2026-11-20T10:00:00Z',
  });
  const p = store.get('a1')!;
  assert.equal(p.age, 41);
  assert.equal(p.has_children, false);
  assert.deepEqual(p.interests, ['travel', 'books']);
  assert.equal(p.last_activity_at, '2026-11-20');
});

test('memory accounting covers the columns and the sid index', () => {
  const store = createProfileStore({ capacity: 1000 });
  for (let i = 0; i < 1000; i++) store.upsert(`sid-${i}`, {});
  const m = store.memory();
  assert.equal(m.columns, 1000 * store.layout.bytesPerSlot);
  assert.ok(m.index > 1000 * 4);
  assert.equal(m.total, m.columns + m.index);
});

test('a catalogue with more booleans than one flags word holds keeps each of them', () => {
  const catalogue = Array.from({ length: 20 }, (_, i) => ({
    name: `flag_${i}`,
    group: 'behaviour' as const,
    type: 'bool' as const,
    description: 'x',
  }));
  const store = createProfileStore({ catalogue });
  const attrs = Object.fromEntries(catalogue.map((a, i) => [a.name, i % 3 === 0 ? null : i % 3 === 1]));
  store.upsert('a', attrs);
  store.upsert('b', Object.fromEntries(catalogue.map((a) => [a.name, true])));
  assert.deepEqual(store.get('a'), attrs);
  store.upsert('b', {});
  assert.ok(Object.values(store.get('b')!).every((v) => v === null));
});

test('hex, mixed-case and odd-length sids are stored and found exactly', () => {
  const store = createProfileStore({ capacity: 16 });
  const sids = [
    '0a1b2c3d4e5f6789',
    '0A1B2C3D4E5F6789',
    'abc',
    'ab',
    '00',
    'sid-7',
    'f'.repeat(64),
    'e'.repeat(63),
  ];
  for (const [i, sid] of sids.entries()) store.upsert(sid, { age: 20 + i });
  sids.forEach((sid, i) => {
    const slot = store.slotOf(sid);
    assert.equal(store.sidAt(slot), sid);
    assert.equal(store.get(sid)!.age, 20 + i);
  });
  assert.equal(store.slotOf('0a1b2c3d4e5f678'), -1);
  assert.equal(store.slotOf('0a1b2c3d4e5f678g'), -1);
  store.delete('ab');
  store.upsert('ffffffffffffffff', {});
  assert.equal(store.sidAt(store.slotOf('ffffffffffffffff')), 'ffffffffffffffff');
  assert.equal(store.sidAt(store.slotOf('00')), '00');
});

test('a date with a non-digit where a digit belongs is rejected, not read as another date', () => {
  const store = createProfileStore({ capacity: 4 });
  for (const bad of ['20/6-11-01', '2O26-11-01', '2026-1a-01', '2026-11-0 ', '+026-11-01']) {
    assert.throws(
      () => store.upsert('d1', { last_purchase_at: bad }),
      (err: unknown) => isAppErrorCode(err, 'PROFILE_ROW_INVALID') && /last_purchase_at/.test(String(err)),
      bad,
    );
  }
  store.upsert('d1', { last_purchase_at: '2026-11-01' });
  assert.equal(store.get('d1')?.last_purchase_at, '2026-11-01');
});

test('slot listeners hear every slot given and taken (not a reload), across growth and clear; lookup follows deletes', () => {
  const store = createProfileStore({ capacity: 16 });
  const events: string[] = [];
  // what a listener keeping state by slot sees: the owner of each slot
  const owner = new Map<number, string>();
  store.onSlot({
    assigned(slot, sid) {
      assert.equal(
        owner.get(slot),
        undefined,
        `slot ${slot} given to ${sid} while ${owner.get(slot)} holds it`,
      );
      assert.equal(store.slotOf(sid), slot);
      owner.set(slot, sid);
      events.push(`+${slot}:${sid}`);
    },
    released(slot, sid) {
      assert.equal(owner.get(slot), sid);
      assert.equal(store.slotOf(sid), -1);
      owner.delete(slot);
      events.push(`-${slot}:${sid}`);
    },
  });
  const sids = Array.from({ length: 40 }, (_, i) => `sub-${i}`);
  for (const sid of sids) store.upsert(sid, buildProfile());
  // the store grew past 16 and 32 slots; every sid was told once
  assert.equal(events.length, 40);
  for (const sid of sids) assert.equal(owner.get(store.slotOf(sid)), sid);
  // a reload of the same sid keeps its slot and tells nobody
  store.upsert('sub-3', buildProfile({ age: 50 }));
  assert.equal(events.length, 40);
  // lookup (cached) answers like slotOf, also right after the sid's slot changed hands
  assert.equal(store.lookup('sub-7'), store.slotOf('sub-7'));
  const slot = store.slotOf('sub-7');
  store.delete('sub-7');
  assert.equal(events.at(-1), `-${slot}:sub-7`);
  assert.equal(store.lookup('sub-7'), -1);
  assert.equal(store.delete('sub-7'), false);
  assert.equal(events.length, 41);
  assert.equal(store.upsert('new-1', buildProfile()), slot);
  assert.equal(events.at(-1), `+${slot}:new-1`);
  assert.equal(store.lookup('new-1'), slot);
  assert.equal(store.lookup('sub-7'), -1);
  store.clear();
  assert.equal(store.lookup('new-1'), -1);
  assert.equal(owner.size, 0);
  assert.equal(events.length, 42 + 40);
});
