import { isoDateDayOfBytes } from './codec.ts';
import type { Layout } from './layout.ts';

/**
 * Reads one NDJSON profile line — UTF-8 bytes `bytes[start, end)`, without its line break — straight
 * into raw values, `raws[i]` for `layout.attrs[i]` (0 where absent), and returns its sid. Returns
 * undefined whenever the line is not the plain shape it knows — escapes, control or non-ASCII
 * characters in strings, unknown keys, numbers with exponents or more than 15 digits, strings for
 * numbers, epoch-ms or date-time timestamps, values the encoders would reject, anything that is not
 * valid JSON — so the caller takes the general path (`JSON.parse` + `upsert`), which stores the same
 * values and reports the same errors. The sid is not validated here (upsert does).
 */
export type ProfileLineScanner = (
  bytes: Buffer,
  start: number,
  end: number,
  raws: Float64Array,
) => string | undefined;

const INT = 0;
const DECIMAL = 1;
const ENUM = 2;
const BOOL = 3;
const SET = 4;
const TIMESTAMP = 5;
const TYPE_CODES = { int: INT, decimal: DECIMAL, enum: ENUM, bool: BOOL, set: SET, timestamp: TIMESTAMP };

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

const SID_KEY = -2;
const NO_KEY = -1;
/** m / 10^k is the correctly rounded double of the decimal when m < 2^53 and 10^k is exact (k ≤ 22). */
const MAX_DIGITS = 15;
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Bytes of an ASCII string. */
const ascii = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

