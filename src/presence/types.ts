export const PRESENCE_KINDS = ['enter', 'dwell', 'exit'] as const;
export type PresenceKind = (typeof PRESENCE_KINDS)[number];

/** A presence event handed from presence to decide. Event time, never arrival time. */
export interface PresenceEvent {
  kind: PresenceKind;
  /** Subscriber pseudonym (never a phone number). */
  sid: string;
  fenceId: string;
  /** Event time of the ping that produced the event (ms since epoch). */
  tsMs: number;
  /** Time inside so far (dwell) or the visit's duration (exit); 0 for enter. */
  dwellMs: number;
}

/** Where presence sends its events (the decision stage in production, an array in tests). */
export interface PresenceSink {
  onEvent(event: PresenceEvent): void;
}
