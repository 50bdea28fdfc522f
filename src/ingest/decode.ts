import type { PingColumns } from './ping-columns.ts';
import { createScannedPing, sameBytes, scanPing } from './ping-scanner.ts';
import type { InvalidPingReason, Ping } from './types.ts';

export interface PingDecoderOptions {
  /** Wall clock (ms); timestamps are judged against it. */
  now?: () => number;
  /** A ping stamped further in the future than this is rejected (clock skew allowance). */
  maxFutureMs?: number;
  /** A ping older than this is rejected. */
  maxPastMs?: number;
  /** Largest accepted message, bytes. */
  maxBytes?: number;
  /** Longest subscriber pseudonym. */
  maxSidLength?: number;
  /** Largest believable uncertainty radius (m). */
  maxAccM?: number;
  /** false: every message through JSON.parse (tests compare the byte-level reader against it). */
  byteReader?: boolean;
}

export interface PingDecoder {
  /**
   * Decodes and validates one message. Returns the ping (the parsed object itself, no copy) or the reason
   * it is invalid. Never throws. With `key`, the Kafka key must equal the sid.
   */
  decode(value: Buffer | string | null, key?: Buffer | null): Ping | InvalidPingReason;
  /**
   * As `decode`, for a message stored at `bytes[start, end)` (a batch packed into one buffer), with
   * its Kafka key at `bytes[keyStart, keyEnd)` (keyStart < 0: no key). No Buffer made per message.
   */
  decodeAt(
    bytes: Buffer,
    start: number,
    end: number,
    keyStart: number,
    keyEnd: number,
  ): Ping | InvalidPingReason;
  /**
   * As `decodeAt`, appending the ping to `into` (with `index`, the message's index in its batch) instead
   * of returning it; `into` must have room. Returns the reason when the message is invalid.
   */
  decodeInto(
    bytes: Buffer,
    start: number,
    end: number,
    keyStart: number,
    keyEnd: number,
    into: PingColumns,
    index: number,
  ): InvalidPingReason | undefined;
  /** Validates an already parsed value (an element of a JSON array body). */
  check(o: unknown): Ping | InvalidPingReason;
}

const SRC_MAX = 32;

/** key (UTF-8 bytes at [start, end)) spells sid: byte by byte for ASCII sids, no string built per message. */
function keyIsSid(key: Buffer, start: number, end: number, sid: string): boolean {
  if (end - start !== sid.length) return key.toString('utf8', start, end) === sid;
  for (let i = start; i < end; i++) {
    const c = sid.charCodeAt(i - start);
    if (c > 0x7f) return key.toString('utf8', start, end) === sid;
    if (key[i] !== c) return false;
  }
  return true;
}

/**
 * A hand-written check for the hot path (a schema library per message costs more than the parse).
 * Messages of the usual shape are read byte by byte (src/ingest/ping-scanner.ts); anything else, and
 * every invalid message, goes through JSON.parse and the checks below, which decide the reason.
 * The clock is re-read every 1024 messages and before any `ts_future` verdict.
 */
