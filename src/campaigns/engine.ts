import type { ConsentVerdict } from '../consent/index.ts';
import { fnv1a, fnv1aPair } from '../hash.ts';
import type { PresenceEvent } from '../presence/types.ts';
import { type CompiledCampaign, compileCampaign, type FenceInfo, resolveFenceInfos } from './compile.ts';
import {
  type BudgetState,
  type Counters,
  createCounters,
  entryCampaign,
  entryKind,
  entryTime,
  historyLength,
} from './counters.ts';
import type { PromoCodes } from './promo-codes.ts';
import type { DecisionOutcome, DecisionTrigger, SuppressionReason } from './reasons.ts';
import { buildWeekMask, inMask, localDayOf, nextAllowed, type WeekMask } from './schedule.ts';
import { type Campaign, DEFAULT_POLICY, type Policy } from './schema.ts';
import { type CompiledTemplate, renderTemplate } from './template.ts';
import { createZoneCache, type ZoneOffsets } from './zone-offsets.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** One SMS the engine decided to send; delivery submits it (after `canSend` once more). */
export interface SendOrder {
  /** sid|campaign|trigger|event time (or |followup-N|origin): never submitted twice. */
  idempotencyKey: string;
  messageId: string;
  sid: string;
  campaignId: string;
  tenant: string;
  fenceId: string;
  storeId: string;
  senderId: string;
  text: string;
  parts: number;
  encoding: string;
  promoCode: string;
  validityMinutes: number | undefined;
  /** 0 for the proximity message, n for follow-up step n. */
  step: number;
}

/** One evaluation of one campaign for one event: the `decisions` row and, when sent, the order. */
export interface Decision {
  tsMs: number;
  eventTsMs: number;
  sid: string;
  campaignId: string;
  tenant: string;
  fenceId: string;
  storeId: string;
  trigger: DecisionTrigger;
  outcome: DecisionOutcome;
  reason: SuppressionReason | '';
  dwellMs: number;
  send: SendOrder | undefined;
}

/** A scheduled follow-up step as the scheduler keeps it. */
export interface FollowUpStep {
  id: string;
  sid: string;
  campaignId: string;
  tenant: string;
  fenceId: string;
  storeId: string;
  /** 1-based index into the campaign's followUps. */
  step: number;
  dueMs: number;
  /** Idempotency key of the proximity message the chain started from. */
  originKey: string;
}

export type FollowUpOutcome =
  | { action: 'send'; decision: Decision }
  | { action: 'wait'; untilMs: number }
  | { action: 'cancel'; reason: string; decision?: Decision };

export interface EngineDeps {
  /** Audience check (segments stage). */
  inSegment(segmentId: string, sid: string, nowMs: number): boolean;
  consent: {
    check(sid: string, tenant: string, nowMs: number): ConsentVerdict;
    /** A number standing for sid (−1 for none): the counters key histories by it (see ConsentEngine). */
    entryOf?(sid: string): number;
    /** Told when sid gives its number up: the counters then keep its history by sid. */
    onEntryReleased?(listener: (entry: number, sid: string) => void): void;
  };
  /** Encoding and parts of a rendered text (delivery's measureSms). */
  measure(text: string): { parts: number; encoding: string };
  /** The subscriber's `language` attribute, for template variants. */
  languageOf?(sid: string): string | undefined;
  promoCodes: PromoCodes;
}

export interface DecisionEngine {
  /** Replaces the campaign set (all statuses; only active ones decide) against the current fences. */
  setCampaigns(campaigns: readonly Campaign[], fences: Iterable<FenceInfo>): void;
  setPolicy(policy: Policy): void;
  readonly policy: Policy;
  /** Decides one presence event; appends one Decision per evaluated campaign to `out`, returns how many. */
  decide(event: PresenceEvent, nowMs: number, out: Decision[]): number;
  /** Decides a due follow-up step. */
  decideFollowUp(step: FollowUpStep, nowMs: number): FollowUpOutcome;
  /**
   * Re-applies a recorded decision to the subscriber counters and today's budget (start-up rebuild
   * from the decisions table, in time order). Lifetime budget totals come from `restoreSpent`.
   */
  replay(row: {
    tsMs: number;
    sid: string;
    campaignId: string;
    tenant: string;
    outcome: string;
    parts: number;
  }): void;
  /** Sets a campaign's lifetime spend (sum of parts and count of sends over all its decisions). */
  restoreSpent(campaignId: string, tenant: string, parts: number, sent: number): void;
  /** The campaign that last sent to sid (reply attribution for brand declines). */
  lastSent(sid: string): CompiledCampaign | undefined;
  campaign(id: string): CompiledCampaign | undefined;
  /** Active campaigns whose total budget cannot pay for another message, or whose end has passed. */
  finished(nowMs: number): { id: string; reason: 'budget_spent' | 'end_date' }[];
  /**
   * Measures every campaign × fence × template variant now, so the first events after a reload do not
   * pay for it (the SMS measure is slow next to a decision). Returns how many messages were measured.
   */
  warmMeasures(): number;
  /** Campaigns on a fence (active or not), for tests and previews. */
  campaignsOn(fenceId: string): readonly CompiledCampaign[];
  readonly counters: Counters;
}

