/** Exponential backoff with equal jitter: attempt 1 → [base/2, base), doubling up to maxMs. */
export function backoffMs(
  attempt: number,
  baseMs = 100,
  maxMs = 5_000,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}
