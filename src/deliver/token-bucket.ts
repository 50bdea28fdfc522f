/**
 * A token bucket counted in SMS parts: `ratePerSec` tokens per second, at most `burst` stored.
 * Over any window of T seconds it grants at most ratePerSec·T + burst tokens, so a burst of 1–2
 * keeps the rate at the contract while absorbing timer lateness.
 */
export interface TokenBucket {
  /** Takes one token if available; otherwise returns the milliseconds until one will be. */
  take(nowMs: number): number;
  /** Gives a token back (a part that was not sent after all). */
  refund(): void;
  readonly ratePerSec: number;
}

/** Creates a token bucket that starts full. A rate of 0 or less means unlimited. */
export function createTokenBucket(ratePerSec: number, burst = 2, startMs = 0): TokenBucket {
  let tokens = burst;
  let last = startMs;
  return {
    ratePerSec,
    take(nowMs) {
      if (ratePerSec <= 0) return 0;
      if (nowMs > last) {
        tokens = Math.min(burst, tokens + ((nowMs - last) * ratePerSec) / 1000);
        last = nowMs;
      }
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil(((1 - tokens) * 1000) / ratePerSec));
    },
    refund() {
      tokens = Math.min(burst, tokens + 1);
    },
  };
}
