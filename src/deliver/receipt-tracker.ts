import {
  alternateSmscId,
  FINAL_STATES,
  isStateAdvance,
  type MessageState,
  normaliseSmscId,
  type Receipt,
} from './receipt.ts';

/** What the tracker keeps about a submitted message until its parts reach final states. */
export interface TrackedMessage {
  messageId: string;
  parts: number;
  /** Receipt state per part (starts at 'submitted' once the part is accepted). */
  states: MessageState[];
  expiresAtMs: number;
  /** Set when every part reached a final state. */
  done: boolean;
}

export interface ReceiptTracker {
  /** Registers the SMSC id of an accepted part; a receipt parked for that id is applied now. */
  register(msg: TrackedMessage, part: number, rawSmscId: string, nowMs: number): void;
  /**
   * Applies a receipt, or parks it until its submit_sm_resp arrives. `onParkedDone` is called for a
   * parked receipt once it is applied, ignored or given up (so its deliver_sm can be answered then).
   */
  receive(
    receipt: Receipt,
    rawId: string | undefined,
    nowMs: number,
    onParkedDone?: () => void,
  ): 'applied' | 'ignored' | 'parked';
  /** Forgets expired messages and parked receipts; returns how many parked receipts matched nothing. */
  sweep(nowMs: number): number;
  readonly size: number;
  readonly parked: number;
}

export interface ReceiptTrackerOptions {
  /** How long a receipt that matches nothing waits for its submit_sm_resp. */
  parkMs?: number;
  /** Called for each state change of a part (never for duplicates or regressions). */
  onPartState: (msg: TrackedMessage, part: number, state: MessageState, receipt: Receipt) => void;
  /** Called once when every part of a message is final. */
  onMessageFinal: (msg: TrackedMessage, state: MessageState) => void;
}

interface Ref {
  msg: TrackedMessage;
  part: number;
  /** The submit_sm_resp id was all digits (decimal, or hex without letters). */
  digits: boolean;
}

/**
 * How a receipt spells the submit_sm_resp id it answers: the same way, the decimal submit id written
 * in hex (Net::SMPP), or the hex submit id written in decimal.
 */
type Spelling = 'same' | 'hex_receipt' | 'decimal_receipt';
const SPELLINGS: readonly Spelling[] = ['same', 'hex_receipt', 'decimal_receipt'];

interface Candidate {
  ref: Ref;
  spelling: Spelling;
}

interface Parked {
  receipts: Receipt[];
  done: (() => void)[];
  /** The receipt id's digits read as hex (alternateSmscId); set only for an all-digit id. */
  alt: string | undefined;
  untilMs: number;
}

const SUCCESS: MessageState = 'delivered';

/**
 * Correlates delivery receipts with submitted parts by normalised SMSC id. Receipts may come before
 * the submit_sm_resp (parked, then matched), twice, or out of order: a part's state only moves
 * forward and never leaves a final state. An all-digit id may be decimal or hex, so one receipt can
 * fit two parts; the spelling this SMSC's unambiguous receipts used decides between them.
 */
