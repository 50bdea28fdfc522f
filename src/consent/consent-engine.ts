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
  /** Sizes the consent table up front when `profiles` is not given; it grows past it when needed. */
  expectedSubscribers?: number;
  /**
   * The segments stage's profile store. When given, the consent state of a subscriber with a profile is
   * kept in an array indexed by its profile slot — no second sid table beside the store's own — and
   * found through the profile lookup the segment check already made; only sids without a profile (an
   * MO from an unknown number, consent restored before the profile arrives) stay in the sid table.
   */
  profiles?: ConsentProfiles;
}

/** What consent needs of the profile store (see ProfileStore.lookup and onSlot). */
export interface ConsentProfiles {
  lookup(sid: string): number;
  readonly capacity: number;
  onSlot(listener: {
    assigned(slot: number, sid: string): void;
    released(slot: number, sid: string): void;
  }): void;
}

/** Listener told of every opt-out and brand decline (follow-ups cancel on it). */
export type OptOutListener = (sid: string, tenant: string | undefined, nowMs: number) => void;

export interface ConsentEngine {
  /** Hot path: may this tenant send marketing to sid at nowMs? */
  check(sid: string, tenant: string, nowMs: number): ConsentVerdict;
  /**
   * A number ≥ 0 that stands for sid while sid holds it, or −1: other stages key per-subscriber state by
   * it (the campaign counters) instead of hashing the sid again; found by the same lookup as `check`.
   * Without `profiles` it is sid's entry in the consent table, never taken back. With `profiles` it is
   * sid's profile slot (−1 without a profile): when the profile leaves the slot, every `onEntryReleased`
   * listener is told before the slot can pass to another subscriber, and moves what it keeps by it.
   */
  entryOf(sid: string): number;
  /** Listener told when sid gives up `entry` (see entryOf). */
  onEntryReleased(listener: (entry: number, sid: string) => void): void;
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
  const profiles = opts.profiles;
  // Consent records of sids without a profile slot (all of them when `profiles` is not given): a
  // compact sid table (~25 B per entry) rather than V8 Maps (~130 B, and at most 2^24 entries per Map).
  const state = new SidNumberMap(profiles === undefined ? (opts.expectedSubscribers ?? 1024) : 1024);
  // With `profiles`: per profile slot, the packed value of the slot's subscriber + 1 (0 = no record).
  // A sid's record is here exactly while it has a profile: moved in from `state` when the sid gets a
  // slot and back when it loses it, so neither the lookup nor the memory (8 B per slot, against ~25 B
  // for a second sid table at 24 M subscribers) repeats the profile store's own sid index.
  let slotValues = new Float64Array(profiles === undefined ? 0 : profiles.capacity);
  let inSlots = 0;
  const entryListeners: ((entry: number, sid: string) => void)[] = [];
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
  // Every write of a record and every slot change drops it.
  let lastSid = '';
  // the packed value: undefined = no record
  let lastV: number | undefined;
  let lastEntry = -1;

  if (profiles !== undefined) {
    profiles.onSlot({
      assigned(slot, sid) {
        lastSid = '';
        if (slot >= slotValues.length) {
          const next = new Float64Array(Math.max(profiles.capacity, slot + 1));
          next.set(slotValues);
          slotValues = next;
        }
        const v = state.size === 0 ? undefined : state.delete(sid);
        if (v !== undefined) {
          slotValues[slot] = v + 1;
          inSlots++;
        } else slotValues[slot] = 0;
      },
      released(slot, sid) {
        lastSid = '';
        const v = slotValues[slot];
        if (v !== 0) {
          slotValues[slot] = 0;
          inSlots--;
          state.set(sid, v - 1);
        }
        for (const l of entryListeners) l(slot, sid);
      },
    });
  }

  const recordOf = (sid: string): number | undefined => {
    if (profiles !== undefined) {
      const slot = profiles.lookup(sid);
      if (slot >= 0) {
        const v = slotValues[slot];
        return v === 0 ? undefined : v - 1;
      }
    }
    return state.get(sid);
  };
  const setState = (sid: string, v: number) => {
    lastSid = '';
    if (profiles !== undefined) {
      const slot = profiles.lookup(sid);
      if (slot >= 0) {
        if (slotValues[slot] === 0) inSlots++;
        slotValues[slot] = v + 1;
        return;
      }
    }
    state.set(sid, v);
  };
  const lookup = (sid: string): void => {
    if (sid === lastSid) return;
    lastSid = sid;
    if (profiles !== undefined) {
      const slot = profiles.lookup(sid);
      if (slot >= 0) {
        const v = slotValues[slot];
        lastEntry = slot;
        lastV = v === 0 ? undefined : v - 1;
        return;
      }
      lastEntry = -1;
      lastV = state.get(sid);
      return;
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
    onEntryReleased(listener) {
      entryListeners.push(listener);
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
      const prior = recordOf(sid);
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
        const prior = recordOf(sid);
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
      const v = recordOf(sid);
      const d = declines.get(sid);
      return {
        status: v === undefined ? 'none' : v % 2 === 1 ? 'opt_in' : 'opt_out',
        tsMs: v === undefined ? 0 : Math.floor(v / 2),
        declines: d ? [...d].map(([tenant, untilMs]) => ({ tenant, untilMs })) : [],
      };
    },
    load(consent, declineRows = []) {
      for (const r of consent) {
        const prior = recordOf(r.sid);
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
      return state.size + inSlots;
    },
  };
  return engine;
}