interface FenceRuntime {
  info: FenceInfo;
  zone: ZoneOffsets;
  campaigns: CompiledCampaign[];
}

/**
 * The decision engine: pure and synchronous, `now` passed in, no I/O. State it keeps (counters,
 * budgets, promo codes) changes only through decide/replay, so a replay of the decisions table
 * rebuilds it after a restart.
 */
export function createDecisionEngine(deps: EngineDeps): DecisionEngine {
  const zoneOf = createZoneCache();
  const counters = createCounters();
  deps.consent.onEntryReleased?.((entry, sid) => counters.release(entry, sid));
  const keys = new Map<string, number>();
  const byKey: CompiledCampaign[] = [];
  let byId = new Map<string, CompiledCampaign>();
  let byFence = new Map<string, FenceRuntime>();
  // The per-event path reads a compact copy of the same snapshot (see `packSnapshot`): fence number by
  // id, then typed arrays, so the campaign filter touches a few dense arrays rather than a FenceRuntime,
  // its campaign list and each campaign object, which the subscribers' state keeps evicting from cache.
  let hot = packSnapshot([]);
  let measuresById = new Map<string, { textKey: string; cache: CompiledCampaign['measureCache'] }>();
  let policy: Policy = DEFAULT_POLICY;
  let quietMask: WeekMask | undefined;
  let blocklist = new Set<string>();
  const candidates: { c: CompiledCampaign; ci: number; d: Decision; at: number; lang: string | undefined }[] =
    [];

  const keyOf = (id: string): number => {
    let k = keys.get(id);
    if (k === undefined) {
      k = keys.size;
      keys.set(id, k);
    }
    return k;
  };

  const applyPolicy = (p: Policy) => {
    policy = p;
    quietMask = p.quietHours
      ? buildWeekMask(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], [p.quietHours])
      : undefined;
    blocklist = new Set(p.blocklist);
    hot.quietMinute.fill(Number.NaN);
    let retention = WEEK_MS + DAY_MS;
    for (const c of byId.values()) retention = Math.max(retention, c.capPeriodMs, c.cooldownMs);
    counters.setRetention(retention);
  };

  const templateFor = (c: CompiledCampaign, step: number, lang: string | undefined): CompiledTemplate => {
    if (step === 0) return (lang !== undefined && c.variants.get(lang)) || c.template;
    const f = c.followUps[step - 1];
    return (lang !== undefined && f.variants.get(lang)) || f.template;
  };

  const valuesFor = (c: CompiledCampaign, f: FenceInfo, promo: string) => ({
    store_name: f.name,
    store_address: f.address,
    store_id: f.storeId,
    promo_code: promo,
    campaign_name: c.name,
  });

  // Parts and encoding of a campaign's message at a fence in a language. Every promo code has the
  // same length and only GSM-7 letters, so measuring with a stand-in gives the real message's figures.
  const measureFor = (
    c: CompiledCampaign,
    f: FenceInfo,
    step: number,
    lang: string | undefined,
  ): { parts: number; encoding: string } => {
    const variants = step === 0 ? c.variants : c.followUps[step - 1].variants;
    const langKey = lang !== undefined && variants.has(lang) ? lang : '';
    let byFence = c.measureByFence.get(f);
    if (byFence === undefined) {
      byFence = new Map();
      c.measureByFence.set(f, byFence);
    }
    const fastKey = step === 0 ? langKey : `${langKey}\u0000${step}`;
    let m = byFence.get(fastKey);
    if (m !== undefined) return m;
    const cacheKey = `${f.id}\u0000${f.name}\u0000${f.address}\u0000${f.storeId}\u0000${langKey}\u0000${step}`;
    m = c.measureCache.get(cacheKey);
    if (m === undefined) {
      const t = templateFor(c, step, lang);
      const r = deps.measure(renderTemplate(t, valuesFor(c, f, 'A'.repeat(deps.promoCodes.length))));
      m = { parts: r.parts, encoding: r.encoding };
      c.measureCache.set(cacheKey, m);
    }
    byFence.set(fastKey, m);
    return m;
  };
  const partsFor = (c: CompiledCampaign, f: FenceInfo, step: number, lang: string | undefined): number =>
    measureFor(c, f, step, lang).parts;

  // Where the proximity message of fence × campaign entry k of the snapshot, in the subscriber's
  // language, keeps its measure: h.parts[at] (−1 until measured) and h.measured[at] (measureFor's object).
  const measureAt = (
    h: HotSnapshot,
    k: number,
    ci: number,
    c: CompiledCampaign,
    f: FenceInfo,
    lang: string | undefined,
  ): number => {
    // 0 = the default template (no language, or one without a variant), j + 1 = variant j
    let v = 0;
    if (lang !== undefined) {
      const langs = h.variantLangs[ci];
      for (let j = 0; j < langs.length; j++) {
        if (langs[j] === lang) {
          v = j + 1;
          break;
        }
      }
    }
    const at = k * h.partsStride + v;
    if (h.parts[at] < 0) {
      const m = measureFor(c, f, 0, lang);
      h.parts[at] = m.parts;
      // equal measures share one object (a handful in all), which stays in cache for the send order
      const shared = `${m.parts}\u0000${m.encoding}`;
      let one = h.sharedMeasures.get(shared);
      if (one === undefined) {
        one = { parts: m.parts, encoding: m.encoding };
        h.sharedMeasures.set(shared, one);
      }
      h.measured[at] = one;
    }
    return at;
  };

  // A campaign's budget state: counters keep one object per campaign id for their whole life.
  const budgetOf = (h: HotSnapshot, ci: number): BudgetState => {
    let b = h.budget[ci];
    if (b === undefined) {
      b = counters.budget(h.campaignId[ci]);
      h.budget[ci] = b;
    }
    return b;
  };

  const entryOf = (sid: string): number =>
    deps.consent.entryOf === undefined ? -1 : deps.consent.entryOf(sid);

  // Entries of the history block at `off` (−1: none) newer than sinceMs: sends (campKey −1) or the
  // campaign's sends and holdouts.
  const countSince = (pool: Float64Array, off: number, sinceMs: number, campKey: number): number => {
    if (off < 0) return 0;
    let n = 0;
    for (let i = historyLength(pool, off) - 1; i >= 0; i--) {
      if (entryTime(pool, off, i) <= sinceMs) break;
      if (campKey < 0 ? entryKind(pool, off, i) === 1 : entryCampaign(pool, off, i) === campKey) n++;
    }
    return n;
  };

  const lastOf = (pool: Float64Array, off: number, campKey: number): number => {
    if (off < 0) return Number.NEGATIVE_INFINITY;
    for (let i = historyLength(pool, off) - 1; i >= 0; i--) {
      if (campKey < 0 ? entryKind(pool, off, i) === 1 : entryCampaign(pool, off, i) === campKey)
        return entryTime(pool, off, i);
    }
    return Number.NEGATIVE_INFINITY;
  };

  // The global caps' first violated rule, or ''.
  const globalCap = (pool: Float64Array, off: number, nowMs: number): SuppressionReason | '' => {
    if (countSince(pool, off, nowMs - DAY_MS, -1) >= policy.maxPerDay) return 'cap_daily';
    if (countSince(pool, off, nowMs - WEEK_MS, -1) >= policy.maxPerWeek) return 'cap_weekly';
    if (nowMs - lastOf(pool, off, -1) < policy.minIntervalMinutes * MINUTE_MS) return 'min_interval';
    return '';
  };

  const budgetCheck = (
    c: CompiledCampaign,
    parts: number,
    nowMs: number,
    b: BudgetState = counters.budget(c.id),
  ): SuppressionReason | '' => {
    if (b.spentTotal + parts > c.budgetTotal) return 'budget_total';
    const day = localDayOf(c.zone, nowMs);
    const spentToday = b.day === day ? b.spentDay : 0;
    if (spentToday + parts > c.budgetDaily) return 'budget_daily';
    return '';
  };

  const spend = (
    c: CompiledCampaign,
    parts: number,
    nowMs: number,
    b: BudgetState = counters.budget(c.id),
  ) => {
    const day = localDayOf(c.zone, nowMs);
    if (b.day !== day) {
      b.day = day;
      b.spentDay = 0;
    }
    b.spentTotal += parts;
    b.spentDay += parts;
    b.sent++;
    counters.addTenantSent(c.tenant);
  };

  const idLow = new Uint32Array(1);
  const makeOrder = (
    c: CompiledCampaign,
    f: FenceInfo,
    sid: string,
    key: string,
    step: number,
    lang: string | undefined,
    nowMs: number,
    measured?: { parts: number; encoding: string },
  ): SendOrder => {
    const t = templateFor(c, step, lang);
    const promo = t.usesPromo ? deps.promoCodes.issue(key, sid, c.id, c.tenant, f.storeId, nowMs) : '';
    const text = renderTemplate(t, valuesFor(c, f, promo));
    const m = measured ?? measureFor(c, f, step, lang);
    const idHigh = fnv1aPair(key, 0x2545f491, 0x9e3779b9, idLow);
    return {
      idempotencyKey: key,
      messageId: `m${idHigh.toString(36).padStart(7, '0')}${idLow[0].toString(36).padStart(7, '0')}`,
      sid,
      campaignId: c.id,
      tenant: c.tenant,
      fenceId: f.id,
      storeId: f.storeId,
      senderId: c.senderId,
      text,
      parts: m.parts,
      encoding: m.encoding,
      promoCode: promo,
      validityMinutes: c.validityMinutes,
      step,
    };
  };

  const KIND = { enter: 0, dwell: 1, exit: 2 } as const;

  const decide = (event: PresenceEvent, nowMs: number, out: Decision[]): number => {
    const h = hot;
    const fi = fenceNumber(h, event.fenceId);
    if (fi < 0) return 0;
    // compared, not looked up: the event's kind string is a fresh copy (postMessage), and a keyed load
    // with it would hash and internalise it on every event
    const ek = event.kind;
    const kind = ek === 'enter' ? KIND.enter : ek === 'dwell' ? KIND.dwell : ek === 'exit' ? KIND.exit : -2;
    const sid = event.sid;
    const stale = nowMs - event.tsMs > policy.maxEventAgeSec * 1000;
    // Quiet hours depend on the fence's zone, not the campaign: one cached answer per zone and minute.
    const minute = Math.floor(nowMs / MINUTE_MS);
    let quiet = false;
    if (quietMask !== undefined) {
      const z = h.fenceZoneNo[fi];
      if (h.quietMinute[z] !== minute) {
        const zone = h.zones[z];
        h.quietIn[z] = inMask(quietMask, zone, nowMs) ? 1 : 0;
        h.quietMinute[z] = sameAllMinute(zone, nowMs) ? minute : Number.NaN;
      }
      quiet = h.quietIn[z] === 1;
    }
    const fenceId = h.fenceId[fi];
    const storeId = h.storeId[fi];
    const dwellMs = event.dwellMs;
    // The subscriber's consent entry and history block, read once the first campaign gets that far.
    let entry = -1;
    let history = -1;
    let pool = counters.pool;
    let historyRead = false;
    let lang: string | undefined;
    let langRead = false;
    let produced = 0;
    // Empty unless a previous call threw half-way (setting length is a runtime call, not free).
    if (candidates.length !== 0) candidates.length = 0;
    for (let k = h.listStart[fi], end = h.listStart[fi + 1]; k < end; k++) {
      const ci = h.list[k];
      // kindOf is −1 for an inactive campaign
      if (h.kindOf[ci] !== kind || nowMs < h.startMs[ci] || nowMs >= h.endMs[ci]) continue;
      if (dwellMs < h.minDwellMs[ci]) continue;
      let reason: SuppressionReason | '' = '';
      let at = -1;
      if (stale) reason = 'stale_event';
      else if (!inSchedule(h, h.windowOf[ci], nowMs, minute)) reason = 'outside_schedule';
      else if (quiet) reason = 'quiet_hours';
      else if (!deps.inSegment(h.segmentId[ci], sid, nowMs)) reason = 'not_in_segment';
      else {
        const c = h.campaigns[ci];
        reason = deps.consent.check(sid, c.tenant, nowMs);
        if (reason === '' && blocklist.size !== 0 && blocklist.has(sid)) reason = 'blocklisted';
        if (reason === '') {
          if (!historyRead) {
            entry = entryOf(sid);
            history = counters.historyOf(sid, entry);
            pool = counters.pool;
            historyRead = true;
          }
          if (countSince(pool, history, nowMs - c.capPeriodMs, c.key) >= c.capCount) reason = 'cap_campaign';
          else if (nowMs - lastOf(pool, history, c.key) < c.cooldownMs) reason = 'cooldown';
          else reason = globalCap(pool, history, nowMs);
          if (reason === '') {
            if (!langRead) {
              lang = deps.languageOf?.(sid);
              langRead = true;
            }
            at = measureAt(h, k, ci, c, h.fenceInfo[fi], lang);
            reason = budgetCheck(c, h.parts[at], nowMs, budgetOf(h, ci));
          }
        }
      }
      const d: Decision = {
        tsMs: nowMs,
        eventTsMs: event.tsMs,
        sid,
        campaignId: h.campaignId[ci],
        tenant: h.tenant[ci],
        fenceId,
        storeId,
        trigger: event.kind,
        outcome: 'suppressed',
        reason,
        dwellMs,
        send: undefined,
      };
      out.push(d);
      produced++;
      if (reason !== '') continue;
      const c = h.campaigns[ci];
      if (c.holdoutBelow > 0 && fnv1a(sid, c.holdoutSeed) < c.holdoutBelow) {
        d.outcome = 'holdout';
        counters.record(sid, entry, c.key, 2, nowMs);
        // the block may have moved: the next campaign of this event reads it again
        historyRead = false;
        continue;
      }
      candidates.push({ c, ci, d, at, lang });
    }
    if (candidates.length === 0) return produced;
    // Arbitration: highest priority; then the retailer with fewer sends; then the campaign with fewer.
    let best = candidates[0];
    for (let i = 1; i < candidates.length; i++) {
      const x = candidates[i];
      if (x.c.priority !== best.c.priority) {
        if (x.c.priority > best.c.priority) best = x;
        continue;
      }
      const tx = counters.tenantSent(x.c.tenant);
      const tb = counters.tenantSent(best.c.tenant);
      if (tx !== tb) {
        if (tx < tb) best = x;
        continue;
      }
      const cx = budgetOf(h, x.ci).sent;
      const cb = budgetOf(h, best.ci).sent;
      if (cx < cb || (cx === cb && x.c.key < best.c.key)) best = x;
    }
    for (const x of candidates) {
      if (x !== best) x.d.reason = 'arbitration_lost';
    }
    const { c, ci, d, at } = best;
    const key = `${sid}|${c.id}|${event.kind}|${event.tsMs}`;
    d.outcome = 'sent';
    d.send = makeOrder(c, h.fenceInfo[fi], sid, key, 0, best.lang, nowMs, h.measured[at]);
    counters.record(sid, entry, c.key, 1, nowMs);
    spend(c, d.send.parts, nowMs, budgetOf(h, ci));
    candidates.length = 0;
    return produced;
  };

  const decideFollowUp = (step: FollowUpStep, nowMs: number): FollowUpOutcome => {
    const c = byId.get(step.campaignId);
    const fr = byFence.get(step.fenceId);
    if (!c || !fr || c.campaign.status === 'finished' || nowMs >= c.endMs || step.step > c.followUps.length) {
      return { action: 'cancel', reason: 'campaign_ended' };
    }
    // A paused campaign's follow-ups wait for it to resume (or end).
    if (!c.active) return { action: 'wait', untilMs: Math.min(c.endMs, nowMs + 60 * MINUTE_MS) };
    const row = (reason: SuppressionReason | '', outcome: DecisionOutcome): Decision => ({
      tsMs: nowMs,
      eventTsMs: step.dueMs,
      sid: step.sid,
      campaignId: c.id,
      tenant: c.tenant,
      fenceId: fr.info.id,
      storeId: fr.info.storeId,
      trigger: 'followup',
      outcome,
      reason,
      dwellMs: 0,
      send: undefined,
    });
    const verdict = deps.consent.check(step.sid, c.tenant, nowMs);
    if (verdict !== '') return { action: 'cancel', reason: verdict, decision: row(verdict, 'suppressed') };
    if (blocklist.has(step.sid))
      return { action: 'cancel', reason: 'blocklisted', decision: row('blocklisted', 'suppressed') };
    const allowed = (t: number) =>
      inMask(c.mask, c.zone, t) && (quietMask === undefined || !inMask(quietMask, fr.zone, t));
    if (!allowed(nowMs)) {
      const next = nextAllowed(nowMs, c.endMs, allowed);
      if (next === undefined) return { action: 'cancel', reason: 'campaign_ended' };
      return { action: 'wait', untilMs: next };
    }
    const entry = entryOf(step.sid);
    const h = counters.historyOf(step.sid, entry);
    const pool = counters.pool;
    const cap = globalCap(pool, h, nowMs);
    if (cap !== '') {
      // Wait until the cap frees up (checked again then), rather than dropping the reminder.
      const untilMs =
        cap === 'min_interval'
          ? lastOf(pool, h, -1) + policy.minIntervalMinutes * MINUTE_MS
          : nowMs + (cap === 'cap_daily' ? 60 : 6 * 60) * MINUTE_MS;
      if (untilMs >= c.endMs) return { action: 'cancel', reason: cap, decision: row(cap, 'suppressed') };
      return { action: 'wait', untilMs: Math.max(untilMs, nowMs + MINUTE_MS) };
    }
    const lang = deps.languageOf?.(step.sid);
    const parts = partsFor(c, fr.info, step.step, lang);
    const budget = budgetCheck(c, parts, nowMs);
    if (budget !== '') return { action: 'cancel', reason: budget, decision: row(budget, 'suppressed') };
    const d = row('', 'sent');
    d.send = makeOrder(
      c,
      fr.info,
      step.sid,
      `${step.originKey}|followup-${step.step}`,
      step.step,
      lang,
      nowMs,
    );
    counters.record(step.sid, entry, c.key, 1, nowMs);
    spend(c, d.send.parts, nowMs);
    return { action: 'send', decision: d };
  };

  const engine: DecisionEngine = {
    setCampaigns(campaigns, fences) {
      // Only fences some campaign covers get a runtime entry (an event elsewhere decides nothing), and
      // a campaign only looks at its own tenant's fences: 100k fences × 500 campaigns stays cheap.
      const byTenant = new Map<string, FenceInfo[]>();
      for (const f of fences) {
        const list = byTenant.get(f.tenant);
        if (list) list.push(f);
        else byTenant.set(f.tenant, [f]);
      }
      const nextByFence = new Map<string, FenceRuntime>();
      const nextById = new Map<string, CompiledCampaign>();
      const nextMeasures = new Map<string, { textKey: string; cache: CompiledCampaign['measureCache'] }>();
      for (const campaign of campaigns) {
        const covered = resolveFenceInfos(campaign, byTenant.get(campaign.tenant) ?? []);
        const key = keyOf(campaign.id);
        const c = compileCampaign(
          campaign,
          key,
          covered.map((f) => f.id),
          zoneOf,
          (t) => fnv1a(t),
        );
        // Unchanged texts keep their measures (a reload after an edit re-measures only what changed).
        const textKey = JSON.stringify([campaign.name, campaign.message, campaign.followUps]);
        const prior = measuresById.get(c.id);
        if (prior && prior.textKey === textKey) c.measureCache = prior.cache;
        nextMeasures.set(c.id, { textKey, cache: c.measureCache });
        nextById.set(c.id, c);
        byKey[key] = c;
        for (const f of covered) {
          let fr = nextByFence.get(f.id);
          if (!fr) {
            fr = { info: f, zone: zoneOf(f.timeZone), campaigns: [] };
            nextByFence.set(f.id, fr);
          }
          fr.campaigns.push(c);
        }
      }
      for (const fr of nextByFence.values())
        fr.campaigns.sort((a, b) => b.priority - a.priority || a.key - b.key);
      byId = nextById;
      byFence = nextByFence;
      hot = packSnapshot(nextByFence.values());
      measuresById = nextMeasures;
      applyPolicy(policy);
    },
    setPolicy: applyPolicy,
    get policy() {
      return policy;
    },
    decide,
    decideFollowUp,
    replay(row) {
      if (row.outcome !== 'sent' && row.outcome !== 'holdout') return;
      const key = keyOf(row.campaignId);
      counters.record(row.sid, entryOf(row.sid), key, row.outcome === 'sent' ? 1 : 2, row.tsMs);
      if (row.outcome !== 'sent') return;
      const c = byId.get(row.campaignId);
      const b = counters.budget(row.campaignId);
      const day = c ? localDayOf(c.zone, row.tsMs) : Math.floor(row.tsMs / DAY_MS);
      if (day > b.day) {
        b.day = day;
        b.spentDay = 0;
      }
      if (day === b.day) b.spentDay += row.parts;
    },
    restoreSpent(campaignId, tenant, parts, sent) {
      const b = counters.budget(campaignId);
      b.spentTotal = parts;
      b.sent = sent;
      for (let i = 0; i < sent; i++) counters.addTenantSent(tenant);
    },
    lastSent(sid) {
      const h = counters.historyOf(sid, entryOf(sid));
      if (h < 0) return undefined;
      const pool = counters.pool;
      for (let i = historyLength(pool, h) - 1; i >= 0; i--)
        if (entryKind(pool, h, i) === 1) return byKey[entryCampaign(pool, h, i)];
      return undefined;
    },
    campaign: (id) => byId.get(id),
    finished(nowMs) {
      const out: { id: string; reason: 'budget_spent' | 'end_date' }[] = [];
      for (const c of byId.values()) {
        if (c.campaign.status !== 'active' && c.campaign.status !== 'paused') continue;
        if (nowMs >= c.endMs) out.push({ id: c.id, reason: 'end_date' });
        else if (counters.budget(c.id).spentTotal + 1 > c.budgetTotal)
          out.push({ id: c.id, reason: 'budget_spent' });
      }
      return out;
    },
    warmMeasures() {
      let n = 0;
      for (const fr of byFence.values()) {
        for (const c of fr.campaigns) {
          for (let step = 0; step <= c.followUps.length; step++) {
            const variants = step === 0 ? c.variants : c.followUps[step - 1].variants;
            for (const lang of [undefined, ...variants.keys()]) {
              measureFor(c, fr.info, step, lang);
              n++;
            }
          }
        }
      }
      return n;
    },
    campaignsOn: (fenceId) => byFence.get(fenceId)?.campaigns ?? [],
    counters,
  };
  return engine;
}

