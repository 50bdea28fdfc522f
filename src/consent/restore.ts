import type { Store } from '../store/index.ts';
import type { ConsentEngine } from './consent-engine.ts';

/** Loads current consent and unexpired brand declines from the store into the in-memory engine. */
export async function restoreConsent(opts: {
  store: Store;
  consent: ConsentEngine;
  nowMs: number;
}): Promise<{ consent: number; declines: number }> {
  const db = opts.store.database;
  const consent = await opts.store.query<{ sid: string; status: string; ts_ms: string }>(
    `SELECT sid, argMax(status, ts) AS status, toUnixTimestamp64Milli(max(ts)) AS ts_ms FROM ${db}.consent
     WHERE channel = 'sms' GROUP BY sid`,
  );
  const declines = await opts.store.query<{ sid: string; tenant: string; until_ms: string; ts_ms: string }>(
    `SELECT sid, tenant, toUnixTimestamp64Milli(max(until)) AS until_ms, toUnixTimestamp64Milli(max(ts)) AS ts_ms
     FROM ${db}.brand_declines WHERE until > fromUnixTimestamp64Milli({now:Int64}) GROUP BY sid, tenant`,
    { now: opts.nowMs },
  );
  opts.consent.load(
    consent.map((r) => ({ sid: r.sid, status: r.status, tsMs: Number(r.ts_ms) })),
    declines.map((r) => ({
      sid: r.sid,
      tenant: r.tenant,
      untilMs: Number(r.until_ms),
      tsMs: Number(r.ts_ms),
    })),
  );
  return { consent: consent.length, declines: declines.length };
}
