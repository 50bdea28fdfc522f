import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Campaign,
  createCampaignService,
  createDecisionEngine,
  createFollowUpScheduler,
  createPromoCodes,
  type Decision,
  type DefinitionsPort,
  finishDueCampaigns,
  nextStatus,
  type Policy,
  policySchema,
} from '../../../src/campaigns/index.ts';
import { buildCampaign, buildConsent, buildFence, measure } from './builders.ts';

/** Versioned definitions in memory, with the store's optimistic-concurrency rule. */
function memoryDefinitions<T>(): DefinitionsPort<T> {
  const rows = new Map<string, { id: string; tenant: string; version: number; deleted: boolean; body: T }>();
  return {
    get: async (id) => rows.get(id),
    list: async (opts = {}) =>
      [...rows.values()].filter((r) => opts.tenant === undefined || r.tenant === opts.tenant),
    put: async (id, tenant, body, opts) => {
      const current = rows.get(id)?.version ?? 0;
      if (opts.expectedVersion !== undefined && opts.expectedVersion !== current) {
        throw Object.assign(new Error('stale'), { code: 'VERSION_CONFLICT' });
      }
      rows.set(id, { id, tenant, version: current + 1, deleted: false, body: structuredClone(body) });
      return current + 1;
    },
  };
}

test('the transition table allows only listed moves, by the listed roles', () => {
  assert.equal(nextStatus('draft', 'submit', 'retailer'), 'submitted');
  assert.equal(nextStatus('submitted', 'approve', 'analyst'), 'approved');
  assert.throws(() => nextStatus('submitted', 'approve', 'retailer'), { code: 'FORBIDDEN' });
  assert.throws(() => nextStatus('draft', 'activate', 'retailer'), { code: 'CAMPAIGN_STATE_INVALID' });
  assert.throws(() => nextStatus('finished', 'resume', 'admin'), { code: 'CAMPAIGN_STATE_INVALID' });
  assert.equal(nextStatus('active', 'pause', 'analyst'), 'paused');
});

test('a campaign whose budget is spent is finished and its follow-ups cancelled', async () => {
  const campaigns = memoryDefinitions<Campaign>();
  const service = createCampaignService({
    campaigns,
    policy: memoryDefinitions<Policy>(),
    fences: { get: (id) => (id === 'f1' ? buildFence() : undefined), all: () => [buildFence()] },
    segments: { get: () => ({ offeredToRetailers: true }) },
    measure,
    promoCodeLength: 6,
  });
  const c = buildCampaign({
    budget: { totalParts: 1 },
    followUps: [{ afterHours: 24, template: 'Again {promo_code}' }],
  });
  await campaigns.put(c.id, c.tenant, c, { actor: 'test' });
  const engine = createDecisionEngine({
    inSegment: () => true,
    consent: buildConsent(['s1']),
    measure,
    promoCodes: createPromoCodes(),
  });
  engine.setPolicy(policySchema.parse({ quietHours: null }));
  engine.setCampaigns(await service.all(), [buildFence()]);
  const followUps = createFollowUpScheduler({ engine });
  const now = Date.parse('2026-11-24T10:00:00Z');
  const out: Decision[] = [];
  engine.decide({ kind: 'enter', sid: 's1', fenceId: 'f1', tsMs: now, dwellMs: 0 }, now, out);
  followUps.afterSend(out[0].send!, now);
  assert.deepEqual(await finishDueCampaigns({ engine, campaigns: service, followUps, nowMs: now + 1 }), [
    'c1',
  ]);
  const stored = await service.get('c1');
  assert.deepEqual([stored.status, stored.finishReason], ['finished', 'budget_spent']);
  assert.equal(followUps.pending, 0);
  await assert.rejects(service.update('c1', {}, undefined, { id: 'k', role: 'retailer' }), {
    code: 'CAMPAIGN_STATE_INVALID',
  });
});
