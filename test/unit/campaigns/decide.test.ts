import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyPolicy,
  createDecisionEngine,
  createFollowUpScheduler,
  createPromoCodes,
  type Decision,
  isPromoCodeShape,
  policySchema,
  replyAttribution,
} from '../../../src/campaigns/index.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import type { PresenceEvent } from '../../../src/presence/types.ts';
import { buildCampaign, buildConsent, buildFence, measure, silentLogger } from './builders.ts';

const NOON = Date.parse('2026-11-24T10:00:00Z'); // 12:00 in Kyiv, a Tuesday
const event = (over: Partial<PresenceEvent> = {}): PresenceEvent => ({
  kind: 'enter',
  sid: 's1',
  fenceId: 'f1',
  tsMs: NOON,
  dwellMs: 0,
  ...over,
});

function setup(campaigns = [buildCampaign()], sids = ['s1', 's2']) {
  const consent = buildConsent(sids);
  const promoCodes = createPromoCodes();
  const engine = createDecisionEngine({
    inSegment: () => true,
    consent,
    measure,
    promoCodes,
    languageOf: () => 'uk',
  });
  engine.setPolicy(policySchema.parse({ minIntervalMinutes: 0, maxPerDay: 10, maxPerWeek: 10 }));
  engine.setCampaigns(campaigns, [buildFence(), buildFence({ id: 'f2', storeId: 's2', name: 'Acme Mall' })]);
  return { consent, engine, promoCodes };
}

test('two events racing for a cap of one give exactly one send', async () => {
  const { engine } = setup([
    buildCampaign({
      fences: { ids: ['f1', 'f2'] },
      caps: { maxPerPeriod: 1, periodHours: 24, cooldownHours: 0 },
    }),
  ]);
  const out: Decision[] = [];
  // Both arrive in the same millisecond, from two fences of the campaign, interleaved through promises.
  await Promise.all([
    Promise.resolve().then(() => engine.decide(event({ fenceId: 'f1' }), NOON, out)),
    Promise.resolve().then(() => engine.decide(event({ fenceId: 'f2' }), NOON, out)),
  ]);
  assert.deepEqual(
    out.map((d) => [d.outcome, d.reason]),
    [
      ['sent', ''],
      ['suppressed', 'cap_campaign'],
    ],
  );
});

test('a send carries a rendered text, a unique promo code, parts and an idempotency key of sid, campaign and trigger', () => {
  const { engine, promoCodes } = setup();
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  engine.decide(event({ sid: 's2' }), NOON, out);
  const [a, b] = out.map((d) => d.send!);
  assert.match(a.text, /^Acme Central: 15% off today with code [2-9A-Z]{6}$/);
  assert.ok(isPromoCodeShape(a.promoCode, 6));
  assert.notEqual(a.promoCode, b.promoCode);
  assert.equal(promoCodes.lookup(a.promoCode)?.sid, 's1');
  assert.equal(a.idempotencyKey, `s1|c1|enter|${NOON}`);
  assert.equal(a.parts, 1);
  assert.equal(a.senderId, 'ACME');
});

test('the language variant is chosen by the subscriber language', () => {
  const { engine } = setup([
    buildCampaign({
      message: { senderId: 'ACME', template: 'Hi {promo_code}', variants: { uk: 'Привіт {promo_code}' } },
    }),
  ]);
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  assert.match(out[0].send!.text, /^Привіт /);
  assert.equal(out[0].send!.encoding, 'UCS-2');
});

test('an opt-out arriving between decision and submit blocks the message at the pre-submit check', () => {
  const { engine, consent } = setup();
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  const order = out[0].send!;
  assert.equal(consent.canSend(order.sid, order.tenant, NOON), true);
  const mo = consent.handleMo('s1', ' Stop! ', NOON + 1);
  assert.equal(mo.action, 'opt_out');
  assert.ok(mo.reply);
  // Delivery's last check before submit_sm now refuses it; a later event is suppressed as opted_out.
  assert.equal(consent.canSend(order.sid, order.tenant, NOON + 2), false);
  out.length = 0;
  engine.decide(event({ tsMs: NOON + 3 * 86_400_000 }), NOON + 3 * 86_400_000, out);
  assert.equal(out[0].reason, 'opted_out');
});

