import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { STORE_TABLES } from '../../../src/store/index.ts';
import { makeDataDir, openStore } from './fixture.ts';

let data: Awaited<ReturnType<typeof makeDataDir>>;
before(async () => {
  data = await makeDataDir();
});
after(async () => {
  await data.remove();
});

test('migrations from an empty database create every table and record each migration once', async () => {
  const store = await openStore(data.dir, { database: 'm_empty' });
  try {
    const tables = await store.query<{ name: string }>(
      'SELECT name FROM system.tables WHERE database = {db:String}',
      { db: 'm_empty' },
    );
    const names = new Set(tables.map((t) => t.name));
    for (const t of [
      ...STORE_TABLES,
      'footfall',
      'report_hourly',
      'report_suppressed_hourly',
      'schema_migrations',
    ]) {
      assert.ok(names.has(t), `missing table ${t}`);
    }
    const applied = await store.query<{ id: number }>(
      'SELECT id FROM m_empty.schema_migrations FINAL ORDER BY id',
    );
    assert.deepEqual(
      applied.slice(0, 4).map((r) => Number(r.id)),
      [1, 2, 3, 4],
    );
    assert.ok(store.columns('decisions')?.some((c) => c.name === 'reason'));
  } finally {
    await store.close();
  }
});

test('re-running migrations applies nothing and keeps the data', async () => {
  const first = await openStore(data.dir, { database: 'm_rerun' });
  await first.insert('consent', [
    { sid: 's1', channel: 'sms', status: 'opt_in', source: 'api', evidence: 'form', ts: Date.now() },
  ]);
  const before = await first.query<{ n: string }>('SELECT count() AS n FROM m_rerun.schema_migrations');
  await first.close();
  const second = await openStore(data.dir, { database: 'm_rerun' });
  try {
    const afterRows = await second.query<{ n: string }>('SELECT count() AS n FROM m_rerun.schema_migrations');
    assert.equal(afterRows[0].n, before[0].n);
    const consent = await second.query<{ n: string }>('SELECT count() AS n FROM m_rerun.consent');
    assert.equal(Number(consent[0].n), 1);
  } finally {
    await second.close();
  }
});

test('an existing decisions table keeps its rows and its report through the id-column type change (502)', async () => {
  const { createStore, loadMigrations } = await import('../../../src/store/index.ts');
  const { buildStoreConfig, logger } = await import('./fixture.ts');
  const all = await loadMigrations();
  const config = buildStoreConfig(data.dir, { database: 'm_upgrade' });
  const old = await createStore({ config, logger, migrations: all.filter((m) => m.id < 502) });
  const typeOf = async (s: typeof old, name: string) =>
    (
      await s.query<{ type: string }>(
        "SELECT type FROM system.columns WHERE database = 'm_upgrade' AND table = 'decisions' AND name = {name:String}",
        { name },
      )
    )[0]?.type;
  const hour = Date.UTC(2026, 10, 23, 10);
  const rows = Array.from({ length: 30 }, (_, i) => ({
    ts: hour + i * 1000,
    sid: `s${i % 12}`,
    tenant: 't1',
    campaign_id: i < 20 ? 'c1' : 'c2',
    fence_id: 'f1',
    store_id: 'st1',
    trigger: 'enter',
    outcome: i % 3 === 0 ? 'sent' : 'suppressed',
    reason: i % 3 === 0 ? '' : 'cap_daily',
    message_id: i % 3 === 0 ? `m${i}` : '',
    dwell_ms: 0,
  }));
  try {
    assert.equal(await typeOf(old, 'campaign_id'), 'LowCardinality(String)');
    await old.insert('decisions', rows);
  } finally {
    await old.close();
  }
  const store = await createStore({ config, logger });
  try {
    assert.equal(await typeOf(store, 'campaign_id'), 'String');
    assert.equal(await typeOf(store, 'tenant'), 'String');
    assert.equal(await typeOf(store, 'fence_id'), 'LowCardinality(String)');
    await store.insert(
      'decisions',
      rows.map((r) => ({ ...r, ts: r.ts + 60_000 })),
    );
    const byCampaign = await store.query<{ campaign_id: string; n: string; sent: string }>(
      "SELECT campaign_id, count() AS n, countIf(outcome = 'sent') AS sent FROM m_upgrade.decisions GROUP BY campaign_id ORDER BY campaign_id",
    );
    assert.deepEqual(
      byCampaign.map((r) => [r.campaign_id, Number(r.n), Number(r.sent)]),
      [
        ['c1', 40, 14],
        ['c2', 20, 6],
      ],
    );
    // The report view kept feeding its table across the change: rows before and after it, one hour.
    const report = await store.query<{ campaign_id: string; triggers: string; sent: string }>(
      'SELECT campaign_id, sum(triggers) AS triggers, sum(sent) AS sent FROM m_upgrade.report_hourly GROUP BY campaign_id ORDER BY campaign_id',
    );
    assert.deepEqual(
      report.map((r) => [r.campaign_id, Number(r.triggers), Number(r.sent)]),
      [
        ['c1', 40, 14],
        ['c2', 20, 6],
      ],
    );
  } finally {
    await store.close();
  }
});

