export const PRESENCE_KINDS = ['enter', 'dwell', 'exit'] as const;
export type PresenceKind = (typeof PRESENCE_KINDS)[number];

/** Why a visit ended: a ping seen outside the fence's hysteresis margin, or no ping for the exit timeout. */
export const EXIT_CAUSES = ['outside', 'timeout'] as const;
export type ExitCause = (typeof EXIT_CAUSES)[number];

/** A presence event handed from presence to decide. Event time, never arrival time. */
export interface PresenceEvent {
  kind: PresenceKind;
  /** Subscriber pseudonym (never a phone number). */
  sid: string;
  fenceId: string;
  /**
   * Event time of the ping that produced the event (ms since epoch); for a timeout exit, the last ping
   * inside plus the exit timeout.
   */
  tsMs: number;
  /** Time inside so far (dwell) or the visit's duration (exit); 0 for enter. */
  dwellMs: number;
  /** Dwell only: the configured threshold this event crossed (one event per threshold). */
  thresholdMs?: number;
  /** Exit only: what ended the visit. */
  cause?: ExitCause;
}

/** Where presence sends its events (the decision stage in production, an array in tests). */
export interface PresenceSink {
  onEvent(event: PresenceEvent): void;
  /**
   * Optional: resolves once everything handed over so far is durably recorded. The Kafka source awaits
   * it before committing offsets (at-least-once for records).
   */
  drain?(): Promise<void> | void;
}

/** One subscriber seen at a fence in an hour (a `footfall_visits` row): the store keeps only the per-hour distinct count. */
export interface FootfallVisit {
  ts: number;
  sid: string;
  tenant: string;
  fence_id: string;
  store_id: string;
}