/** The per-event path's view of a campaign snapshot: fences by number, campaigns by number. */
interface HotSnapshot {
  /** Open addressing over the fence ids' hashes: fence number + 1, 0 = empty (32 KB for 4 k fences, not a 200 KB Map). */
  fenceTable: Int32Array;
  fenceId: string[];
  storeId: string[];
  fenceInfo: FenceInfo[];
  /** Campaign numbers of fence f (arbitration order): list[listStart[f] .. listStart[f + 1]). */
  listStart: Int32Array;
  list: Int32Array;
  campaigns: CompiledCampaign[];
  campaignId: string[];
  tenant: string[];
  segmentId: string[];
  /** Trigger kind, or −1 when the campaign is not active. */
  kindOf: Int8Array;
  startMs: Float64Array;
  endMs: Float64Array;
  minDwellMs: Float64Array;
  /**
   * Schedule windows: campaigns with the same days, hours and zone share window w = windowOf[ci]
   * (mask windowMask[w] read in zones[windowZone[w]]), and its answer for the UTC minute
   * windowMinute[w] is kept in windowIn[w] (NaN: none): a minute's events ask the bitmap once.
   */
  windowOf: Int32Array;
  windowMask: WeekMask[];
  windowZone: Int32Array;
  windowMinute: Float64Array;
  windowIn: Uint8Array;
  /** Distinct zones of fences and campaigns; fenceZoneNo[f] indexes it. */
  zones: ZoneOffsets[];
  fenceZoneNo: Int32Array;
  /** The policy's quiet-hours answer per zone for the UTC minute quietMinute[z] (NaN: none). */
  quietMinute: Float64Array;
  quietIn: Uint8Array;
  /** Languages of each campaign's template variants. */
  variantLangs: string[][];
  /** Parts of list entry k's message: parts[k · partsStride + variant] (0 default, j + 1 variant j); −1 until measured. */
  parts: Int32Array;
  partsStride: number;
  /** The measure behind parts[at] (encoding for the send order), one object per distinct measure. */
  measured: ({ parts: number; encoding: string } | undefined)[];
  sharedMeasures: Map<string, { parts: number; encoding: string }>;
  /** Budget state by campaign number (the counters' object, fetched on first use). */
  budget: (BudgetState | undefined)[];
}

