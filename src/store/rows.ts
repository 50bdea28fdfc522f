/**
 * Row shapes of the tables the store stage creates, for stages writing through the writer.
 * Time fields take ms since epoch (or a Date). Column lists are also at the top of each migration.
 */
export interface DecisionRow {
  ts: number;
  sid: string;
  tenant: string;
  campaign_id: string;
  fence_id: string;
  store_id: string;
  trigger: 'enter' | 'dwell' | 'exit' | 'followup';
  outcome: 'sent' | 'suppressed' | 'holdout';
  /** '' when sent; the suppression reason code otherwise. */
  reason: string;
  message_id: string;
  dwell_ms: number;
  /** SMS parts of a sent decision (column added by the campaigns migration 500; default 0). */
  parts?: number;
}

export type MessageStatus =
  | 'queued'
  | 'submitted'
  | 'delivered'
  | 'failed'
  | 'expired'
  | 'rejected'
  | 'unknown';

export interface MessageRow {
  message_id: string;
  idempotency_key: string;
  tenant: string;
  campaign_id: string;
  fence_id: string;
  store_id: string;
  sid: string;
  parts: number;
  encoding: 'GSM7' | 'UCS2';
  sender: string;
  status: MessageStatus;
  smsc_message_id: string;
  created_at: number;
  submitted_at: number | null;
  done_at: number | null;
  /** Version: the row with the latest updated_at is the message's current state. */
  updated_at: number;
}

export type MessageEvent =
  | 'submitted'
  | 'submit_failed'
  | 'enroute'
  | 'delivered'
  | 'failed'
  | 'expired'
  | 'rejected'
  | 'unknown';

export interface MessageEventRow {
  ts: number;
  message_id: string;
  tenant: string;
  campaign_id: string;
  store_id: string;
  sid: string;
  event: MessageEvent;
  /** SMS parts; set on 'submitted' (reports sum it), 0 otherwise. */
  parts: number;
  smsc_message_id: string;
  error_code: string;
  detail: string;
}

export interface MoMessageRow {
  ts: number;
  mo_id: string;
  sid: string;
  short_code: string;
  keyword: string;
  action: 'opt_out' | 'help' | 'none';
  tenant: string;
  campaign_id: string;
  store_id: string;
}

export interface ConversionRow {
  ts: number;
  conversion_id: string;
  tenant: string;
  campaign_id: string;
  store_id: string;
  sid: string;
  promo_code: string;
  value: number;
  currency: string;
  source: string;
}

export interface ConsentRow {
  sid: string;
  channel: 'sms';
  status: 'opt_in' | 'opt_out';
  source: string;
  evidence: string;
  ts: number;
}

/** A subscriber seen at a fence; only the per-hour distinct count is kept (footfall). */
export interface FootfallVisitRow {
  ts: number;
  sid: string;
  tenant: string;
  fence_id: string;
  store_id: string;
}
