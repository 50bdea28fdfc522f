import type { Store } from '../store/index.ts';
import type { DecisionEngine, FollowUpStep } from './engine.ts';
import type { FollowUpScheduler } from './followups.ts';
import type { PromoCodes, PromoIssue } from './promo-codes.ts';

const DAY_MS = 86_400_000;

/**
 * Rebuilds the decide stage's memory from the store after a restart: subscriber counters from recent
 * decisions (call after engine.setCampaigns/setPolicy), lifetime budget spend, promo codes of the last
 * `promoDays`, and pending follow-ups.
 */
export async function restoreDecideState(opts: {
  store: Store;
  engine: DecisionEngine;
  promoCodes: PromoCodes;
  followUps: FollowUpScheduler;
  nowMs: number;
  /** How far back counters look: at least the longest cap period (8 days covers the weekly cap). */
  historyDays?: number;
  promoDays?: number;
}): Promise<{ decisions: number; campaigns: number; promoCodes: number; followUps: number }> {
  const { store, engine, nowMs } = opts;
  const db = store.database;
  const since = nowMs - (opts.historyDays ?? 8) * DAY_MS;
  const rows = await store.query<{
    ts_ms: string;
    sid: string;
    campaign_id: string;
    tenant: string;
    outcome: string;
    parts: number;
  }>(
    `SELECT toUnixTimestamp64Milli(ts) AS ts_ms, sid, campaign_id, tenant, outcome, parts FROM ${db}.decisions
     WHERE ts >= fromUnixTimestamp64Milli({since:Int64}) AND outcome IN ('sent', 'holdout') ORDER BY ts`,
    { since },
  );
  for (const r of rows) {
    engine.replay({
      tsMs: Number(r.ts_ms),
      sid: r.sid,
      campaignId: r.campaign_id,
      tenant: r.tenant,
      outcome: r.outcome,
      parts: Number(r.parts),
    });
  }
  const spent = await store.query<{ campaign_id: string; tenant: string; parts: string; sent: string }>(
    `SELECT campaign_id, any(tenant) AS tenant, sum(parts) AS parts, count() AS sent FROM ${db}.decisions
     WHERE outcome = 'sent' GROUP BY campaign_id`,
  );
  for (const s of spent) engine.restoreSpent(s.campaign_id, s.tenant, Number(s.parts), Number(s.sent));
  const codes = await store.query<{
    code: string;
    sid: string;
    tenant: string;
    campaign_id: string;
    store_id: string;
    issued_ms: string;
  }>(
    `SELECT code, sid, tenant, campaign_id, store_id, toUnixTimestamp64Milli(issued_at) AS issued_ms
     FROM ${db}.promo_codes FINAL WHERE issued_at >= fromUnixTimestamp64Milli({since:Int64})`,
    { since: nowMs - (opts.promoDays ?? 30) * DAY_MS },
  );
  opts.promoCodes.load(codes.map(toIssue));
  const pending = await store.query<{
    id: string;
    sid: string;
    tenant: string;
    campaign_id: string;
    fence_id: string;
    store_id: string;
    step: number;
    origin_key: string;
    due_ms: string;
  }>(
    `SELECT id, sid, tenant, campaign_id, fence_id, store_id, step, origin_key, toUnixTimestamp64Milli(due_at) AS due_ms
     FROM ${db}.followups FINAL WHERE status = 'pending'`,
  );
  const steps: FollowUpStep[] = pending.map((p) => ({
    id: p.id,
    sid: p.sid,
    tenant: p.tenant,
    campaignId: p.campaign_id,
    fenceId: p.fence_id,
    storeId: p.store_id,
    step: Number(p.step),
    originKey: p.origin_key,
    dueMs: Number(p.due_ms),
  }));
  opts.followUps.load(steps);
  return {
    decisions: rows.length,
    campaigns: spent.length,
    promoCodes: codes.length,
    followUps: steps.length,
  };
}

const toIssue = (r: {
  code: string;
  sid: string;
  tenant: string;
  campaign_id: string;
  store_id: string;
  issued_ms: string;
}): PromoIssue => ({
  code: r.code,
  sid: r.sid,
  tenant: r.tenant,
  campaignId: r.campaign_id,
  storeId: r.store_id,
  issuedMs: Number(r.issued_ms),
});

/** Looks a promo code up in the store (conversions of codes older than the in-memory window). */
export function promoCodeFinder(store: Store): (code: string) => Promise<PromoIssue | undefined> {
  return async (code) => {
    const rows = await store.query<{
      code: string;
      sid: string;
      tenant: string;
      campaign_id: string;
      store_id: string;
      issued_ms: string;
    }>(
      `SELECT code, sid, tenant, campaign_id, store_id, toUnixTimestamp64Milli(issued_at) AS issued_ms
       FROM ${store.database}.promo_codes FINAL WHERE code = {code:String} LIMIT 1`,
      { code },
    );
    return rows[0] ? toIssue(rows[0]) : undefined;
  };
}
