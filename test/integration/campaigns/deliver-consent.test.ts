import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  createDecider,
  createDecisionEngine,
  createFollowUpScheduler,
  createPromoCodes,
  policySchema,
} from '../../../src/campaigns/index.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import type { SendResult } from '../../../src/deliver/index.ts';
import { buildCampaign, buildFence, silentLogger as logger, measure } from '../../unit/campaigns/builders.ts';
import { bound, type Rig, startRig } from '../deliver/rig.ts';

let rig: Rig | undefined;
after(async () => {
  await rig?.close();
});

test('an opt-out arriving after the decision but before submit stops that SMS at the SMSC door', async () => {
  const consent = createConsentEngine({ logger });
  const sids = ['sid-1', 'sid-2', 'sid-3', 'sid-4'];
  for (const sid of sids) consent.optIn(sid, { source: 'web', evidence: 'form' }, 0);
  // 2 SMS/s: the later messages wait in delivery's queue while the opt-out comes in.
  rig = await startRig({}, { tps: 2 }, { consentCheck: (sid) => consent.canSend(sid, 'acme', Date.now()) });
  await bound(rig);
  const sender = rig.sender;
  const engine = createDecisionEngine({
    inSegment: () => true,
    consent,
    measure,
    promoCodes: createPromoCodes(),
  });
  engine.setPolicy(policySchema.parse({ quietHours: null }));
  engine.setCampaigns(
    [
      buildCampaign({
        schedule: { start: '2026-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z', timeZone: 'UTC' },
      }),
    ],
    [buildFence()],
  );
  const results = new Map<string, Promise<SendResult>>();
  const decider = createDecider({
    engine,
    followUps: createFollowUpScheduler({ engine }),
    sink: { write: () => undefined },
    send: (o) => results.set(o.sid, sender.send({ ...o })),
    clock: () => Date.now(),
    logger,
  });
  for (const sid of sids)
    await decider.onEvent({ kind: 'enter', sid, fenceId: 'f1', tsMs: Date.now(), dwellMs: 0 });
  assert.equal(results.size, 4);
  const mo = consent.handleMo('sid-4', 'Stop', Date.now());
  assert.equal(mo.action, 'opt_out');
  const statuses = Object.fromEntries(
    await Promise.all([...results].map(async ([sid, p]) => [sid, (await p).status])),
  );
  assert.deepEqual(statuses, {
    'sid-1': 'submitted',
    'sid-2': 'submitted',
    'sid-3': 'submitted',
    'sid-4': 'blocked',
  });
  assert.equal(rig.sim.stats.received, 3);
});
