/** Lifecycle states of one SMS part or message, as recorded in message_events. */
export const MESSAGE_STATES = [
  'queued',
  'submitted',
  'enroute',
  'accepted',
  'delivered',
  'expired',
  'deleted',
  'undeliverable',
  'rejected',
  'failed',
  'unknown',
] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/** States after which nothing about the message can change any more. */
export const FINAL_STATES: ReadonlySet<MessageState> = new Set([
  'delivered',
  'expired',
  'deleted',
  'undeliverable',
  'rejected',
  'failed',
]);

// Receipt stat words (SMPP 3.4 Appendix B) and message_state TLV values (§5.3.2.35).
const STAT_WORDS: Record<string, MessageState> = {
  ENROUTE: 'enroute',
  DELIVRD: 'delivered',
  DELIVERED: 'delivered',
  EXPIRED: 'expired',
  DELETED: 'deleted',
  UNDELIV: 'undeliverable',
  UNDELIVERABLE: 'undeliverable',
  ACCEPTD: 'accepted',
  ACCEPTED: 'accepted',
  UNKNOWN: 'unknown',
  REJECTD: 'rejected',
  REJECTED: 'rejected',
};
const TLV_STATES: Record<number, MessageState> = {
  1: 'enroute',
  2: 'delivered',
  3: 'expired',
  4: 'deleted',
  5: 'undeliverable',
  6: 'accepted',
  7: 'unknown',
  8: 'rejected',
};

export interface Receipt {
  /** SMSC message id, normalised with `normaliseSmscId`. */
  id: string;
  state: MessageState;
  /** Network error code from the text receipt's `err:` field, when present. */
  err?: string;
}

/**
 * Canonical form of an SMSC message id so that the id from submit_sm_resp and the one in a receipt
 * compare equal whatever their format: hex and decimal spellings of the same number, leading zeros
 * and letter case. Ids that are not numbers compare case-insensitively.
 */
export function normaliseSmscId(raw: string): string {
  const id = raw.trim();
  if (id === '') return '';
  if (/^[0-9]+$/.test(id)) return `n:${BigInt(id).toString(16)}`;
  if (/^(0x)?[0-9a-fA-F]+$/.test(id)) return `n:${BigInt(id.startsWith('0x') ? id : `0x${id}`).toString(16)}`;
  return `s:${id.toLowerCase()}`;
}

/**
 * Alternative key for a decimal-looking id: some SMSCs answer submit_sm_resp in hex and put the same
 * number in decimal into the receipt (or the reverse); an all-digit id is tried both ways.
 */
export function alternateSmscId(raw: string): string | undefined {
  const id = raw.trim();
  if (/^[0-9]+$/.test(id)) return `n:${BigInt(`0x${id}`).toString(16)}`;
  return undefined;
}

const FIELD = /(id|sub|dlvrd|submit date|done date|stat|err|text):\s*(\S*)/gi;

/** Parses the text form of a delivery receipt (`id:… sub:… dlvrd:… stat:DELIVRD err:…`). */
export function parseReceiptText(text: string): Receipt | undefined {
  const fields: Record<string, string> = {};
  for (const m of text.matchAll(FIELD)) {
    const key = m[1].toLowerCase();
    if (!(key in fields)) fields[key] = m[2];
  }
  if (fields.id === undefined || fields.stat === undefined) return undefined;
  const state = STAT_WORDS[fields.stat.toUpperCase()];
  if (state === undefined) return undefined;
  const r: Receipt = { id: normaliseSmscId(fields.id), state };
  if (fields.err !== undefined) r.err = fields.err;
  return r;
}

/**
 * A receipt from deliver_sm fields: the receipted_message_id and message_state TLVs win, the text
 * receipt fills what they lack. Returns undefined when it is not a receipt.
 */
export function readReceipt(fields: {
  receiptedMessageId?: string;
  messageState?: number;
  text?: string;
}): Receipt | undefined {
  const fromText = fields.text === undefined ? undefined : parseReceiptText(fields.text);
  const id = fields.receiptedMessageId ? normaliseSmscId(fields.receiptedMessageId) : fromText?.id;
  const state =
    fields.messageState !== undefined && TLV_STATES[fields.messageState] !== undefined
      ? TLV_STATES[fields.messageState]
      : fromText?.state;
  if (!id || !state) return undefined;
  const r: Receipt = { id, state };
  if (fromText?.err !== undefined) r.err = fromText.err;
  return r;
}

const RANK: Record<MessageState, number> = {
  queued: 0,
  submitted: 1,
  unknown: 1,
  enroute: 2,
  accepted: 3,
  delivered: 4,
  expired: 4,
  deleted: 4,
  undeliverable: 4,
  rejected: 4,
  failed: 4,
};

/** Whether moving from `from` to `to` is progress: final states never move, states never regress. */
export function isStateAdvance(from: MessageState, to: MessageState): boolean {
  if (FINAL_STATES.has(from)) return false;
  return RANK[to] > RANK[from] || (from === 'unknown' && to !== 'unknown');
}
