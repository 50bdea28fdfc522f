import type { SmsEncoding } from './segmentation.ts';

/** One marketing SMS to send, as the decide stage hands it over. */
export interface OutboundSms {
  /** (sid, campaign, trigger) — the same key is never submitted twice, across restarts too. */
  idempotencyKey: string;
  /** The decide stage's message id (joins decisions to messages); a fresh UUID when absent. */
  messageId?: string;
  sid: string;
  /**
   * '' marks a service message (the confirmation of an opt-out): marketing consent is not checked
   * for it — the subscriber has just opted out — the blocklist still is.
   */
  campaignId: string;
  fenceId: string;
  storeId?: string;
  tenant?: string;
  /** Alphanumeric (≤ 11 chars, TON 5) or numeric sender. */
  senderId: string;
  text: string;
  /** How long the offer stays relevant; becomes validity_period. Default: the account's (120 min). */
  validityMinutes?: number;
}

export type SendStatus =
  /** Every part was accepted by the SMSC (submit_sm_resp ESME_ROK). */
  | 'submitted'
  /** The key was already sent or is in flight; nothing was submitted. */
  | 'duplicate'
  /** Consent or the blocklist said no at the last check; nothing was submitted. */
  | 'blocked'
  /** No phone number for the subscriber; nothing was submitted. */
  | 'directory_miss'
  /** The SMSC rejected a part for good (see errorCode). */
  | 'failed'
  /** The validity period passed before the message could be submitted. */
  | 'expired'
  /** A part was written but its response never came (timeout, connection lost): never resent. */
  | 'unknown'
  /** Still queued at shutdown, nothing written: it stays journaled and the next start sends it. */
  | 'queued';

export interface SendResult {
  status: SendStatus;
  messageId: string;
  parts: number;
  encoding?: SmsEncoding;
  /** SMSC ids of the accepted parts, in part order ('' for a part not accepted). */
  smscIds: string[];
  /** command_status name or AppError code that decided a non-submitted outcome. */
  errorCode?: string;
}

/** The delivery transport: implemented by the SMPP sender (and usable against the simulator). */
export interface Sender {
  /** Queues the order (journaled, see `journaled`); resolves when every part has a submit outcome. */
  send(msg: OutboundSms): Promise<SendResult>;
  /**
   * Resolves once every order handed to `send` so far is journaled, so a crash after it loses none;
   * rejects (once) when a journal write failed. Waits for the disk, never for the SMSC.
   */
  journaled(): Promise<void>;
  /**
   * Sends the orders an earlier run left queued (crash or shutdown), once consent and the directory
   * are loaded; consent and validity are checked as for any send. Resolves with their results.
   */
  recover(): Promise<SendResult[]>;
  /** Binds currently bound, per account name. */
  status(): SenderStatus;
  close(): Promise<void>;
}

export interface SenderStatus {
  accounts: { name: string; binds: number; bound: number; queued: number; inFlight: number }[];
  outboxPending: number;
}

/** Rows the stage records; main.ts wires this to the store's batched writer. */
export interface DeliverySink {
  write(table: 'messages' | 'message_events' | 'mo_messages', row: Record<string, unknown>): void;
  /**
   * Resolves once every row written before the call is durable (inserted, or spilled to disk). When
   * present, the sender journals `messages` and `message_events` rows in the outbox until this
   * confirms them, and writes again after a crash those it did not; absent, `write` is durable.
   */
  durable?(): Promise<void>;
  /**
   * Keys (`eventKey`) of the message_events rows the store already holds for these messages, so
   * rows written again after a crash are not counted twice.
   */
  eventKeys?(messageIds: string[]): Promise<Set<string>>;
}

/** The identity of a message_events row: message, event, part detail and time (ms). */
export function eventKey(row: { message_id: unknown; event: unknown; detail: unknown; ts: unknown }): string {
  return `${String(row.message_id)}|${String(row.event)}|${String(row.detail)}|${String(row.ts)}`;
}

/** An inbound SMS (MO) after reassembly. */
export interface MoMessage {
  moId: string;
  /** Subscriber pseudonym; '' when the number is not in the directory. */
  sid: string;
  shortCode: string;
  text: string;
  tsMs: number;
}

/** What the service made of an MO (the consent engine's answer): recorded in `mo_messages`. */
export interface MoOutcome {
  /** e.g. 'opt_out', 'brand_decline', 'none'. */
  action: string;
  /** The normalised keyword that matched ('' for none). */
  keyword: string;
  /** True when the keyword changed nothing (a repeated STOP): recorded as `<action>_repeat`. */
  repeat?: boolean;
  /** Sent back to the subscriber as a service message (from the short code the MO was sent to). */
  reply?: string;
  /** The reply's idempotency key: the same key is never replied to twice (default: the MO's id). */
  replyKey?: string;
  tenant?: string;
  campaignId?: string;
  storeId?: string;
}

export interface MoHandlers {
  /**
   * Every reassembled MO from a known subscriber; when present, it alone decides (onOptOut / onReply
   * are not called). Its effects (consent rows) go through the same store writer as `mo_messages`:
   * the deliver_sm is answered once they, the row and any reply order are durable.
   */
  handle?: (mo: MoMessage) => MoOutcome | undefined;
  /** A STOP-like keyword arrived: the consent engine records the opt-out (effective immediately). */
  onOptOut?: (sid: string, keyword: string, mo: MoMessage) => void;
  /** Any other reply (e.g. a promo code), for conversion attribution. */
  onReply?: (mo: MoMessage) => void;
}
