import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSegmentSql, isAppErrorCode, type SegmentRule } from './helpers.ts';

const NOW = Date.UTC(2026, 10, 23, 12);

test('rule values travel as parameters, never inside the SQL text', () => {
  const rule: SegmentRule = {
    all: [
      { attr: 'gender', op: 'eq', value: 'female' },
      { attr: 'home_city', op: 'in', values: ['capital_city', 'north_port'] },
      { attr: 'arpu', op: 'between', value: [10.5, 20] },
      { attr: 'interests', op: 'has_any', values: ['coffee'] },
    ],
  };
  const { sql, where, params } = compileSegmentSql(rule, NOW);
  for (const v of ['female', 'capital_city', 'coffee', '10.5']) assert.ok(!sql.includes(v), v);
  assert.ok(sql.startsWith('SELECT count() AS n FROM subscribers FINAL WHERE is_deleted = 0 AND '));
  assert.ok(sql.endsWith(where));
  assert.deepEqual(Object.values(params), [
    'female',
    ['capital_city', 'north_port'],
    '10.50',
    '20.00',
    ['coffee'],
  ]);
});

test('every leaf guards against NULL so NOT keeps unknown values in', () => {
  const { where } = compileSegmentSql({ not: { attr: 'age', op: 'gt', value: 30 } }, NOW);
  assert.equal(where, '(NOT (age IS NOT NULL AND age > {p0:Int64}))');
});

test('inactivity is compared in whole UTC days against the given time', () => {
  const { where, params } = compileSegmentSql(
    { attr: 'last_purchase_at', op: 'inactive_for_days', days: 30 },
    NOW,
  );
  assert.equal(where, '(last_purchase_at IS NOT NULL AND toInt32(last_purchase_at) <= {p0:Int64})');
  assert.equal(params.p0, Math.floor(NOW / 86_400_000) - 30);
});

test('a table name that is not an identifier and an invalid rule are refused', () => {
  assert.throws(
    () => compileSegmentSql({ attr: 'age', op: 'exists' }, NOW, { table: 'x; DROP TABLE y' }),
    (e: unknown) => isAppErrorCode(e, 'INTERNAL'),
  );
  assert.throws(
    () => compileSegmentSql({ attr: 'age; DROP', op: 'exists' }, NOW),
    (e: unknown) => isAppErrorCode(e, 'SEGMENT_INVALID'),
  );
});
