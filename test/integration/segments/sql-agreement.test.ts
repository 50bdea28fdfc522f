import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../src/logger.ts';
import {
  compileSegment,
  compileSegmentSql,
  createProfileRepository,
  createProfileStore,
  generateSubscribers,
  loadSegmentCatalogue,
  type ProfileStore,
  type SegmentRule,
} from '../../../src/segments/index.ts';
import { createStore, type Store } from '../../../src/store/index.ts';
import { createRuleGenerator } from '../../unit/segments/random-rules.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SEED = Number(process.env.SEED ?? 20261123);
const COUNT = 6000;
const NOW = Date.UTC(2026, 10, 23, 12);

let dir: string;
let store: Store;
let profiles: ProfileStore;
const generated = [...generateSubscribers({ seed: SEED, count: COUNT, nowMs: NOW })];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geotrigger-segments-'));
  store = await createStore({
    config: {
      user: 'default',
      password: '',
      database: 'segments',
      dataDir: dir,
      ttlDays: 30,
      minGroupSize: 10,
    },
    logger,
  });
  profiles = createProfileStore({ capacity: COUNT });
  const repo = createProfileRepository({ store, profiles, logger, batchSize: 2500 });
  const result = await repo.import(Readable.from(generated.map((p) => `${JSON.stringify(p)}\n`)), 'ndjson');
  assert.equal(result.loaded, COUNT, JSON.stringify(result.errors.slice(0, 3)));
});

after(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function sqlCount(rule: SegmentRule): Promise<number> {
  const { sql, params } = compileSegmentSql(rule, NOW, { table: `${store.database}.subscribers` });
  const rows = await store.query<{ n: number | string }>(sql, params);
  return Number(rows[0].n);
}

test('every sample segment counts the same in memory and in ClickHouse', async () => {
  const segments = await loadSegmentCatalogue(new URL('../../../segments/', import.meta.url).pathname);
  for (const segment of segments) {
    const memory = compileSegment(segment.rule).count(profiles, NOW);
    assert.ok(memory > 0, `${segment.id} selects someone in a ${COUNT} base`);
    assert.equal(await sqlCount(segment.rule), memory, `${segment.id} (seed ${SEED})`);
  }
});

test('250 seeded random rules over every operator count the same in memory and in ClickHouse', async () => {
  const rules = createRuleGenerator(SEED, generated, NOW);
  const ops = new Set<string>();
  const collect = (r: SegmentRule) => {
    if ('all' in r) r.all.forEach(collect);
    else if ('any' in r) r.any.forEach(collect);
    else if ('not' in r) collect(r.not);
    else ops.add(r.op);
  };
  let nonTrivial = 0;
  for (let i = 0; i < 250; i++) {
    const rule = rules.rule();
    collect(rule);
    const memory = compileSegment(rule).count(profiles, NOW);
    if (memory > 0 && memory < COUNT) nonTrivial++;
    const sql = await sqlCount(rule);
    if (sql !== memory)
      assert.fail(`seed ${SEED} rule ${i}: memory ${memory} ≠ SQL ${sql}\n${JSON.stringify(rule)}`);
  }
  assert.ok(ops.size >= 14, `operators exercised: ${[...ops].join(', ')}`);
  assert.ok(nonTrivial > 100, `only ${nonTrivial} rules selected a proper subset`);
});

test('a restart reloads the same profiles from the subscribers table, without deleted ones', async () => {
  const repo = createProfileRepository({ store, profiles, logger, batchSize: 1000 });
  const gone = generated.slice(0, 10).map((p) => p.sid);
  for (const sid of gone) assert.equal(await repo.delete(sid), true);
  await repo.upsert(generated[10].sid, { age: 77 });

  const fresh = createProfileStore({ capacity: 16 });
  const result = await createProfileRepository({ store, profiles: fresh, logger, batchSize: 1000 }).reload();
  assert.deepEqual(result, { loaded: COUNT - 10, rejected: 0, errors: [] });
  for (const sid of gone) assert.equal(fresh.slotOf(sid), -1);
  assert.equal(fresh.get(generated[10].sid)!.age, 77);
  assert.equal(fresh.get(generated[10].sid)!.gender, null);
  for (const p of generated.slice(11, 200)) assert.deepEqual(fresh.get(p.sid), profiles.get(p.sid));
  const rule: SegmentRule = { attr: 'age', op: 'gte', value: 40 };
  assert.equal(compileSegment(rule).count(fresh, NOW), compileSegment(rule).count(profiles, NOW));
  assert.equal(await sqlCount(rule), compileSegment(rule).count(fresh, NOW));
});
