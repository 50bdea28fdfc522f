import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertValidRule,
  isAppErrorCode,
  type RuleIssueReason,
  type SegmentRule,
  segmentRuleSchema,
  segmentSchema,
  validateRule,
} from './helpers.ts';

const cases: [string, unknown, RuleIssueReason, (string | number)[]][] = [
  ['an unknown attribute', { attr: 'shoe_size', op: 'eq', value: 42 }, 'unknown_attribute', ['attr']],
  ['a string for an int', { attr: 'age', op: 'gt', value: '30' }, 'wrong_value_type', ['value']],
  ['a fraction for an int', { attr: 'age', op: 'gt', value: 30.5 }, 'wrong_value_type', ['value']],
  [
    'more decimals than the attribute keeps',
    { attr: 'arpu', op: 'gt', value: 10.125 },
    'wrong_value_type',
    ['value'],
  ],
  ['a number for a bool', { attr: 'app_user', op: 'eq', value: 1 }, 'wrong_value_type', ['value']],
  [
    'a non-date for a timestamp',
    { attr: 'last_activity_at', op: 'gt', value: 'last week' },
    'wrong_value_type',
    ['value'],
  ],
  [
    'an enum value not allowed',
    { attr: 'device_os', op: 'eq', value: 'symbian' },
    'value_not_allowed',
    ['value'],
  ],
  [
    'a set member not allowed',
    { attr: 'interests', op: 'has_any', values: ['sports', 'knitting'] },
    'value_not_allowed',
    ['values', 1],
  ],
  ['a value out of range', { attr: 'age', op: 'lt', value: 500 }, 'value_out_of_range', ['value']],
  ['an empty in list', { attr: 'gender', op: 'in', values: [] }, 'empty_list', ['values']],
  ['an empty all', { all: [] }, 'empty_list', ['all']],
  ['an empty any', { any: [] }, 'empty_list', ['any']],
  [
    'an operator of another type',
    { attr: 'gender', op: 'gt', value: 'female' },
    'operator_not_applicable',
    ['op'],
  ],
  ['has_any on a scalar', { attr: 'age', op: 'has_any', values: [1] }, 'operator_not_applicable', ['op']],
  ['current_month on a non-month', { attr: 'age', op: 'current_month' }, 'operator_not_applicable', ['op']],
  ['a missing value', { attr: 'age', op: 'eq' }, 'missing_value', ['value']],
  ['days_since with no bound', { attr: 'last_activity_at', op: 'days_since' }, 'missing_value', ['gte']],
  [
    'negative days',
    { attr: 'last_activity_at', op: 'inactive_for_days', days: -3 },
    'value_out_of_range',
    ['days'],
  ],
  ['between with one value', { attr: 'age', op: 'between', value: 30 }, 'wrong_value_type', ['value']],
];

for (const [name, rule, reason, path] of cases) {
  test(`a rule with ${name} is refused as ${reason} at its path`, () => {
    const nested = { all: [{ attr: 'age', op: 'exists' }, { not: rule }] } as SegmentRule;
    const issues = validateRule(nested);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0].reason, reason);
    assert.deepEqual(issues[0].path, ['all', 1, 'not', ...path]);
    assert.throws(
      () => assertValidRule(nested),
      (e: unknown) =>
        isAppErrorCode(e, 'SEGMENT_INVALID') && (e as { httpStatus: number }).httpStatus === 400,
    );
    const parsed = segmentRuleSchema.safeParse(nested);
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error!.issues[0].path, ['all', 1, 'not', ...path]);
  });
}

test('a malformed rule (unknown key, unknown operator) is refused as SEGMENT_INVALID', () => {
  for (const rule of [
    { attr: 'age', op: 'like', value: 1 },
    { all: [], extra: 1 },
    { attr: 'age', op: 'eq', value: 1, x: 2 },
    'age > 3',
  ]) {
    assert.throws(
      () => assertValidRule(rule),
      (e: unknown) => isAppErrorCode(e, 'SEGMENT_INVALID'),
    );
  }
});

test('a rule nested too deep is refused as too_complex', () => {
  let rule: SegmentRule = { attr: 'age', op: 'exists' };
  for (let i = 0; i < 20; i++) rule = { not: rule };
  assert.equal(validateRule(rule)[0].reason, 'too_complex');
});

test('every issue of a rule is reported, not only the first', () => {
  const issues = validateRule({
    any: [
      { attr: 'nope', op: 'exists' },
      { attr: 'gender', op: 'eq', value: 'x' },
      { attr: 'interests', op: 'has_all', values: [] },
    ],
  });
  assert.deepEqual(
    issues.map((i) => i.reason),
    ['unknown_attribute', 'value_not_allowed', 'empty_list'],
  );
});

test('a segment gets default share rules and refuses a bad id', () => {
  const seg = segmentSchema.parse({
    id: 'students',
    name: 'Students',
    rule: { attr: 'age', op: 'lt', value: 25 },
  });
  assert.deepEqual(seg.shareRules, { roundTo: 100, minSize: 1000 });
  assert.equal(seg.offeredToRetailers, false);
  assert.equal(segmentSchema.safeParse({ ...seg, id: 'Has Space' }).success, false);
});
