import { z } from 'zod';
import { type CampaignService, isValidZone } from '../../campaigns/index.ts';
import type { Matcher } from '../../geo/index.ts';
import type { Granularity, ReportCell, Reports } from '../../store/index.ts';
import { AppError, defineRoute, type Principal, type RouteDef, tenantScope } from '../kit.ts';

export interface ReportRouteDeps {
  /** Report queries over the store (k-suppressed). */
  reports: Reports;
  /** Campaign definitions: `get(id, tenant)` answers CAMPAIGN_NOT_FOUND for unknown or foreign ids. */
  campaigns: Pick<CampaignService, 'get'>;
  /** The live geofences; a store also exists (for a tenant) while a deleted fence of it is stored. */
  fences: Pick<Matcher, 'snapshot'>;
  clock?: () => number;
}

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_MS = 7 * DAY_MS;
// An hourly report over a month is ~750 cells; longer ranges go by day.
const MAX_RANGE_MS: Record<Granularity, number> = { hour: 31 * DAY_MS, day: 366 * DAY_MS };
const GRANULARITIES = ['hour', 'day'] as const;

const instant = z.iso.datetime({ offset: true });
const rangeFields = {
  from: instant.optional().describe('Start (inclusive), ISO 8601 with offset; default: `to` − 7 days'),
  to: instant.optional().describe('End (exclusive), ISO 8601 with offset; default: now'),
  timeZone: z
    .string()
    .min(1)
    .max(64)
    .refine(isValidZone, 'unknown IANA time zone')
    .optional()
    .describe("Zone days start in (granularity=day); default: the campaign's or store's zone"),
};
const granularityField = z
  .enum(GRANULARITIES)
  .default('day')
  .describe('Bucket size; hours are UTC hours, days start at midnight of `timeZone`');

const campaignParams = z.strictObject({ id: z.string().min(1).max(64) });
const storeParams = z.strictObject({ storeId: z.string().min(1).max(128) });

const count = z.number().int().nullable();
const rangeAnswer = {
  from: z.string().describe('ISO 8601'),
  to: z.string().describe('ISO 8601'),
  minGroupSize: z.number().int().describe('Cells covering fewer distinct subscribers are suppressed'),
};

const funnelMetricsSchema = z
  .object({
    triggers: z.number().int(),
    sent: z.number().int(),
    suppressed: z.number().int().describe('Decisions not sent (consent, caps, quiet hours, ...)'),
    holdout: z.number().int(),
    submitted: z.number().int(),
    parts: z.number().int(),
    delivered: z.number().int(),
    failed: z.number().int(),
    expired: z.number().int(),
    optOuts: z.number().int(),
    conversions: z.number().int(),
    conversionValue: z.number(),
    deliveryRate: z.number().nullable().describe('delivered / submitted; null when nothing was submitted'),
  })
  .meta({ id: 'FunnelMetrics' });

const reportCellSchema = z
  .object({
    bucketStart: z.string().describe('ISO 8601 (UTC) start of the hour or day'),
    campaignId: z.string().nullable(),
    storeId: z.string().nullable(),
    suppressed: z.boolean().describe('true: fewer subscribers than minGroupSize, every figure null'),
    subscribers: count,
    metrics: funnelMetricsSchema.nullable(),
  })
  .meta({ id: 'ReportCell' });

const funnelFields = {
  ...rangeAnswer,
  granularity: z.enum(GRANULARITIES),
  timeZone: z.string().describe('Zone of the day buckets (UTC for hourly reports)'),
  cells: z.array(reportCellSchema),
};
const campaignFunnelAnswer = z
  .object({ campaignId: z.string(), ...funnelFields })
  .meta({ id: 'CampaignFunnelReport' });
const storeFunnelAnswer = z
  .object({ storeId: z.string(), ...funnelFields })
  .meta({ id: 'StoreFunnelReport' });

const armSchema = z
  .object({
    suppressed: z.boolean(),
    subscribers: count,
    converted: count,
    conversionRate: z.number().nullable(),
  })
  .meta({ id: 'ReportArm' });

const summaryAnswer = z
  .object({
    campaignId: z.string(),
    ...rangeAnswer,
    attributionDays: z.number(),
    treatment: armSchema.describe('Subscribers sent the campaign'),
    holdout: armSchema.describe('Subscribers held out (not sent) by the campaign'),
    lift: z.number().nullable().describe('Treatment rate − holdout rate; null when an arm is suppressed'),
  })
  .meta({ id: 'CampaignReportSummary' });

const suppressionsAnswer = z
  .object({
    campaignId: z.string(),
    ...rangeAnswer,
    granularity: z.enum(GRANULARITIES).nullable().describe('null: totals over the whole range'),
    timeZone: z.string(),
    reasons: z.array(
      z.object({
        bucketStart: z.string().nullable(),
        reason: z.string(),
        suppressed: z.boolean(),
        decisions: count,
        subscribers: count,
      }),
    ),
  })
  .meta({ id: 'SuppressionReport' });