test('dwell and exit campaigns are evaluated only once the minimum time inside is reached', () => {
  const { engine } = setup([
    buildCampaign({ id: 'dw', trigger: { kind: 'dwell', minMinutes: 10 } }),
    buildCampaign({ id: 'ex', trigger: { kind: 'exit', minMinutes: 5 } }),
  ]);
  const out: Decision[] = [];
  engine.decide(event({ kind: 'dwell', dwellMs: 9 * 60_000 }), NOON, out);
  engine.decide(event({ kind: 'enter' }), NOON, out);
  assert.equal(out.length, 0);
  engine.decide(event({ kind: 'dwell', dwellMs: 10 * 60_000 }), NOON, out);
  engine.decide(event({ kind: 'exit', sid: 's2', dwellMs: 6 * 60_000 }), NOON, out);
  assert.deepEqual(
    out.map((d) => [d.campaignId, d.outcome]),
    [
      ['dw', 'sent'],
      ['ex', 'sent'],
    ],
  );
});

test('arbitration sends the higher priority campaign and records the other as arbitration_lost', () => {
  const { engine } = setup([
    buildCampaign({ id: 'low', priority: 10 }),
    buildCampaign({ id: 'high', priority: 90 }),
  ]);
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  const by = Object.fromEntries(out.map((d) => [d.campaignId, `${d.outcome}/${d.reason}`]));
  assert.deepEqual(by, { high: 'sent/', low: 'suppressed/arbitration_lost' });
});

test('holdout is deterministic per subscriber and campaign and close to the configured share', () => {
  const sids = Array.from({ length: 4000 }, (_, i) => `h${i}`);
  const { engine } = setup(
    [buildCampaign({ holdoutShare: 0.25, caps: { maxPerPeriod: 100, periodHours: 1, cooldownHours: 0 } })],
    sids,
  );
  const first = new Map<string, string>();
  for (const round of [0, 1]) {
    for (const sid of sids) {
      const out: Decision[] = [];
      const now = NOON + round * 7_200_000;
      engine.decide(event({ sid, tsMs: now }), now, out);
      if (round === 0) first.set(sid, out[0].outcome);
      else assert.equal(out[0].outcome, first.get(sid), `holdout of ${sid} changed`);
    }
  }
  const share = [...first.values()].filter((o) => o === 'holdout').length / sids.length;
  assert.ok(share > 0.22 && share < 0.28, `share ${share}`);
});

test('counters rebuilt by replaying decisions suppress like the original process did', () => {
  const a = setup();
  const out: Decision[] = [];
  a.engine.decide(event(), NOON, out);
  const b = setup();
  for (const d of out)
    b.engine.replay({
      tsMs: d.tsMs,
      sid: d.sid,
      campaignId: d.campaignId,
      tenant: d.tenant,
      outcome: d.outcome,
      parts: d.send?.parts ?? 0,
    });
  b.engine.restoreSpent('c1', 'acme', 1, 1);
  const again: Decision[] = [];
  b.engine.decide(event({ fenceId: 'f1', tsMs: NOON + 1000 }), NOON + 1000, again);
  assert.equal(again[0].reason, 'cap_campaign');
  assert.equal(b.engine.counters.budget('c1').spentTotal, 1);
});

