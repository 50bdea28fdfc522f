import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ATTRIBUTES } from '../../../src/segments/catalogue.ts';
import { allocRows, buildLayout, rawLevels, readRaw, writeRaw } from '../../../src/segments/layout.ts';
import { createProfileStore } from './helpers.ts';

const layout = buildLayout(ATTRIBUTES);
const stride = layout.bytesPerSlot;

/** The row bits each attribute owns (bools: their two bits of the flags word). */
function bitsOf(a: (typeof layout.attrs)[number]): number[] {
  const base = a.offset * 8;
  if (a.attr.type === 'bool') return [base + a.shift, base + a.shift + 1];
  if (a.kind === 'bits') {
    const width = Math.log2(a.mask + 1);
    return Array.from({ length: width }, (_, i) => base + a.shift + i);
  }
  const width = a.kind === 'u8' ? 8 : a.kind === 'u16' ? 16 : 32;
  return Array.from({ length: width }, (_, i) => base + i);
}

test('every attribute owns its own bits of the row, and a bit field never crosses its u16 word', () => {
  const owner = new Map<number, string>();
  // bit 31 of the first flags word is the live bit
  owner.set(31, 'live');
  for (const a of layout.attrs) {
    for (const b of bitsOf(a)) {
      assert.ok(b < stride * 8, `${a.attr.name} bit ${b} lies outside the ${stride} B row`);
      assert.equal(owner.get(b), undefined, `${a.attr.name} and ${owner.get(b)} share bit ${b}`);
      owner.set(b, a.attr.name);
    }
    if (a.kind === 'bits') {
      assert.equal(a.offset % 2, 0, `${a.attr.name}: bit fields live in aligned u16 words`);
      assert.ok(a.shift + Math.log2(a.mask + 1) <= 16, `${a.attr.name} crosses its word`);
      assert.ok(
        a.mask + 1 >= rawLevels(a.attr),
        `${a.attr.name}: ${a.mask + 1} values < ${rawLevels(a.attr)}`,
      );
    }
  }
  assert.ok(
    layout.attrs.some((a) => a.kind === 'bits'),
    'small fields are packed',
  );
});

test('each field keeps its extreme raw values while every other field holds its own extremes', () => {
  const rows = allocRows(layout, 3);
  const fields = layout.attrs.filter((a) => a.attr.type !== 'bool');
  const max = (a: (typeof fields)[number]) =>
    a.attr.type === 'set' ? 2 ** a.attr.values.length - 1 : rawLevels(a.attr) - 1;
  for (const pattern of [0, 1, 2]) {
    // pattern 0: all at max; 1: alternate max / 1; 2: alternate 1 / max
    fields.forEach((a, i) => {
      const v = pattern === 0 || (i + pattern) % 2 === 1 ? max(a) : 1;
      writeRaw(rows, stride, 1, a, v);
    });
    fields.forEach((a, i) => {
      const v = pattern === 0 || (i + pattern) % 2 === 1 ? max(a) : 1;
      assert.equal(readRaw(rows, stride, 1, a), v, `${a.attr.name} (pattern ${pattern})`);
    });
  }
  // the neighbouring rows are untouched
  assert.ok(rows.u8.subarray(0, stride).every((b) => b === 0));
  assert.ok(rows.u8.subarray(2 * stride).every((b) => b === 0));
});

test('the store writes packed fields through upsert and reads them back at their extremes', () => {
  const store = createProfileStore({ capacity: 4 });
  store.upsert('x', {
    age: 100,
    gender: 'male',
    nps: 10,
    birthday_month: 12,
    tenure_months: 600,
    churn_score: 1,
  });
  store.upsert('y', {
    age: 10,
    gender: 'female',
    nps: 0,
    birthday_month: 1,
    tenure_months: 0,
    churn_score: 0,
  });
  assert.deepEqual(
    ['age', 'gender', 'nps', 'birthday_month', 'tenure_months', 'churn_score'].map((k) => [
      store.get('x')![k],
      store.get('y')![k],
    ]),
    [
      [100, 10],
      ['male', 'female'],
      [10, 0],
      [12, 1],
      [600, 0],
      [1, 0],
    ],
  );
});
