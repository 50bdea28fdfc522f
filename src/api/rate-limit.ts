/** Outcome of taking one token: allowed, or how long until the next token (whole seconds, ≥ 1). */
export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSec: number };

export interface RateLimiter {
  take(key: string, nowMs?: number): RateDecision;
  readonly size: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Token bucket per key: `perMin` tokens of capacity, refilled continuously at perMin/60 per second,
 * so a key may burst up to a minute's allowance and then sustain its rate.
 */
export function createRateLimiter(opts: { perMin: number; maxKeys?: number }): RateLimiter {
  const capacity = opts.perMin;
  const refillPerMs = opts.perMin / 60_000;
  const maxKeys = opts.maxKeys ?? 100_000;
  const buckets = new Map<string, Bucket>();

  // Full buckets carry no information: dropping them bounds memory without changing any answer.
  const sweep = (nowMs: number) => {
    for (const [key, b] of buckets) {
      if (b.tokens + (nowMs - b.updatedMs) * refillPerMs >= capacity) buckets.delete(key);
    }
    // Still too many (a flood of distinct keys): forget the oldest tenth at once, so the O(n) sweep
    // runs once per maxKeys/10 new keys; forgotten keys restart with a full bucket.
    if (buckets.size >= maxKeys) {
      let excess = buckets.size - Math.floor(maxKeys * 0.9);
      for (const key of buckets.keys()) {
        if (excess-- <= 0) break;
        buckets.delete(key);
      }
    }
  };

  return {
    take(key, nowMs = Date.now()) {
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) sweep(nowMs);
        b = { tokens: capacity, updatedMs: nowMs };
        buckets.set(key, b);
      } else if (nowMs > b.updatedMs) {
        b.tokens = Math.min(capacity, b.tokens + (nowMs - b.updatedMs) * refillPerMs);
        b.updatedMs = nowMs;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true, remaining: Math.floor(b.tokens) };
      }
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((1 - b.tokens) / refillPerMs / 1000)) };
    },
    get size() {
      return buckets.size;
    },
  };
}
