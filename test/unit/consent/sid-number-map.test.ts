import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SidNumberMap } from '../../../src/consent/sid-number-map.ts';
import { syntheticSid } from '../../../src/segments/index.ts';

test('agrees with a Map over hex, mixed and non-ASCII sids, overwrites included', () => {
  const m = new SidNumberMap(16); // grows many times
  const ref = new Map<string, number>();
  const sids: string[] = [];
  for (let i = 0; i < 50_000; i++) sids.push(syntheticSid(7, i)); // 16 lower-case hex: packed
  for (let i = 0; i < 5_000; i++) sids.push(`Sub-${i}.x`); // printable ASCII: byte per character
  sids.push('abc', 'ABCDEF', 'аб', 'a b', 'x'.repeat(64), 'y'.repeat(65), 'é', '0'); // odd hex, upper, Cyrillic, space, 64/65 long
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < sids.length; i += round + 1) {
      const v = (i * 7919 + round) * 2 + (i & 1) + 0.5 * round; // non-integer values too
      m.set(sids[i], v);
      ref.set(sids[i], v);
    }
  }
  assert.equal(m.size, ref.size);
  for (const [sid, v] of ref) assert.equal(m.get(sid), v, sid);
  assert.equal(m.get('not-there'), undefined);
  assert.equal(m.get(syntheticSid(8, 1)), undefined);
  assert.equal(m.has(sids[3]), true);
  assert.equal(m.get(''), undefined);
  assert.deepEqual(new Map(m.entries()), ref);
});

test('keeps a hex sid and its upper-case spelling apart', () => {
  const m = new SidNumberMap();
  m.set('0a1b', 1);
  m.set('0A1B', 2);
  assert.equal(m.get('0a1b'), 1);
  assert.equal(m.get('0A1B'), 2);
  assert.equal(m.size, 2);
});

// One V8 Map throws "Map maximum size exceeded" past 2^24 entries; a national base has more.
test('holds more entries than one V8 Map can (2^24), at under 40 B each', { timeout: 180_000 }, () => {
  const n = (1 << 24) + 50_000;
  const m = new SidNumberMap(n);
  for (let i = 0; i < n; i++) m.set(syntheticSid(3, i), i * 2 + 1);
  assert.equal(m.size, n);
  assert.equal(m.get(syntheticSid(3, n - 1)), (n - 1) * 2 + 1);
  assert.equal(m.get(syntheticSid(3, 12345)), 12345 * 2 + 1);
  assert.ok(m.byteLength() / n < 40, `${(m.byteLength() / n).toFixed(1)} B per entry`);
});
