import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DateTime } from 'luxon';
import {
  type Campaign,
  createDecisionEngine,
  createPromoCodes,
  type Decision,
  type FenceInfo,
  type Policy,
  policySchema,
} from '../../../src/campaigns/index.ts';
import type { PresenceEvent } from '../../../src/presence/types.ts';
import { buildCampaign, buildConsent, measure, rng } from './builders.ts';

// The reference below re-derives every decision from first principles (luxon per minute, linear
// scans of the send ledger) and shares no code with the engine beyond the campaign schema.

const EVENTS = Number(process.env.PROPERTY_EVENTS ?? 1_000_000);
const SEED = Number(process.env.PROPERTY_SEED ?? Date.now() % 1_000_000);
const ZONES = [
  'Europe/Kyiv',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'UTC',
  'America/Santiago',
];
const TENANTS = ['acme', 'bolt', 'cafe', 'dino'];
const SEGMENTS = ['all', 'young', 'lapsed'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

interface World {
  fences: FenceInfo[];
  campaigns: Campaign[];
  policy: Policy;
  sids: string[];
  segment: Map<string, Uint8Array>;
  lang: string[];
  t0: number;
}

function generate(r: () => number): World {
  const fences: FenceInfo[] = [];
  for (let i = 0; i < 16; i++) {
    fences.push({
      id: `f${i}`,
      tenant: TENANTS[i % TENANTS.length],
      name: pick(r, ['Central', 'Mall Plaza', 'Вокзальна', 'Harbour St']),
      storeId: `s${i}`,
      address: `${i} Main St`,
      tags: [pick(r, ['city', 'mall', 'airport'])],
      timeZone: pick(r, ZONES),
    });
  }
  // The clock starts a few weeks before a DST change (northern and southern ones alike).
  const t0 = Date.UTC(2026, pick(r, [1, 2, 8, 9]), 1 + Math.floor(r() * 28), Math.floor(r() * 24));
  const campaigns: Campaign[] = [];
  for (let i = 0; i < 40; i++) {
    const tenant = TENANTS[Math.floor(r() * TENANTS.length)];
    const own = fences.filter((f) => f.tenant === tenant);
    const kind = pick(r, ['enter', 'enter', 'dwell', 'exit'] as const);
    const from = Math.floor(r() * 24) * 60 + pick(r, [0, 30]);
    const len = 60 * (1 + Math.floor(r() * 20));
    const days = DAYS.filter(() => r() < 0.75);
    const start = t0 + Math.floor((r() - 0.3) * 20 * DAY);
    campaigns.push(
      buildCampaign({
        id: `c${i}`,
        tenant,
        status: r() < 0.9 ? 'active' : 'paused',
        name: `Campaign ${i}`,
        fences:
          r() < 0.6
            ? {
                ids: own
                  .filter(() => r() < 0.6)
                  .map((f) => f.id)
                  .concat(['f0']),
              }
            : { tags: [pick(r, ['city', 'mall', 'airport'])] },
        segmentId: pick(r, SEGMENTS),
        trigger: kind === 'enter' ? { kind } : { kind, minMinutes: 1 + Math.floor(r() * 20) },
        message: {
          senderId: 'SHOP',
          template: pick(r, [
            '{store_name}: 10% off with {promo_code}',
            'Привіт! Знижка 15% у {store_name}, код {promo_code}',
            `Long offer ${'x'.repeat(150)} {promo_code} at {store_address}`,
          ]),
          variants: r() < 0.5 ? { uk: 'Знижка у {store_name}: {promo_code}' } : {},
        },
        schedule: {
          start: new Date(start).toISOString(),
          end: new Date(start + Math.floor((5 + r() * 60) * DAY)).toISOString(),
          timeZone: pick(r, ZONES),
          days: days.length ? days : ['mon'],
          hours: [{ from: hhmm(from), to: hhmm((from + len) % 1440) }],
        },
        caps: {
          maxPerPeriod: 1 + Math.floor(r() * 3),
          periodHours: 1 + Math.floor(r() * 72),
          cooldownHours: pick(r, [0, 0.5, 2, 12]),
        },
        budget: {
          // Small enough that some campaign runs out in every world: a world where no budget is
          // ever reached proves nothing about budgets (seed 141123 drew only large ones).
          totalParts: r() < 0.5 ? 2 + Math.floor(r() * 200) : undefined,
          dailyParts: r() < 0.5 ? 1 + Math.floor(r() * 20) : undefined,
        },
        holdoutShare: pick(r, [0, 0, 0.2]),
        priority: Math.floor(r() * 3),
      }),
    );
  }
  const policy = policySchema.parse({
    quietHours:
      r() < 0.9 ? { from: hhmm(Math.floor(r() * 24) * 60), to: hhmm(Math.floor(r() * 24) * 60 + 30) } : null,
    maxPerDay: 1 + Math.floor(r() * 3),
    maxPerWeek: 2 + Math.floor(r() * 5),
    minIntervalMinutes: pick(r, [0, 15, 60, 240]),
    maxEventAgeSec: 300,
  });
  const sids = Array.from({ length: 1500 }, (_, i) => `sub-${i}`);
  policy.blocklist = sids.filter(() => r() < 0.02);
  const segment = new Map<string, Uint8Array>();
  for (const s of SEGMENTS)
    segment.set(
      s,
      Uint8Array.from(sids, () => (s === 'all' || r() < 0.6 ? 1 : 0)),
    );
  const lang = sids.map(() => pick(r, ['uk', 'en', 'ru']));
  return { fences, campaigns, policy, sids, segment, lang, t0 };
}

/** Local wall-clock parts of an instant, straight from luxon (memoised per zone and minute). */
function makeLocal() {
  const cache = new Map<string, { weekday: number; minute: number; day: string }>();
  let cacheMinute = -1;
  return (zone: string, tMs: number) => {
    const minute = Math.floor(tMs / 60_000);
    if (minute !== cacheMinute) {
      cache.clear();
      cacheMinute = minute;
    }
    let v = cache.get(zone);
    if (!v) {
      const dt = DateTime.fromMillis(tMs, { zone });
      v = { weekday: dt.weekday - 1, minute: dt.hour * 60 + dt.minute, day: dt.toISODate()! };
      cache.set(zone, v);
    }
    return v;
  };
}

const toMin = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));

