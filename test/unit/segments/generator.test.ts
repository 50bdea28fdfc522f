import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProfileStore, generateSubscribers } from './helpers.ts';

const base = [...generateSubscribers({ seed: 99, count: 20_000 })];
const share = (xs: readonly unknown[], pred: (x: any) => boolean) =>
  xs.filter(pred).length / Math.max(1, xs.length);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('the same seed gives the same base, another seed another one', () => {
  assert.deepEqual([...generateSubscribers({ seed: 99, count: 100 })], base.slice(0, 100));
  assert.notDeepEqual([...generateSubscribers({ seed: 100, count: 100 })], base.slice(0, 100));
});

test('sids are unique and chunks with an offset continue the same numbering', () => {
  assert.equal(new Set(base.map((p) => p.sid)).size, base.length);
  const second = [...generateSubscribers({ seed: 99, count: 10, offset: 100 })];
  assert.deepEqual(
    second.map((p) => p.sid),
    base.slice(100, 110).map((p) => p.sid),
  );
});

test('every generated profile is valid against the catalogue', () => {
  const store = createProfileStore({ capacity: base.length });
  for (const p of base) store.upsert(p.sid, p);
  assert.equal(store.size, base.length);
});

test('richer subscribers use iPhones more often and pay more', () => {
  const low = base.filter((p) => p.income_band === 'low');
  const high = base.filter((p) => p.income_band === 'high');
  assert.ok(share(high, (p) => p.device_os === 'ios') > 2 * share(low, (p) => p.device_os === 'ios'));
  assert.ok(
    share(high, (p) => p.contract_type !== 'prepaid') > share(low, (p) => p.contract_type !== 'prepaid'),
  );
});

test('ARPU follows the tariff and young people use more data', () => {
  const arpu = (t: string) => mean(base.filter((p) => p.tariff_plan === t).map((p) => p.arpu as number));
  assert.ok(arpu('unlimited') > arpu('smart_m') && arpu('smart_m') > arpu('basic'));
  const data = (pred: (age: number) => boolean) =>
    mean(
      base
        .filter((p) => typeof p.age === 'number' && pred(p.age) && p.data_gb_month !== null)
        .map((p) => p.data_gb_month as number),
    );
  assert.ok(data((a) => a < 30) > 1.5 * data((a) => a > 60));
});

test('feature phones are mostly older subscribers and have no interests', () => {
  const feature = base.filter((p) => p.device_os === 'feature_phone');
  assert.ok(feature.length > 0);
  assert.ok(mean(feature.filter((p) => typeof p.age === 'number').map((p) => p.age as number)) > 55);
  assert.ok(feature.every((p) => (p.interests as string[]).length === 0));
});

test('a visible share is lapsed and some values are unknown', () => {
  const lapsed = share(base, (p) => Date.parse(String(p.last_activity_at)) < Date.UTC(2026, 9, 24));
  assert.ok(lapsed > 0.02 && lapsed < 0.15, String(lapsed));
  assert.ok(share(base, (p) => p.age === null) > 0.01);
});
