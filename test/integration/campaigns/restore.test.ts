import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  createConversions,
  createDecider,
  createDecisionEngine,
  createFollowUpScheduler,
  createPromoCodes,
  type Decision,
  loadReplayFilter,
  policySchema,
  promoCodeFinder,
  restoreDecideState,
  type SendOrder,
} from '../../../src/campaigns/index.ts';
import { createConsentEngine, restoreConsent } from '../../../src/consent/index.ts';
import { createStore, createWriter, type Store, type Writer } from '../../../src/store/index.ts';
import { buildCampaign, buildFence, silentLogger as logger, measure } from '../../unit/campaigns/builders.ts';

let dir: string;
let store: Store;
let writer: Writer;
const NOW = Date.now();
const campaigns = [buildCampaign({ followUps: [{ afterHours: 72, template: 'Still there? {promo_code}' }] })];
const fences = [buildFence()];
const policy = policySchema.parse({ quietHours: null, minIntervalMinutes: 0 });

/** One process's decide stage over the shared store. */
function stage() {
  const consent = createConsentEngine({ logger, sink: writer });
  const promoCodes = createPromoCodes();
  const engine = createDecisionEngine({ inSegment: () => true, consent, measure, promoCodes });
  engine.setPolicy(policy);
  engine.setCampaigns(campaigns, fences);
  const followUps = createFollowUpScheduler({ engine, sink: writer });
  const sent: SendOrder[] = [];
  let now = NOW;
  const decider = createDecider({
    engine,
    followUps,
    sink: writer,
    send: (o) => sent.push(o),
    clock: () => now,
    logger,
  });
  return { consent, promoCodes, engine, followUps, decider, sent, setNow: (t: number) => (now = t) };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geotrigger-campaigns-'));
  store = await createStore({
    config: { user: 'default', password: '', database: 'camp', dataDir: dir, ttlDays: 180, minGroupSize: 10 },
    logger,
  });
  writer = createWriter({ store, logger, spillDir: join(dir, 'spill'), flushMs: 50 });
});

