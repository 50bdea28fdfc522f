// The service's embedded ClickHouse read back after the service stopped (chDB allows one process per
// data folder): decisions, messages, receipts, promo codes and the campaign funnel report.
import { createLogger } from '../../../src/logger.ts';
import { createReports, createStore, type FunnelMetrics, type Store } from '../../../src/store/index.ts';

export interface DecisionRow {
  sid: string;
  campaign_id: string;
  fence_id: string;
  store_id: string;
  trigger: string;
  outcome: string;
  reason: string;
  message_id: string;
  parts: number;
  /** The ping's time (ms) behind the decision. */
  event_ms: number;
}

export interface MessageRow {
  message_id: string;
  idempotency_key: string;
  sid: string;
  campaign_id: string;
  store_id: string;
  parts: number;
  encoding: string;
  sender: string;
  status: string;
}

export interface EventRow {
  message_id: string;
  event: string;
  parts: number;
}

export interface StoreView {
  decisions: DecisionRow[];
  messages: MessageRow[];
  events: EventRow[];
  promoCodes: Map<string, string>;
  /** Inbound replies (any tenant: a reply from an unknown number has none). */
  moMessages: { sid: string; keyword: string; action: string; campaign_id: string; tenant: string }[];
  /** Opt-outs recorded by the consent engine, with their source. */
  optOuts: { sid: string; source: string }[];
  /** Messages of no campaign (opt-out confirmations), any tenant. */
  serviceMessages: MessageRow[];
  /** The campaign's funnel over the whole run (no group-size suppression), summed over buckets. */
  funnel(campaignId: string): Promise<FunnelMetrics>;
  /** The campaign's suppressed decisions by reason over the whole run. */
  suppressionReasons(campaignId: string): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Opens the service's store (same DATA_DIR and database as the service's defaults). */
export async function openServiceStore(dataDir: string, tenant: string): Promise<StoreView> {
  const store: Store = await createStore({
    config: {
      user: 'default',
      password: '',
      database: 'geotrigger',
      dataDir,
      ttlDays: 180,
      minGroupSize: 1,
    },
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  const db = store.database;
  const num = <T extends object>(rows: T[], keys: (keyof T)[]) =>
    rows.map((r) => {
      for (const k of keys) (r as Record<string, unknown>)[k as string] = Number(r[k]);
      return r;
    });
  const decisions = num(
    await store.query<DecisionRow>(
      `SELECT sid, campaign_id, fence_id, store_id, trigger, outcome, reason, message_id, parts,
              toUnixTimestamp64Milli(event_ts) AS event_ms
       FROM ${db}.decisions WHERE tenant = {tenant:String} ORDER BY ts`,
      { tenant },
    ),
    ['parts', 'event_ms'],
  );
  const messages = num(
    await store.query<MessageRow>(
      `SELECT message_id, idempotency_key, sid, campaign_id, store_id, parts, encoding, sender, status
       FROM ${db}.messages FINAL WHERE tenant = {tenant:String}`,
      { tenant },
    ),
    ['parts'],
  );
  const events = num(
    await store.query<EventRow>(
      `SELECT message_id, event, parts FROM ${db}.message_events WHERE tenant = {tenant:String} ORDER BY ts`,
      { tenant },
    ),
    ['parts'],
  );
  const codes = await store.query<{ code: string; message_id: string }>(
    `SELECT code, message_id FROM ${db}.promo_codes FINAL WHERE tenant = {tenant:String}`,
    { tenant },
  );
  const moMessages = await store.query<StoreView['moMessages'][number]>(
    `SELECT sid, keyword, action, campaign_id, tenant FROM ${db}.mo_messages ORDER BY ts`,
  );
  const optOuts = await store.query<{ sid: string; source: string }>(
    `SELECT sid, source FROM ${db}.consent WHERE status = 'opt_out' AND source = 'sms_keyword' ORDER BY ts`,
  );
  const serviceMessages = num(
    await store.query<MessageRow>(
      `SELECT message_id, idempotency_key, sid, campaign_id, store_id, parts, encoding, sender, status
       FROM ${db}.messages FINAL WHERE campaign_id = ''`,
    ),
    ['parts'],
  );
  const reports = createReports({ store, minGroupSize: 1 });
  return {
    decisions,
    messages,
    events,
    moMessages,
    optOuts,
    serviceMessages,
    promoCodes: new Map(codes.map((c) => [c.message_id, c.code])),
    async funnel(campaignId) {
      const now = Date.now();
      const cells = await reports.campaign({
        campaignId,
        fromMs: now - 2 * 86_400_000,
        toMs: now + 86_400_000,
        granularity: 'day',
      });
      const sum = {} as Record<string, number>;
      for (const c of cells) {
        for (const [k, v] of Object.entries(c.metrics ?? {})) {
          if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
        }
      }
      return sum as unknown as FunnelMetrics;
    },
    async suppressionReasons(campaignId) {
      const now = Date.now();
      const cells = await reports.suppressionReasons({
        campaignId,
        fromMs: now - 2 * 86_400_000,
        toMs: now + 86_400_000,
        granularity: 'day',
      });
      const out: Record<string, number> = {};
      for (const c of cells) out[c.reason] = (out[c.reason] ?? 0) + (c.decisions ?? 0);
      return out;
    },
    close: () => store.close(),
  };
}
