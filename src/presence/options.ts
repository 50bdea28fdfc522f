/** What to do when a fence appears while a subscriber is already inside it. */
export const NEW_FENCE_POLICIES = ['suppress', 'enter'] as const;
export type NewFencePolicy = (typeof NEW_FENCE_POLICIES)[number];

/** Tuning of the presence state machine; main.ts maps the PRESENCE_* configuration keys onto it. */
export interface PresenceOptions {
  /** Dwell thresholds in ms, ascending; one dwell event per threshold crossed in a visit. */
  dwellMs: readonly number[];
  /** A visit with no ping inside for this long ends with a `timeout` exit. */
  exitTimeoutMs: number;
  /** Smallest margin (m) a ping must lie outside a fence to end a visit; the ping's accuracy widens it. */
  hysteresisM: number;
  /** A subscriber with no visit and no ping for this long is forgotten. */
  stateTtlMs: number;
  /** A ping older than the subscriber's newest by more than this is late and changes nothing. */
  lateToleranceMs: number;
  /**
   * `suppress` (default): a subscriber already inside when a fence is created gets no enter until they
   * leave and return. `enter`: they get an enter on their first ping inside.
   */
  newFencePolicy: NewFencePolicy;
  /**
   * Under `suppress`, a subscriber presence knows nothing about (no state) whose first ping inside a new
   * fence comes within this long of its creation is presumed to have been there already.
   */
  newFenceGraceMs: number;
}

export const DEFAULT_PRESENCE_OPTIONS: PresenceOptions = Object.freeze({
  dwellMs: Object.freeze([10 * 60_000]),
  exitTimeoutMs: 30 * 60_000,
  hysteresisM: 50,
  stateTtlMs: 2 * 60 * 60_000,
  lateToleranceMs: 60_000,
  newFencePolicy: 'suppress',
  newFenceGraceMs: 15 * 60_000,
});

/** Fills defaults and checks the invariants the state machine relies on. */
export function presenceOptions(overrides: Partial<PresenceOptions> = {}): PresenceOptions {
  const o = { ...DEFAULT_PRESENCE_OPTIONS, ...overrides };
  const dwellMs = [...o.dwellMs].sort((a, b) => a - b);
  if (dwellMs.some((d) => !(d > 0) || !Number.isFinite(d)))
    throw new RangeError('dwell thresholds must be > 0');
  for (const k of [
    'exitTimeoutMs',
    'hysteresisM',
    'stateTtlMs',
    'lateToleranceMs',
    'newFenceGraceMs',
  ] as const) {
    if (!(o[k] >= 0) || !Number.isFinite(o[k])) throw new RangeError(`${k} must be a finite number ≥ 0`);
  }
  if (o.exitTimeoutMs <= 0) throw new RangeError('exitTimeoutMs must be > 0');
  return Object.freeze({ ...o, dwellMs: Object.freeze(dwellMs) });
}

/** Maps the PRESENCE_* configuration keys (already parsed by src/config.ts) onto presence options. */
export function presenceOptionsFromConfig(c: {
  PRESENCE_DWELL_MINUTES: string;
  PRESENCE_EXIT_TIMEOUT_MIN: number;
  PRESENCE_HYSTERESIS_M: number;
  PRESENCE_STATE_TTL_MIN: number;
  PRESENCE_LATE_TOLERANCE_SEC: number;
  PRESENCE_NEW_FENCE_POLICY: NewFencePolicy;
}): PresenceOptions {
  return presenceOptions({
    dwellMs: c.PRESENCE_DWELL_MINUTES.split(',').map((m) => Number(m) * 60_000),
    exitTimeoutMs: c.PRESENCE_EXIT_TIMEOUT_MIN * 60_000,
    hysteresisM: c.PRESENCE_HYSTERESIS_M,
    stateTtlMs: c.PRESENCE_STATE_TTL_MIN * 60_000,
    lateToleranceMs: c.PRESENCE_LATE_TOLERANCE_SEC * 1_000,
    newFencePolicy: c.PRESENCE_NEW_FENCE_POLICY,
    newFenceGraceMs: Math.min(15 * 60_000, c.PRESENCE_EXIT_TIMEOUT_MIN * 60_000),
  });
}
