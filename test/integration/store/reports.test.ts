import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRandom } from '../../../bench/lib/random.ts';
import {
  type ConversionRow,
  createReports,
  createWriter,
  type DecisionRow,
  type MessageEventRow,
  type MoMessageRow,
  type Reports,
  type Store,
} from '../../../src/store/index.ts';
import { BASE_MS, buildDecision, HOUR_MS, logger, makeDataDir, openStore } from './fixture.ts';

const SEED = Number(process.env.TEST_SEED ?? 20261123);
const K = 5;

let data: Awaited<ReturnType<typeof makeDataDir>>;
let store: Store;
let reports: Reports;

interface Cell {
  subscribers: Set<string>;
  triggers: number;
  sent: number;
  suppressed: number;
  holdout: number;
  submitted: number;
  parts: number;
  delivered: number;
  failed: number;
  expired: number;
  optOuts: number;
  conversions: number;
  conversionValue: number;
}

const emptyCell = (): Cell => ({
  subscribers: new Set(),
  triggers: 0,
  sent: 0,
  suppressed: 0,
  holdout: 0,
  submitted: 0,
  parts: 0,
  delivered: 0,
  failed: 0,
  expired: 0,
  optOuts: 0,
  conversions: 0,
  conversionValue: 0,
});

const decisions: DecisionRow[] = [];
const events: MessageEventRow[] = [];
const mos: MoMessageRow[] = [];
const conversions: ConversionRow[] = [];

/** Seeded traffic: 3 campaigns × 3 stores over 6 hours; campaign c3 is small enough to be suppressed. */
function generate(): void {
  const rnd = createRandom(SEED);
  const campaigns = [
    { id: 'c1', sids: 60, n: 400 },
    { id: 'c2', sids: 25, n: 150 },
    { id: 'c3', sids: 3, n: 12 },
  ];
  const stores = ['st1', 'st2', 'st3'];
  let msg = 0;
  for (const c of campaigns) {
    for (let i = 0; i < c.n; i++) {
      const ts = BASE_MS + rnd.int(0, 6 * HOUR_MS - 1);
      const sid = `${c.id}-s${rnd.int(1, c.sids)}`;
      const storeId = rnd.pick(stores);
      const outcome = rnd.pick(['sent', 'sent', 'suppressed', 'holdout'] as const);
      const reason = outcome === 'suppressed' ? rnd.pick(['no_consent', 'cap_daily', 'quiet_hours']) : '';
      const messageId = outcome === 'sent' ? `m${msg++}` : '';
      decisions.push(
        buildDecision({
          ts,
          sid,
          campaign_id: c.id,
          store_id: storeId,
          fence_id: `f-${storeId}`,
          outcome,
          reason,
          message_id: messageId,
        }),
      );
      if (outcome !== 'sent') continue;
      const base = {
        message_id: messageId,
        tenant: 'acme',
        campaign_id: c.id,
        store_id: storeId,
        sid,
        smsc_message_id: '',
        error_code: '',
        detail: '',
      };
      const parts = rnd.int(1, 3);
      events.push({ ...base, ts: ts + 100, event: 'submitted', parts });
      const fate = rnd.pick(['delivered', 'delivered', 'failed', 'expired', 'enroute'] as const);
      events.push({ ...base, ts: ts + 2000, event: fate, parts: 0 });
      if (rnd.chance(0.1)) {
        mos.push({
          ts: ts + 5000,
          mo_id: `mo${msg}`,
          sid,
          short_code: '1234',
          keyword: 'STOP',
          action: 'opt_out',
          tenant: 'acme',
          campaign_id: c.id,
          store_id: storeId,
        });
      }
    }
    for (let i = 0; i < c.n / 10; i++) {
      const sid = rnd.chance(0.8) ? `${c.id}-s${rnd.int(1, c.sids)}` : '';
      conversions.push({
        ts: BASE_MS + rnd.int(0, 6 * HOUR_MS - 1),
        conversion_id: `${c.id}-conv${i}`,
        tenant: 'acme',
        campaign_id: c.id,
        store_id: rnd.pick(stores),
        sid,
        promo_code: 'K7Q2',
        value: rnd.int(1, 100) / 4,
        currency: 'EUR',
        source: 'pos',
      });
    }
  }
  // An opt-out nobody could attribute to a campaign stays out of campaign reports.
  mos.push({
    ts: BASE_MS,
    mo_id: 'mo-x',
    sid: 'x',
    short_code: '1234',
    keyword: 'STOP',
    action: 'opt_out',
    tenant: 'acme',
    campaign_id: '',
    store_id: '',
  });
}

