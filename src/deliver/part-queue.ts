import type { SubmitSmFields } from './pdu-raw.ts';
import { createTokenBucket, type TokenBucket } from './token-bucket.ts';

/** One submit_sm waiting for (or back from) a bind. */
export interface OutPart {
  /** The message this part belongs to (opaque to the queue). */
  owner: PartOwner;
  index: number;
  senderId: string;
  params: SubmitSmFields;
  expiresAtMs: number;
  /** Submits that got a retriable error status (not throttling). */
  retries: number;
}

/** What a bind reports back about a part. */
export type PartOutcome =
  | { kind: 'submitted'; smscId: string }
  | { kind: 'failed'; error: string }
  | { kind: 'expired' }
  | { kind: 'blocked' }
  /** Not sent because an earlier part ended the message (blocked, expired or failed). */
  | { kind: 'skipped' }
  /** Never written, at shutdown: the order stays journaled as queued and the next start sends it. */
  | { kind: 'deferred' }
  | { kind: 'unknown'; error: string };

export interface PartOwner {
  /** Last check before the first part leaves: consent and blocklist. False = do not send. */
  precheck(): boolean;
  /**
   * Resolves once the message's outbox intent is on disk (undefined when it already is). Every part
   * waits for it, so nothing reaches the SMSC before the idempotency key is durable.
   */
  durable(): Promise<void> | undefined;
  /** Called right before a part is written to a socket. */
  written(): void;
  /**
   * At shutdown, for a message none of whose parts was written: withdraws its outbox intent so the
   * order is journaled as queued again. Returns false when a part was written or the message ended.
   */
  release(): boolean;
  settle(part: OutPart, outcome: PartOutcome): void;
  /** True once the message can no longer be delivered whole: remaining parts are skipped unsent. */
  readonly aborted: boolean;
}

export interface PartQueue {
  pushBack(parts: OutPart[]): void;
  pushFront(part: OutPart): void;
  /**
   * The next part whose sender ID has a token, or the milliseconds until one will; parts of a sender
   * without tokens stay in order behind it.
   */
  take(nowMs: number): OutPart | number | undefined;
  readonly length: number;
  /** The part `offset` places behind the head, without taking it. */
  peek(offset: number): OutPart | undefined;
  /** Removes and returns every queued part (shutdown). */
  drain(): OutPart[];
}

// How far past a blocked sender ID the queue looks for another sender's part.
const SCAN = 64;

/** The account-wide FIFO of parts, shared by its binds, with a token bucket per limited sender ID. */
export function createPartQueue(senderIdTps: Record<string, number>): PartQueue {
  let items: OutPart[] = [];
  let head = 0;
  const buckets = new Map<string, TokenBucket>();
  for (const [id, tps] of Object.entries(senderIdTps)) buckets.set(id, createTokenBucket(tps, 2, 0));

  const compact = (): void => {
    if (head > 1024 && head * 2 > items.length) {
      items = items.slice(head);
      head = 0;
    }
  };

  return {
    pushBack(parts) {
      for (const p of parts) items.push(p);
    },
    pushFront(part) {
      if (head > 0) items[--head] = part;
      else items.unshift(part);
    },
    take(nowMs) {
      if (head >= items.length) return undefined;
      let minWait = Number.POSITIVE_INFINITY;
      const blocked = new Set<string>();
      const end = Math.min(items.length, head + SCAN);
      for (let i = head; i < end; i++) {
        const p = items[i];
        if (blocked.has(p.senderId)) continue;
        const bucket = buckets.get(p.senderId);
        const wait = bucket ? bucket.take(nowMs) : 0;
        if (wait > 0) {
          blocked.add(p.senderId);
          if (wait < minWait) minWait = wait;
          continue;
        }
        if (i === head) {
          head++;
        } else {
          items.splice(i, 1);
        }
        compact();
        return p;
      }
      return minWait;
    },
    get length() {
      return items.length - head;
    },
    peek(offset) {
      return items[head + offset];
    },
    drain() {
      const out = items.slice(head);
      items = [];
      head = 0;
      return out;
    },
  };
}