after(async () => {
  await writer.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('after a restart, caps, opt-outs, promo codes and pending follow-ups are rebuilt from the store', async () => {
  const a = stage();
  a.consent.optIn('s1', { source: 'web', evidence: 'form 1' }, NOW - 1000);
  a.consent.optIn('s2', { source: 'web', evidence: 'form 2' }, NOW - 1000);
  await a.decider.onEvent({ kind: 'enter', sid: 's1', fenceId: 'f1', tsMs: NOW, dwellMs: 0 });
  assert.equal(a.sent.length, 1);
  a.consent.handleMo('s2', 'СТОП', NOW + 10);
  await writer.flush();

  const rows = await store.query<{ outcome: string; parts: number; message_id: string }>(
    `SELECT outcome, parts, message_id FROM camp.decisions WHERE sid = 's1'`,
  );
  assert.deepEqual(rows, [{ outcome: 'sent', parts: 1, message_id: a.sent[0].messageId }]);

  const b = stage();
  await restoreConsent({ store, consent: b.consent, nowMs: NOW + 20 });
  const restored = await restoreDecideState({
    store,
    engine: b.engine,
    promoCodes: b.promoCodes,
    followUps: b.followUps,
    nowMs: NOW + 20,
  });
  assert.deepEqual(restored, { decisions: 1, campaigns: 1, promoCodes: 1, followUps: 1 });
  const out: Decision[] = [];
  b.engine.decide({ kind: 'enter', sid: 's1', fenceId: 'f1', tsMs: NOW + 30, dwellMs: 0 }, NOW + 30, out);
  b.engine.decide({ kind: 'enter', sid: 's2', fenceId: 'f1', tsMs: NOW + 30, dwellMs: 0 }, NOW + 30, out);
  assert.deepEqual(
    out.map((d) => d.reason),
    ['cap_campaign', 'opted_out'],
  );
  assert.equal(b.engine.counters.budget('c1').spentTotal, 1);

  // A conversion by the promo code (looked up in the store) cancels the restored follow-up.
  const conversions = createConversions({
    promoCodes: createPromoCodes(),
    followUps: b.followUps,
    sink: writer,
    tenantOf: (id) => b.engine.campaign(id)?.tenant,
    findCode: promoCodeFinder(store),
    clock: () => NOW + 40,
  });
  await assert.rejects(conversions.record({ promoCode: a.sent[0].promoCode }, 'globex'), {
    code: 'NOT_FOUND',
  });
  const conv = await conversions.record(
    { promoCode: a.sent[0].promoCode.toLowerCase(), value: 12.5, currency: 'EUR' },
    'acme',
  );
  assert.equal(conv.cancelledFollowUps, 1);
  assert.equal(b.followUps.pending, 0);
  await writer.flush();
  const fu = await store.query<{ status: string; reason: string }>(
    `SELECT status, reason FROM camp.followups FINAL`,
  );
  assert.deepEqual(fu, [{ status: 'cancelled', reason: 'converted' }]);
  const conversionsRows = await store.query<{ sid: string; campaign_id: string }>(
    `SELECT sid, campaign_id FROM camp.conversions`,
  );
  assert.deepEqual(conversionsRows, [{ sid: 's1', campaign_id: 'c1' }]);
});

test('pings re-read after a restart are not decided twice: events already in the store are dropped', async () => {
  const a = stage();
  a.consent.optIn('r1', { source: 'web', evidence: 'form' }, NOW - 1000);
  const decided = { kind: 'enter', sid: 'r1', fenceId: 'f1', tsMs: NOW + 100, dwellMs: 0 } as const;
  const undecided = { kind: 'enter', sid: 'r2', fenceId: 'f1', tsMs: NOW + 100, dwellMs: 0 } as const;
  a.setNow(NOW + 150);
  await a.decider.onEvent(decided);
  assert.equal(a.sent.length, 1);
  await writer.flush();
  const [row] = await store.query<{ event_ms: string; ts_ms: string }>(
    `SELECT toUnixTimestamp64Milli(event_ts) AS event_ms, toUnixTimestamp64Milli(ts) AS ts_ms FROM camp.decisions WHERE sid = 'r1'`,
  );
  assert.deepEqual(
    [Number(row.event_ms), Number(row.ts_ms)],
    [NOW + 100, NOW + 150],
    'event time and decision time',
  );

  // The restarted run re-reads both pings: the decided one is dropped, the other decided as usual.
  const b = stage();
  await restoreConsent({ store, consent: b.consent, nowMs: NOW + 200 });
  await restoreDecideState({
    store,
    engine: b.engine,
    promoCodes: b.promoCodes,
    followUps: b.followUps,
    nowMs: NOW + 200,
  });
  const replays = await loadReplayFilter({ store, nowMs: NOW + 200, windowMs: 15 * 60_000 });
  b.decider.setReplayFilter(replays);
  b.setNow(NOW + 250);
  await b.decider.onEvent(decided);
  await b.decider.onEvent(undecided);
  // The same subscriber at the same fence later (a new ping) is a new event.
  await b.decider.onEvent({ ...decided, tsMs: NOW + 240 });
  await writer.flush();
  const rows = await store.query<{ sid: string; event_ms: string; reason: string }>(
    `SELECT sid, toUnixTimestamp64Milli(event_ts) AS event_ms, reason FROM camp.decisions WHERE sid IN ('r1', 'r2') ORDER BY sid, event_ts`,
  );
  assert.deepEqual(
    rows.map((r) => [r.sid, Number(r.event_ms) - NOW, r.reason]),
    [
      ['r1', 100, ''],
      ['r1', 240, 'cap_campaign'],
      ['r2', 100, 'no_consent'],
    ],
  );
  assert.equal(replays.dropped, 1);
  assert.equal(b.sent.length, 0);

  // Past its window the filter lets everything through (and holds nothing).
  b.setNow(NOW + 200 + 15 * 60_000);
  await b.decider.onEvent(decided);
  assert.equal(replays.size, 0);
  assert.equal(replays.dropped, 1);
});
