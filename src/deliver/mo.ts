import { decodeGsm7 } from './gsm7.ts';
import { decodeUcs2, readConcatUdh } from './segmentation.ts';

// Opt-out words in English, Ukrainian and Russian (first word of the reply, any case/punctuation).
const STOP_WORDS = new Set([
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'OPTOUT',
  'СТОП',
  'ОТПИСКА',
  'ОТПИСАТЬСЯ',
  'ВІДПИСКА',
  'ВІДПИСАТИСЯ',
  'ВИДПИСКА',
]);
const HELP_WORDS = new Set(['HELP', 'INFO', 'ПОМОЩЬ', 'ДОПОМОГА']);

export interface MoKeyword {
  keyword: string;
  action: 'opt_out' | 'help' | 'none';
}

/** Classifies an MO text by its first word: an opt-out word, a help word, or none. */
export function classifyMo(text: string): MoKeyword {
  const first = text
    .normalize('NFC')
    .trim()
    .split(/\s+/)[0]
    .replace(/[^\p{L}\p{N}]/gu, '')
    .toUpperCase();
  if (STOP_WORDS.has(first)) return { keyword: first, action: 'opt_out' };
  if (HELP_WORDS.has(first)) return { keyword: first, action: 'help' };
  return { keyword: '', action: 'none' };
}

/** Decodes a short_message payload by data_coding (GSM-7 unpacked, Latin-1, UCS-2). */
export function decodePayload(bytes: Uint8Array, dataCoding: number): string {
  const scheme = dataCoding & 0x0f;
  if (scheme === 0x08) return decodeUcs2(bytes);
  if (scheme === 0x03 || scheme === 0x01) return Buffer.from(bytes).toString('latin1');
  return decodeGsm7(bytes);
}

interface Pending {
  parts: (Uint8Array | undefined)[];
  got: number;
  dataCoding: number;
  firstMs: number;
}

export interface MoAssembler {
  /**
   * Adds one MO part; returns the full text once every part of its message has arrived, the text
   * itself for a single-part MO, undefined while parts are missing.
   */
  add(
    from: string,
    payload: Uint8Array,
    hasUdh: boolean,
    dataCoding: number,
    nowMs: number,
  ): string | undefined;
  /** Drops incomplete messages older than the timeout; returns how many were dropped. */
  expire(nowMs: number): number;
  readonly pending: number;
}

/** Reassembles concatenated MO: parts are keyed by (sender, reference, total); bytes are joined before decoding. */
export function createMoAssembler(timeoutMs = 120_000): MoAssembler {
  const pending = new Map<string, Pending>();
  return {
    add(from, payload, hasUdh, dataCoding, nowMs) {
      if (!hasUdh) return decodePayload(payload, dataCoding);
      const c = readConcatUdh(payload);
      const body = c ? payload.subarray(c.headerLength) : payload;
      if (!c || c.total <= 1 || c.seq < 1 || c.seq > c.total) return decodePayload(body, dataCoding);
      const key = `${from}|${c.ref}|${c.total}`;
      let p = pending.get(key);
      if (!p) {
        p = { parts: new Array(c.total).fill(undefined), got: 0, dataCoding, firstMs: nowMs };
        pending.set(key, p);
      }
      if (p.parts[c.seq - 1] === undefined) p.got++;
      p.parts[c.seq - 1] = body;
      if (p.got < c.total) return undefined;
      pending.delete(key);
      // Joining octets first keeps a surrogate pair or escape split across parts intact.
      return decodePayload(Buffer.concat(p.parts as Uint8Array[]), p.dataCoding);
    },
    expire(nowMs) {
      let n = 0;
      for (const [k, p] of pending) {
        if (nowMs - p.firstMs > timeoutMs) {
          pending.delete(k);
          n++;
        }
      }
      return n;
    },
    get pending() {
      return pending.size;
    },
  };
}