/** The oracle: the same figures computed in plain JS from the rows. */
function expected(
  key: (r: { campaign_id: string; store_id: string; ts: number }) => string | undefined,
): Map<string, Cell> {
  const cells = new Map<string, Cell>();
  const cell = (r: { campaign_id: string; store_id: string; ts: number }) => {
    const k = key(r);
    if (k === undefined) return undefined;
    let c = cells.get(k);
    if (!c) {
      c = emptyCell();
      cells.set(k, c);
    }
    return c;
  };
  for (const d of decisions) {
    const c = cell(d);
    if (!c) continue;
    c.subscribers.add(d.sid);
    c.triggers++;
    c[d.outcome === 'sent' ? 'sent' : d.outcome === 'holdout' ? 'holdout' : 'suppressed']++;
  }
  for (const e of events) {
    const c = cell(e);
    if (!c) continue;
    c.subscribers.add(e.sid);
    if (e.event === 'submitted') {
      c.submitted++;
      c.parts += e.parts;
    }
    if (e.event === 'delivered') c.delivered++;
    if (e.event === 'failed') c.failed++;
    if (e.event === 'expired') c.expired++;
  }
  for (const m of mos) {
    if (m.campaign_id === '') continue;
    const c = cell(m);
    if (!c) continue;
    c.subscribers.add(m.sid);
    c.optOuts++;
  }
  for (const v of conversions) {
    const c = cell(v);
    if (!c) continue;
    if (v.sid !== '') c.subscribers.add(v.sid);
    c.conversions++;
    c.conversionValue += v.value;
  }
  return cells;
}

function assertCells(
  actual: Awaited<ReturnType<Reports['campaign']>>,
  want: Map<string, Cell>,
  keyOf: (a: (typeof actual)[number]) => string,
) {
  assert.equal(actual.length, want.size, `seed ${SEED}: cell count`);
  for (const a of actual) {
    const w = want.get(keyOf(a));
    assert.ok(w, `seed ${SEED}: unexpected cell ${keyOf(a)}`);
    if (w.subscribers.size < K) {
      assert.deepEqual(
        { suppressed: a.suppressed, subscribers: a.subscribers, metrics: a.metrics },
        { suppressed: true, subscribers: null, metrics: null },
        `seed ${SEED}: ${keyOf(a)}`,
      );
      continue;
    }
    assert.equal(a.suppressed, false, `seed ${SEED}: ${keyOf(a)}`);
    assert.equal(a.subscribers, w.subscribers.size);
    const { deliveryRate, ...m } = a.metrics!;
    assert.deepEqual(
      m,
      {
        triggers: w.triggers,
        sent: w.sent,
        suppressed: w.suppressed,
        holdout: w.holdout,
        submitted: w.submitted,
        parts: w.parts,
        delivered: w.delivered,
        failed: w.failed,
        expired: w.expired,
        optOuts: w.optOuts,
        conversions: w.conversions,
        conversionValue: w.conversionValue,
      },
      `seed ${SEED}: ${keyOf(a)}`,
    );
    assert.equal(deliveryRate, w.submitted > 0 ? w.delivered / w.submitted : null);
  }
}

const hourOf = (ts: number) => Math.floor(ts / HOUR_MS) * HOUR_MS;
const range = { tenant: 'acme', fromMs: BASE_MS, toMs: BASE_MS + 6 * HOUR_MS };

before(async () => {
  data = await makeDataDir();
  store = await openStore(data.dir, { database: 'r_known', minGroupSize: K });
  reports = createReports({ store, minGroupSize: K });
  generate();
  const writer = createWriter({ store, logger, spillDir: join(data.dir, 'spill') });
  for (const d of decisions) writer.write('decisions', d);
  for (const e of events) writer.write('message_events', e);
  for (const m of mos) writer.write('mo_messages', m);
  for (const c of conversions) writer.write('conversions', c);
  await writer.close();
});
after(async () => {
  await store?.close();
  await data.remove();
});

