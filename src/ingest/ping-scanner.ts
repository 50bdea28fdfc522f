// A byte-level reader for the usual shape of a ping message: one flat JSON object whose keys are among
// sid, lat, lon, ts, acc, src (each at most once), printable-ASCII strings without escapes, and plain
// decimal numbers of at most 15 digits. Anything else — other keys, escapes, exponents, long numbers,
// nested values, bad JSON — is left to the strict JSON.parse path (src/ingest/decode.ts), so the two
// agree by construction: this reader either returns exactly what JSON.parse would give, or gives up.

const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

// One bit per field; a ping needs the first five.
const SID = 1;
const LAT = 2;
const LON = 4;
const TS = 8;
const ACC = 16;
const SRC = 32;
const REQUIRED = SID | LAT | LON | TS | ACC;

// 10^k is exact in a double for k ≤ 22; with an integer mantissa below 2^53 one division is correctly
// rounded, i.e. the same double JSON.parse makes of the decimal text (Clinger's fast path).
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_DIGITS = 15;

/** What `scanPing` read; `srcStart` < 0 when the message has no src. */
export interface ScannedPing {
  sidStart: number;
  sidEnd: number;
  srcStart: number;
  srcEnd: number;
  lat: number;
  lon: number;
  ts: number;
  acc: number;
}

export function createScannedPing(): ScannedPing {
  return { sidStart: 0, sidEnd: 0, srcStart: -1, srcEnd: -1, lat: 0, lon: 0, ts: 0, acc: 0 };
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Reads the message at `bytes[start, end)` into `out`. True when the message has the usual shape and all
 * five required fields (values not yet range-checked); false means "ask JSON.parse", never "invalid".
 */
export function scanPing(bytes: Uint8Array, start: number, end: number, out: ScannedPing): boolean {
  let i = start;
  while (i < end && isSpace(bytes[i])) i++;
  if (i >= end || bytes[i] !== OPEN) return false;
  i++;
  let seen = 0;
  out.srcStart = -1;
  for (;;) {
    while (i < end && isSpace(bytes[i])) i++;
    if (i >= end || bytes[i] !== QUOTE) return false;
    // The key: one of six, spelled without escapes.
    const k = i + 1;
    let field = 0;
    if (bytes[k + 2] === QUOTE) {
      if (bytes[k] === 0x74 && bytes[k + 1] === 0x73) field = TS;
      i = k + 3;
    } else if (bytes[k + 3] === QUOTE) {
      const a = bytes[k];
      const b = bytes[k + 1];
      const c = bytes[k + 2];
      if (a === 0x73) {
        if (b === 0x69 && c === 0x64) field = SID;
        else if (b === 0x72 && c === 0x63) field = SRC;
      } else if (a === 0x6c) {
        if (b === 0x61 && c === 0x74) field = LAT;
        else if (b === 0x6f && c === 0x6e) field = LON;
      } else if (a === 0x61 && b === 0x63 && c === 0x63) field = ACC;
      i = k + 4;
    }
    if (field === 0 || (seen & field) !== 0 || i >= end) return false;
    seen |= field;
    while (i < end && isSpace(bytes[i])) i++;
    if (i >= end || bytes[i] !== COLON) return false;
    i++;
    while (i < end && isSpace(bytes[i])) i++;
    if (i >= end) return false;
    if (field === SID || field === SRC) {
      if (bytes[i] !== QUOTE) return false;
      const s = ++i;
      for (;;) {
        if (i >= end) return false;
        const c = bytes[i];
        if (c === QUOTE) break;
        // Control characters (bad JSON), escapes and non-ASCII text: JSON.parse decides.
        if (c < 0x20 || c > 0x7e || c === BACKSLASH) return false;
        i++;
      }
      if (field === SID) {
        out.sidStart = s;
        out.sidEnd = i;
      } else {
        out.srcStart = s;
        out.srcEnd = i;
      }
      i++;
    } else {
      // -?(0|[1-9][0-9]*)(\.[0-9]+)? with at most MAX_DIGITS digits; exponents go to JSON.parse.
      let neg = false;
      if (bytes[i] === MINUS) {
        neg = true;
        i++;
      }
      if (i >= end) return false;
      let m = 0;
      let digits = 0;
      let scale = 0;
      const first = bytes[i];
      if (first === ZERO) i++;
      else if (first > ZERO && first <= NINE) {
        for (; i < end; i++) {
          const d = bytes[i] - ZERO;
          if (d < 0 || d > 9) break;
          m = m * 10 + d;
          digits++;
        }
      } else return false;
      if (i < end && bytes[i] === DOT) {
        i++;
        const f = i;
        for (; i < end; i++) {
          const d = bytes[i] - ZERO;
          if (d < 0 || d > 9) break;
          m = m * 10 + d;
          digits++;
        }
        scale = i - f;
        if (scale === 0) return false;
      }
      if (digits > MAX_DIGITS) return false;
      let v = scale === 0 ? m : m / POW10[scale];
      if (neg) v = -v;
      if (field === LAT) out.lat = v;
      else if (field === LON) out.lon = v;
      else if (field === TS) out.ts = v;
      else out.acc = v;
    }
    while (i < end && isSpace(bytes[i])) i++;
    if (i >= end) return false;
    const c = bytes[i++];
    if (c === CLOSE) break;
    if (c !== COMMA) return false;
  }
  while (i < end && isSpace(bytes[i])) i++;
  return i === end && (seen & REQUIRED) === REQUIRED;
}

/** bytes[a, a + n) equals bytes[b, b + n). */
export function sameBytes(x: Uint8Array, a: number, y: Uint8Array, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (x[a + i] !== y[b + i]) return false;
  return true;
}