/** Builds the scanner for one layout (the store's): attribute names, types and ranges resolved once. */
export function createProfileLineScanner(layout: Layout): ProfileLineScanner {
  const n = layout.attrs.length;
  const names = layout.attrs.map((a) => ascii(a.attr.name));
  // each name's whole 4-byte words, little-endian, to compare a key four bytes at a time
  const nameWords = names.map((name) => {
    const words = new Int32Array(name.length >> 2);
    const view = new DataView(name.buffer, name.byteOffset, name.length);
    for (let i = 0; i < words.length; i++) words[i] = view.getInt32(i * 4, true);
    return words;
  });
  // a DataView over the bytes being scanned, made once per buffer (a chunk holds many lines)
  let viewOf: Uint8Array | undefined;
  let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  const types = layout.attrs.map((a) => TYPE_CODES[a.attr.type]);
  const mins = layout.attrs.map((a) => ('min' in a.attr ? a.attr.min : 0));
  const maxs = layout.attrs.map((a) => ('max' in a.attr ? a.attr.max : 0));
  const scales = layout.attrs.map((a) => (a.attr.type === 'decimal' ? a.attr.scale : 1));
  // enum and set members that are plain ASCII (others never match here and take the general path)
  const members = layout.attrs.map((a) =>
    'values' in a.attr
      ? a.attr.values.map((v) => (/^[\x20-\x7e]*$/.test(v) ? ascii(v) : new Uint8Array(0)))
      : [],
  );

  /** True when b[at, at + word.length) holds exactly `word`. */
  const bytesAt = (b: Uint8Array, at: number, word: Uint8Array): boolean => {
    for (let i = 0; i < word.length; i++) if (b[at + i] !== word[i]) return false;
    return true;
  };

  /**
   * From just after an opening quote: index of the closing quote before `end`, or −1 when the string has
   * an escape, a control character or a non-ASCII byte (all left to the general path), or no end.
   */
  const stringEnd = (b: Uint8Array, from: number, end: number): number => {
    for (let i = from; i < end; i++) {
      const c = b[i];
      if (c === QUOTE) return i;
      if (c === BACKSLASH || c < 32 || c > 126) return -1;
    }
    return -1;
  };

  // members found by length, first, middle and last byte, then checked in full (null: fingerprints collide)
  const fingerprint = (len: number, first: number, mid: number, last: number) =>
    (len << 24) | (first << 16) | (mid << 8) | last;
  const memberIndex = members.map((values) => {
    const index = new Map<number, number>();
    for (let j = 0; j < values.length; j++) {
      const v = values[j];
      if (v.length === 0 || v.length > 63) return null;
      const f = fingerprint(v.length, v[0], v[v.length >> 1], v[v.length - 1]);
      if (index.has(f)) return null;
      index.set(f, j + 1);
    }
    return index;
  });

  /** Index (1-based) of the string at [from, to) among attribute i's members, or 0. */
  const memberCode = (b: Uint8Array, i: number, from: number, to: number): number => {
    const len = to - from;
    const values = members[i];
    const index = memberIndex[i];
    if (index !== null) {
      if (len === 0 || len > 63) return 0;
      const j = index.get(fingerprint(len, b[from], b[from + (len >> 1)], b[to - 1])) ?? 0;
      return j !== 0 && bytesAt(b, from, values[j - 1]) ? j : 0;
    }
    for (let j = 0; j < values.length; j++)
      if (values[j].length === len && len > 0 && bytesAt(b, from, values[j])) return j + 1;
    return 0;
  };

  const isWs = (c: number) => c === 32 || c === 9 || c === 13 || c === 10;

  return function scan(b, start, end, raws) {
    if (b !== viewOf) {
      viewOf = b;
      view = new DataView(b.buffer, b.byteOffset, b.length);
    }
    raws.fill(0);
    let sid: string | undefined;
    let p = start;
    let c = 0;
    while (p < end && b[p] <= 32 && isWs(b[p])) p++;
    if (p >= end || b[p] !== OPEN_BRACE) return undefined;
    p++;
    while (p < end && b[p] <= 32 && isWs(b[p])) p++;
    // keys usually come in catalogue order: try the one after the last first
    let hint = 0;
    for (;;) {
      if (p >= end || b[p] !== QUOTE) return undefined;
      p++;
      let key = NO_KEY;
      let q: number;
      // the expected key, compared in place (this loop is the scanner's hottest)
      let same = hint < n;
      if (same) {
        const name = names[hint];
        const len = name.length;
        same = p + len < end && b[p + len] === QUOTE;
        const words = nameWords[hint];
        for (let i = 0; same && i < words.length; i++) same = view.getInt32(p + i * 4, true) === words[i];
        for (let i = words.length * 4; same && i < len; i++) same = b[p + i] === name[i];
      }
      if (same) {
        key = hint;
        q = p + names[hint].length;
      } else {
        q = stringEnd(b, p, end);
        if (q < 0) return undefined;
        const len = q - p;
        if (len === 3 && b[p] === 115 && b[p + 1] === 105 && b[p + 2] === 100) key = SID_KEY;
        else {
          for (let i = 0; i < n; i++) {
            if (names[i].length === len && bytesAt(b, p, names[i])) {
              key = i;
              break;
            }
          }
          if (key === NO_KEY) return undefined;
        }
      }
      p = q + 1;
      while (p < end && b[p] <= 32 && isWs(b[p])) p++;
      if (p >= end || b[p] !== COLON) return undefined;
      p++;
      while (p < end && b[p] <= 32 && isWs(b[p])) p++;
      if (p >= end) return undefined;
      c = b[p];
      if (key === SID_KEY) {
        if (c !== QUOTE) return undefined;
        const e = stringEnd(b, p + 1, end);
        if (e < 0) return undefined;
        // printable ASCII (stringEnd): latin1 is the same text, and no subarray is made
        sid = b.toString('latin1', p + 1, e);
        p = e + 1;
      } else if (c === 110) {
        // null: unknown for every type
        if (p + 4 > end || b[p + 1] !== 117 || b[p + 2] !== 108 || b[p + 3] !== 108) return undefined;
        raws[key] = 0;
        p += 4;
      } else {
        const type = types[key];
        let raw = -1;
        if (type === INT || type === DECIMAL) {
          // a JSON number without exponent and with at most 15 digits, else the general path decides
          const negative = c === MINUS;
          if (negative) c = ++p < end ? b[p] : -1;
          if (c < ZERO || c > NINE) return undefined;
          let m = 0;
          let digits = 0;
          if (c === ZERO) {
            digits = 1;
            c = ++p < end ? b[p] : -1;
          } else {
            while (c >= ZERO && c <= NINE) {
              m = m * 10 + (c - ZERO);
              digits++;
              c = ++p < end ? b[p] : -1;
            }
          }
          let k = 0;
          if (c === DOT) {
            if (type === INT) return undefined;
            c = ++p < end ? b[p] : -1;
            while (c >= ZERO && c <= NINE) {
              m = m * 10 + (c - ZERO);
              digits++;
              k++;
              c = ++p < end ? b[p] : -1;
            }
            if (k === 0) return undefined;
          }
          // an exponent, a leading zero followed by digits, or too many digits for an exact m / 10^k
          if (c === 101 || c === 69 || (c >= ZERO && c <= NINE) || digits > MAX_DIGITS) return undefined;
          let v = k === 0 ? m : m / POW10[k];
          if (negative) v = -v;
          // the codec's encoders, for a number of the attribute's range
          if (!(v >= mins[key] && v <= maxs[key])) return undefined;
          raw = type === INT ? v - mins[key] + 1 : Math.round((v - mins[key]) * scales[key]) + 1;
        } else if (type === ENUM) {
          if (c !== QUOTE) return undefined;
          const e = stringEnd(b, p + 1, end);
          if (e < 0) return undefined;
          // "" is unknown, anything else must be one of the values
          raw = e === p + 1 ? 0 : memberCode(b, key, p + 1, e);
          if (raw === 0 && e !== p + 1) return undefined;
          p = e + 1;
        } else if (type === BOOL) {
          if (c === 116 && p + 4 <= end && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) {
            raw = 2;
            p += 4;
          } else if (
            c === 102 &&
            p + 5 <= end &&
            b[p + 1] === 97 &&
            b[p + 2] === 108 &&
            b[p + 3] === 115 &&
            b[p + 4] === 101
          ) {
            raw = 1;
            p += 5;
          } else return undefined;
        } else if (type === SET) {
          if (c !== OPEN_BRACKET) return undefined;
          p++;
          while (p < end && b[p] <= 32 && isWs(b[p])) p++;
          let mask = 0;
          if (p < end && b[p] === CLOSE_BRACKET) p++;
          else {
            for (;;) {
              if (p >= end || b[p] !== QUOTE) return undefined;
              const e = stringEnd(b, p + 1, end);
              if (e < 0) return undefined;
              const code = memberCode(b, key, p + 1, e);
              if (code === 0) return undefined;
              mask |= 1 << (code - 1);
              p = e + 1;
              while (p < end && b[p] <= 32 && isWs(b[p])) p++;
              c = p < end ? b[p] : -1;
              p++;
              if (c === CLOSE_BRACKET) break;
              if (c !== COMMA) return undefined;
              while (p < end && b[p] <= 32 && isWs(b[p])) p++;
            }
          }
          raw = mask >>> 0;
        } else {
          // timestamp: "" is unknown, else exactly an in-range 'YYYY-MM-DD'
          if (c !== QUOTE) return undefined;
          const e = stringEnd(b, p + 1, end);
          if (e < 0) return undefined;
          if (e === p + 1) raw = 0;
          else {
            if (e !== p + 11) return undefined;
            const day = isoDateDayOfBytes(b, p + 1);
            if (day === undefined || day < 1 || day > 65535) return undefined;
            raw = day;
          }
          p = e + 1;
        }
        raws[key] = raw;
      }
      if (key >= 0) hint = key + 1;
      while (p < end && b[p] <= 32 && isWs(b[p])) p++;
      c = p < end ? b[p] : -1;
      p++;
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) return undefined;
      while (p < end && b[p] <= 32 && isWs(b[p])) p++;
    }
    while (p < end && b[p] <= 32 && isWs(b[p])) p++;
    return p === end ? sid : undefined;
  };
}
