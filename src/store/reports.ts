import { AppError } from '../errors.ts';
import type { Store } from './types.ts';

export type Granularity = 'hour' | 'day';

export interface ReportRange {
  /** Restricts to one tenant's rows (retailer keys); omit for operator-wide reports. */
  tenant?: string;
  /** Inclusive start and exclusive end, ms since epoch. */
  fromMs: number;
  toMs: number;
  granularity: Granularity;
  /** IANA zone that days start in (default UTC); hours are always UTC hours. */
  timeZone?: string;
}

export interface FunnelMetrics {
  triggers: number;
  sent: number;
  suppressed: number;
  holdout: number;
  submitted: number;
  parts: number;
  delivered: number;
  failed: number;
  expired: number;
  optOuts: number;
  conversions: number;
  conversionValue: number;
  /** delivered / submitted, null when nothing was submitted. */
  deliveryRate: number | null;
}

/**
 * One report cell. A cell covering fewer distinct subscribers than the minimum group size is returned
 * with `suppressed: true` and every figure null, so small groups cannot be singled out.
 */
export interface ReportCell {
  bucketStartMs: number;
  campaignId: string | null;
  storeId: string | null;
  suppressed: boolean;
  subscribers: number | null;
  metrics: FunnelMetrics | null;
}

export interface SuppressionCell {
  bucketStartMs: number | null;
  reason: string;
  suppressed: boolean;
  decisions: number | null;
  subscribers: number | null;
}

export interface ArmResult {
  suppressed: boolean;
  subscribers: number | null;
  converted: number | null;
  conversionRate: number | null;
}

export interface CampaignSummary {
  campaignId: string;
  /** Subscribers who were sent the campaign vs the holdout group, and how many of each converted. */
  treatment: ArmResult;
  holdout: ArmResult;
  /** treatment rate − holdout rate, null when either arm is suppressed or empty. */
  lift: number | null;
}

export interface FootfallCell {
  bucketStartMs: number;
  storeId: string;
  fenceId: string;
  suppressed: boolean;
  visitors: number | null;
}

export interface Reports {
  readonly minGroupSize: number;
  /** Funnel per time bucket for one campaign; `byStore` splits each bucket per store. */
  campaign(q: ReportRange & { campaignId: string; byStore?: boolean }): Promise<ReportCell[]>;
  /** Funnel per time bucket for one store; `byCampaign` splits each bucket per campaign. */
  store(q: ReportRange & { storeId: string; byCampaign?: boolean }): Promise<ReportCell[]>;
  /** Suppressed decisions of a campaign by reason (over the whole range, or per bucket). */
  suppressionReasons(
    q: ReportRange & { campaignId: string; perBucket?: boolean },
  ): Promise<SuppressionCell[]>;
  /** Conversion rate of subscribers sent the campaign against its holdout group. */
  campaignSummary(q: {
    tenant?: string;
    campaignId: string;
    fromMs: number;
    toMs: number;
    /** Conversions counted up to this long after `toMs` (default 7 days). */
    attributionMs?: number;
  }): Promise<CampaignSummary>;
  /** Distinct subscribers per fence per bucket for one store. */
  footfall(q: ReportRange & { storeId: string }): Promise<FootfallCell[]>;
  /**
   * Time zone of the newest stored version of any fence (deleted ones included) naming this store, for
   * the tenant when given; undefined when no such fence was ever stored. A store keeps its reports
   * after its last fence is deleted.
   */
  storeZone(q: { storeId: string; tenant?: string }): Promise<string | undefined>;
}

interface FunnelRow {
  bucket_ms: string | number;
  campaign_id?: string;
  store_id?: string;
  subscribers: string | number;
  triggers: string | number;
  sent: string | number;
  suppressed: string | number;
  holdout: string | number;
  submitted: string | number;
  parts: string | number;
  delivered: string | number;
  failed: string | number;
  expired: string | number;
  opt_outs: string | number;
  conversions: string | number;
  conversion_value: string | number;
}

const TZ_RE = /^[A-Za-z0-9_+\-/]{1,64}$/;

function bucketExpr(q: ReportRange): string {
  if (q.granularity === 'hour') return 'toUnixTimestamp(hour) * 1000';
  return 'toUnixTimestamp(toStartOfDay(hour, {tz:String})) * 1000';
}

