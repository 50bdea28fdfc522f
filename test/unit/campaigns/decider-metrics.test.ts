import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createDecider } from '../../../src/campaigns/decider.ts';
import type { Decision, DecisionEngine } from '../../../src/campaigns/engine.ts';
import type { FollowUpScheduler } from '../../../src/campaigns/followups.ts';
import { createReplayFilter, replayKey } from '../../../src/campaigns/replay.ts';
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

test('events a previous run decided are dropped before the engine and counted', async () => {
  let decided = 0;
  const engine = {
    decide: (_e: unknown, _now: number, out: Decision[]) => {
      decided++;
      out.push(decision('suppressed', 'not_in_segment'));
    },
  } as unknown as DecisionEngine;
  const registry = new Registry();
  let now = 1_000;
  const decider = createDecider({
    engine,
    followUps: { afterSend() {}, fireDue: () => 0 } as unknown as FollowUpScheduler,
    sink: { write: () => undefined },
    send: () => assert.fail('nothing is sent'),
    clock: () => now,
    logger: createLogger({ level: 'silent' }),
    registry,
  });
  const seen = { kind: 'dwell', sid: 's', fenceId: 'f', tsMs: 500, dwellMs: 600_000 } as const;
  decider.setReplayFilter(createReplayFilter([replayKey('s', 'f', 'dwell', 500)], 2_000));
  decider.onEvent(seen);
  decider.onEvent({ ...seen, kind: 'enter' });
  decider.onEvent({ ...seen, tsMs: 501 });
  decider.onEvent({ ...seen, sid: 't' });
  assert.equal(decided, 3, 'only the exact replay is dropped');
  now = 2_000;
  decider.onEvent(seen);
  assert.equal(decided, 4, 'the filter expires');
  assert.match(await registry.metrics(), /^geotrigger_replayed_events_total 1$/m);
});
