import assert from 'node:assert/strict';
import { test } from 'node:test';
import { campaignWorld, worldSegments } from '../../../bench/lib/campaign-world.ts';
import { createRandom } from '../../../bench/lib/random.ts';
import {
  createAudience,
  createDecisionEngine,
  createPromoCodes,
  type Decision,
  policySchema,
} from '../../../src/campaigns/index.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import type { PresenceEvent } from '../../../src/presence/types.ts';
import { createProfileStore, generateSubscribers } from '../../../src/segments/index.ts';
import { measure, silentLogger } from './builders.ts';

// A regression guard for speed work on the decide path: a seeded workload of the benchmark's shape
// (same world generator) with the state changes the hot path caches around — profiles deleted and
// their slots reused, opt-ins, opt-outs, brand declines, sids with consent but no profile, sids the
// compact tables cannot hold — decided event by event. Every field of every decision and send order
// is folded into one digest. The expected figures were recorded from the engine before the speed work
// of issue 7; change them only for an intended change of behaviour, and say so in the commit.
const EXPECTED = {
  decisions: 64_632,
  digest: '411d51fb',
  outcomes: {
    outside_schedule: 26_827,
    not_in_segment: 15_647,
    sent: 8_911,
    quiet_hours: 5_615,
    no_consent: 3_042,
    arbitration_lost: 1_640,
    budget_total: 743,
    stale_event: 624,
    holdout: 588,
    budget_daily: 519,
    blocklisted: 143,
    cap_weekly: 102,
    opted_out: 97,
    min_interval: 58,
    cap_campaign: 31,
    cap_daily: 25,
    cooldown: 11,
    brand_declined: 9,
  } as Record<string, number>,
};

const DAY_MS = 86_400_000;
const START = Date.UTC(2026, 10, 24, 6, 0);

function digestOf(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return Math.imul(h ^ 0x7c, 0x01000193) >>> 0;
}

function fingerprint(d: Decision): string {
  const o = d.send;
  const send = o
    ? [o.idempotencyKey, o.messageId, o.sid, o.campaignId, o.tenant, o.fenceId, o.storeId, o.senderId]
        .concat([o.text, String(o.parts), o.encoding, o.promoCode, String(o.validityMinutes), String(o.step)])
        .join('\u0001')
    : '-';
  return [
    d.tsMs,
    d.eventTsMs,
    d.sid,
    d.campaignId,
    d.tenant,
    d.fenceId,
    d.storeId,
    d.trigger,
    d.outcome,
    d.reason,
    d.dwellMs,
    send,
  ].join('\u0002');
}

function run(seed: number, linked = false) {
  const world = campaignWorld({ seed, campaigns: 150, fences: 1_500, tenants: 20, startMs: START });
  // Small budgets on some campaigns so budget reasons show up too.
  const campaigns = world.campaigns.map((c, i) =>
    i % 9 === 0
      ? { ...c, budget: { ...c.budget, totalParts: 40, dailyParts: 12 } }
      : i % 9 === 1
        ? { ...c, budget: { ...c.budget, totalParts: 5_000, dailyParts: 4 } }
        : c,
  );
  const r = createRandom(seed + 1);
  const profiles = createProfileStore({ capacity: 64 });
  const generated = [...generateSubscribers({ seed, count: 6_000 })];
  const sids: string[] = [];
  const deleted: number[] = [];
  for (const p of generated) {
    const { sid, ...attrs } = p;
    profiles.upsert(sid, attrs);
    sids.push(sid);
  }
  // Sids with consent and no profile, one byte per character, and one the compact table cannot hold.
  const extra = ['S-1', 'S-2', 'S-3', 'acct:42', 'ü-7', 'B'.repeat(64)];
  const allSids = [...sids, ...extra];
  const segments = worldSegments();
  const audience = createAudience({ profiles, segments });
  // linked: consent keeps its entries beside the profile slots (the service's wiring)
  const consent = createConsentEngine({
    logger: silentLogger,
    expectedSubscribers: 16,
    profiles: linked ? profiles : undefined,
  });
  for (const sid of allSids)
    if (r.chance(0.8)) consent.optIn(sid, { source: 'test', evidence: 'golden' }, START - DAY_MS);
  const engine = createDecisionEngine({
    inSegment: audience.inSegment,
    languageOf: audience.languageOf,
    consent,
    measure,
    promoCodes: createPromoCodes(),
  });
  engine.setCampaigns(campaigns, world.fences);
  engine.setPolicy(
    policySchema.parse({ blocklist: [...sids.slice(0, 60), 'S-2'], minIntervalMinutes: 60, maxPerWeek: 3 }),
  );
  const fenceIds = world.fences.map((f) => f.id).filter((id) => engine.campaignsOn(id).length > 0);

  const out: Decision[] = [];
  const outcomes: Record<string, number> = {};
  let h = 0x811c9dc5;
  let decisions = 0;
  let now = START;
  for (let i = 0; i < 150_000; i++) {
    // Up to a minute between events: the run spans days, quiet hours and schedule edges.
    now += r.int(0, 60_000);
    if (i % 500 === 250) {
      // Delete a profile (its slot goes to the next insert) or bring a deleted one back.
      if (deleted.length > 0 && r.chance(0.5)) {
        const k = deleted.splice(r.int(0, deleted.length - 1), 1)[0];
        const { sid: _sid, ...attrs } = generated[(k + 17) % generated.length];
        profiles.upsert(sids[k], attrs);
      } else {
        const k = r.int(0, sids.length - 1);
        if (profiles.delete(sids[k])) deleted.push(k);
      }
    }
    if (i % 700 === 350) {
      const sid = r.pick(allSids);
      if (r.chance(0.5)) consent.optOut(sid, { source: 'test', evidence: 'golden' }, now);
      else consent.optIn(sid, { source: 'test', evidence: 'golden' }, now);
    }
    if (i % 900 === 450) consent.declineBrand(r.pick(allSids), `retailer-${r.int(0, 19)}`, 'c', 'NO', now);
    const kind = r.pick(['enter', 'enter', 'dwell', 'exit'] as const);
    const event: PresenceEvent = {
      kind,
      sid: r.chance(0.01) ? r.pick(extra) : r.pick(sids),
      fenceId: r.pick(fenceIds),
      tsMs: now - (r.chance(0.01) ? 400_000 : r.int(0, 5_000)),
      dwellMs: kind === 'enter' ? 0 : r.int(0, 30) * 60_000,
    };
    out.length = 0;
    const n = engine.decide(event, now, out);
    assert.equal(n, out.length);
    for (const d of out) {
      h = digestOf(h, fingerprint(d));
      const key = d.outcome === 'suppressed' ? d.reason : d.outcome;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    decisions += n;
  }
  return { decisions, digest: h.toString(16).padStart(8, '0'), outcomes };
}

test('the engine decides a seeded mixed workload exactly as recorded (every field of every decision)', () => {
  const got = run(11);
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got));
  assert.deepEqual(got.outcomes, EXPECTED.outcomes);
  assert.equal(got.decisions, EXPECTED.decisions);
  assert.equal(got.digest, EXPECTED.digest);
});

test('with consent entries kept beside the profile slots the workload decides exactly the same', () => {
  // The same digest as the unlinked engine: profile deletes hand slots to other sids mid-run, consent
  // is granted and withdrawn, and sids without a profile or a compact entry keep their own lookups.
  const got = run(11, true);
  assert.deepEqual(got.outcomes, EXPECTED.outcomes);
  assert.equal(got.decisions, EXPECTED.decisions);
  assert.equal(got.digest, EXPECTED.digest);
});
