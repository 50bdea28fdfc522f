import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileSegment,
  createObjectEvaluator,
  createProfileStore,
  createRandom,
  generateSubscribers,
  isAppErrorCode,
  monthOfDay,
  type SegmentRule,
} from './helpers.ts';
import { createRuleGenerator } from './random-rules.ts';

const NOW = Date.UTC(2026, 10, 23, 15, 30);

function storeWith(profiles: Record<string, Record<string, unknown>>) {
  const store = createProfileStore({ capacity: 16 });
  for (const [sid, attrs] of Object.entries(profiles)) store.upsert(sid, attrs);
  return store;
}

/** Sids of the store that the rule selects, sorted. */
function selected(store: ReturnType<typeof storeWith>, rule: SegmentRule): string[] {
  const seg = compileSegment(rule);
  const out: string[] = [];
  for (let s = 0; s < store.highWater; s++)
    if (store.isLive(s) && seg.matches(store, s, NOW)) out.push(store.sidAt(s)!);
  assert.equal(seg.count(store, NOW), out.length, 'count() agrees with matches()');
  return out.sort();
}

const people = {
  ann: {
    age: 25,
    gender: 'female',
    arpu: 10.5,
    has_children: true,
    interests: ['sports', 'coffee'],
    last_purchase_at: '2026-10-01',
    birthday_month: 11,
  },
  bob: {
    age: 40,
    gender: 'male',
    arpu: 30,
    has_children: false,
    interests: ['travel'],
    last_purchase_at: '2026-11-20',
  },
  cid: {},
};

const cases: [string, SegmentRule, string[]][] = [
  ['eq on an int', { attr: 'age', op: 'eq', value: 25 }, ['ann']],
  ['ne skips unknown values', { attr: 'age', op: 'ne', value: 25 }, ['bob']],
  ['gt', { attr: 'age', op: 'gt', value: 25 }, ['bob']],
  ['gte', { attr: 'age', op: 'gte', value: 25 }, ['ann', 'bob']],
  ['lt skips unknown values', { attr: 'age', op: 'lt', value: 40 }, ['ann']],
  ['lte', { attr: 'age', op: 'lte', value: 40 }, ['ann', 'bob']],
  ['between is inclusive', { attr: 'age', op: 'between', value: [25, 39] }, ['ann']],
  ['eq on a decimal', { attr: 'arpu', op: 'eq', value: 10.5 }, ['ann']],
  ['gt on a decimal', { attr: 'arpu', op: 'gt', value: 10.49 }, ['ann', 'bob']],
  ['in on an enum', { attr: 'gender', op: 'in', values: ['female'] }, ['ann']],
  ['not_in skips unknown values', { attr: 'gender', op: 'not_in', values: ['female'] }, ['bob']],
  ['in on an int', { attr: 'age', op: 'in', values: [40, 41, 42] }, ['bob']],
  ['eq true on a bool', { attr: 'has_children', op: 'eq', value: true }, ['ann']],
  ['eq false on a bool', { attr: 'has_children', op: 'eq', value: false }, ['bob']],
  ['ne on a bool skips unknown values', { attr: 'has_children', op: 'ne', value: true }, ['bob']],
  ['exists', { attr: 'gender', op: 'exists' }, ['ann', 'bob']],
  ['exists on a set means non-empty', { attr: 'interests', op: 'exists' }, ['ann', 'bob']],
  ['has_any', { attr: 'interests', op: 'has_any', values: ['coffee', 'travel'] }, ['ann', 'bob']],
  ['has_all', { attr: 'interests', op: 'has_all', values: ['coffee', 'sports'] }, ['ann']],
  ['has_none includes empty sets', { attr: 'interests', op: 'has_none', values: ['travel'] }, ['ann', 'cid']],
  ['inactive_for_days', { attr: 'last_purchase_at', op: 'inactive_for_days', days: 30 }, ['ann']],
  [
    'inactive_for_days counts whole days',
    { attr: 'last_purchase_at', op: 'inactive_for_days', days: 3 },
    ['ann', 'bob'],
  ],
  [
    'inactive_for_days is false one day short',
    { attr: 'last_purchase_at', op: 'inactive_for_days', days: 4 },
    ['ann'],
  ],
  ['days_since lte', { attr: 'last_purchase_at', op: 'days_since', lte: 7 }, ['bob']],
  ['days_since range', { attr: 'last_purchase_at', op: 'days_since', gte: 50, lte: 60 }, ['ann']],
  ['timestamp compared with a date', { attr: 'last_purchase_at', op: 'gt', value: '2026-11-01' }, ['bob']],
  ['current_month', { attr: 'birthday_month', op: 'current_month' }, ['ann']],
  [
    'all',
    {
      all: [
        { attr: 'age', op: 'lt', value: 50 },
        { attr: 'gender', op: 'eq', value: 'male' },
      ],
    },
    ['bob'],
  ],
  [
    'any',
    {
      any: [
        { attr: 'age', op: 'eq', value: 25 },
        { attr: 'gender', op: 'eq', value: 'male' },
      ],
    },
    ['ann', 'bob'],
  ],
  [
    'not is plain negation (unknowns included)',
    { not: { attr: 'age', op: 'eq', value: 25 } },
    ['bob', 'cid'],
  ],
];