test('the hourly campaign report gives the exact figures of the rows, k-suppressing small cells', async () => {
  for (const campaignId of ['c1', 'c2', 'c3']) {
    const got = await reports.campaign({ ...range, campaignId, granularity: 'hour' });
    const want = expected((r) => (r.campaign_id === campaignId ? String(hourOf(r.ts)) : undefined));
    assertCells(got, want, (a) => String(a.bucketStartMs));
  }
});

test('the campaign report split per store and per day matches the rows', async () => {
  const got = await reports.campaign({ ...range, campaignId: 'c1', granularity: 'day', byStore: true });
  const want = expected((r) => (r.campaign_id === 'c1' ? `${BASE_MS}|${r.store_id}` : undefined));
  assertCells(got, want, (a) => `${a.bucketStartMs}|${a.storeId}`);
});

test('the store report sums every campaign at that store, per hour', async () => {
  const got = await reports.store({ ...range, storeId: 'st2', granularity: 'hour' });
  const want = expected((r) => (r.store_id === 'st2' ? String(hourOf(r.ts)) : undefined));
  assertCells(got, want, (a) => String(a.bucketStartMs));
});

test('a cell of fewer distinct subscribers than the minimum is suppressed however many events it has', async () => {
  const got = await reports.campaign({ ...range, campaignId: 'c3', granularity: 'day' });
  assert.equal(got.length, 1);
  assert.equal(got[0].suppressed, true);
  assert.equal(got[0].metrics, null);
  const triggers = decisions.filter((d) => d.campaign_id === 'c3').length;
  assert.ok(triggers >= K, 'the cell has enough events; only its subscribers are too few');
});

test('days start at midnight of the requested time zone', async () => {
  const s = await openStore(data.dir, { database: 'r_tz', minGroupSize: 1 });
  try {
    // 14:00 and 16:00 UTC fall on two different days in Tokyo (UTC+9).
    await s.insert('decisions', [
      buildDecision({ ts: BASE_MS + 14 * HOUR_MS, sid: 'a' }),
      buildDecision({ ts: BASE_MS + 16 * HOUR_MS, sid: 'b' }),
    ]);
    const r = createReports({ store: s, minGroupSize: 1 });
    const q = {
      tenant: 'acme',
      campaignId: 'c1',
      fromMs: BASE_MS,
      toMs: BASE_MS + 24 * HOUR_MS,
      granularity: 'day' as const,
    };
    const utc = await r.campaign(q);
    assert.deepEqual(
      utc.map((c) => [c.bucketStartMs, c.metrics?.triggers]),
      [[BASE_MS, 2]],
    );
    const tokyo = await r.campaign({ ...q, timeZone: 'Asia/Tokyo' });
    assert.deepEqual(
      tokyo.map((c) => [c.bucketStartMs, c.metrics?.triggers]),
      [
        [BASE_MS - 9 * HOUR_MS, 1],
        [BASE_MS + 15 * HOUR_MS, 1],
      ],
    );
  } finally {
    await s.close();
  }
});

test('suppression reasons are counted per reason, small reasons hidden', async () => {
  const got = await reports.suppressionReasons({ ...range, campaignId: 'c1', granularity: 'day' });
  const want = new Map<string, { n: number; sids: Set<string> }>();
  for (const d of decisions) {
    if (d.campaign_id !== 'c1' || d.outcome !== 'suppressed') continue;
    const w = want.get(d.reason) ?? { n: 0, sids: new Set<string>() };
    w.n++;
    w.sids.add(d.sid);
    want.set(d.reason, w);
  }
  assert.deepEqual(
    got.map((g) => [g.reason, g.decisions, g.subscribers, g.suppressed]),
    [...want.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([reason, w]) =>
        w.sids.size < K ? [reason, null, null, true] : [reason, w.n, w.sids.size, false],
      ),
  );
});