export function createPingDecoder(options: PingDecoderOptions = {}): PingDecoder {
  const now = options.now ?? Date.now;
  const maxFutureMs = options.maxFutureMs ?? 5 * 60_000;
  const maxPastMs = options.maxPastMs ?? 7 * 24 * 3_600_000;
  const maxBytes = options.maxBytes ?? 4_096;
  const maxSid = options.maxSidLength ?? 128;
  const maxAcc = options.maxAccM ?? 100_000;
  // Reading the clock per message is measurable at 100k/s; a stale clock only makes ts_past lenient.
  let clockMs = now();
  let clockAt = 0;

  const tsVerdict = (ts: number): 'ts_future' | 'ts_past' | undefined => {
    if (++clockAt >= 1024) {
      clockAt = 0;
      clockMs = now();
    }
    if (ts > clockMs + maxFutureMs) {
      // The cached clock may be stale: re-read before rejecting.
      clockMs = now();
      if (ts > clockMs + maxFutureMs) return 'ts_future';
    }
    if (ts < clockMs - maxPastMs) return 'ts_past';
    return undefined;
  };

  // The byte-level reader's result; valid only right after `fast` returned true.
  const scanned = createScannedPing();
  const byteReader = options.byteReader ?? true;
  /** The message has the usual shape and passes every check (else the strict path decides). */
  const fast = (
    bytes: Buffer,
    start: number,
    end: number,
    key: Buffer | null,
    keyStart: number,
    keyEnd: number,
  ) => {
    if (!byteReader || !scanPing(bytes, start, end, scanned)) return false;
    const sidLength = scanned.sidEnd - scanned.sidStart;
    if (sidLength === 0 || sidLength > maxSid) return false;
    const { lat, lon, acc } = scanned;
    if (!(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) || !(acc >= 0 && acc <= maxAcc))
      return false;
    if (scanned.srcStart >= 0 && scanned.srcEnd - scanned.srcStart > SRC_MAX) return false;
    if (tsVerdict(scanned.ts) !== undefined) return false;
    // An ASCII sid (the reader takes no other) equals the key when their bytes do.
    if (key !== null && keyEnd > keyStart) {
      if (keyEnd - keyStart !== sidLength || !sameBytes(key, keyStart, bytes, scanned.sidStart, sidLength))
        return false;
    }
    return true;
  };
  const fastPing = (bytes: Buffer): Ping => ({
    sid: bytes.toString('latin1', scanned.sidStart, scanned.sidEnd),
    lat: scanned.lat,
    lon: scanned.lon,
    ts: scanned.ts,
    acc: scanned.acc,
    src: scanned.srcStart < 0 ? '' : bytes.toString('latin1', scanned.srcStart, scanned.srcEnd),
  });

  const check = (o: unknown, key?: Buffer | null, keyStart = 0, keyEnd = -1): Ping | InvalidPingReason => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not_object';
    const p = o as Record<string, unknown>;
    const sid = p.sid;
    if (sid === undefined) return 'sid_missing';
    if (typeof sid !== 'string' || sid.length === 0 || sid.length > maxSid) return 'sid_invalid';
    const lat = p.lat;
    if (lat === undefined) return 'lat_missing';
    if (typeof lat !== 'number' || !(lat >= -90 && lat <= 90)) return 'lat_invalid';
    const lon = p.lon;
    if (lon === undefined) return 'lon_missing';
    if (typeof lon !== 'number' || !(lon >= -180 && lon <= 180)) return 'lon_invalid';
    const ts = p.ts;
    if (ts === undefined) return 'ts_missing';
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return 'ts_invalid';
    const when = tsVerdict(ts);
    if (when !== undefined) return when;
    const acc = p.acc;
    if (acc === undefined) return 'acc_missing';
    if (typeof acc !== 'number' || !(acc >= 0 && acc <= maxAcc)) return 'acc_invalid';
    const src = p.src;
    if (src === undefined) p.src = '';
    else if (typeof src !== 'string' || src.length > SRC_MAX) return 'src_invalid';
    if (key != null) {
      const end = keyEnd < 0 ? key.length : keyEnd;
      if (end > keyStart && !keyIsSid(key, keyStart, end, sid)) return 'key_mismatch';
    }
    return p as unknown as Ping;
  };

  const strictAt = (bytes: Buffer, start: number, end: number, keyStart: number, keyEnd: number) => {
    let o: unknown;
    try {
      o = JSON.parse(bytes.toString('utf8', start, end));
    } catch {
      return 'invalid_json';
    }
    return keyStart < 0 ? check(o) : check(o, bytes, keyStart, keyEnd);
  };

  return {
    check: (o) => check(o),
    decode(value, key) {
      if (value === null) return 'invalid_json';
      if (value.length > maxBytes) return 'too_large';
      if (typeof value !== 'string' && fast(value, 0, value.length, key ?? null, 0, key?.length ?? 0))
        return fastPing(value);
      let o: unknown;
      try {
        o = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
      } catch {
        return 'invalid_json';
      }
      return check(o, key);
    },
    decodeAt(bytes, start, end, keyStart, keyEnd) {
      if (end - start > maxBytes) return 'too_large';
      if (fast(bytes, start, end, keyStart < 0 ? null : bytes, keyStart, keyEnd)) return fastPing(bytes);
      return strictAt(bytes, start, end, keyStart, keyEnd);
    },
    decodeInto(bytes, start, end, keyStart, keyEnd, into, index) {
      if (end - start > maxBytes) return 'too_large';
      const n = into.n;
      if (fast(bytes, start, end, keyStart < 0 ? null : bytes, keyStart, keyEnd)) {
        into.sid[n] = bytes.toString('latin1', scanned.sidStart, scanned.sidEnd);
        into.lat[n] = scanned.lat;
        into.lon[n] = scanned.lon;
        into.ts[n] = scanned.ts;
        into.acc[n] = scanned.acc;
      } else {
        const r = strictAt(bytes, start, end, keyStart, keyEnd);
        if (typeof r === 'string') return r;
        into.sid[n] = r.sid;
        into.lat[n] = r.lat;
        into.lon[n] = r.lon;
        into.ts[n] = r.ts;
        into.acc[n] = r.acc;
      }
      into.index[n] = index;
      into.n = n + 1;
      return undefined;
    },
  };
}