function checkRange(q: ReportRange): void {
  if (!Number.isFinite(q.fromMs) || !Number.isFinite(q.toMs) || q.fromMs >= q.toMs) {
    throw new AppError('VALIDATION_FAILED', 'report range needs fromMs < toMs', { httpStatus: 400 });
  }
  if (q.granularity !== 'hour' && q.granularity !== 'day') {
    throw new AppError('VALIDATION_FAILED', `granularity must be hour or day, got ${q.granularity}`, {
      httpStatus: 400,
    });
  }
  if (q.timeZone !== undefined && !TZ_RE.test(q.timeZone)) {
    throw new AppError('VALIDATION_FAILED', `not a time zone: ${q.timeZone}`, { httpStatus: 400 });
  }
}

const FUNNEL_SUMS = `sum(triggers) AS triggers, sum(sent) AS sent, sum(suppressed) AS suppressed,
  sum(holdout) AS holdout, sum(submitted) AS submitted, sum(parts) AS parts, sum(delivered) AS delivered,
  sum(failed) AS failed, sum(expired) AS expired, sum(opt_outs) AS opt_outs, sum(conversions) AS conversions,
  sum(conversion_value) AS conversion_value, uniqMerge(subscribers) AS subscribers`;

/** Report queries for the API and tools, with k-suppression applied to everything they return. */
export function createReports(opts: { store: Store; minGroupSize: number }): Reports {
  const { store } = opts;
  const k = opts.minGroupSize;
  const db = store.database;

  const toCell = (r: FunnelRow, campaignId: string | null, storeId: string | null): ReportCell => {
    const subscribers = Number(r.subscribers);
    const base = {
      bucketStartMs: Number(r.bucket_ms),
      campaignId: r.campaign_id ?? campaignId,
      storeId: r.store_id ?? storeId,
    };
    if (subscribers < k) return { ...base, suppressed: true, subscribers: null, metrics: null };
    const submitted = Number(r.submitted);
    const delivered = Number(r.delivered);
    return {
      ...base,
      suppressed: false,
      subscribers,
      metrics: {
        triggers: Number(r.triggers),
        sent: Number(r.sent),
        suppressed: Number(r.suppressed),
        holdout: Number(r.holdout),
        submitted,
        parts: Number(r.parts),
        delivered,
        failed: Number(r.failed),
        expired: Number(r.expired),
        optOuts: Number(r.opt_outs),
        conversions: Number(r.conversions),
        conversionValue: Number(r.conversion_value),
        deliveryRate: submitted > 0 ? delivered / submitted : null,
      },
    };
  };

  const params = (q: ReportRange, extra: Record<string, unknown>) => ({
    ...extra,
    tenant: q.tenant ?? '',
    fromMs: Math.trunc(q.fromMs),
    toMs: Math.trunc(q.toMs),
    tz: q.timeZone ?? 'UTC',
  });
  const timeWhere =
    "hour >= toStartOfHour(fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')) AND hour < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')";
  const tenantWhere = (q: { tenant?: string }) =>
    q.tenant !== undefined ? 'AND tenant = {tenant:String}' : '';
  const arm = (subscribers: number, converted: number): ArmResult =>
    subscribers < k
      ? { suppressed: true, subscribers: null, converted: null, conversionRate: null }
      : { suppressed: false, subscribers, converted, conversionRate: converted / subscribers };

  return {
    minGroupSize: k,
    async campaign(q) {
      checkRange(q);
      const split = q.byStore ? ', store_id' : '';
      const rows = await store.query<FunnelRow>(
        `SELECT ${bucketExpr(q)} AS bucket_ms${split}, ${FUNNEL_SUMS}
         FROM ${db}.report_hourly
         WHERE campaign_id = {campaignId:String} ${tenantWhere(q)} AND ${timeWhere}
         GROUP BY bucket_ms${split} ORDER BY bucket_ms${split}`,
        params(q, { campaignId: q.campaignId }),
      );
      return rows.map((r) => toCell(r, q.campaignId, null));
    },
    async storeZone(q) {
      const rows = await store.query<{ tz: string }>(
        `SELECT JSONExtractString(body, 'properties', 'timeZone') AS tz
         FROM ${db}.geofences
         WHERE JSONExtractString(body, 'properties', 'storeId') = {storeId:String} ${tenantWhere(q)}
         ORDER BY updated_at DESC, version DESC LIMIT 1`,
        { storeId: q.storeId, tenant: q.tenant ?? '' },
      );
      return rows.length === 0 ? undefined : rows[0].tz || 'UTC';
    },
    async store(q) {
      checkRange(q);
      const split = q.byCampaign ? ', campaign_id' : '';
      const rows = await store.query<FunnelRow>(
        `SELECT ${bucketExpr(q)} AS bucket_ms${split}, ${FUNNEL_SUMS}
         FROM ${db}.report_hourly
         WHERE store_id = {storeId:String} ${tenantWhere(q)} AND ${timeWhere}
         GROUP BY bucket_ms${split} ORDER BY bucket_ms${split}`,
        params(q, { storeId: q.storeId }),
      );
      return rows.map((r) => toCell(r, null, q.storeId));
    },
    async suppressionReasons(q) {
      checkRange(q);
      const bucket = q.perBucket ? `${bucketExpr(q)}` : 'toInt64(0)';
      const rows = await store.query<{ bucket_ms: string; reason: string; n: string; subscribers: string }>(
        `SELECT ${bucket} AS bucket_ms, reason, sum(n) AS n, uniqMerge(subscribers) AS subscribers
         FROM ${db}.report_suppressed_hourly
         WHERE campaign_id = {campaignId:String} ${tenantWhere(q)} AND ${timeWhere}
         GROUP BY bucket_ms, reason ORDER BY bucket_ms, reason`,
        params(q, { campaignId: q.campaignId }),
      );
      return rows.map((r) => {
        const subscribers = Number(r.subscribers);
        const hidden = subscribers < k;
        return {
          bucketStartMs: q.perBucket ? Number(r.bucket_ms) : null,
          reason: r.reason,
          suppressed: hidden,
          decisions: hidden ? null : Number(r.n),
          subscribers: hidden ? null : subscribers,
        };
      });
    },
    async campaignSummary(q) {
      if (!(q.fromMs < q.toMs)) {
        throw new AppError('VALIDATION_FAILED', 'report range needs fromMs < toMs', { httpStatus: 400 });
      }
      const rows = await store.query<{ outcome: string; subscribers: string; converted: string }>(
        `SELECT outcome, uniqExact(sid) AS subscribers,
           uniqExactIf(sid, sid IN (
             SELECT sid FROM ${db}.conversions
             WHERE campaign_id = {campaignId:String} AND sid != ''
               AND ts >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')
               AND ts < fromUnixTimestamp64Milli({untilMs:Int64}, 'UTC'))) AS converted
         FROM ${db}.decisions
         WHERE campaign_id = {campaignId:String} ${tenantWhere(q)} AND outcome IN ('sent', 'holdout')
           AND ts >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')
         GROUP BY outcome`,
        {
          campaignId: q.campaignId,
          tenant: q.tenant ?? '',
          fromMs: Math.trunc(q.fromMs),
          toMs: Math.trunc(q.toMs),
          untilMs: Math.trunc(q.toMs + (q.attributionMs ?? 7 * 86_400_000)),
        },
      );
      const by = new Map(rows.map((r) => [r.outcome, r]));
      const get = (o: string) => arm(Number(by.get(o)?.subscribers ?? 0), Number(by.get(o)?.converted ?? 0));
      const treatment = get('sent');
      const holdout = get('holdout');
      const lift =
        treatment.conversionRate !== null && holdout.conversionRate !== null
          ? treatment.conversionRate - holdout.conversionRate
          : null;
      return { campaignId: q.campaignId, treatment, holdout, lift };
    },
    async footfall(q) {
      checkRange(q);
      const rows = await store.query<{
        bucket_ms: string;
        store_id: string;
        fence_id: string;
        visitors: string;
      }>(
        `SELECT ${bucketExpr(q)} AS bucket_ms, store_id, fence_id, uniqMerge(visitors) AS visitors
         FROM ${db}.footfall
         WHERE store_id = {storeId:String} ${tenantWhere(q)} AND ${timeWhere}
         GROUP BY bucket_ms, store_id, fence_id ORDER BY bucket_ms, fence_id`,
        params(q, { storeId: q.storeId }),
      );
      return rows.map((r) => {
        const visitors = Number(r.visitors);
        return {
          bucketStartMs: Number(r.bucket_ms),
          storeId: r.store_id,
          fenceId: r.fence_id,
          suppressed: visitors < k,
          visitors: visitors < k ? null : visitors,
        };
      });
    },
  };
}