export function createReceiptTracker(opts: ReceiptTrackerOptions): ReceiptTracker {
  const parkMs = opts.parkMs ?? 120_000;
  // Parts by their submit id as normalised, and (all-digit ids) by the same digits read as hex.
  const byId = new Map<string, Ref>();
  const byAltId = new Map<string, Ref>();
  const parked = new Map<string, Parked>();
  const parkedByAlt = new Map<string, string>();
  const seen: Record<Spelling, number> = { same: 0, hex_receipt: 0, decimal_receipt: 0 };

  const apply = (ref: Ref, receipt: Receipt): 'applied' | 'ignored' => {
    const { msg, part } = ref;
    const from = msg.states[part];
    if (!isStateAdvance(from, receipt.state)) return 'ignored';
    msg.states[part] = receipt.state;
    opts.onPartState(msg, part, receipt.state, receipt);
    if (!msg.done && msg.states.every((s) => FINAL_STATES.has(s))) {
      msg.done = true;
      const failed = msg.states.find((s) => s !== SUCCESS);
      opts.onMessageFinal(msg, failed ?? SUCCESS);
    }
    return 'applied';
  };

  /** The spelling this SMSC uses once at least 3 unambiguous receipts, and most of them, showed it. */
  const usual = (): Spelling | undefined => {
    let total = 0;
    let best: Spelling = 'same';
    for (const k of SPELLINGS) {
      total += seen[k];
      if (seen[k] > seen[best]) best = k;
    }
    return seen[best] >= 3 && seen[best] * 2 > total ? best : undefined;
  };

  // A receipt id (digits or not) against a part found under the receipt's own key, under the receipt's
  // digits read as hex, or under the part's digits read as hex.
  const spellingOf = (receiptDigits: boolean, ref: Ref, via: 'id' | 'receipt_alt' | 'part_alt'): Spelling => {
    if (via === 'receipt_alt') return ref.digits ? 'hex_receipt' : 'same';
    if (via === 'part_alt') return receiptDigits ? 'decimal_receipt' : 'same';
    if (receiptDigits === ref.digits) return 'same';
    return receiptDigits ? 'decimal_receipt' : 'hex_receipt';
  };

  const candidates = (receipt: Receipt, alt: string | undefined): Candidate[] => {
    const digits = alt !== undefined;
    const found: Candidate[] = [];
    const a = byId.get(receipt.id);
    if (a) found.push({ ref: a, spelling: spellingOf(digits, a, 'id') });
    const b = alt === undefined ? undefined : byId.get(alt);
    if (b && b !== a) found.push({ ref: b, spelling: spellingOf(digits, b, 'receipt_alt') });
    const c = byAltId.get(receipt.id);
    if (c && c !== a && c !== b) found.push({ ref: c, spelling: spellingOf(digits, c, 'part_alt') });
    return found;
  };

  const unpark = (key: string): Parked | undefined => {
    const p = parked.get(key);
    if (p === undefined) return undefined;
    parked.delete(key);
    if (p.alt !== undefined && parkedByAlt.get(p.alt) === key) parkedByAlt.delete(p.alt);
    return p;
  };

  const park = (receipt: Receipt, alt: string | undefined, nowMs: number, done?: () => void): 'parked' => {
    const p = parked.get(receipt.id);
    if (p) {
      p.receipts.push(receipt);
      if (done) p.done.push(done);
    } else {
      parked.set(receipt.id, { receipts: [receipt], done: done ? [done] : [], alt, untilMs: nowMs + parkMs });
      if (alt !== undefined) parkedByAlt.set(alt, receipt.id);
    }
    return 'parked';
  };

  return {
    register(msg, part, rawSmscId, nowMs) {
      if (rawSmscId === '') return;
      const id = normaliseSmscId(rawSmscId);
      const alt = alternateSmscId(rawSmscId);
      const ref: Ref = { msg, part, digits: alt !== undefined };
      byId.set(id, ref);
      if (alt !== undefined) byAltId.set(alt, ref);
      // Receipts that came first, under the receipt's key, its digits read as hex, or this id's hex reading.
      const expected = usual();
      const keys: [string | undefined, 'id' | 'receipt_alt' | 'part_alt'][] = [
        [id, 'id'],
        [parkedByAlt.get(id), 'receipt_alt'],
        [alt, 'part_alt'],
      ];
      for (const [key, via] of keys) {
        const p = key === undefined ? undefined : parked.get(key);
        if (p === undefined || key === undefined) continue;
        const spelling = spellingOf(p.alt !== undefined, ref, via);
        if (expected !== undefined && spelling !== expected) continue;
        unpark(key);
        if (p.untilMs >= nowMs) for (const r of p.receipts) if (apply(ref, r) === 'applied') seen[spelling]++;
        for (const d of p.done) d();
      }
    },
    receive(receipt, rawId, nowMs, onParkedDone) {
      const alt = rawId === undefined ? undefined : alternateSmscId(rawId);
      const found = candidates(receipt, alt);
      const live = found.filter((c) => isStateAdvance(c.ref.msg.states[c.ref.part], receipt.state));
      const expected = usual();
      if (expected === undefined) {
        const pick = live[0] ?? found[0];
        if (pick === undefined) return park(receipt, alt, nowMs, onParkedDone);
        if (found.length === 1 && live.length === 1) seen[pick.spelling]++;
        return apply(pick.ref, receipt);
      }
      const pick = live.find((c) => c.spelling === expected);
      if (pick) {
        if (found.length === 1) seen[pick.spelling]++;
        return apply(pick.ref, receipt);
      }
      // A repeat for a part spelled the usual way; otherwise its part is not registered yet.
      if (found.some((c) => c.spelling === expected)) return 'ignored';
      return park(receipt, alt, nowMs, onParkedDone);
    },
    sweep(nowMs) {
      for (const [id, ref] of byId) if (ref.msg.expiresAtMs < nowMs) byId.delete(id);
      for (const [id, ref] of byAltId) if (ref.msg.expiresAtMs < nowMs) byAltId.delete(id);
      let orphans = 0;
      for (const [id, p] of parked) {
        if (p.untilMs < nowMs) {
          unpark(id);
          orphans += p.receipts.length;
          for (const d of p.done) d();
        }
      }
      return orphans;
    },
    get size() {
      return byId.size;
    },
    get parked() {
      return parked.size;
    },
  };
}