test('suppression reasons per hour match the rows of every store of the campaign together', async () => {
  // The view aggregates per campaign (migration 503), not per store: a subscriber suppressed at two
  // stores of one campaign in one hour counts once in that hour's cell, as over the raw rows.
  // Every cell shown (minimum group size 1), so each figure is compared, not only the hidden flags.
  const all = createReports({ store, minGroupSize: 1 });
  for (const campaignId of ['c1', 'c2']) {
    const got = await all.suppressionReasons({
      ...range,
      campaignId,
      granularity: 'hour',
      perBucket: true,
    });
    const want = new Map<string, { bucket: number; reason: string; n: number; sids: Set<string> }>();
    for (const d of decisions) {
      if (d.campaign_id !== campaignId || d.outcome !== 'suppressed') continue;
      const bucket = hourOf(d.ts);
      const key = `${bucket}|${d.reason}`;
      const w = want.get(key) ?? { bucket, reason: d.reason, n: 0, sids: new Set<string>() };
      w.n++;
      w.sids.add(d.sid);
      want.set(key, w);
    }
    const rows = [...want.values()].sort((a, b) => a.bucket - b.bucket || a.reason.localeCompare(b.reason));
    assert.ok(rows.length > 6, `seed ${SEED}: ${campaignId} has suppressed cells in several hours`);
    assert.deepEqual(
      got.map((g) => [g.bucketStartMs, g.reason, g.decisions, g.subscribers, g.suppressed]),
      rows.map((w) => [w.bucket, w.reason, w.n, w.sids.size, false]),
      `seed ${SEED}: ${campaignId}`,
    );
  }
});

test('the campaign summary compares the conversion rate of the sent group with the holdout group', async () => {
  const got = await reports.campaignSummary({
    tenant: 'acme',
    campaignId: 'c1',
    fromMs: range.fromMs,
    toMs: range.toMs,
  });
  const converters = new Set(
    conversions.filter((c) => c.campaign_id === 'c1' && c.sid !== '').map((c) => c.sid),
  );
  const arm = (outcome: string) => {
    const sids = new Set(
      decisions.filter((d) => d.campaign_id === 'c1' && d.outcome === outcome).map((d) => d.sid),
    );
    const converted = [...sids].filter((s) => converters.has(s)).length;
    return { suppressed: false, subscribers: sids.size, converted, conversionRate: converted / sids.size };
  };
  const treatment = arm('sent');
  const holdout = arm('holdout');
  assert.deepEqual(got, {
    campaignId: 'c1',
    treatment,
    holdout,
    lift: treatment.conversionRate - holdout.conversionRate,
  });
  const small = await reports.campaignSummary({
    tenant: 'acme',
    campaignId: 'c3',
    fromMs: range.fromMs,
    toMs: range.toMs,
  });
  assert.equal(small.treatment.suppressed, true);
  assert.equal(small.lift, null);
});

test('footfall keeps only distinct visitors per fence and hour, suppressed below the minimum', async () => {
  const s = await openStore(data.dir, { database: 'r_footfall', minGroupSize: 3 });
  try {
    const visit = (sid: string, fence: string, ts: number) => ({
      ts,
      sid,
      tenant: 'acme',
      fence_id: fence,
      store_id: 'st1',
    });
    await s.insert('footfall_visits', [
      ...['a', 'b', 'c', 'a', 'b'].map((sid) => visit(sid, 'f1', BASE_MS + 60_000)),
      ...['a', 'b'].map((sid) => visit(sid, 'f2', BASE_MS + 60_000)),
    ]);
    // No subscriber-at-place row is stored, only the aggregate.
    const raw = await s.query<{ n: number }>('SELECT count() AS n FROM r_footfall.footfall_visits');
    assert.equal(raw[0].n, 0);
    const r = createReports({ store: s, minGroupSize: 3 });
    const got = await r.footfall({
      tenant: 'acme',
      storeId: 'st1',
      fromMs: BASE_MS,
      toMs: BASE_MS + HOUR_MS,
      granularity: 'hour',
    });
    assert.deepEqual(
      got.map((c) => [c.fenceId, c.visitors, c.suppressed]),
      [
        ['f1', 3, false],
        ['f2', null, true],
      ],
    );
  } finally {
    await s.close();
  }
});

test('a bad range or granularity is a validation error, not a query', async () => {
  await assert.rejects(
    reports.campaign({ ...range, fromMs: range.toMs, campaignId: 'c1', granularity: 'hour' }),
    (err: unknown) => (err as { code?: string }).code === 'VALIDATION_FAILED',
  );
  await assert.rejects(
    reports.campaign({ ...range, campaignId: 'c1', granularity: 'week' as 'day' }),
    (err: unknown) => (err as { code?: string }).code === 'VALIDATION_FAILED',
  );
  await assert.rejects(
    reports.campaign({ ...range, campaignId: 'c1', granularity: 'day', timeZone: "UTC'); DROP" }),
    (err: unknown) => (err as { code?: string }).code === 'VALIDATION_FAILED',
  );
});