const footfallAnswer = z
  .object({
    storeId: z.string(),
    ...rangeAnswer,
    granularity: z.enum(GRANULARITIES),
    timeZone: z.string(),
    cells: z.array(
      z.object({
        bucketStart: z.string(),
        fenceId: z.string(),
        suppressed: z.boolean(),
        visitors: count.describe('Distinct subscribers seen in the fence'),
      }),
    ),
  })
  .meta({ id: 'FootfallReport' });

const iso = (ms: number) => new Date(ms).toISOString();

function badQuery(param: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `invalid query: query.${param}: ${message}`, {
    details: { errors: [{ path: `query.${param}`, message }] },
  });
}

/** The range a query asks for: defaults (the last 7 days), order and length checked. */
function resolveRange(
  q: { from?: string; to?: string },
  granularity: Granularity | undefined,
  nowMs: number,
): { fromMs: number; toMs: number } {
  const toMs = q.to !== undefined ? Date.parse(q.to) : nowMs;
  const fromMs = q.from !== undefined ? Date.parse(q.from) : toMs - DEFAULT_RANGE_MS;
  if (fromMs >= toMs) throw badQuery('from', `must be before to (${iso(toMs)})`);
  const maxMs = MAX_RANGE_MS[granularity ?? 'day'];
  if (toMs - fromMs > maxMs) {
    throw badQuery(
      'from',
      `the range may span at most ${maxMs / DAY_MS} days${granularity ? ` with granularity=${granularity}` : ''}`,
    );
  }
  return { fromMs, toMs };
}

/**
 * The zone buckets start in: UTC hours; days in the zone asked for, else the owner's when
 * ClickHouse-safe, else UTC.
 */
function zoneOf(
  granularity: Granularity | undefined,
  asked: string | undefined,
  owner: string | undefined,
): string {
  if (granularity !== 'day') return 'UTC';
  if (asked !== undefined) return asked;
  return owner !== undefined && isValidZone(owner) ? owner : 'UTC';
}

const toCell = (c: ReportCell) => ({
  bucketStart: iso(c.bucketStartMs),
  campaignId: c.campaignId,
  storeId: c.storeId,
  suppressed: c.suppressed,
  subscribers: c.subscribers,
  metrics: c.metrics,
});

/**
 * Aggregate reports: campaign funnel, summary against holdout and suppression reasons; store funnel
 * and footfall. Operator roles see every tenant; a retailer only its own campaigns and stores (any
 * other answers 404) and only its own rows in them.
 */
