const HOUR_MS = 3_600_000;

/**
 * One subscriber's recent marketing history: when, which campaign (numeric key) and whether it was a
 * real send or a holdout. Entries are appended in decision order and pruned past the retention.
 */
export interface SidHistory {
  ts: number[];
  camp: number[];
  /** 1 = sent, 2 = holdout (counts toward the campaign's own caps, not the global ones). */
  kind: number[];
}

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
      let h = bySid.get(sid);
      if (!h) {
        h = { ts: [], camp: [], kind: [] };
        bySid.set(sid, h);
      } else if (h.ts.length > 0 && tsMs - h.ts[0] > retention) {
        // Drop expired entries while we are here: histories stay short without a full sweep.
        let k = 0;
        while (k < h.ts.length && tsMs - h.ts[k] > retention) k++;
        h.ts.splice(0, k);
        h.camp.splice(0, k);
        h.kind.splice(0, k);
      }
      h.ts.push(tsMs);
      h.camp.push(campKey);
      h.kind.push(kind);
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
        if (h.ts.length === 0 || nowMs - h.ts[h.ts.length - 1] > retention) {
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
