import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ATTRIBUTES, buildLayout, INTERESTS, loadSegmentCatalogue, subscribersTableDdl } from './helpers.ts';

test('the catalogue has about 40 uniquely named snake_case attributes', () => {
  assert.ok(ATTRIBUTES.length >= 38 && ATTRIBUTES.length <= 45, String(ATTRIBUTES.length));
  const names = ATTRIBUTES.map((a) => a.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, /^[a-z][a-z0-9_]*$/);
  for (const a of ATTRIBUTES) assert.ok(a.description.length > 0, a.name);
});

test('the catalogue covers the attributes campaigns target by', () => {
  const names = new Set(ATTRIBUTES.map((a) => a.name));
  for (const n of [
    'age',
    'gender',
    'language',
    'income_band',
    'has_children',
    'marital_status',
    'home_region',
    'home_city',
    'work_city',
    'tariff_plan',
    'contract_type',
    'tenure_months',
    'arpu',
    'data_gb_month',
    'voice_min_month',
    'sms_month',
    'roaming_trips_year',
    'network_generation',
    'device_os',
    'device_brand',
    'device_price_tier',
    'device_age_months',
    'interests',
    'last_activity_at',
    'last_purchase_at',
    'purchases_90d',
    'avg_basket',
    'app_user',
    'loyalty_member',
    'loyalty_card_activated',
    'birthday_month',
    'churn_score',
  ]) {
    assert.ok(names.has(n), n);
  }
  assert.equal(INTERESTS.length, 20);
  assert.deepEqual(
    new Set(ATTRIBUTES.map((a) => a.type)),
    new Set(['int', 'decimal', 'enum', 'bool', 'set', 'timestamp']),
  );
});

test('ranges are consistent and enums/sets fit their codes', () => {
  for (const a of ATTRIBUTES) {
    if (a.type === 'int' || a.type === 'decimal') assert.ok(a.min < a.max, a.name);
    if (a.type === 'enum') assert.ok(a.values.length > 0 && a.values.length < 255, a.name);
    if (a.type === 'set') assert.ok(a.values.length <= 32, a.name);
    if (a.type === 'enum' || a.type === 'set') assert.equal(new Set(a.values).size, a.values.length, a.name);
  }
});

test('one subscriber takes at most 64 bytes of columns with the full catalogue', () => {
  const layout = buildLayout(ATTRIBUTES);
  assert.ok(layout.bytesPerSlot <= 64, `${layout.bytesPerSlot} bytes`);
});

test('migration 100 creates the subscribers table the catalogue describes', async () => {
  const sql = await readFile(
    new URL('../../../src/store/migrations/100-subscribers.sql', import.meta.url),
    'utf8',
  );
  assert.ok(
    sql.includes(subscribersTableDdl()),
    'regenerate the migration from subscribersTableDdl() via a new migration',
  );
});

test('every sample segment under segments/ validates against the catalogue', async () => {
  const segments = await loadSegmentCatalogue(new URL('../../../segments/', import.meta.url).pathname);
  assert.ok(segments.length >= 6);
  const ids = segments.map((s) => s.id);
  for (const id of [
    'lapsed-shoppers',
    'young-sports-fans',
    'premium-postpaid-ios',
    'parents',
    'birthday-this-month',
    'loyalty-card-not-activated',
  ]) {
    assert.ok(ids.includes(id), id);
  }
});