test('suppression reasons keep their figures through the per-campaign view (503), and a retried insert is not counted twice', async () => {
  const { createReports, createStore, loadMigrations } = await import('../../../src/store/index.ts');
  const { buildStoreConfig, logger } = await import('./fixture.ts');
  const all = await loadMigrations();
  const config = buildStoreConfig(data.dir, { database: 'm_supp' });
  const hour = Date.UTC(2026, 10, 23, 10);
  // Suppressed at two stores of one campaign; s0–s5 at both stores, so per-store states overlap.
  const batch = (from: number, n: number, at: number) =>
    Array.from({ length: n }, (_, i) => ({
      ts: at + (from + i) * 1000,
      sid: `s${(from + i) % 9}`,
      tenant: 't1',
      campaign_id: (from + i) % 5 === 4 ? 'c2' : 'c1',
      fence_id: 'f1',
      store_id: (from + i) % 2 === 0 ? 'st1' : 'st2',
      trigger: 'enter',
      outcome: (from + i) % 7 === 0 ? 'sent' : 'suppressed',
      reason: (from + i) % 7 === 0 ? '' : (from + i) % 3 === 0 ? 'quiet_hours' : 'cap_daily',
      message_id: (from + i) % 7 === 0 ? `m${from + i}` : '',
      dwell_ms: 0,
    }));
  const old = await createStore({ config, logger, migrations: all.filter((m) => m.id < 503) });
  try {
    await old.insert('decisions', batch(0, 40, hour));
  } finally {
    await old.close();
  }
  const store = await createStore({ config, logger });
  try {
    const views = await store.query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = 'm_supp' AND name LIKE 'report_suppressed%mv' ORDER BY name",
    );
    assert.deepEqual(
      views.map((v) => v.name),
      ['report_suppressed_campaign_hourly_mv'],
    );
    // Same hour as the old rows and the next one; the second insert is a retry of the first (same token).
    const fresh = [...batch(40, 30, hour), ...batch(70, 30, hour + 3_600_000)];
    await store.insert('decisions', fresh, { dedupToken: 'retry-me' });
    await store.insert('decisions', fresh, { dedupToken: 'retry-me' });
    const stores = await store.query<{ store_id: string }>(
      'SELECT DISTINCT store_id FROM m_supp.report_suppressed_hourly ORDER BY store_id',
    );
    assert.deepEqual(
      stores.map((r) => r.store_id),
      ['', 'st1', 'st2'],
    );
    const reports = createReports({ store, minGroupSize: 1 });
    for (const campaignId of ['c1', 'c2']) {
      const raw = await store.query<{ bucket_ms: string; reason: string; n: string; u: string }>(
        `SELECT toUnixTimestamp(toStartOfHour(ts)) * 1000 AS bucket_ms, reason, count() AS n, uniqExact(sid) AS u
         FROM m_supp.decisions WHERE campaign_id = {c:String} AND outcome = 'suppressed'
         GROUP BY bucket_ms, reason ORDER BY bucket_ms, reason`,
        { c: campaignId },
      );
      assert.equal(
        raw.reduce((s, r) => s + Number(r.n), 0),
        [...batch(0, 100, 0)].filter((r) => r.campaign_id === campaignId && r.outcome === 'suppressed')
          .length,
        'the retried insert was deduplicated',
      );
      const got = await reports.suppressionReasons({
        campaignId,
        fromMs: hour,
        toMs: hour + 2 * 3_600_000,
        granularity: 'hour',
        perBucket: true,
      });
      assert.deepEqual(
        got.map((g) => [g.bucketStartMs, g.reason, g.decisions, g.subscribers]),
        raw.map((r) => [Number(r.bucket_ms), r.reason, Number(r.n), Number(r.u)]),
        campaignId,
      );
    }
  } finally {
    await store.close();
  }
});

