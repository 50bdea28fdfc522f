import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Fence } from '../../../src/geo/index.ts';
import { createFootfallCounter, type FootfallVisit } from '../../../src/presence/index.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function buildFence(id: string): Fence {
  return {
    kind: 'circle',
    center: [30.5, 50.4],
    radiusM: 100,
    bbox: [30.49, 50.39, 30.51, 50.41],
    props: {
      id,
      tenant: 'acme',
      name: id,
      storeId: `store-${id}`,
      address: '',
      tags: [],
      maxAccuracyM: 500,
      timeZone: 'Europe/Kyiv',
    },
  };
}

test('each subscriber is queued once per fence and hour', () => {
  const c = createFootfallCounter();
  const a = buildFence('a');
  const b = buildFence('b');
  c.observe('s1', a, T0 + 1);
  c.observe('s1', a, T0 + 2);
  c.observe('s2', a, T0 + 3);
  c.observe('s1', b, T0 + 4);
  c.observe('s1', a, T0 + HOUR + 5);
  const rows: FootfallVisit[] = [];
  assert.equal(c.drainInto(rows), 4);
  assert.deepEqual(
    rows.map((r) => `${r.fence_id}/${r.sid}/${Math.floor((r.ts - T0) / HOUR)}`),
    ['a/s1/0', 'a/s2/0', 'b/s1/0', 'a/s1/1'],
  );
  assert.deepEqual(rows[0], { ts: T0 + 1, sid: 's1', tenant: 'acme', fence_id: 'a', store_id: 'store-a' });
  assert.equal(c.drainInto([]), 0, 'draining empties the queue');
  c.observe('s1', a, T0 + 10);
  assert.equal(c.drainInto([]), 0, 'a repeat in the same hour queues nothing');
});

test('hours past the late tolerance are forgotten', () => {
  const c = createFootfallCounter();
  const a = buildFence('a');
  c.observe('s1', a, T0);
  c.observe('s2', a, T0 + HOUR);
  assert.equal(c.size, 2);
  c.sweep(T0 + HOUR + 30_000, 60_000);
  assert.equal(c.size, 2, 'the first hour is kept within the tolerance');
  c.sweep(T0 + HOUR + 120_000, 60_000);
  assert.equal(c.size, 1);
});
