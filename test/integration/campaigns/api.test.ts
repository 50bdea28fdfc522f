import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignRoutes } from '../../../src/api/routes/campaigns.ts';
import { consentRoutes } from '../../../src/api/routes/consent.ts';
import { conversionRoutes } from '../../../src/api/routes/conversions.ts';
import { policyRoutes } from '../../../src/api/routes/policy.ts';
import {
  type Campaign,
  type CampaignService,
  type Conversions,
  createCampaignService,
  createConversions,
  createDecisionEngine,
  createFollowUpScheduler,
  createPromoCodes,
  type Decision,
  type FenceInfo,
  type Policy,
} from '../../../src/campaigns/index.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import { measureSms } from '../../../src/deliver/index.ts';
import { createDefinitions } from '../../../src/store/index.ts';
import { silentLogger as logger } from '../../unit/campaigns/builders.ts';
import { buildFence as buildGeoJsonFence, type Harness, startHarness } from '../api/fixture.ts';

let h: Harness;
let service: CampaignService;
let changes = 0;
// Routes are built before the harness's store exists; they reach the service through this proxy.
const lazy = new Proxy({} as CampaignService, {
  get:
    (_t, key) =>
    (...args: unknown[]) =>
      (service as unknown as Record<string, (...a: unknown[]) => unknown>)[key as string](...args),
});
const consent = createConsentEngine({ logger });
const promoCodes = createPromoCodes();
const engine = createDecisionEngine({ inSegment: () => true, consent, measure: measureSms, promoCodes });
const followUps = createFollowUpScheduler({ engine });
const conversionRows: Record<string, unknown>[] = [];
const conversions: Conversions = createConversions({
  promoCodes,
  followUps,
  sink: { write: (_t, row) => void conversionRows.push(row) },
  tenantOf: (id) => engine.campaign(id)?.tenant,
  clock: () => Date.now(),
});

const fencesPort = {
  get: (id: string): FenceInfo | undefined => h.matcher.get(id)?.props,
  all: (): FenceInfo[] => h.matcher.snapshot().fences.map((f) => f.props),
};

const draft = (over: Record<string, unknown> = {}) => ({
  name: 'Autumn offer',
  fences: { ids: ['acme-1'] },
  segmentId: 'lapsed',
  trigger: { kind: 'dwell', minMinutes: 5 },
  message: {
    senderId: 'ACME',
    template: '{store_name}: 15% off with {promo_code}',
    variants: { uk: 'Знижка 15% у {store_name}: {promo_code}' },
  },
  schedule: {
    start: '2026-01-01T00:00',
    end: '2027-01-01T00:00',
    timeZone: 'Europe/Kyiv',
    hours: [{ from: '10:00', to: '20:00' }],
  },
  ...over,
});

before(async () => {
  h = await startHarness({
    extraRoutes: [
      ...campaignRoutes({ campaigns: lazy }),
      ...policyRoutes({ campaigns: lazy }),
      ...consentRoutes({ consent, clock: () => Date.now() }),
      ...conversionRoutes({ conversions }),
    ],
  });
  service = createCampaignService({
    campaigns: createDefinitions<Campaign>({ store: h.store, table: 'campaigns' }),
    policy: createDefinitions<Policy>({ store: h.store, table: 'policy' }),
    fences: fencesPort,
    segments: {
      get: (id) => ({ lapsed: { offeredToRetailers: true }, vip: { offeredToRetailers: false } })[id],
    },
    measure: measureSms,
    promoCodeLength: 6,
    onChange: () => changes++,
  });
  for (const [as, id, tenant] of [
    ['retailerA', 'acme-1', 'acme'],
    ['retailerB', 'globex-1', 'globex'],
  ] as const) {
    const r = await h.call('POST', '/v1/geofences', {
      as,
      json: buildGeoJsonFence({ id, tenant, name: `${tenant} Central` }),
    });
    assert.equal(r.status, 201, r.text);
  }
});

after(() => h.close());

