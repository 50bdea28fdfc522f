import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom, syntheticSid } from '../../../src/segments/index.ts';
import { createSidIndex } from '../../../src/segments/sid-index.ts';

// Random inserts, removals (deleted entries the probes must walk past), re-inserts into freed slots
// and lookups of absent sids, checked against a Map after every step; the table rehashes many times.
test('agrees with a Map through inserts, removals, slot reuse and rehashes', () => {
  const seed = Number(process.env.SEED ?? 20261123);
  const random = createRandom(seed);
  const r = {
    int: (min: number, max: number) => min + Math.floor(random() * (max - min + 1)),
    chance: (p: number) => random() < p,
  };
  const index = createSidIndex(16);
  const ref = new Map<string, number>();
  const free: number[] = [];
  let nextSlot = 0;
  let capacity = 16;
  const pool: string[] = [];
  for (let i = 0; i < 4_000; i++) pool.push(syntheticSid(3, i)); // packed hex
  for (let i = 0; i < 1_000; i++) pool.push(`S-${i}`); // byte per character
  // longer than the 8 head bytes: the rest goes to the arena (reused or appended when a slot is reused)
  for (let i = 0; i < 300; i++) pool.push(syntheticSid(5, i) + syntheticSid(6, i).slice(0, 2 * (i % 9))); // packed, 8–16 bytes
  for (let i = 0; i < 300; i++) pool.push(`Subscriber.${i}.${'z'.repeat(i % 40)}`); // 13–54 bytes
  pool.push('abc', 'ABCDEF', 'x'.repeat(64));
  for (let step = 0; step < 60_000; step++) {
    const sid = pool[r.int(0, pool.length - 1)];
    const have = ref.get(sid);
    if (have === undefined && r.chance(0.7)) {
      const slot = free.length > 0 ? free.pop()! : nextSlot++;
      if (slot >= capacity) {
        capacity *= 2;
        index.growSlots(capacity);
      }
      index.set(sid, slot);
      ref.set(sid, slot);
    } else if (have !== undefined && r.chance(0.4)) {
      assert.equal(index.remove(sid), have, `seed ${seed} step ${step}: remove ${sid}`);
      ref.delete(sid);
      free.push(have);
    }
    assert.equal(index.get(sid), ref.get(sid) ?? -1, `seed ${seed} step ${step}: get ${sid}`);
  }
  for (const sid of pool) assert.equal(index.get(sid), ref.get(sid) ?? -1, `seed ${seed}: ${sid}`);
  for (const [sid, slot] of ref) assert.equal(index.sidAt(slot), sid);
  assert.equal(index.get('absent'), -1);
  assert.equal(index.get('é'), -1);
  assert.equal(index.remove('absent'), -1);
});