test('trigger, outcome and reason become String (504): old and new rows, every reason, and both report views agree with the raw rows', async () => {
  const { createReports, createStore, loadMigrations } = await import('../../../src/store/index.ts');
  const { SUPPRESSION_REASONS } = await import('../../../src/campaigns/reasons.ts');
  const { buildStoreConfig, logger } = await import('./fixture.ts');
  const all = await loadMigrations();
  const config = buildStoreConfig(data.dir, { database: 'm_outcome' });
  const hour = Date.UTC(2026, 10, 23, 10);
  const triggers = ['enter', 'dwell', 'exit', 'followup'];
  // Every reason the engine can give, a send and a holdout, each trigger; at two hours.
  const batch = (from: number, at: number) =>
    Array.from({ length: 2 * (SUPPRESSION_REASONS.length + 2) }, (_, k) => {
      const i = from + k;
      const r = k % (SUPPRESSION_REASONS.length + 2);
      const outcome = r === 0 ? 'sent' : r === 1 ? 'holdout' : 'suppressed';
      return {
        ts: at + i * 1000,
        sid: `s${i % 7}`,
        tenant: 't1',
        campaign_id: 'c1',
        fence_id: 'f1',
        store_id: 'st1',
        trigger: triggers[i % triggers.length],
        outcome,
        reason: outcome === 'suppressed' ? SUPPRESSION_REASONS[r - 2] : '',
        message_id: outcome === 'sent' ? `m${i}` : '',
        dwell_ms: 0,
      };
    });
  const old = await createStore({ config, logger, migrations: all.filter((m) => m.id < 504) });
  const typeOf = async (s: typeof old, name: string) =>
    (
      await s.query<{ type: string }>(
        "SELECT type FROM system.columns WHERE database = 'm_outcome' AND table = 'decisions' AND name = {name:String}",
        { name },
      )
    )[0]?.type;
  try {
    assert.equal(await typeOf(old, 'reason'), 'LowCardinality(String)');
    await old.insert('decisions', batch(0, hour));
  } finally {
    await old.close();
  }
  const store = await createStore({ config, logger });
  try {
    for (const name of ['trigger', 'outcome', 'reason'])
      assert.equal(await typeOf(store, name), 'String', name);
    assert.equal(await typeOf(store, 'store_id'), 'LowCardinality(String)');
    await store.insert('decisions', [...batch(100, hour), ...batch(200, hour + 3_600_000)]);
    const raw = await store.query<{ trigger: string; outcome: string; reason: string; n: string }>(
      'SELECT trigger, outcome, reason, count() AS n FROM m_outcome.decisions GROUP BY trigger, outcome, reason ORDER BY trigger, outcome, reason',
    );
    const expected = new Map<string, number>();
    for (const r of [...batch(0, hour), ...batch(100, hour), ...batch(200, hour)]) {
      const key = `${r.trigger}|${r.outcome}|${r.reason}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    assert.deepEqual(
      raw.map((r) => [`${r.trigger}|${r.outcome}|${r.reason}`, Number(r.n)]),
      [...expected].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    );
    // The report views fed on both sides of the change: funnel per hour and suppression reasons.
    const funnel = await store.query<{ triggers: string; sent: string; holdouts: string }>(
      'SELECT sum(triggers) AS triggers, sum(sent) AS sent, sum(holdout) AS holdouts FROM m_outcome.report_hourly',
    );
    const rows = [...batch(0, hour), ...batch(100, hour), ...batch(200, hour)];
    assert.deepEqual(
      [Number(funnel[0].triggers), Number(funnel[0].sent), Number(funnel[0].holdouts)],
      [
        rows.length,
        rows.filter((r) => r.outcome === 'sent').length,
        rows.filter((r) => r.outcome === 'holdout').length,
      ],
    );
    const reports = createReports({ store, minGroupSize: 1 });
    const got = await reports.suppressionReasons({
      campaignId: 'c1',
      fromMs: hour,
      toMs: hour + 2 * 3_600_000,
      granularity: 'hour',
      perBucket: true,
    });
    const want = await store.query<{ bucket_ms: string; reason: string; n: string; u: string }>(
      `SELECT toUnixTimestamp(toStartOfHour(ts)) * 1000 AS bucket_ms, reason, count() AS n, uniqExact(sid) AS u
       FROM m_outcome.decisions WHERE outcome = 'suppressed' GROUP BY bucket_ms, reason ORDER BY bucket_ms, reason`,
    );
    assert.equal(want.length, 2 * SUPPRESSION_REASONS.length);
    assert.deepEqual(
      got.map((g) => [g.bucketStartMs, g.reason, g.decisions, g.subscribers]),
      want.map((r) => [Number(r.bucket_ms), r.reason, Number(r.n), Number(r.u)]),
    );
  } finally {
    await store.close();
  }
});

test('personal-data tables declare a TTL of the configured days, re-applied when the setting changes', async () => {
  const ttlOf = async (days: number) => {
    const store = await openStore(data.dir, { database: 'm_ttl', ttlDays: days });
    try {
      return await store.query<{ name: string; create_table_query: string }>(
        `SELECT name, create_table_query FROM system.tables WHERE database = 'm_ttl'
         AND name IN ('decisions', 'messages', 'message_events', 'mo_messages', 'conversions') ORDER BY name`,
      );
    } finally {
      await store.close();
    }
  };
  const first = await ttlOf(30);
  assert.equal(first.length, 5);
  for (const t of first)
    assert.match(t.create_table_query, /TTL toDateTime\(\w+\) \+ toIntervalDay\(30\)/, t.name);
  const second = await ttlOf(7);
  for (const t of second)
    assert.match(t.create_table_query, /TTL toDateTime\(\w+\) \+ toIntervalDay\(7\)/, t.name);
});

test('a migration that fails stops start-up with MIGRATION_FAILED and is not recorded', async () => {
  const { createStore } = await import('../../../src/store/index.ts');
  const { buildStoreConfig, logger } = await import('./fixture.ts');
  await assert.rejects(
    createStore({
      config: buildStoreConfig(data.dir, { database: 'm_fail' }),
      logger,
      migrations: [
        {
          id: 1,
          name: '001-ok.sql',
          source: 'CREATE TABLE IF NOT EXISTS {{db}}.ok (x UInt8) ENGINE = Memory;',
        },
        { id: 2, name: '002-bad.sql', source: 'CREATE TABLE {{db}}.bad (x NoSuchType) ENGINE = Memory;' },
      ],
    }),
    (err: unknown) => (err as { code?: string }).code === 'MIGRATION_FAILED' && /002-bad/.test(String(err)),
  );
  const store = await createStore({
    config: buildStoreConfig(data.dir, { database: 'm_fail' }),
    logger,
    migrations: [
      {
        id: 1,
        name: '001-ok.sql',
        source: 'CREATE TABLE IF NOT EXISTS {{db}}.ok (x UInt8) ENGINE = Memory;',
      },
    ],
  });
  try {
    const ids = await store.query<{ id: number }>('SELECT id FROM m_fail.schema_migrations FINAL');
    assert.deepEqual(
      ids.map((r) => Number(r.id)),
      [1],
    );
  } finally {
    await store.close();
  }
});