test('a follow-up is cancelled by a conversion and never fires', () => {
  const campaign = buildCampaign({
    followUps: [{ afterHours: 72, template: 'Reminder: {promo_code} at {store_name}' }],
  });
  const { engine } = setup([campaign]);
  const followUps = createFollowUpScheduler({ engine });
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  engine.decide(event({ sid: 's2' }), NOON, out);
  for (const d of out) followUps.afterSend(d.send!, NOON);
  assert.equal(followUps.pending, 2);
  assert.equal(followUps.cancel({ sid: 's1', campaignId: 'c1' }, 'converted', NOON + 3_600_000), 1);
  const fired: Decision[] = [];
  followUps.fireDue(NOON + 73 * 3_600_000, fired);
  assert.deepEqual(
    fired.map((d) => [d.sid, d.trigger, d.outcome]),
    [['s2', 'followup', 'sent']],
  );
  assert.match(fired[0].send!.text, /^Reminder: [2-9A-Z]{6} at Acme Central$/);
  assert.equal(fired[0].send!.idempotencyKey, `s2|c1|enter|${NOON}|followup-1`);
  assert.equal(followUps.pending, 0);
});

test('a follow-up due in quiet hours waits for the next allowed minute', () => {
  const campaign = buildCampaign({ followUps: [{ afterHours: 10, template: 'Reminder {promo_code}' }] });
  const { engine } = setup([campaign]);
  const followUps = createFollowUpScheduler({ engine });
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  followUps.afterSend(out[0].send!, NOON);
  // Due at 22:00 Kyiv: quiet until 09:00 the next morning (07:00 UTC).
  const fired: Decision[] = [];
  followUps.fireDue(NOON + 10 * 3_600_000, fired);
  assert.equal(fired.length, 0);
  const step = followUps.pendingFor('s1')[0];
  assert.equal(new Date(step.dueMs).toISOString(), '2026-11-25T07:00:00.000Z');
  followUps.fireDue(step.dueMs, fired);
  assert.equal(fired[0].outcome, 'sent');
});

test('an opt-out cancels pending follow-ups with a suppressed decision when they come due', () => {
  const campaign = buildCampaign({ followUps: [{ afterHours: 2, template: 'Reminder {promo_code}' }] });
  const { engine, consent } = setup([campaign]);
  const followUps = createFollowUpScheduler({ engine });
  consent.onOptOut((sid, tenant, nowMs) => followUps.cancel({ sid, tenant }, 'opted_out', nowMs));
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  followUps.afterSend(out[0].send!, NOON);
  consent.optOut('s1', { source: 'api', evidence: 'call centre' }, NOON + 60_000);
  assert.equal(followUps.pending, 0);
});

test('the budget stops sends once the next message would overspend it', () => {
  const { engine } = setup([buildCampaign({ budget: { totalParts: 1 } })]);
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  engine.decide(event({ sid: 's2' }), NOON, out);
  assert.deepEqual(
    out.map((d) => d.reason),
    ['', 'budget_total'],
  );
  assert.deepEqual(engine.finished(NOON), [{ id: 'c1', reason: 'budget_spent' }]);
});

test("a reply with the last campaign's decline word suppresses that retailer through the engine's attribution", () => {
  const consent = buildConsent(['s1']);
  const promoCodes = createPromoCodes();
  const engine = createDecisionEngine({ inSegment: () => true, consent, measure, promoCodes });
  const withAttribution = createConsentEngine({
    logger: silentLogger,
    attribution: replyAttribution(engine),
  });
  withAttribution.optIn('s1', { source: 'test', evidence: 'x' }, 0);
  applyPolicy(policySchema.parse({ minIntervalMinutes: 0, blocklist: ['s9'] }), {
    engine,
    consent: withAttribution,
  });
  engine.setCampaigns(
    [buildCampaign({ message: { senderId: 'ACME', template: 'Hi {promo_code}', declineWord: 'NO' } })],
    [buildFence()],
  );
  const out: Decision[] = [];
  engine.decide(event(), NOON, out);
  const r = withAttribution.handleMo('s1', 'no!', NOON + 1000);
  assert.deepEqual([r.action, r.campaignId, r.tenant], ['brand_decline', 'c1', 'acme']);
  assert.equal(withAttribution.check('s1', 'acme', NOON + 2000), 'brand_declined');
  assert.equal(withAttribution.canSend('s9', 'acme', NOON), false);
});
