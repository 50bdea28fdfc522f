import { FNV_OFFSET, fnv1aPair } from '../hash.ts';

/** No 0/O, 1/I/L, U/V look-alikes: readable aloud and from a small screen. */
export const PROMO_ALPHABET = '23456789ABCDEFGHJKMNPQRSTWXYZ';

export interface PromoIssue {
  code: string;
  sid: string;
  campaignId: string;
  tenant: string;
  storeId: string;
  issuedMs: number;
}

export interface PromoCodes {
  readonly length: number;
  /** A code for `key` not issued before; deterministic for a key as long as nothing collides. */
  issue(key: string, sid: string, campaignId: string, tenant: string, storeId: string, nowMs: number): string;
  lookup(code: string): PromoIssue | undefined;
  /** Codes already issued (loaded from the store at start-up). */
  load(rows: Iterable<PromoIssue>): void;
  /** Forgets codes issued before `beforeMs` (the store still has them for conversions). */
  prune(beforeMs: number): number;
  readonly size: number;
}

/** True when `code` is made only of the promo alphabet (after upper-casing). */
export function isPromoCodeShape(code: string, length: number): boolean {
  if (code.length !== length) return false;
  for (const ch of code) if (!PROMO_ALPHABET.includes(ch)) return false;
  return true;
}

/** Unique short promo codes: `length` characters of PROMO_ALPHABET (29^6 ≈ 595 M codes at length 6). */
export function createPromoCodes(opts: { length?: number } = {}): PromoCodes {
  const length = opts.length ?? 6;
  const issued = new Map<string, PromoIssue>();
  const second = new Uint32Array(1);
  const n = PROMO_ALPHABET.length;
  // Five characters from the first hash (29^5 < 2^32), the rest from the second.
  const encode = (a: number, b: number): string => {
    let s = '';
    for (let i = 0; i < length; i++) {
      if (i === 5) a = b;
      const q = Math.floor(a / n);
      s += PROMO_ALPHABET[a - q * n];
      a = q;
    }
    return s;
  };
  return {
    length,
    issue(key, sid, campaignId, tenant, storeId, nowMs) {
      for (let salt = 0; ; salt++) {
        const first = fnv1aPair(key, FNV_OFFSET + salt, 0x9e3779b9 + salt, second);
        const code = encode(first, second[0]);
        const prior = issued.get(code);
        if (prior === undefined) {
          issued.set(code, { code, sid, campaignId, tenant, storeId, issuedMs: nowMs });
          return code;
        }
        // The same key again (a replayed decision) gets its own code back.
        if (prior.sid === sid && prior.campaignId === campaignId && prior.issuedMs === nowMs) return code;
      }
    },
    lookup: (code) => issued.get(code.toUpperCase()),
    load(rows) {
      for (const r of rows) issued.set(r.code, r);
    },
    prune(beforeMs) {
      let removed = 0;
      for (const [code, r] of issued) {
        if (r.issuedMs < beforeMs) {
          issued.delete(code);
          removed++;
        }
      }
      return removed;
    },
    get size() {
      return issued.size;
    },
  };
}