test('a retailer creates a draft on its own fences; another tenant cannot see it', async () => {
  const r = await h.call('POST', '/v1/campaigns', { as: 'retailerA', json: draft() });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'draft');
  assert.equal(r.json.tenant, 'acme');
  assert.equal((await h.call('GET', `/v1/campaigns/${r.json.id}`, { as: 'retailerB' })).status, 404);
  assert.equal((await h.call('GET', `/v1/campaigns/${r.json.id}`, { as: 'viewer' })).status, 200);
  const list = await h.call('GET', '/v1/campaigns', { as: 'retailerB' });
  assert.deepEqual(list.json.items, []);
});

test("a retailer cannot use another tenant's fences or a segment not offered to retailers", async () => {
  const foreign = await h.call('POST', '/v1/campaigns', {
    as: 'retailerA',
    json: draft({ fences: { ids: ['globex-1'] } }),
  });
  assert.equal(foreign.status, 422, foreign.text);
  assert.equal(foreign.json.code, 'CAMPAIGN_INVALID');
  const unoffered = await h.call('POST', '/v1/campaigns', {
    as: 'retailerA',
    json: draft({ segmentId: 'vip' }),
  });
  assert.equal(unoffered.status, 422);
  assert.match(unoffered.json.detail ?? unoffered.text, /segment vip is not offered/);
  const otherTenant = await h.call('POST', '/v1/campaigns?tenant=globex', { as: 'retailerA', json: draft() });
  assert.equal(otherTenant.status, 404);
});

test('the lifecycle runs draft → submitted → approved → active ⇄ paused, and only the operator approves', async () => {
  const c = (await h.call('POST', '/v1/campaigns', { as: 'retailerA', json: draft() })).json;
  const step = (action: string, as: 'retailerA' | 'analyst' | 'viewer' | 'retailerB', json: unknown = {}) =>
    h.call('POST', `/v1/campaigns/${c.id}/${action}`, { as, json });
  assert.equal((await step('approve', 'analyst')).status, 409, 'a draft cannot be approved');
  assert.equal((await step('submit', 'retailerA')).json.status, 'submitted');
  assert.equal((await step('approve', 'retailerA')).status, 403);
  assert.equal((await step('approve', 'viewer')).status, 403);
  assert.equal((await step('approve', 'retailerB')).status, 403);
  assert.equal((await step('approve', 'analyst')).json.status, 'approved');
  assert.equal((await step('activate', 'retailerB')).status, 404);
  assert.equal((await step('activate', 'retailerA')).json.status, 'active');
  assert.equal((await step('pause', 'retailerA')).json.status, 'paused');
  const resumed = await step('resume', 'retailerA');
  assert.equal(resumed.json.status, 'active');
  // Editing a running campaign sends it back for approval.
  const edited = await h.call('PUT', `/v1/campaigns/${c.id}?version=${resumed.json.version}`, {
    as: 'retailerA',
    json: draft({ name: 'Autumn offer v2' }),
  });
  assert.equal(edited.status, 200, edited.text);
  assert.equal(edited.json.status, 'submitted');
  const stale = await h.call('PUT', `/v1/campaigns/${c.id}?version=${resumed.json.version}`, {
    as: 'retailerA',
    json: draft(),
  });
  assert.equal(stale.status, 409);
  assert.equal((await step('reject', 'analyst', {})).status, 400, 'a rejection needs a reason');
  const rejected = await step('reject', 'analyst', { reason: 'discount wording' });
  assert.equal(rejected.json.status, 'rejected');
  assert.equal(rejected.json.rejectReason, 'discount wording');
  assert.ok(changes > 0);
});