for (const [name, rule, expected] of cases) {
  test(`operator ${name} selects the expected profiles`, () => {
    assert.deepEqual(selected(storeWith(people), rule), expected);
  });
}

test('a deleted profile is never counted', () => {
  const store = storeWith(people);
  store.delete('bob');
  assert.equal(compileSegment({ attr: 'age', op: 'exists' }).count(store, NOW), 1);
});

test('compiled predicates agree with the object interpreter on 300 seeded random rules', () => {
  const seed = 4242;
  const profiles = [...generateSubscribers({ seed, count: 3000, nowMs: NOW })];
  const store = createProfileStore({ capacity: profiles.length });
  for (const p of profiles) store.upsert(p.sid, p);
  const rules = createRuleGenerator(seed, profiles, NOW);
  for (let i = 0; i < 300; i++) {
    const rule = rules.rule();
    const seg = compileSegment(rule);
    const reference = createObjectEvaluator(rule);
    let expected = 0;
    for (const p of profiles) {
      const want = reference(p, NOW);
      if (want) expected++;
      const got = seg.matches(store, store.slotOf(p.sid), NOW);
      if (got !== want) assert.fail(`seed ${seed} rule ${i} ${JSON.stringify(rule)} differs on a profile`);
    }
    assert.equal(seg.count(store, NOW), expected, `seed ${seed} rule ${i}`);
  }
});

test('monthOfDay matches Date for every day of several years', () => {
  for (let day = 0; day < 366 * 60; day += 1) {
    assert.equal(monthOfDay(day), new Date(day * 86_400_000).getUTCMonth() + 1);
  }
});

test('sample returns distinct matching sids, at most the limit', () => {
  const store = createProfileStore();
  for (const p of generateSubscribers({ seed: 7, count: 2000, nowMs: NOW })) store.upsert(p.sid, p);
  const seg = compileSegment({ attr: 'gender', op: 'eq', value: 'female' });
  const sids = seg.sample(store, NOW, 50, 1);
  assert.equal(sids.length, 50);
  assert.equal(new Set(sids).size, 50);
  for (const sid of sids) assert.equal(store.get(sid)!.gender, 'female');
  assert.deepEqual(seg.sample(store, NOW, 50, 1), sids, 'same seed, same sample');
  const few = compileSegment({ attr: 'age', op: 'eq', value: 100 });
  assert.ok(few.sample(store, NOW, 50, 1).length < 50);
});

test('breakdown counts matching profiles per value and adds up to the total', () => {
  const store = storeWith(people);
  const seg = compileSegment({ attr: 'age', op: 'exists' });
  assert.deepEqual(seg.breakdown(store, NOW, 'gender'), { total: 2, groups: { female: 1, male: 1 } });
  assert.deepEqual(seg.breakdown(store, NOW, 'has_children'), { total: 2, groups: { false: 1, true: 1 } });
  assert.deepEqual(seg.breakdown(store, NOW, 'interests'), {
    total: 2,
    groups: { sports: 1, coffee: 1, travel: 1 },
  });
  const all = compileSegment({ not: { attr: 'age', op: 'eq', value: 99 } });
  assert.deepEqual(all.breakdown(store, NOW, 'age'), { total: 3, groups: { null: 1, 25: 1, 40: 1 } });
  assert.throws(
    () => seg.breakdown(store, NOW, 'arpu'),
    (e: unknown) => isAppErrorCode(e, 'VALIDATION_FAILED'),
  );
});

test('a segment compiled for one catalogue refuses a store of another', () => {
  const other = createProfileStore({
    catalogue: [{ name: 'age', group: 'demographics', type: 'int', min: 0, max: 9, description: '' }],
  });
  assert.throws(
    () => compileSegment({ attr: 'age', op: 'exists' }).count(other, NOW),
    (e: unknown) => isAppErrorCode(e, 'INTERNAL'),
  );
});