export function reportRoutes(deps: ReportRouteDeps): RouteDef[] {
  const { reports, campaigns, fences } = deps;
  const clock = deps.clock ?? Date.now;
  /** What every report answers with: the range it covers and the suppression threshold. */
  const window = (range: { fromMs: number; toMs: number }) => ({
    from: iso(range.fromMs),
    to: iso(range.toMs),
    minGroupSize: reports.minGroupSize,
  });

  const campaignOf = async (id: string, principal: Principal) => {
    const tenant = tenantScope(principal);
    const c = await campaigns.get(id, tenant);
    return { tenant, timeZone: c.schedule.timeZone };
  };
  const storeOf = async (storeId: string, principal: Principal) => {
    const tenant = tenantScope(principal);
    for (const f of fences.snapshot().fences) {
      if (f.props.storeId !== storeId || (tenant !== undefined && f.props.tenant !== tenant)) continue;
      return { tenant, timeZone: f.props.timeZone };
    }
    // No live fence names it: a store whose fences were all deleted still has its history.
    const timeZone = await reports.storeZone({ storeId, tenant });
    if (timeZone === undefined) throw new AppError('NOT_FOUND', `no store ${storeId}`);
    return { tenant, timeZone };
  };

  const common = { tag: 'reports', roles: ['analyst', 'viewer', 'retailer'] as const };
  return [
    defineRoute({
      ...common,
      method: 'get',
      path: '/v1/reports/campaigns/:id',
      summary:
        'Campaign funnel per hour or day: triggers, suppressed, holdout, sent, delivery, opt-outs, conversions',
      params: campaignParams,
      query: z.strictObject({
        ...rangeFields,
        granularity: granularityField,
        split: z.enum(['store']).optional().describe('store: one cell per bucket and store'),
      }),
      response: campaignFunnelAnswer,
      handler: async ({ params, query, principal }) => {
        const range = resolveRange(query, query.granularity, clock());
        const owner = await campaignOf(params.id, principal);
        const timeZone = zoneOf(query.granularity, query.timeZone, owner.timeZone);
        const cells = await reports.campaign({
          ...range,
          tenant: owner.tenant,
          campaignId: params.id,
          granularity: query.granularity,
          timeZone,
          byStore: query.split === 'store',
        });
        return {
          campaignId: params.id,
          ...window(range),
          granularity: query.granularity,
          timeZone,
          cells: cells.map(toCell),
        };
      },
    }),
    defineRoute({
      ...common,
      method: 'get',
      path: '/v1/reports/campaigns/:id/summary',
      summary: 'Campaign totals: conversion rate of the subscribers sent it against its holdout group',
      params: campaignParams,
      query: z.strictObject({
        from: rangeFields.from,
        to: rangeFields.to,
        attributionDays: z.coerce
          .number()
          .min(0)
          .max(90)
          .default(7)
          .describe('Conversions count up to this many days after `to`'),
      }),
      response: summaryAnswer,
      handler: async ({ params, query, principal }) => {
        const range = resolveRange(query, undefined, clock());
        const owner = await campaignOf(params.id, principal);
        const s = await reports.campaignSummary({
          ...range,
          tenant: owner.tenant,
          campaignId: params.id,
          attributionMs: query.attributionDays * DAY_MS,
        });
        return {
          campaignId: params.id,
          ...window(range),
          attributionDays: query.attributionDays,
          treatment: s.treatment,
          holdout: s.holdout,
          lift: s.lift,
        };
      },
    }),
    defineRoute({
      ...common,
      method: 'get',
      path: '/v1/reports/campaigns/:id/suppressions',
      summary: 'Why a campaign did not send: suppressed decisions by reason (totals, or per hour/day)',
      params: campaignParams,
      query: z.strictObject({
        ...rangeFields,
        granularity: z
          .enum(GRANULARITIES)
          .optional()
          .describe('Absent: totals over the range; hour or day: per bucket'),
      }),
      response: suppressionsAnswer,
      handler: async ({ params, query, principal }) => {
        const range = resolveRange(query, query.granularity, clock());
        const owner = await campaignOf(params.id, principal);
        const timeZone = zoneOf(query.granularity, query.timeZone, owner.timeZone);
        const rows = await reports.suppressionReasons({
          ...range,
          tenant: owner.tenant,
          campaignId: params.id,
          granularity: query.granularity ?? 'day',
          timeZone,
          perBucket: query.granularity !== undefined,
        });
        return {
          campaignId: params.id,
          ...window(range),
          granularity: query.granularity ?? null,
          timeZone,
          reasons: rows.map((r) => ({
            bucketStart: r.bucketStartMs === null ? null : iso(r.bucketStartMs),
            reason: r.reason,
            suppressed: r.suppressed,
            decisions: r.decisions,
            subscribers: r.subscribers,
          })),
        };
      },
    }),
    defineRoute({
      ...common,
      method: 'get',
      path: '/v1/reports/stores/:storeId',
      summary: 'Store funnel per hour or day over every campaign at the store (retailers: their own)',
      params: storeParams,
      query: z.strictObject({
        ...rangeFields,
        granularity: granularityField,
        split: z.enum(['campaign']).optional().describe('campaign: one cell per bucket and campaign'),
      }),
      response: storeFunnelAnswer,
      handler: async ({ params, query, principal }) => {
        const range = resolveRange(query, query.granularity, clock());
        const owner = await storeOf(params.storeId, principal);
        const timeZone = zoneOf(query.granularity, query.timeZone, owner.timeZone);
        const cells = await reports.store({
          ...range,
          tenant: owner.tenant,
          storeId: params.storeId,
          granularity: query.granularity,
          timeZone,
          byCampaign: query.split === 'campaign',
        });
        return {
          storeId: params.storeId,
          ...window(range),
          granularity: query.granularity,
          timeZone,
          cells: cells.map(toCell),
        };
      },
    }),
    defineRoute({
      ...common,
      method: 'get',
      path: '/v1/reports/stores/:storeId/footfall',
      summary: 'Store footfall: distinct subscribers per geofence per hour or day',
      params: storeParams,
      query: z.strictObject({ ...rangeFields, granularity: granularityField }),
      response: footfallAnswer,
      handler: async ({ params, query, principal }) => {
        const range = resolveRange(query, query.granularity, clock());
        const owner = await storeOf(params.storeId, principal);
        const timeZone = zoneOf(query.granularity, query.timeZone, owner.timeZone);
        const cells = await reports.footfall({
          ...range,
          tenant: owner.tenant,
          storeId: params.storeId,
          granularity: query.granularity,
          timeZone,
        });
        return {
          storeId: params.storeId,
          ...window(range),
          granularity: query.granularity,
          timeZone,
          cells: cells.map((c) => ({
            bucketStart: iso(c.bucketStartMs),
            fenceId: c.fenceId,
            suppressed: c.suppressed,
            visitors: c.visitors,
          })),
        };
      },
    }),
  ];
}
