import type { DecisionRow } from '../../src/store/index.ts';
import { createRandom } from './random.ts';

export interface DecisionGenOptions {
  seed: number;
  campaigns: number;
  stores: number;
  /** Stores each campaign runs at. */
  storesPerCampaign: number;
  subscribers: number;
  fromMs: number;
  spanMs: number;
  /**
   * Live order: timestamps advance from `fromMs` at this many rows per second of event time, as rows
   * reach the writer in production. Unset: uniformly random over `spanMs` (every row its own report cell).
   */
  liveRowsPerSec?: number;
}

const REASONS = ['no_consent', 'cap_daily', 'cap_campaign', 'quiet_hours', 'not_in_segment', 'budget'];

/**
 * Seeded decision rows shaped like production: campaigns at a few stores each, a sent / suppressed /
 * holdout mix, suppression reasons. `next()` refills and returns one row object (the writer copies it).
 */
export function createDecisionGen(o: DecisionGenOptions) {
  const rnd = createRandom(o.seed);
  const row: DecisionRow = {
    ts: 0,
    sid: '',
    tenant: '',
    campaign_id: '',
    fence_id: '',
    store_id: '',
    trigger: 'enter',
    outcome: 'sent',
    reason: '',
    message_id: '',
    dwell_ms: 0,
  };
  let n = 0;
  return {
    next(): DecisionRow {
      const c = Math.floor(rnd.next() * o.campaigns);
      const s = (c * 7919 + Math.floor(rnd.next() * o.storesPerCampaign)) % o.stores;
      const roll = rnd.next();
      const r = rnd.next();
      row.ts = o.liveRowsPerSec
        ? o.fromMs + Math.floor((n * 1000) / o.liveRowsPerSec)
        : o.fromMs + Math.floor(r * o.spanMs);
      row.sid = `sid-${Math.floor(rnd.next() * o.subscribers)}`;
      row.tenant = `tenant-${c % 20}`;
      row.campaign_id = `camp-${c}`;
      row.store_id = `store-${s}`;
      row.fence_id = `fence-${s}`;
      row.trigger = roll < 0.7 ? 'enter' : roll < 0.95 ? 'dwell' : 'exit';
      row.outcome = roll < 0.45 ? 'sent' : roll < 0.5 ? 'holdout' : 'suppressed';
      row.reason = row.outcome === 'suppressed' ? REASONS[Math.floor(rnd.next() * REASONS.length)] : '';
      row.message_id = row.outcome === 'sent' ? `msg-${n}` : '';
      row.dwell_ms = row.trigger === 'dwell' ? 300_000 : 0;
      n++;
      return row;
    },
  };
}