/** Reference: is local time inside "days × [from, to)" (to ≤ from wraps into the next day)? */
function inWindows(
  local: { weekday: number; minute: number },
  days: readonly string[],
  windows: { from: string; to: string }[],
) {
  const today = days.includes(DAYS[local.weekday]);
  const yesterday = days.includes(DAYS[(local.weekday + 6) % 7]);
  return windows.some((w) => {
    const from = toMin(w.from);
    const to = toMin(w.to);
    if (from < to) return today && local.minute >= from && local.minute < to;
    return (today && local.minute >= from) || (yesterday && local.minute < to);
  });
}

test(`no send violates consent, quiet hours, caps, budget or schedule over ${EVENTS} events, and every suppression has the right reason`, () => {
  const r = rng(SEED);
  const w = generate(r);
  const local = makeLocal();
  const nowStart = w.t0;
  const consent = buildConsent([], nowStart);
  // Reference consent state, changed in step with the engine's.
  const refConsent = new Map<string, 'in' | 'out'>();
  const refDecline = new Map<string, number>();
  for (const sid of w.sids) {
    const x = r();
    if (x < 0.8) {
      consent.optIn(sid, { source: 'test', evidence: 'gen' }, nowStart);
      refConsent.set(sid, 'in');
    } else if (x < 0.9) {
      consent.optOut(sid, { source: 'test', evidence: 'gen' }, nowStart);
      refConsent.set(sid, 'out');
    }
  }
  const sidIndex = new Map(w.sids.map((s, i) => [s, i]));
  const promo = createPromoCodes();
  const engine = createDecisionEngine({
    inSegment: (seg, sid) => w.segment.get(seg)![sidIndex.get(sid)!] === 1,
    consent,
    measure,
    languageOf: (sid) => w.lang[sidIndex.get(sid)!],
    promoCodes: promo,
  });
  engine.setPolicy(w.policy);
  engine.setCampaigns(w.campaigns, w.fences);

  // Reference ledger.
  const sends: { sid: string; c: string; ts: number; parts: number }[] = [];
  const bySid = new Map<string, { c: string; ts: number; holdout: boolean }[]>();
  const spent = new Map<string, number>();
  const spentDay = new Map<string, number>();
  const tenantSent = new Map<string, number>();
  const holdoutOf = new Map<string, boolean>();
  const codes = new Set<string>();
  const blocked = new Set(w.policy.blocklist);
  const bounds = w.campaigns.map((c) => [
    DateTime.fromISO(c.schedule.start, { zone: c.schedule.timeZone }).toMillis(),
    DateTime.fromISO(c.schedule.end, { zone: c.schedule.timeZone }).toMillis(),
  ]);
  const reasons = new Map<string, number>();
  let sentCount = 0;
  let holdouts = 0;
  let qualifiedPairs = 0;
  let now = nowStart;
  const out: Decision[] = [];

  const fail = (msg: string): never => assert.fail(`${msg} (seed ${SEED}; rerun with PROPERTY_SEED=${SEED})`);

  for (let n = 0; n < EVENTS; n++) {
    // Clocks: mostly small steps, sometimes hours, across DST changes.
    const step = r();
    now += step < 0.999 ? Math.floor(r() * 8_000) : Math.floor(r() * 10 * HOUR);
    // Consent changes while traffic flows.
    if (r() < 0.0005) {
      const sid = pick(r, w.sids);
      const x = r();
      if (x < 0.4) {
        consent.optOut(sid, { source: 'test', evidence: 'gen' }, now);
        refConsent.set(sid, 'out');
      } else if (x < 0.7) {
        consent.optIn(sid, { source: 'test', evidence: 'gen' }, now);
        refConsent.set(sid, 'in');
      } else {
        const tenant = pick(r, TENANTS);
        consent.declineBrand(sid, tenant, 'cX', 'no', now);
        refDecline.set(`${sid}|${tenant}`, now + 30 * DAY);
      }
    }
    const sid = w.sids[Math.floor(r() ** 2 * w.sids.length)];
    const fence = pick(r, w.fences);
    const kind = pick(r, ['enter', 'dwell', 'exit'] as const);
    const event: PresenceEvent = {
      kind,
      sid,
      fenceId: fence.id,
      tsMs: now - (r() < 0.02 ? 301_000 + Math.floor(r() * 1e6) : Math.floor(r() * 60_000)),
      dwellMs: kind === 'enter' ? 0 : Math.floor(r() * 25 * 60_000),
    };
    out.length = 0;
    engine.decide(event, now, out);

    // Which campaigns must have been evaluated.
    const expected = w.campaigns.filter((c, i) => {
      if (c.status !== 'active') return false;
      const onFence =
        c.tenant === fence.tenant &&
        (c.fences.ids.includes(fence.id) || fence.tags.some((t) => c.fences.tags.includes(t)));
      if (!onFence) return false;
      if (now < bounds[i][0] || now >= bounds[i][1]) return false;
      if (c.trigger.kind !== kind) return false;
      return c.trigger.kind === 'enter' || event.dwellMs >= c.trigger.minMinutes * 60_000;
    });
    if (expected.length !== out.length)
      fail(`event ${n}: evaluated ${out.length} campaigns, expected ${expected.length}`);
    const hist = bySid.get(sid) ?? [];
    const qualified: Decision[] = [];
    for (const c of expected) {
      const d = out.find((x) => x.campaignId === c.id) ?? fail(`event ${n}: campaign ${c.id} not evaluated`);
      const cl = local(c.schedule.timeZone, now);
      const fl = local(fence.timeZone, now);
      const lang = w.lang[sidIndex.get(sid)!];
      const tmpl = (c.message.variants[lang] ?? c.message.template)
        .replace('{store_name}', fence.name)
        .replace('{store_address}', fence.address)
        .replace('{promo_code}', 'XXXXXX');
      const parts = measure(tmpl).parts;
      const sendsOf = (since: number) => hist.filter((h) => !h.holdout && h.ts > since);
      const ofCampaign = hist.filter((h) => h.c === c.id);
      const declineUntil = refDecline.get(`${sid}|${c.tenant}`);
      let reason = '';
      if (now - event.tsMs > 300_000) reason = 'stale_event';
      else if (!inWindows(cl, c.schedule.days, c.schedule.hours)) reason = 'outside_schedule';
      else if (w.policy.quietHours && inWindows(fl, DAYS, [w.policy.quietHours])) reason = 'quiet_hours';
      else if (w.segment.get(c.segmentId)![sidIndex.get(sid)!] !== 1) reason = 'not_in_segment';
      else if (!refConsent.has(sid)) reason = 'no_consent';
      else if (refConsent.get(sid) === 'out') reason = 'opted_out';
      else if (declineUntil !== undefined && now < declineUntil) reason = 'brand_declined';
      else if (blocked.has(sid)) reason = 'blocklisted';
      else if (ofCampaign.filter((h) => h.ts > now - c.caps.periodHours * HOUR).length >= c.caps.maxPerPeriod)
        reason = 'cap_campaign';
      else if (ofCampaign.some((h) => now - h.ts < c.caps.cooldownHours * HOUR)) reason = 'cooldown';
      else if (sendsOf(now - DAY).length >= w.policy.maxPerDay) reason = 'cap_daily';
      else if (sendsOf(now - 7 * DAY).length >= w.policy.maxPerWeek) reason = 'cap_weekly';
      else if (hist.some((h) => !h.holdout && now - h.ts < w.policy.minIntervalMinutes * 60_000))
        reason = 'min_interval';
      else if ((spent.get(c.id) ?? 0) + parts > (c.budget.totalParts ?? Number.POSITIVE_INFINITY))
        reason = 'budget_total';
      else if (
        (spentDay.get(`${c.id}|${cl.day}`) ?? 0) + parts >
        (c.budget.dailyParts ?? Number.POSITIVE_INFINITY)
      )
        reason = 'budget_daily';
      if (reason !== '') {
        if (d.outcome !== 'suppressed' || d.reason !== reason) {
          fail(`event ${n} campaign ${c.id}: got ${d.outcome}/${d.reason}, expected suppressed/${reason}`);
        }
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        continue;
      }
      if (d.outcome === 'holdout') {
        const prior = holdoutOf.get(`${sid}|${c.id}`);
        if (prior === false) fail(`event ${n}: ${sid}/${c.id} was treated before, now holdout`);
        if (prior === undefined) qualifiedPairs++;
        holdoutOf.set(`${sid}|${c.id}`, true);
        if (c.holdoutShare === 0) fail(`event ${n}: holdout for a campaign without holdout share`);
        holdouts++;
        hist.push({ c: c.id, ts: now, holdout: true });
        continue;
      }
      const prior = holdoutOf.get(`${sid}|${c.id}`);
      if (prior === true) fail(`event ${n}: ${sid}/${c.id} was holdout before, now treated`);
      if (prior === undefined && c.holdoutShare > 0) qualifiedPairs++;
      if (c.holdoutShare > 0) holdoutOf.set(`${sid}|${c.id}`, false);
      qualified.push(d);
    }
    // Arbitration: exactly one of the qualified is sent: top priority, then the least-served retailer.
    const sent = out.filter((d) => d.outcome === 'sent');
    if (qualified.length === 0) {
      if (sent.length) fail(`event ${n}: a send with no qualifying campaign`);
    } else {
      if (sent.length !== 1)
        fail(`event ${n}: ${sent.length} sends for ${qualified.length} qualifying campaigns`);
      const winner = sent[0];
      const prio = (d: Decision) => w.campaigns.find((c) => c.id === d.campaignId)!.priority;
      const top = Math.max(...qualified.map(prio));
      if (prio(winner) !== top) fail(`event ${n}: winner has priority ${prio(winner)}, top is ${top}`);
      const least = Math.min(
        ...qualified.filter((d) => prio(d) === top).map((d) => tenantSent.get(d.tenant) ?? 0),
      );
      if ((tenantSent.get(winner.tenant) ?? 0) !== least)
        fail(`event ${n}: winner's retailer is not the least served`);
      for (const d of qualified) {
        if (d !== winner && (d.outcome !== 'suppressed' || d.reason !== 'arbitration_lost')) {
          fail(`event ${n}: loser ${d.campaignId} got ${d.outcome}/${d.reason}`);
        }
      }
      const o = winner.send ?? fail(`event ${n}: sent without an order`);
      if (/[{}]/.test(o.text)) fail(`event ${n}: unrendered placeholder in ${o.text}`);
      if (o.promoCode && (codes.has(o.promoCode) || !o.text.includes(o.promoCode)))
        fail(`event ${n}: promo code reused or missing`);
      codes.add(o.promoCode);
      if (o.parts !== measure(o.text).parts)
        fail(`event ${n}: parts ${o.parts} ≠ measured ${measure(o.text).parts}`);
      const c = w.campaigns.find((x) => x.id === winner.campaignId)!;
      const day = local(c.schedule.timeZone, now).day;
      spent.set(c.id, (spent.get(c.id) ?? 0) + o.parts);
      spentDay.set(`${c.id}|${day}`, (spentDay.get(`${c.id}|${day}`) ?? 0) + o.parts);
      tenantSent.set(c.tenant, (tenantSent.get(c.tenant) ?? 0) + 1);
      hist.push({ c: c.id, ts: now, holdout: false });
      sends.push({ sid, c: c.id, ts: now, parts: o.parts });
      sentCount++;
      reasons.set('arbitration_lost', (reasons.get('arbitration_lost') ?? 0) + qualified.length - 1);
    }
    if (hist.length)
      bySid.set(
        sid,
        hist.filter((h) => now - h.ts < 8 * DAY),
      );
  }
  // The run must have exercised every path, or it proves little.
  const mustSee = [
    ['outside_schedule'],
    ['not_in_segment'],
    ['no_consent', 'opted_out'],
    ['cap_campaign', 'cooldown'],
    ['cap_daily', 'cap_weekly', 'min_interval'],
    ['budget_total', 'budget_daily'],
    ['stale_event'],
  ];
  if (w.policy.quietHours) mustSee.push(['quiet_hours']);
  for (const group of mustSee) {
    const seen = group.reduce((sum, reason) => sum + (reasons.get(reason) ?? 0), 0);
    assert.ok(seen > 0, `no decision suppressed for ${group.join(' / ')} (seed ${SEED})`);
  }
  assert.ok(sentCount > 100, `only ${sentCount} sends (seed ${SEED})`);
  if (qualifiedPairs > 200) {
    const share = holdouts > 0 ? [...holdoutOf.values()].filter(Boolean).length / holdoutOf.size : 0;
    assert.ok(share > 0.1 && share < 0.3, `holdout share ${share} far from 0.2 (seed ${SEED})`);
  }
});