function packSnapshot(fences: Iterable<FenceRuntime>): HotSnapshot {
  const frs = [...fences];
  const number = new Map<CompiledCampaign, number>();
  const campaigns: CompiledCampaign[] = [];
  let entries = 0;
  for (const fr of frs) {
    entries += fr.campaigns.length;
    for (const c of fr.campaigns) {
      if (number.has(c)) continue;
      number.set(c, campaigns.length);
      campaigns.push(c);
    }
  }
  // Campaigns with the same days and hours share one mask (one 1.3 KB bitmap in cache, not one each).
  const masks = new Map<string, WeekMask>();
  const maskOf = (m: WeekMask): WeekMask => {
    const key = m.full ? 'full' : m.bits.join(',');
    const known = masks.get(key);
    if (known !== undefined) return known;
    masks.set(key, m);
    return m;
  };
  const zones: ZoneOffsets[] = [];
  const zoneNo = (z: ZoneOffsets): number => {
    let i = zones.indexOf(z);
    if (i < 0) i = zones.push(z) - 1;
    return i;
  };
  const windows = new Map<string, number>();
  const windowMask: WeekMask[] = [];
  const windowZone: number[] = [];
  const windowOf = Int32Array.from(campaigns, (c) => {
    const m = maskOf(c.mask);
    const z = zoneNo(c.zone);
    const key = `${m.full ? 'full' : m.bits.join(',')}|${z}`;
    let w = windows.get(key);
    if (w === undefined) {
      w = windowMask.length;
      windows.set(key, w);
      windowMask.push(m);
      windowZone.push(z);
    }
    return w;
  });
  const fenceZoneNo = Int32Array.from(frs, (fr) => zoneNo(fr.zone));
  const variantLangs = campaigns.map((c) => [...c.variants.keys()]);
  const partsStride = 1 + variantLangs.reduce((most, langs) => Math.max(most, langs.length), 0);
  const hot: HotSnapshot = {
    fenceTable: new Int32Array(tableSize(frs.length)),
    fenceId: [],
    storeId: [],
    fenceInfo: [],
    listStart: new Int32Array(frs.length + 1),
    list: new Int32Array(entries),
    campaigns,
    campaignId: campaigns.map((c) => c.id),
    tenant: campaigns.map((c) => c.tenant),
    segmentId: campaigns.map((c) => c.segmentId),
    kindOf: Int8Array.from(campaigns, (c) => (c.active ? c.triggerKind : -1)),
    startMs: Float64Array.from(campaigns, (c) => c.startMs),
    endMs: Float64Array.from(campaigns, (c) => c.endMs),
    minDwellMs: Float64Array.from(campaigns, (c) => c.minDwellMs),
    windowOf,
    windowMask,
    windowZone: Int32Array.from(windowZone),
    windowMinute: new Float64Array(windowMask.length).fill(Number.NaN),
    windowIn: new Uint8Array(windowMask.length),
    zones,
    fenceZoneNo,
    quietMinute: new Float64Array(zones.length).fill(Number.NaN),
    quietIn: new Uint8Array(zones.length),
    variantLangs,
    parts: new Int32Array(entries * partsStride).fill(-1),
    partsStride,
    measured: new Array(entries * partsStride).fill(undefined),
    sharedMeasures: new Map(),
    budget: new Array(campaigns.length).fill(undefined),
  };
  let k = 0;
  frs.forEach((fr, f) => {
    let i = hashId(fr.info.id) & (hot.fenceTable.length - 1);
    while (hot.fenceTable[i] !== 0) i = (i + 1) & (hot.fenceTable.length - 1);
    hot.fenceTable[i] = f + 1;
    hot.fenceId.push(fr.info.id);
    hot.storeId.push(fr.info.storeId);
    hot.fenceInfo.push(fr.info);
    hot.listStart[f] = k;
    for (const c of fr.campaigns) hot.list[k++] = number.get(c)!;
  });
  hot.listStart[frs.length] = k;
  return hot;
}

