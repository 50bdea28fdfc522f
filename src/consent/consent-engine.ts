import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createKeywordMatcher, normalizeReply, STOP_KEYWORDS } from './keywords.ts';
import { SidNumberMap } from './sid-number-map.ts';

const DAY_MS = 86_400_000;

/** Why marketing may not go to a subscriber: '' = it may. */
export type ConsentVerdict = '' | 'no_consent' | 'opted_out' | 'brand_declined';

/** Where consent rows go (the store's writer in production). */
export interface ConsentSink {
  write(table: 'consent' | 'brand_declines', row: Record<string, unknown>): void | Promise<void>;
}

/** The campaign a reply answers (the last one that sent to the subscriber), for brand declines. */
export interface ReplyAttribution {
  campaignId: string;
  tenant: string;
  storeId: string;
  /** Normalised decline word of that campaign, if it has one. */
  declineWord?: string;
  brandName: string;
}

export interface MoResult {
  action: 'opt_out' | 'brand_decline' | 'none';
  /** The normalised keyword that matched ('' for none). */
  keyword: string;
  /** Text to send back once; undefined when nothing should be sent (e.g. a repeated STOP). */
  reply?: string;
  /** The keyword changed nothing: the subscriber had already opted out / declined this brand. */
  repeat: boolean;
  /**
   * Identifies the change the reply confirms (subscriber, what changed and the state it replaced),
   * so an MO delivered again after a crash is not confirmed twice, while a later STOP after a new
   * opt-in is.
   */
  replyKey?: string;
  /** Attribution of the reply when known. */
  campaignId: string;
  tenant: string;
  storeId: string;
}

export interface ConsentRecordInput {
  source: string;
  evidence: string;
}

export interface ConsentEngineOptions {
  logger: Logger;
  sink?: ConsentSink;
  keywords?: readonly string[];
  /** Days a brand-level decline suppresses that retailer (the policy's brandDeclineDays). */
  brandDeclineDays?: number;
  attribution?: (sid: string, nowMs: number) => ReplyAttribution | undefined;
  optOutReply?: string;
  brandDeclineReply?: (brandName: string, days: number) => string;
  /** Sizes the consent table up front (the profile capacity); it grows past it when needed. */
  expectedSubscribers?: number;
  /**
   * The segments stage's profile store. When given, a subscriber's consent entry is kept in a column
   * beside its profile slot, so the per-event path finds it through the profile lookup the segment
   * check already made instead of hashing the sid into the consent table again.
   */
  profiles?: ConsentProfiles;
}

/** What consent needs of the profile store (see ProfileStore.lookup and slotColumn). */
export interface ConsentProfiles {
  lookup(sid: string): number;
  slotColumn(empty: number): { readonly values: Int32Array };
}

// A profile slot's consent entry not looked up yet (the column's value for a new or freed slot).
const UNRESOLVED = -2;

/** Listener told of every opt-out and brand decline (follow-ups cancel on it). */
export type OptOutListener = (sid: string, tenant: string | undefined, nowMs: number) => void;

export interface ConsentEngine {
  /** Hot path: may this tenant send marketing to sid at nowMs? */
  check(sid: string, tenant: string, nowMs: number): ConsentVerdict;
  /**
   * sid's entry in the consent table: a number ≥ 0 that stays sid's for the life of this engine (never
   * reused), or −1 while sid has none. Other stages key per-subscriber state by it (the campaign
   * counters) instead of hashing the sid again; found by the same lookup as `check`.
   */
  entryOf(sid: string): number;
  /** check() and the blocklist: delivery calls this right before submit. */
  canSend(sid: string, tenant: string, nowMs: number): boolean;
  isBlocked(sid: string): boolean;
  setBlocklist(sids: Iterable<string>): void;
  setBrandDeclineDays(days: number): void;
  optIn(sid: string, record: ConsentRecordInput, nowMs: number): void;
  /** Records an opt-out; false when sid was already opted out. */
  optOut(sid: string, record: ConsentRecordInput, nowMs: number): boolean;
  declineBrand(sid: string, tenant: string, campaignId: string, keyword: string, nowMs: number): void;
  /** An inbound reply: STOP words opt out, a campaign's decline word declines its brand. */
  handleMo(sid: string, text: string, nowMs: number): MoResult;
  /** Current state of one subscriber (API). */
  get(sid: string): {
    status: 'opt_in' | 'opt_out' | 'none';
    tsMs: number;
    declines: { tenant: string; untilMs: number }[];
  };
  /** Loads persisted rows (latest per sid wins; applied in any order). */
  load(consent: Iterable<ConsentLoadRow>, declines?: Iterable<DeclineLoadRow>): void;
  onOptOut(listener: OptOutListener): void;
  readonly size: number;
}

