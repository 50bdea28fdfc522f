import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import type { PresenceEvent } from '../presence/types.ts';
import type { Decision, DecisionEngine, SendOrder } from './engine.ts';
import type { FollowUpScheduler } from './followups.ts';
import type { ReplayFilter } from './replay.ts';

/** Rows the decide stage records; main.ts wires this to the store's batched writer. */
export interface DecisionSink {
  write(table: 'decisions' | 'promo_codes', row: Record<string, unknown>): void | Promise<void>;
}

export interface Decider {
  /** Decides one presence event at the clock's now; resolves only when the writer pushes back. */
  onEvent(event: PresenceEvent): void | Promise<void>;
  /** Fires due follow-ups (call every few seconds). */
  tick(): void | Promise<void>;
  /** Drops presence events a previous run already decided (set after a restart's state is loaded). */
  setReplayFilter(filter: ReplayFilter): void;
}

/** The decisions-table row of a decision. */
export function decisionRow(d: Decision): Record<string, unknown> {
  return {
    ts: d.tsMs,
    event_ts: d.eventTsMs,
    sid: d.sid,
    tenant: d.tenant,
    campaign_id: d.campaignId,
    fence_id: d.fenceId,
    store_id: d.storeId,
    trigger: d.trigger,
    outcome: d.outcome,
    reason: d.reason,
    message_id: d.send?.messageId ?? '',
    dwell_ms: Math.min(d.dwellMs, 0xffffffff),
    parts: d.send?.parts ?? 0,
  };
}

/**
 * The decide stage around the pure engine: records every decision, the promo codes it issued and
 * the follow-ups it scheduled, and hands each send to delivery (which re-checks consent before submit).
 */
export function createDecider(opts: {
  engine: DecisionEngine;
  followUps: FollowUpScheduler;
  sink: DecisionSink;
  /** Hands an SMS to delivery; must not throw (delivery queues it). */
  send: (order: SendOrder) => void;
  clock: () => number;
  logger: Logger;
  /** Registers `geotrigger_decisions_total{outcome,reason}` here. */
  registry?: Registry;
}): Decider {
  const { engine, followUps, sink } = opts;
  const log = opts.logger.child({ stage: 'decide' });
  const out: Decision[] = [];
  const counted = decisionCounter(opts.registry);
  let replayed: ReplayFilter | undefined;
  const replays = opts.registry
    ? new Counter({
        name: 'geotrigger_replayed_events_total',
        help: 'Presence events dropped because a previous run already decided them (pings re-read after a restart)',
        registers: [opts.registry],
      })
    : undefined;

  const flush = (nowMs: number): void | Promise<void> => {
    let wait: Promise<void> | undefined;
    for (const d of out) {
      counted?.(d);
      const p = sink.write('decisions', decisionRow(d));
      if (p) wait = p;
      const o = d.send;
      if (o === undefined) continue;
      if (o.promoCode) {
        const q = sink.write('promo_codes', {
          code: o.promoCode,
          sid: o.sid,
          tenant: o.tenant,
          campaign_id: o.campaignId,
          store_id: o.storeId,
          message_id: o.messageId,
          issued_at: nowMs,
        });
        if (q) wait = q;
      }
      followUps.afterSend(o, nowMs);
      try {
        opts.send(o);
      } catch (err) {
        log.error({ err, campaignId: o.campaignId }, 'delivery refused a send order');
      }
    }
    out.length = 0;
    return wait;
  };

  return {
    onEvent(event) {
      const nowMs = opts.clock();
      if (replayed?.drops(event, nowMs)) {
        replays?.inc();
        return;
      }
      engine.decide(event, nowMs, out);
      return flush(nowMs);
    },
    setReplayFilter(filter) {
      replayed = filter.size > 0 ? filter : undefined;
    },
    tick() {
      const nowMs = opts.clock();
      followUps.fireDue(nowMs, out);
      return flush(nowMs);
    },
  };
}

/** Counts decisions by outcome and reason (both small fixed sets); label children cached per pair. */
function decisionCounter(registry: Registry | undefined): ((d: Decision) => void) | undefined {
  if (registry === undefined) return undefined;
  const counter = new Counter({
    name: 'geotrigger_decisions_total',
    help: 'Trigger evaluations by outcome (sent, suppressed, holdout) and suppression reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const children = new Map<string, Map<string, { inc(): void }>>();
  return (d) => {
    let byReason = children.get(d.outcome);
    if (byReason === undefined) {
      byReason = new Map();
      children.set(d.outcome, byReason);
    }
    let child = byReason.get(d.reason);
    if (child === undefined) {
      child = counter.labels(d.outcome, d.reason);
      byReason.set(d.reason, child);
    }
    child.inc();
  };
}
