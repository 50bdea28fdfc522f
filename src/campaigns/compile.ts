import { normalizeReply } from '../consent/index.ts';
import type { FenceProps } from '../geo/types.ts';
import { buildWeekMask, parseInstant, type WeekMask } from './schedule.ts';
import type { Campaign } from './schema.ts';
import { type CompiledTemplate, compileTemplate } from './template.ts';
import type { ZoneOffsets } from './zone-offsets.ts';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** What decide needs of a fence. */
export type FenceInfo = Pick<
  FenceProps,
  'id' | 'tenant' | 'name' | 'storeId' | 'address' | 'tags' | 'timeZone'
>;

export interface CompiledFollowUp {
  afterMs: number;
  template: CompiledTemplate;
  variants: ReadonlyMap<string, CompiledTemplate>;
}

/** A campaign turned into what the hot path reads: numbers, bitmaps and pre-split templates. */
export interface CompiledCampaign {
  readonly key: number;
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly campaign: Campaign;
  readonly active: boolean;
  readonly startMs: number;
  readonly endMs: number;
  readonly zone: ZoneOffsets;
  readonly mask: WeekMask;
  /** 0 enter, 1 dwell, 2 exit. */
  readonly triggerKind: number;
  readonly minDwellMs: number;
  readonly segmentId: string;
  readonly capCount: number;
  readonly capPeriodMs: number;
  readonly cooldownMs: number;
  readonly budgetTotal: number;
  readonly budgetDaily: number;
  /** Holdout when hash(sid, campaign) < this (share × 2³²). */
  readonly holdoutBelow: number;
  readonly holdoutSeed: number;
  readonly priority: number;
  readonly senderId: string;
  readonly validityMinutes: number | undefined;
  readonly template: CompiledTemplate;
  readonly variants: ReadonlyMap<string, CompiledTemplate>;
  readonly followUps: readonly CompiledFollowUp[];
  readonly declineWord: string | undefined;
  readonly fenceIds: readonly string[];
  /** Parts and encoding by fence (id, name, address, store id), language and step; kept across reloads while the texts are unchanged. */
  measureCache: Map<string, { parts: number; encoding: string }>;
  /**
   * The same measures by fence object and language (+ step), for the per-event path: no key string
   * is built per decision. Valid for one compiled snapshot (its fence objects); filled from `measureCache`.
   */
  readonly measureByFence: WeakMap<object, Map<string, { parts: number; encoding: string }>>;
}

const TRIGGER_KIND = { enter: 0, dwell: 1, exit: 2 } as const;

/** Fence ids a campaign targets: its ids and tags, only among fences of its own tenant. */
export function resolveFences(campaign: Campaign, fences: Iterable<FenceInfo>): string[] {
  return resolveFenceInfos(campaign, fences).map((f) => f.id);
}

/** The fences a campaign covers: its tenant's fences named by id or carrying one of its tags. */
export function resolveFenceInfos(campaign: Campaign, fences: Iterable<FenceInfo>): FenceInfo[] {
  const ids = new Set(campaign.fences.ids);
  const tags = new Set(campaign.fences.tags);
  const out: FenceInfo[] = [];
  for (const f of fences) {
    if (f.tenant !== campaign.tenant) continue;
    if (ids.has(f.id) || f.tags.some((t) => tags.has(t))) out.push(f);
  }
  return out;
}

const variantsOf = (v: Record<string, string>): Map<string, CompiledTemplate> =>
  new Map(Object.entries(v).map(([lang, t]) => [lang, compileTemplate(t)]));

export function compileCampaign(
  campaign: Campaign,
  key: number,
  fenceIds: string[],
  zoneOf: (zone: string) => ZoneOffsets,
  hash: (text: string) => number,
): CompiledCampaign {
  const s = campaign.schedule;
  const caps = campaign.caps;
  return {
    key,
    id: campaign.id,
    tenant: campaign.tenant,
    name: campaign.name,
    campaign,
    active: campaign.status === 'active',
    startMs: parseInstant(s.start, s.timeZone),
    endMs: parseInstant(s.end, s.timeZone),
    zone: zoneOf(s.timeZone),
    mask: buildWeekMask(s.days, s.hours),
    triggerKind: TRIGGER_KIND[campaign.trigger.kind],
    minDwellMs: campaign.trigger.kind === 'enter' ? 0 : campaign.trigger.minMinutes * MINUTE_MS,
    segmentId: campaign.segmentId,
    capCount: caps.maxPerPeriod,
    capPeriodMs: caps.periodHours * HOUR_MS,
    cooldownMs: caps.cooldownHours * HOUR_MS,
    budgetTotal: campaign.budget.totalParts ?? Number.POSITIVE_INFINITY,
    budgetDaily: campaign.budget.dailyParts ?? Number.POSITIVE_INFINITY,
    holdoutBelow: Math.floor(campaign.holdoutShare * 2 ** 32),
    holdoutSeed: hash(campaign.id),
    priority: campaign.priority,
    senderId: campaign.message.senderId,
    validityMinutes: campaign.message.validityMinutes,
    template: compileTemplate(campaign.message.template),
    variants: variantsOf(campaign.message.variants),
    followUps: campaign.followUps.map((f) => ({
      afterMs: f.afterHours * HOUR_MS,
      template: compileTemplate(f.template),
      variants: variantsOf(f.variants),
    })),
    declineWord: campaign.message.declineWord ? normalizeReply(campaign.message.declineWord) : undefined,
    fenceIds,
    measureCache: new Map(),
    measureByFence: new WeakMap(),
  };
}
