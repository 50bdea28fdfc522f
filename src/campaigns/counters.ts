const HOUR_MS = 3_600_000;

/**
 * One subscriber's recent marketing history, flat to keep one allocation per subscriber: pairs of
 * [decision time ms, campaign key × 4 + kind] in decision order, kind 1 = sent, 2 = holdout (holdouts
 * count toward the campaign's own caps, not the global ones). Pruned past the retention.
 */
export type SidHistory = number[];

/** Campaign key of history entry `i` (an even index). */
export const entryCampaign = (h: SidHistory, i: number): number => h[i + 1] >>> 2;
/** Kind of history entry `i`: 1 sent, 2 holdout. */
export const entryKind = (h: SidHistory, i: number): number => h[i + 1] & 3;

/** Per-campaign budget state, kept across campaign reloads. */
export interface BudgetState {
  spentTotal: number;
  day: number;
  spentDay: number;
  sent: number;
}

/** Counters of sends per subscriber, per campaign and per tenant; rebuilt from decisions at start-up. */
export interface Counters {
  history(sid: string): SidHistory | undefined;
  record(sid: string, campKey: number, kind: 1 | 2, tsMs: number): void;
  /** The campaign's budget state: the same object for a campaign id for the life of the counters. */
  budget(campaignId: string): BudgetState;
  tenantSent(tenant: string): number;
  addTenantSent(tenant: string): void;
  /** Drops entries older than retentionMs before nowMs (call now and then, e.g. once a minute). */
  prune(nowMs: number): number;
  setRetention(ms: number): void;
  readonly subscribers: number;
}

export function createCounters(retentionMs = 8 * 24 * HOUR_MS): Counters {
  const bySid = new Map<string, SidHistory>();
  const budgets = new Map<string, BudgetState>();
  const tenants = new Map<string, number>();
  let retention = retentionMs;
  return {
    history: (sid) => bySid.get(sid),
    record(sid, campKey, kind, tsMs) {
      const h = bySid.get(sid);
      if (!h) {
        bySid.set(sid, [tsMs, campKey * 4 + kind]);
        return;
      }
      if (h.length > 0 && tsMs - h[0] > retention) {
        // Drop expired entries while we are here: histories stay short without a full sweep.
        let k = 0;
        while (k < h.length && tsMs - h[k] > retention) k += 2;
        h.splice(0, k);
      }
      h.push(tsMs, campKey * 4 + kind);
    },
    budget(campaignId) {
      let b = budgets.get(campaignId);
      if (!b) {
        b = { spentTotal: 0, day: -1, spentDay: 0, sent: 0 };
        budgets.set(campaignId, b);
      }
      return b;
    },
    tenantSent: (tenant) => tenants.get(tenant) ?? 0,
    addTenantSent(tenant) {
      tenants.set(tenant, (tenants.get(tenant) ?? 0) + 1);
    },
    prune(nowMs) {
      let removed = 0;
      for (const [sid, h] of bySid) {
        if (h.length === 0 || nowMs - h[h.length - 2] > retention) {
          bySid.delete(sid);
          removed++;
        }
      }
      return removed;
    },
    setRetention(ms) {
      retention = ms;
    },
    get subscribers() {
      return bySid.size;
    },
  };
}