/**
 * True when `zone`'s offset at tMs is a whole number of minutes: then the local minute, and so any
 * week-mask answer, is the same for the whole UTC minute (offset tables change only at whole UTC
 * minutes). Only pre-1900 local mean times fail it; their answers are not cached.
 */
function sameAllMinute(zone: ZoneOffsets, tMs: number): boolean {
  return zone.offsetMs(tMs) % MINUTE_MS === 0;
}

/** Whether window w of the snapshot is open at nowMs (in UTC minute `minute`), cached per minute. */
function inSchedule(h: HotSnapshot, w: number, nowMs: number, minute: number): boolean {
  if (h.windowMinute[w] !== minute) {
    const zone = h.zones[h.windowZone[w]];
    h.windowIn[w] = inMask(h.windowMask[w], zone, nowMs) ? 1 : 0;
    h.windowMinute[w] = sameAllMinute(zone, nowMs) ? minute : Number.NaN;
  }
  return h.windowIn[w] === 1;
}

const tableSize = (n: number): number => {
  let size = 16;
  while (size < 2 * n) size *= 2;
  return size;
};

/** FNV-1a over a fence id's characters. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Number of the fence with this id in the snapshot, or −1. */
function fenceNumber(h: HotSnapshot, id: string): number {
  const table = h.fenceTable;
  const mask = table.length - 1;
  for (let i = hashId(id) & mask; ; i = (i + 1) & mask) {
    const v = table[i];
    if (v === 0) return -1;
    if (h.fenceId[v - 1] === id) return v - 1;
  }
}
