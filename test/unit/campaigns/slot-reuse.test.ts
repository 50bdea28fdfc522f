import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createDecisionEngine,
  createPromoCodes,
  type Decision,
  policySchema,
} from '../../../src/campaigns/index.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import type { PresenceEvent } from '../../../src/presence/types.ts';
import { createProfileStore } from '../../../src/segments/index.ts';
import { buildCampaign, buildFence, measure, silentLogger } from './builders.ts';

const NOON = Date.parse('2026-11-24T10:00:00Z'); // 12:00 in Kyiv, a Tuesday
const rec = { source: 'test', evidence: 'test' };

// Consent linked to the profile store (the service's wiring): the counters key histories by the consent
// entry found through the profile slot. A slot given to another subscriber must not bring the previous
// subscriber's sends (caps, cooldown, minimum interval) with it, and the previous one keeps them.
test('a profile slot handed to another subscriber carries no sends of the previous one', () => {
  const profiles = createProfileStore({ capacity: 16 });
  const consent = createConsentEngine({ logger: silentLogger, profiles });
  const engine = createDecisionEngine({
    inSegment: (_segment, sid) => profiles.lookup(sid) >= 0,
    consent,
    measure,
    promoCodes: createPromoCodes(),
  });
  engine.setPolicy(policySchema.parse({ minIntervalMinutes: 60, maxPerDay: 1, maxPerWeek: 10 }));
  engine.setCampaigns([buildCampaign()], [buildFence()]);
  const decide = (sid: string, nowMs: number): Decision => {
    const out: Decision[] = [];
    const e: PresenceEvent = { kind: 'enter', sid, fenceId: 'f1', tsMs: nowMs, dwellMs: 0 };
    engine.decide(e, nowMs, out);
    assert.equal(out.length, 1);
    return out[0];
  };
  profiles.upsert('aaaa0001', {});
  consent.optIn('aaaa0001', rec, NOON - 1_000);
  assert.equal(decide('aaaa0001', NOON).outcome, 'sent');
  assert.equal(decide('aaaa0001', NOON + 1_000).reason, 'cap_campaign');
  const slot = profiles.slotOf('aaaa0001');
  profiles.delete('aaaa0001');
  assert.equal(decide('aaaa0001', NOON + 2_000).reason, 'not_in_segment');
  // B takes A's slot; before it opts in it has no consent, after it the campaign sends to it
  assert.equal(profiles.upsert('bbbb0002', {}), slot);
  assert.equal(decide('bbbb0002', NOON + 3_000).reason, 'no_consent');
  consent.optIn('bbbb0002', rec, NOON + 3_000);
  assert.notEqual(consent.entryOf('bbbb0002'), consent.entryOf('aaaa0001'));
  assert.equal(decide('bbbb0002', NOON + 4_000).outcome, 'sent');
  // A comes back in another slot with its history: still capped
  profiles.upsert('aaaa0001', {});
  assert.notEqual(profiles.slotOf('aaaa0001'), slot);
  assert.equal(decide('aaaa0001', NOON + 5_000).reason, 'cap_campaign');
});
