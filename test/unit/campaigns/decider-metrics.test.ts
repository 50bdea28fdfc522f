import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createDecider } from '../../../src/campaigns/decider.ts';
import type { Decision, DecisionEngine } from '../../../src/campaigns/engine.ts';
import type { FollowUpScheduler } from '../../../src/campaigns/followups.ts';
import { createLogger } from '../../../src/logger.ts';

const decision = (outcome: Decision['outcome'], reason: Decision['reason']): Decision => ({
  tsMs: 1,
  eventTsMs: 1,
  sid: 's',
  campaignId: 'c',
  tenant: 't',
  fenceId: 'f',
  storeId: 'st',
  trigger: 'enter',
  outcome,
  reason,
  dwellMs: 0,
  send: undefined,
});

test('decisions are counted by outcome and reason in geotrigger_decisions_total', async () => {
  const script: Decision[][] = [
    [decision('suppressed', 'not_in_segment'), decision('holdout', '')],
    [decision('suppressed', 'not_in_segment'), decision('suppressed', 'cap_daily')],
    [],
  ];
  let call = 0;
  const engine = {
    decide: (_e: unknown, _now: number, out: Decision[]) => {
      for (const d of script[call++]) out.push(d);
    },
  } as unknown as DecisionEngine;
  const rows: unknown[] = [];
  const registry = new Registry();
  const decider = createDecider({
    engine,
    followUps: { afterSend() {}, fireDue: () => 0 } as unknown as FollowUpScheduler,
    sink: { write: (_t, row) => void rows.push(row) },
    send: () => assert.fail('nothing is sent'),
    clock: () => 1,
    logger: createLogger({ level: 'silent' }),
    registry,
  });
  const event = { kind: 'enter', sid: 's', fenceId: 'f', tsMs: 1, dwellMs: 0 } as const;
  for (let i = 0; i < script.length; i++) decider.onEvent(event);
  assert.equal(rows.length, 4);
  const text = await registry.metrics();
  const value = (labels: string) => {
    const m = new RegExp(`^geotrigger_decisions_total\\{${labels}\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  assert.equal(value('outcome="suppressed",reason="not_in_segment"'), 2);
  assert.equal(value('outcome="suppressed",reason="cap_daily"'), 1);
  assert.equal(value('outcome="holdout",reason=""'), 1);
  assert.equal(value('outcome="sent",reason=""'), undefined);
});
