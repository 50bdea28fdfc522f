import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShardedMap } from '../../../src/consent/sharded-map.ts';

test('behaves as a map: set, get, has, delete, size, entries', () => {
  const m = new ShardedMap<number>(8);
  for (let i = 0; i < 10_000; i++) m.set(`sid-${i}`, i);
  m.set('sid-5', 55);
  assert.equal(m.size, 10_000);
  assert.equal(m.get('sid-5'), 55);
  assert.equal(m.get('sid-9999'), 9999);
  assert.equal(m.get('nope'), undefined);
  assert.equal(m.has('sid-1'), true);
  assert.equal(m.delete('sid-1'), true);
  assert.equal(m.delete('sid-1'), false);
  assert.equal(m.size, 9_999);
  const seen = new Map(m.entries());
  assert.equal(seen.size, 9_999);
  assert.equal(seen.get('sid-5'), 55);
  m.clear();
  assert.equal(m.size, 0);
});

test('spreads keys over the shards (no shard holds more than twice its share)', () => {
  const m = new ShardedMap<number>(16);
  for (let i = 0; i < 160_000; i++) m.set(`subscriber-${i.toString(36)}`, 1);
  const sizes = (m as unknown as { shards: Map<string, number>[] }).shards.map((s) => s.size);
  assert.equal(sizes.length, 16);
  assert.ok(Math.max(...sizes) < 20_000, `shard sizes ${sizes.join(',')}`);
});

// One V8 Map throws "Map maximum size exceeded" past 2^24 entries.
test('holds more entries than one V8 Map can (2^24)', { timeout: 120_000 }, () => {
  const n = (1 << 24) + 50_000;
  const m = new ShardedMap<number>(4);
  for (let i = 0; i < n; i++) m.set(String(i), 1);
  assert.equal(m.size, n);
});
