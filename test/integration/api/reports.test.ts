import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRandom } from '../../../bench/lib/random.ts';
import { type ApiServer, createApiServer, createMetricsRegistry } from '../../../src/api/index.ts';
import { reportRoutes } from '../../../src/api/routes/reports.ts';
import { type CampaignService, createCampaignService } from '../../../src/campaigns/index.ts';
import { measureSms } from '../../../src/deliver/index.ts';
import {
  type ConversionRow,
  createDefinitions,
  createReports,
  createWriter,
  type DecisionRow,
  type FootfallVisitRow,
  type MessageEventRow,
  type MoMessageRow,
} from '../../../src/store/index.ts';
import { BASE_MS, HOUR_MS } from '../store/fixture.ts';
import { buildFence, type Caller, type Harness, logger, startHarness } from './fixture.ts';

// The report routes over real HTTP and the embedded ClickHouse: rows go in through the real writer,
// the figures that come back are checked against the same figures computed here from the rows.

const SEED = Number(process.env.TEST_SEED ?? 20261124);
const K = 5;
const TOKYO_MS = 9 * HOUR_MS;

let h: Harness;
let server: ApiServer;
let url: string;
let campaigns: CampaignService;
let campA: string;
let campB: string;
let spillDir: string | undefined;

const decisions: DecisionRow[] = [];
const events: MessageEventRow[] = [];
const mos: MoMessageRow[] = [];
const conversions: ConversionRow[] = [];
const visits: FootfallVisitRow[] = [];

interface Get {
  status: number;
  type: string;
  json: any;
}

async function get(path: string, as: Caller = 'analyst'): Promise<Get> {
  const headers: Record<string, string> = as === 'none' ? {} : { authorization: `Bearer ${h.tokens[as]}` };
  const res = await fetch(url + path, { headers });
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: await res.json() };
}

const iso = (ms: number) => new Date(ms).toISOString();
const RANGE = `from=${iso(BASE_MS)}&to=${iso(BASE_MS + 6 * HOUR_MS)}`;

