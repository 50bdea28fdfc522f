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
  /** Applies a receipt, or parks it until its submit_sm_resp arrives. */
  receive(receipt: Receipt, rawId: string | undefined, nowMs: number): 'applied' | 'ignored' | 'parked';
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
}

const SUCCESS: MessageState = 'delivered';

/**
 * Correlates delivery receipts with submitted parts by normalised SMSC id. Receipts may come before
 * the submit_sm_resp (parked, then matched), twice, or out of order: a part's state only moves
 * forward and never leaves a final state.
 */
export function createReceiptTracker(opts: ReceiptTrackerOptions): ReceiptTracker {
  const parkMs = opts.parkMs ?? 120_000;
  const byId = new Map<string, Ref>();
  const parked = new Map<string, { receipts: Receipt[]; untilMs: number }>();

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

  const find = (id: string, rawId: string | undefined): Ref | undefined => {
    const ref = byId.get(id);
    if (ref || rawId === undefined) return ref;
    const alt = alternateSmscId(rawId);
    return alt === undefined ? undefined : byId.get(alt);
  };

  return {
    register(msg, part, rawSmscId, nowMs) {
      if (rawSmscId === '') return;
      const ref: Ref = { msg, part };
      const ids = [normaliseSmscId(rawSmscId)];
      const alt = alternateSmscId(rawSmscId);
      if (alt !== undefined) ids.push(alt);
      for (const id of ids) {
        byId.set(id, ref);
        const p = parked.get(id);
        if (p && p.untilMs >= nowMs) {
          parked.delete(id);
          for (const r of p.receipts) apply(ref, r);
        }
      }
    },
    receive(receipt, rawId, nowMs) {
      const ref = find(receipt.id, rawId);
      if (ref) return apply(ref, receipt);
      const p = parked.get(receipt.id);
      if (p) p.receipts.push(receipt);
      else parked.set(receipt.id, { receipts: [receipt], untilMs: nowMs + parkMs });
      return 'parked';
    },
    sweep(nowMs) {
      for (const [id, ref] of byId) if (ref.msg.expiresAtMs < nowMs) byId.delete(id);
      let orphans = 0;
      for (const [id, p] of parked) {
        if (p.untilMs < nowMs) {
          parked.delete(id);
          orphans += p.receipts.length;
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