test('rule text never reaches the generated code: names and values outside the catalogue are refused', () => {
  const attempts: unknown[] = [
    { attr: 'age]; process.exit(1); //', op: 'exists' },
    { attr: 'gender', op: 'eq', value: "female' || true || '" },
    { attr: 'age', op: 'eq', value: '1) || (1' },
    { attr: 'constructor', op: 'exists' },
    { attr: '__proto__', op: 'exists' },
  ];
  for (const rule of attempts) {
    assert.throws(
      () => compileSegment(rule as SegmentRule),
      (e: unknown) => isAppErrorCode(e, 'SEGMENT_INVALID'),
    );
  }
  const seg = compileSegment({ attr: 'gender', op: 'in', values: ['female', 'male'] });
  // no quotes of any kind: only identifiers, integers, operators and the row views' property reads
  assert.match(seg.test.toString(), /^[\w\s(){}[\]&|!=<>+\-*.;,]*$/);
});

test('an unknown sid is never in a segment, not even a negated one', () => {
  const store = storeWith(people);
  const seg = compileSegment({ not: { attr: 'age', op: 'eq', value: 25 } });
  assert.equal(seg.matches(store, store.slotOf('nobody'), NOW), false);
  assert.equal(seg.matchesSid(store, 'nobody', NOW), false);
  assert.equal(seg.matchesSid(store, 'cid', NOW), true);
});

test('fields in a second flags word, u32 halves and a 32-member set evaluate like the object interpreter', () => {
  const members = Array.from({ length: 32 }, (_, i) => `m${i}`);
  const catalogue = [
    ...Array.from({ length: 20 }, (_, i) => ({
      name: `flag_${i}`,
      group: 'behaviour' as const,
      type: 'bool' as const,
      description: '',
    })),
    {
      name: 'wide',
      group: 'telecom' as const,
      type: 'int' as const,
      min: 0,
      max: 1_000_000,
      description: '',
    },
    { name: 'tags', group: 'interests' as const, type: 'set' as const, values: members, description: '' },
    { name: 'small', group: 'telecom' as const, type: 'int' as const, min: 0, max: 9, description: '' },
  ];
  const random = createRandom(77);
  const store = createProfileStore({ catalogue, capacity: 16 });
  const profiles: Record<string, unknown>[] = [];
  for (let i = 0; i < 400; i++) {
    const p: Record<string, unknown> = { sid: `p${i}` };
    for (let f = 0; f < 20; f++) p[`flag_${f}`] = random() < 0.2 ? null : random() < 0.5;
    p.wide = random() < 0.1 ? null : [0, 65534, 65535, 65536, 1_000_000][i % 5] + (i % 3);
    if ((p.wide as number) > 1_000_000) p.wide = 1_000_000;
    p.tags = members.filter(() => random() < 0.1);
    p.small = random() < 0.1 ? null : i % 10;
    profiles.push(p);
    store.upsert(p.sid as string, p);
  }
  const rules: SegmentRule[] = [
    ...Array.from(
      { length: 20 },
      (_, f): SegmentRule => ({ attr: `flag_${f}`, op: 'eq', value: f % 2 === 0 }),
    ),
    { attr: 'flag_19', op: 'ne', value: true },
    { attr: 'flag_7', op: 'exists' },
    { attr: 'flag_16', op: 'exists' },
    { attr: 'wide', op: 'gt', value: 65535 },
    { attr: 'wide', op: 'lte', value: 65535 },
    { attr: 'wide', op: 'eq', value: 65536 },
    { attr: 'wide', op: 'between', value: [65534, 65536] },
    { attr: 'wide', op: 'in', values: [0, 1_000_000] },
    { attr: 'tags', op: 'has_any', values: ['m31'] },
    { attr: 'tags', op: 'has_all', values: ['m15', 'm16', 'm31'] },
    { attr: 'tags', op: 'has_none', values: ['m0', 'm31'] },
    { attr: 'tags', op: 'exists' },
    {
      all: [
        { attr: 'flag_15', op: 'eq', value: false },
        { not: { attr: 'small', op: 'in', values: [1, 2, 3] } },
      ],
    },
  ];
  for (const rule of rules) {
    const seg = compileSegment(rule, catalogue);
    const reference = createObjectEvaluator(rule, catalogue);
    const expected = profiles.filter((p) => reference(p, NOW));
    for (const p of profiles) {
      const slot = store.slotOf(p.sid as string);
      assert.equal(seg.matches(store, slot, NOW), reference(p, NOW), `${JSON.stringify(rule)} on ${p.sid}`);
    }
    assert.equal(seg.count(store, NOW), expected.length, JSON.stringify(rule));
  }
  // every field reads back through decodeSlot too
  for (const p of profiles) {
    const { sid, ...attrs } = p;
    assert.deepEqual(store.get(sid as string), attrs);
  }
});