async function fence(as: 'retailerA' | 'retailerB', id: string, storeId: string, lon: number) {
  const f = buildFence({ id, lon });
  f.properties.storeId = storeId;
  f.properties.timeZone = 'Asia/Tokyo';
  const r = await fetch(`${url}/v1/geofences`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.tokens[as]}`, 'content-type': 'application/json' },
    body: JSON.stringify(f),
  });
  assert.equal(r.status, 201, await r.text());
}

async function campaign(tenant: string, fenceIds: string[]): Promise<string> {
  const c = await campaigns.create(
    tenant,
    {
      name: `${tenant} offer`,
      fences: { ids: fenceIds },
      segmentId: 'all',
      trigger: { kind: 'enter' },
      message: { senderId: 'SHOP', template: '15% off today with code {promo_code}' },
      schedule: { start: '2026-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z', timeZone: 'Asia/Tokyo' },
    },
    { id: 'test', role: 'admin' },
  );
  return c.id;
}

/**
 * Seeded traffic: campaign A (acme) at two stores over hours 0–4 plus a small group of two subscribers
 * in hour 5; campaign B (globex) at its own store. One suppression reason touches only two subscribers.
 */
function generate(): void {
  const rnd = createRandom(SEED);
  let n = 0;
  const add = (
    c: { id: string; tenant: string; stores: string[] },
    sid: string,
    ts: number,
    fate?: string,
  ) => {
    const storeId = rnd.pick(c.stores);
    const outcome = fate === 'sent' ? 'sent' : rnd.pick(['sent', 'sent', 'suppressed', 'holdout'] as const);
    const reason =
      outcome !== 'suppressed'
        ? ''
        : sid.endsWith('-s1') || sid.endsWith('-s2')
          ? rnd.pick(['no_consent', 'blocklisted'])
          : rnd.pick(['no_consent', 'cap_daily', 'quiet_hours']);
    const messageId = outcome === 'sent' ? `m${n++}` : '';
    decisions.push({
      ts,
      sid,
      tenant: c.tenant,
      campaign_id: c.id,
      fence_id: `f-${storeId}`,
      store_id: storeId,
      trigger: 'enter',
      outcome,
      reason,
      message_id: messageId,
      dwell_ms: 0,
    });
    if (outcome !== 'sent') return;
    const base = {
      message_id: messageId,
      tenant: c.tenant,
      campaign_id: c.id,
      store_id: storeId,
      sid,
      smsc_message_id: '',
      error_code: '',
      detail: '',
    };
    events.push({ ...base, ts: ts + 100, event: 'submitted', parts: rnd.int(1, 3) });
    const end = rnd.pick(['delivered', 'delivered', 'failed', 'expired', 'enroute'] as const);
    events.push({ ...base, ts: ts + 2000, event: end, parts: 0 });
    if (rnd.chance(0.1)) {
      mos.push({
        ts: ts + 5000,
        mo_id: `mo${n}`,
        sid,
        short_code: '1234',
        keyword: 'STOP',
        action: 'opt_out',
        tenant: c.tenant,
        campaign_id: c.id,
        store_id: storeId,
      });
    }
  };
  const a = { id: campA, tenant: 'acme', stores: ['st-a1', 'st-a2'] };
  const b = { id: campB, tenant: 'globex', stores: ['st-b1'] };
  // Events of hours 0–4 end (ts + 5 s) before hour 5, which only the small group reaches.
  const early = () => BASE_MS + rnd.int(0, 5 * HOUR_MS - 10_000);
  for (let i = 0; i < 300; i++) add(a, `a-s${rnd.int(1, 40)}`, early());
  for (let i = 0; i < 6; i++) add(a, `a-small${(i % 2) + 1}`, BASE_MS + 5 * HOUR_MS + i * 60_000, 'sent');
  for (let i = 0; i < 80; i++) add(b, `b-s${rnd.int(1, 20)}`, early());
  for (const [c, sids] of [
    [a, 40],
    [b, 20],
  ] as const) {
    for (let i = 0; i < 25; i++) {
      conversions.push({
        ts: early(),
        conversion_id: `${c.id}-conv${i}`,
        tenant: c.tenant,
        campaign_id: c.id,
        store_id: rnd.pick(c.stores),
        sid: rnd.chance(0.8) ? `${c.id === campA ? 'a' : 'b'}-s${rnd.int(1, sids)}` : '',
        promo_code: 'K7Q2',
        value: rnd.int(1, 100) / 4,
        currency: 'EUR',
        source: 'pos',
      });
    }
  }
  // Footfall: 12 distinct visitors at fa1 in hour 1 (some twice), only 3 at fa2.
  const visit = (sid: string, fenceId: string, storeId: string, tenant: string, ts: number) =>
    visits.push({ ts, sid, tenant, fence_id: fenceId, store_id: storeId });
  for (let i = 0; i < 20; i++)
    visit(`v${(i % 12) + 1}`, 'fa1', 'st-a1', 'acme', BASE_MS + HOUR_MS + i * 1000);
  for (let i = 0; i < 3; i++) visit(`v${i + 1}`, 'fa2', 'st-a1', 'acme', BASE_MS + HOUR_MS + i * 1000);
  for (let i = 0; i < 8; i++) visit(`w${i}`, 'fb1', 'st-b1', 'globex', BASE_MS + 2 * HOUR_MS);
}

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

type Keyed = { campaign_id: string; store_id: string; ts: number };

/** The oracle: report cells computed in plain JS from the rows written. */
function expected(key: (r: Keyed) => string | undefined): Map<string, Cell> {
  const cells = new Map<string, Cell>();
  const cell = (r: Keyed) => {
    const k = key(r);
    if (k === undefined) return undefined;
    let c = cells.get(k);
    if (!c) {
      c = {
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
      };
      cells.set(k, c);
    }
    return c;
  };
  for (const d of decisions) {
    const c = cell(d);
    if (!c) continue;
    c.subscribers.add(d.sid);
    c.triggers++;
    c[d.outcome]++;
  }
  for (const e of events) {
    const c = cell(e);
    if (!c) continue;
    c.subscribers.add(e.sid);
    if (e.event === 'submitted') {
      c.submitted++;
      c.parts += e.parts;
    }
    if (e.event === 'delivered' || e.event === 'failed' || e.event === 'expired') c[e.event]++;
  }
  for (const m of mos) {
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

function assertCells(got: any[], want: Map<string, Cell>, keyOf: (c: any) => string): void {
  assert.deepEqual(got.map(keyOf).sort(), [...want.keys()].sort(), `seed ${SEED}: cells`);
  for (const g of got) {
    const w = want.get(keyOf(g))!;
    const where = `seed ${SEED}: cell ${keyOf(g)}`;
    if (w.subscribers.size < K) {
      assert.deepEqual([g.suppressed, g.subscribers, g.metrics], [true, null, null], where);
      continue;
    }
    assert.equal(g.suppressed, false, where);
    assert.equal(g.subscribers, w.subscribers.size, where);
    const { subscribers: _, ...figures } = w;
    assert.deepEqual(
      g.metrics,
      { ...figures, deliveryRate: w.submitted > 0 ? w.delivered / w.submitted : null },
      where,
    );
  }
}

const hourOf = (ts: number) => iso(Math.floor(ts / HOUR_MS) * HOUR_MS);

before(async () => {
  h = await startHarness();
  campaigns = createCampaignService({
    campaigns: createDefinitions({ store: h.store, table: 'campaigns' }),
    policy: createDefinitions({ store: h.store, table: 'policy' }),
    fences: {
      get: (id) => h.matcher.get(id)?.props,
      all: () => h.matcher.snapshot().fences.map((f) => f.props),
    },
    segments: { get: () => ({ offeredToRetailers: true }) },
    measure: measureSms,
    promoCodeLength: 6,
  });
  const reports = createReports({ store: h.store, minGroupSize: K });
  server = createApiServer({
    logger,
    auth: h.keys.authenticator,
    routes: [...h.routes, ...reportRoutes({ reports, campaigns, fences: h.matcher })],
    metricsRegistry: createMetricsRegistry(),
    rateLimitPerMin: 1_000_000,
    validateResponses: true,
  });
  url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;

  await fence('retailerA', 'fa1', 'st-a1', 30.5);
  await fence('retailerA', 'fa2', 'st-a1', 30.51);
  await fence('retailerA', 'fa3', 'st-a2', 30.52);
  await fence('retailerB', 'fb1', 'st-b1', 30.6);
  campA = await campaign('acme', ['fa1', 'fa2', 'fa3']);
  campB = await campaign('globex', ['fb1']);

  generate();
  spillDir = await mkdtemp(join(tmpdir(), 'geotrigger-reports-'));
  const writer = createWriter({ store: h.store, logger, spillDir });
  for (const d of decisions) await writer.write('decisions', d);
  for (const e of events) await writer.write('message_events', e);
  for (const m of mos) await writer.write('mo_messages', m);
  for (const c of conversions) await writer.write('conversions', c);
  for (const v of visits) await writer.write('footfall_visits', v);
  await writer.close();
});

after(async () => {
  await server?.close();
  await h?.close();
  if (spillDir) await rm(spillDir, { recursive: true, force: true });
});

test('the hourly campaign funnel gives the exact figures of the rows and hides the two-subscriber hour', async () => {
  for (const as of ['analyst', 'viewer', 'admin', 'retailerA'] as const) {
    const r = await get(`/v1/reports/campaigns/${campA}?${RANGE}&granularity=hour`, as);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.campaignId, campA);
    assert.equal(r.json.minGroupSize, K);
    assert.equal(r.json.timeZone, 'UTC');
    assertCells(
      r.json.cells,
      expected((x) => (x.campaign_id === campA ? hourOf(x.ts) : undefined)),
      (c) => c.bucketStart,
    );
  }
  const r = await get(`/v1/reports/campaigns/${campA}?${RANGE}&granularity=hour`);
  const last = r.json.cells.at(-1);
  assert.equal(last.bucketStart, iso(BASE_MS + 5 * HOUR_MS));
  assert.equal(last.suppressed, true, 'hour 5 has 6 triggers but only 2 subscribers');
});

test('days start at midnight of the campaign’s zone unless another timeZone is asked for', async () => {
  const tokyo = await get(`/v1/reports/campaigns/${campA}?${RANGE}`);
  assert.equal(tokyo.json.granularity, 'day');
  assert.equal(tokyo.json.timeZone, 'Asia/Tokyo');
  assert.deepEqual(
    tokyo.json.cells.map((c: any) => c.bucketStart),
    [iso(BASE_MS - TOKYO_MS)],
  );
  const utc = await get(`/v1/reports/campaigns/${campA}?${RANGE}&timeZone=UTC`);
  assert.deepEqual(
    utc.json.cells.map((c: any) => c.bucketStart),
    [iso(BASE_MS)],
  );
  assertCells(
    utc.json.cells,
    expected((x) => (x.campaign_id === campA ? iso(BASE_MS) : undefined)),
    (c) => c.bucketStart,
  );
  assert.deepEqual(utc.json.cells[0].metrics, tokyo.json.cells[0].metrics);
});

test('the campaign funnel split per store adds up to the whole', async () => {
  const whole = await get(`/v1/reports/campaigns/${campA}?${RANGE}&timeZone=UTC`);
  const split = await get(`/v1/reports/campaigns/${campA}?${RANGE}&timeZone=UTC&split=store`);
  assert.equal(split.status, 200);
  assertCells(
    split.json.cells,
    expected((x) => (x.campaign_id === campA ? x.store_id : undefined)),
    (c) => c.storeId,
  );
  for (const k of ['triggers', 'sent', 'suppressed', 'holdout', 'submitted', 'parts', 'delivered'] as const) {
    const sum = split.json.cells.reduce((s: number, c: any) => s + c.metrics[k], 0);
    assert.equal(sum, whole.json.cells[0].metrics[k], k);
  }
});

test('without from and to the report covers the last 7 days up to now', async () => {
  const t0 = Date.now();
  const r = await get(`/v1/reports/campaigns/${campA}?timeZone=UTC`);
  const t1 = Date.now();
  assert.equal(r.status, 200);
  const toMs = Date.parse(r.json.to);
  assert.ok(toMs >= t0 - 1 && toMs <= t1 + 1, r.json.to);
  assert.equal(toMs - Date.parse(r.json.from), 7 * 86_400_000);
  assertCells(
    r.json.cells,
    expected((x) => (x.campaign_id === campA ? iso(BASE_MS) : undefined)),
    (c) => c.bucketStart,
  );
});

test('the summary compares the conversion rate of subscribers sent the campaign with the holdout', async () => {
  const r = await get(`/v1/reports/campaigns/${campA}/summary?${RANGE}`, 'retailerA');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const converters = new Set(conversions.filter((c) => c.campaign_id === campA && c.sid).map((c) => c.sid));
  const arm = (outcome: string) => {
    const sids = new Set(
      decisions.filter((d) => d.campaign_id === campA && d.outcome === outcome).map((d) => d.sid),
    );
    const converted = [...sids].filter((s) => converters.has(s)).length;
    return { suppressed: false, subscribers: sids.size, converted, conversionRate: converted / sids.size };
  };
  const treatment = arm('sent');
  const holdout = arm('holdout');
  assert.ok(treatment.converted > 0 && holdout.converted > 0, `seed ${SEED}: both arms convert`);
  assert.deepEqual(r.json, {
    campaignId: campA,
    from: iso(BASE_MS),
    to: iso(BASE_MS + 6 * HOUR_MS),
    minGroupSize: K,
    attributionDays: 7,
    treatment,
    holdout,
    lift: treatment.conversionRate - holdout.conversionRate,
  });
  // Conversions happen inside the range here; none are counted when the window closes before them.
  const early = await get(
    `/v1/reports/campaigns/${campA}/summary?from=${iso(BASE_MS)}&to=${iso(BASE_MS + 1000)}&attributionDays=0`,
  );
  assert.equal(early.status, 200);
  assert.equal(early.json.treatment.suppressed, true);
  assert.equal(early.json.lift, null);
});

test('suppressions are counted per reason; a reason of fewer subscribers than the minimum is hidden', async () => {
  const r = await get(`/v1/reports/campaigns/${campA}/suppressions?${RANGE}`, 'viewer');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.granularity, null);
  const want = new Map<string, Set<string> & { n?: number }>();
  const counts = new Map<string, number>();
  for (const d of decisions) {
    if (d.campaign_id !== campA || d.outcome !== 'suppressed') continue;
    want.set(d.reason, (want.get(d.reason) ?? new Set()).add(d.sid));
    counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
  }
  assert.ok((want.get('blocklisted')?.size ?? 0) < K, `seed ${SEED}: a rare reason exists`);
  assert.deepEqual(
    r.json.reasons.map((x: any) => [x.bucketStart, x.reason, x.decisions, x.subscribers, x.suppressed]),
    [...want.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([reason, sids]) =>
        sids.size < K
          ? [null, reason, null, null, true]
          : [null, reason, counts.get(reason), sids.size, false],
      ),
  );
  const hourly = await get(`/v1/reports/campaigns/${campA}/suppressions?${RANGE}&granularity=hour`);
  assert.equal(hourly.status, 200);
  assert.ok(hourly.json.reasons.length > 0);
  assert.ok(hourly.json.reasons.every((x: any) => Date.parse(x.bucketStart) % HOUR_MS === 0));
  const total = hourly.json.reasons
    .filter((x: any) => x.reason === 'no_consent' && !x.suppressed)
    .reduce((s: number, x: any) => s + x.decisions, 0);
  assert.ok(total <= counts.get('no_consent')!);
});

test('the store funnel sums every campaign at the store, per hour', async () => {
  for (const as of ['analyst', 'retailerA'] as const) {
    const r = await get(`/v1/reports/stores/st-a1?${RANGE}&granularity=hour`, as);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.storeId, 'st-a1');
    assertCells(
      r.json.cells,
      expected((x) => (x.store_id === 'st-a1' ? hourOf(x.ts) : undefined)),
      (c) => c.bucketStart,
    );
  }
  const split = await get(`/v1/reports/stores/st-b1?${RANGE}&timeZone=UTC&split=campaign`, 'retailerB');
  assert.equal(split.status, 200);
  assertCells(
    split.json.cells,
    expected((x) => (x.store_id === 'st-b1' ? x.campaign_id : undefined)),
    (c) => c.campaignId,
  );
});

test('store footfall counts distinct visitors per fence, hiding fences under the minimum', async () => {
  const r = await get(`/v1/reports/stores/st-a1/footfall?${RANGE}&granularity=hour`, 'retailerA');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(
    r.json.cells.map((c: any) => [c.bucketStart, c.fenceId, c.visitors, c.suppressed]),
    [
      [iso(BASE_MS + HOUR_MS), 'fa1', 12, false],
      [iso(BASE_MS + HOUR_MS), 'fa2', null, true],
    ],
  );
  // Days of the store's zone (Asia/Tokyo, from its fences).
  const day = await get(`/v1/reports/stores/st-a1/footfall?${RANGE}`, 'viewer');
  assert.equal(day.json.timeZone, 'Asia/Tokyo');
  assert.deepEqual(
    day.json.cells.map((c: any) => [c.bucketStart, c.fenceId, c.visitors]),
    [
      [iso(BASE_MS - TOKYO_MS), 'fa1', 12],
      [iso(BASE_MS - TOKYO_MS), 'fa2', null],
    ],
  );
});

test('a retailer reads its own campaigns and stores; another tenant’s answer 404 exactly like unknown ones', async () => {
  const paths = (camp: string, store: string) => [
    `/v1/reports/campaigns/${camp}?${RANGE}`,
    `/v1/reports/campaigns/${camp}/summary?${RANGE}`,
    `/v1/reports/campaigns/${camp}/suppressions?${RANGE}`,
    `/v1/reports/stores/${store}?${RANGE}`,
    `/v1/reports/stores/${store}/footfall?${RANGE}`,
  ];
  const own = { retailerA: paths(campA, 'st-a1'), retailerB: paths(campB, 'st-b1') };
  const foreign = { retailerA: paths(campB, 'st-b1'), retailerB: paths(campA, 'st-a2') };
  const unknown = paths('cmp_0000000000000000', 'st-nowhere');
  for (const who of ['retailerA', 'retailerB'] as const) {
    for (const [i, p] of own[who].entries()) {
      const r = await get(p, who);
      assert.equal(r.status, 200, `${who} ${p}: ${JSON.stringify(r.json)}`);
      const f = await get(foreign[who][i], who);
      const u = await get(unknown[i], who);
      assert.equal(f.status, 404, `${who} ${foreign[who][i]}`);
      assert.match(f.type, /application\/problem\+json/);
      assert.equal(f.json.code, u.json.code, 'a foreign object looks like a missing one');
      assert.match(f.json.code, /NOT_FOUND$/);
    }
  }
  // Operator roles see every tenant.
  for (const p of [...own.retailerA, ...own.retailerB]) {
    for (const as of ['admin', 'analyst', 'viewer'] as const) assert.equal((await get(p, as)).status, 200);
  }
});

test('ingest keys get 403 and requests without a key 401 on every report route', async () => {
  for (const p of [
    `/v1/reports/campaigns/${campA}`,
    `/v1/reports/campaigns/${campA}/summary`,
    `/v1/reports/campaigns/${campA}/suppressions`,
    '/v1/reports/stores/st-a1',
    '/v1/reports/stores/st-a1/footfall',
  ]) {
    const ingest = await get(p, 'ingest');
    assert.equal(ingest.status, 403, p);
    assert.equal(ingest.json.code, 'FORBIDDEN');
    assert.equal((await get(p, 'none')).status, 401, p);
  }
});

test('unknown campaigns and stores answer 404 problems', async () => {
  const c = await get('/v1/reports/campaigns/cmp_missing/summary');
  assert.equal(c.status, 404);
  assert.equal(c.json.code, 'CAMPAIGN_NOT_FOUND');
  const s = await get('/v1/reports/stores/nowhere/footfall');
  assert.equal(s.status, 404);
  assert.equal(s.json.code, 'NOT_FOUND');
  assert.match(s.json.detail, /store nowhere/);
});

test('bad query parameters answer 400 problem+json naming the parameter', async () => {
  const cases: [string, string][] = [
    [`/v1/reports/campaigns/${campA}?granularity=week`, 'query.granularity'],
    [`/v1/reports/campaigns/${campA}?from=yesterday`, 'query.from'],
    [`/v1/reports/campaigns/${campA}?to=2026-13-01T00:00:00Z`, 'query.to'],
    [`/v1/reports/campaigns/${campA}?from=${iso(BASE_MS + HOUR_MS)}&to=${iso(BASE_MS)}`, 'query.from'],
    [`/v1/reports/campaigns/${campA}?granularity=hour&from=${iso(BASE_MS - 40 * 86_400_000)}`, 'query.from'],
    [`/v1/reports/campaigns/${campA}?from=${iso(BASE_MS - 400 * 86_400_000)}`, 'query.from'],
    [`/v1/reports/campaigns/${campA}?timeZone=Mars/Olympus`, 'query.timeZone'],
    [`/v1/reports/campaigns/${campA}?timeZone=UTC');DROP`, 'query.timeZone'],
    [`/v1/reports/campaigns/${campA}?split=fence`, 'query.split'],
    [`/v1/reports/campaigns/${campA}?tenant=globex`, 'query.tenant'],
    [`/v1/reports/campaigns/${campA}/summary?attributionDays=-1`, 'query.attributionDays'],
    [`/v1/reports/campaigns/${campA}/summary?granularity=hour`, 'query.granularity'],
    [`/v1/reports/campaigns/${campA}/suppressions?granularity=minute`, 'query.granularity'],
    ['/v1/reports/stores/st-a1?split=store', 'query.split'],
    ['/v1/reports/stores/st-a1/footfall?to=now', 'query.to'],
    [`/v1/reports/campaigns/${'x'.repeat(65)}`, 'params.id'],
  ];
  for (const [path, param] of cases) {
    const r = await get(path, 'retailerA');
    assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.json)}`);
    assert.match(r.type, /application\/problem\+json/, path);
    assert.equal(r.json.code, 'VALIDATION_FAILED', path);
    assert.ok(
      r.json.errors.some((e: any) => e.path === param),
      `${path}: ${JSON.stringify(r.json.errors)}`,
    );
    assert.match(r.json.detail, new RegExp(param.replace('.', '\\.')), path);
  }
});

test('the report routes and their answers are in /openapi.json', async () => {
  const r = await get('/openapi.json', 'none');
  assert.equal(r.status, 200);
  for (const p of [
    '/v1/reports/campaigns/{id}',
    '/v1/reports/campaigns/{id}/summary',
    '/v1/reports/campaigns/{id}/suppressions',
    '/v1/reports/stores/{storeId}',
    '/v1/reports/stores/{storeId}/footfall',
  ]) {
    const op = r.json.paths[p]?.get;
    assert.ok(op, p);
    assert.ok(op.responses['200']?.content?.['application/json']?.schema, `${p}: 200 schema`);
    assert.ok(op.responses['404'], `${p}: 404`);
    assert.ok(
      op.parameters.some((x: any) => x.in === 'query' && x.name === 'from'),
      `${p}: from`,
    );
  }
  for (const id of ['CampaignFunnelReport', 'ReportCell', 'FunnelMetrics', 'CampaignReportSummary']) {
    assert.ok(r.json.components.schemas[id], id);
  }
});

test('a store keeps its reports after its last fence is deleted; other tenants still get 404', async () => {
  const before = await get(`/v1/reports/stores/st-b1?${RANGE}&split=campaign`, 'retailerB');
  assert.equal(before.status, 200);
  const del = await fetch(`${url}/v1/geofences/fb1`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${h.tokens.retailerB}` },
  });
  assert.ok(del.status === 200 || del.status === 204, `delete answered ${del.status}`);
  assert.equal((await get('/v1/geofences/fb1', 'retailerB')).status, 404, 'the fence is gone');
  for (const as of ['retailerB', 'analyst'] as const) {
    const after = await get(`/v1/reports/stores/st-b1?${RANGE}&split=campaign`, as);
    assert.equal(after.status, 200, `${as}: ${JSON.stringify(after.json)}`);
    assert.equal(after.json.timeZone, 'Asia/Tokyo', "days still start in the deleted fence's zone");
    assert.deepEqual(after.json.cells, before.json.cells);
    assert.equal((await get(`/v1/reports/stores/st-b1/footfall?${RANGE}`, as)).status, 200);
  }
  const foreign = await get(`/v1/reports/stores/st-b1?${RANGE}`, 'retailerA');
  assert.equal(foreign.status, 404);
  assert.equal(
    foreign.json.code,
    (await get(`/v1/reports/stores/st-nowhere?${RANGE}`, 'retailerA')).json.code,
  );
});