test('an approved and activated campaign reaches the engine and decides', async () => {
  const c = (
    await h.call('POST', '/v1/campaigns', {
      as: 'retailerA',
      json: draft({
        trigger: { kind: 'enter' },
        schedule: { start: '2026-01-01T00:00', end: '2027-01-01T00:00', timeZone: 'Europe/Kyiv' },
      }),
    })
  ).json;
  for (const [action, as] of [
    ['submit', 'retailerA'],
    ['approve', 'analyst'],
    ['activate', 'retailerA'],
  ] as const) {
    assert.equal((await h.call('POST', `/v1/campaigns/${c.id}/${action}`, { as, json: {} })).status, 200);
  }
  engine.setPolicy({ ...(await service.getPolicy()), quietHours: null });
  engine.setCampaigns(await service.all(), fencesPort.all());
  consent.optIn('sub-1', { source: 'test', evidence: 'api test' }, 0);
  const out: Decision[] = [];
  const now = Date.now();
  engine.decide({ kind: 'enter', sid: 'sub-1', fenceId: 'acme-1', tsMs: now, dwellMs: 0 }, now, out);
  assert.deepEqual(
    out.map((d) => [d.campaignId, d.outcome]),
    [[c.id, 'sent']],
  );
  assert.match(out[0].send!.text, /^acme Central: 15% off with [2-9A-Z]{6}$/);

  // The retailer reports the code redeemed at the till; another retailer cannot claim it.
  const code = out[0].send!.promoCode;
  assert.equal(
    (await h.call('POST', '/v1/conversions', { as: 'retailerB', json: { promoCode: code } })).status,
    404,
  );
  const conv = await h.call('POST', '/v1/conversions', {
    as: 'retailerA',
    json: { promoCode: code, value: 20, currency: 'UAH' },
  });
  assert.equal(conv.status, 201, conv.text);
  assert.equal(conv.json.campaignId, c.id);
  assert.deepEqual([conversionRows.length, conversionRows[0].sid], [1, 'sub-1']);
});

test('preview renders a store and language and reports encoding and parts', async () => {
  const c = (await h.call('POST', '/v1/campaigns', { as: 'retailerA', json: draft() })).json;
  const en = await h.call('POST', `/v1/campaigns/${c.id}/preview`, {
    as: 'retailerA',
    json: { fenceId: 'acme-1' },
  });
  assert.equal(en.status, 200, en.text);
  assert.deepEqual([en.json.encoding, en.json.parts], ['GSM-7', 1]);
  assert.match(en.json.text, /^acme Central: 15% off with [A-Z0-9]{6}$/);
  const uk = await h.call('POST', `/v1/campaigns/${c.id}/preview`, {
    as: 'retailerA',
    json: { language: 'uk' },
  });
  assert.equal(uk.json.encoding, 'UCS-2');
  const foreign = await h.call('POST', `/v1/campaigns/${c.id}/preview`, {
    as: 'retailerA',
    json: { fenceId: 'globex-1' },
  });
  assert.equal(foreign.status, 404);
});

test('only an admin changes the global policy; analysts read it', async () => {
  const body = {
    quietHours: { from: '20:00', to: '09:00' },
    maxPerDay: 1,
    maxPerWeek: 3,
    minIntervalMinutes: 120,
    blocklist: [],
    brandDeclineDays: 30,
    maxEventAgeSec: 300,
  };
  assert.equal((await h.call('PUT', '/v1/policy', { as: 'analyst', json: body })).status, 403);
  const put = await h.call('PUT', '/v1/policy', { as: 'admin', json: body });
  assert.equal(put.status, 200, put.text);
  const got = await h.call('GET', '/v1/policy', { as: 'analyst' });
  assert.deepEqual(got.json.quietHours, { from: '20:00', to: '09:00' });
  assert.equal((await h.call('GET', '/v1/policy', { as: 'retailerA' })).status, 403);
  const bad = await h.call('PUT', '/v1/policy', { as: 'admin', json: { ...body, maxPerDay: -1 } });
  assert.equal(bad.status, 400);
});

test('consent needs evidence; an opt-out through the API takes effect at once', async () => {
  const missing = await h.call('POST', '/v1/consent/sub-9/opt-in', {
    as: 'analyst',
    json: { source: 'web' },
  });
  assert.equal(missing.status, 400);
  const ok = await h.call('POST', '/v1/consent/sub-9/opt-in', {
    as: 'analyst',
    json: { source: 'web', evidence: 'form 9' },
  });
  assert.equal(ok.json.status, 'opt_in');
  assert.equal(consent.canSend('sub-9', 'acme', Date.now()), true);
  await h.call('POST', '/v1/consent/sub-9/opt-out', {
    as: 'analyst',
    json: { source: 'call_centre', evidence: 'ticket 7' },
  });
  assert.equal(consent.canSend('sub-9', 'acme', Date.now()), false);
  assert.equal((await h.call('GET', '/v1/consent/sub-9', { as: 'retailerA' })).status, 403);
});