export interface ConsentLoadRow {
  sid: string;
  status: string;
  tsMs: number;
}
export interface DeclineLoadRow {
  sid: string;
  tenant: string;
  untilMs: number;
  tsMs: number;
}

// Status and time packed into one number per subscriber: tsMs * 2 + (1 = opt-in, 0 = opt-out).
const pack = (optedIn: boolean, tsMs: number) => tsMs * 2 + (optedIn ? 1 : 0);

/**
 * Marketing consent held in memory for the hot path, persisted through the sink. Opt-outs take
 * effect in memory before the call returns, so a message already queued is stopped by `canSend`.
 */
export function createConsentEngine(opts: ConsentEngineOptions): ConsentEngine {
  const log = opts.logger.child({ stage: 'consent' });
  const matchStop = createKeywordMatcher(opts.keywords ?? STOP_KEYWORDS);
  let declineDays = opts.brandDeclineDays ?? 30;
  // One entry per subscriber with a consent record, tens of millions at national scale: a compact
  // sid table (~28 B per entry) rather than V8 Maps (~130 B, and at most 2^24 entries per Map).
  const state = new SidNumberMap(opts.expectedSubscribers ?? 1024);
  const declines = new Map<string, Map<string, number>>();
  let blocklist = new Set<string>();
  const listeners: OptOutListener[] = [];
  const optOutReply =
    opts.optOutReply ?? 'You are unsubscribed from marketing SMS and will get no further offers.';
  const brandReply =
    opts.brandDeclineReply ??
    ((brand: string, days: number) => `You will get no offers from ${brand} for ${days} days.`);

  const persist = (table: 'consent' | 'brand_declines', row: Record<string, unknown>) => {
    const p = opts.sink?.write(table, row);
    if (p) p.catch((err: unknown) => log.error({ err, table }, 'consent row not persisted'));
  };

  // One-entry cache: the decision engine checks the same subscriber for every campaign of an event.
  // Every write to `state` goes through setState, which drops the entry.
  let lastSid = '';
  // the packed value (or, via a profile slot, just its status bit): undefined = no record
  let lastV: number | undefined;
  let lastEntry = -1;
  // Per profile slot, what check() and entryOf() need of the slot's subscriber: entry × 2 + 1 when
  // opted in, entry × 2 when opted out, −1 without a compact entry, or UNRESOLVED (not looked up since
  // the slot changed hands or the subscriber's consent changed). Entries are never reused and the store
  // resets a slot's value when the slot changes hands, so a value never reaches another subscriber;
  // every consent write marks the subscriber's slot UNRESOLVED.
  const profiles = opts.profiles;
  const column = profiles?.slotColumn(UNRESOLVED);
  const setState = (sid: string, v: number) => {
    state.set(sid, v);
    lastSid = '';
    if (column !== undefined) {
      const slot = profiles!.lookup(sid);
      if (slot >= 0) column.values[slot] = UNRESOLVED;
    }
  };
  const resolve = (sid: string): number => {
    const e = state.entryOf(sid);
    return e < 0 ? -1 : e * 2 + (state.valueAt(e) % 2);
  };
  const lookup = (sid: string): void => {
    if (sid === lastSid) return;
    lastSid = sid;
    if (column !== undefined) {
      const slot = profiles!.lookup(sid);
      if (slot >= 0) {
        const values = column.values;
        let c = values[slot];
        if (c === UNRESOLVED) {
          c = resolve(sid);
          values[slot] = c;
        }
        // the status alone stands in for the packed value (check reads only its low bit)
        if (c >= 0) {
          lastEntry = c >> 1;
          lastV = c & 1;
        } else {
          lastEntry = -1;
          lastV = state.otherValue(sid);
        }
        return;
      }
    }
    const e = state.entryOf(sid);
    lastEntry = e;
    lastV = e >= 0 ? state.valueAt(e) : state.otherValue(sid);
  };

  const check = (sid: string, tenant: string, nowMs: number): ConsentVerdict => {
    lookup(sid);
    const v = lastV;
    if (v === undefined) return 'no_consent';
    if (v % 2 === 0) return 'opted_out';
    if (declines.size === 0) return '';
    const d = declines.get(sid);
    if (d !== undefined) {
      const until = d.get(tenant);
      if (until !== undefined && nowMs < until) return 'brand_declined';
    }
    return '';
  };

  const validate = (sid: string, record: ConsentRecordInput) => {
    if (!sid || !record.source || !record.evidence) {
      throw new AppError('CONSENT_INVALID', 'a consent record needs sid, source and evidence');
    }
  };

  const engine: ConsentEngine = {
    check,
    entryOf(sid) {
      lookup(sid);
      return lastEntry;
    },
    canSend: (sid, tenant, nowMs) => !blocklist.has(sid) && check(sid, tenant, nowMs) === '',
    isBlocked: (sid) => blocklist.has(sid),
    setBlocklist(sids) {
      blocklist = new Set(sids);
    },
    setBrandDeclineDays(days) {
      declineDays = days;
    },
    optIn(sid, record, nowMs) {
      validate(sid, record);
      setState(sid, pack(true, nowMs));
      persist('consent', {
        sid,
        channel: 'sms',
        status: 'opt_in',
        source: record.source,
        evidence: record.evidence,
        ts: nowMs,
      });
    },
    optOut(sid, record, nowMs) {
      validate(sid, record);
      const prior = state.get(sid);
      const already = prior !== undefined && prior % 2 === 0;
      setState(sid, pack(false, nowMs));
      persist('consent', {
        sid,
        channel: 'sms',
        status: 'opt_out',
        source: record.source,
        evidence: record.evidence,
        ts: nowMs,
      });
      if (!already) for (const l of listeners) l(sid, undefined, nowMs);
      return !already;
    },
    declineBrand(sid, tenant, campaignId, keyword, nowMs) {
      const untilMs = nowMs + declineDays * DAY_MS;
      let d = declines.get(sid);
      if (!d) {
        d = new Map();
        declines.set(sid, d);
      }
      d.set(tenant, untilMs);
      persist('brand_declines', { sid, tenant, campaign_id: campaignId, keyword, ts: nowMs, until: untilMs });
      for (const l of listeners) l(sid, tenant, nowMs);
    },
    handleMo(sid, text, nowMs) {
      const attr = opts.attribution?.(sid, nowMs);
      const base = {
        campaignId: attr?.campaignId ?? '',
        tenant: attr?.tenant ?? '',
        storeId: attr?.storeId ?? '',
      };
      const stop = matchStop(text);
      if (stop !== undefined) {
        const keyword = normalizeReply(stop);
        const prior = state.get(sid);
        const changed = engine.optOut(
          sid,
          { source: 'sms_keyword', evidence: JSON.stringify({ keyword }) },
          nowMs,
        );
        return {
          action: 'opt_out',
          keyword,
          reply: changed ? optOutReply : undefined,
          repeat: !changed,
          replyKey: `opt_out:${sid}:${prior === undefined ? 0 : Math.floor(prior / 2)}`,
          ...base,
        };
      }
      if (attr?.declineWord && text.length <= 200 && normalizeReply(text) === attr.declineWord) {
        const until = declines.get(sid)?.get(attr.tenant);
        const already = until !== undefined && until > nowMs;
        engine.declineBrand(sid, attr.tenant, attr.campaignId, attr.declineWord, nowMs);
        return {
          action: 'brand_decline',
          keyword: attr.declineWord,
          reply: already ? undefined : brandReply(attr.brandName, declineDays),
          repeat: already,
          replyKey: `decline:${sid}:${attr.tenant}:${until ?? 0}`,
          ...base,
        };
      }
      return { action: 'none', keyword: '', repeat: false, ...base };
    },
    get(sid) {
      const v = state.get(sid);
      const d = declines.get(sid);
      return {
        status: v === undefined ? 'none' : v % 2 === 1 ? 'opt_in' : 'opt_out',
        tsMs: v === undefined ? 0 : Math.floor(v / 2),
        declines: d ? [...d].map(([tenant, untilMs]) => ({ tenant, untilMs })) : [],
      };
    },
    load(consent, declineRows = []) {
      for (const r of consent) {
        const prior = state.get(r.sid);
        if (prior !== undefined && Math.floor(prior / 2) > r.tsMs) continue;
        setState(r.sid, pack(r.status === 'opt_in', r.tsMs));
      }
      for (const r of declineRows) {
        let d = declines.get(r.sid);
        if (!d) {
          d = new Map();
          declines.set(r.sid, d);
        }
        d.set(r.tenant, Math.max(d.get(r.tenant) ?? 0, r.untilMs));
      }
    },
    onOptOut(listener) {
      listeners.push(listener);
    },
    get size() {
      return state.size;
    },
  };
  return engine;
}
