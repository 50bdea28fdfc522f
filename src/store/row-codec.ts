import { AppError } from '../errors.ts';
import type { ColumnInfo } from './types.ts';

/**
 * Validates a row against a table's columns and encodes it as one CSV line. CSV rather than
 * TabSeparated: inline insert data loses trailing whitespace, which in TSV would drop an empty last
 * field; in CSV every string is quoted, so no row ends in whitespace.
 */
export interface RowCodec {
  readonly table: string;
  /** Insertable columns, in the order the encoded fields follow. */
  readonly columns: readonly string[];
  /**
   * Appends the row's CSV line (UTF-8, ending in '\n') to `sink`; throws STORE_ROW_INVALID naming table
   * and column, and then leaves the sink as it was.
   */
  encodeInto(row: object, sink: ByteSink): void;
  /** The row as a CSV line ending in '\n' (encodeInto, as text). */
  encode(row: object): string;
}

/** Bytes [0, size) of buf are written; buf is replaced by a larger one when a row does not fit. */
export interface ByteSink {
  buf: Buffer;
  size: number;
}

/** Makes room for `n` more bytes (doubling, so a batch is copied O(log n) times). */
function reserve(sink: ByteSink, n: number): Buffer {
  const need = sink.size + n;
  if (need > sink.buf.length) {
    const grown = Buffer.allocUnsafe(Math.max(need, 2 * sink.buf.length, 256));
    sink.buf.copy(grown, 0, 0, sink.size);
    sink.buf = grown;
  }
  return sink.buf;
}

/** Writes a string that is known to be ASCII without quoting (numbers, NULL markers). */
function writeAscii(sink: ByteSink, s: string): void {
  const buf = reserve(sink, s.length);
  let o = sink.size;
  for (let i = 0; i < s.length; i++) buf[o++] = s.charCodeAt(i);
  sink.size = o;
}

/** A non-negative safe integer as decimal digits. */
function writeUint(sink: ByteSink, n: number): void {
  if (n < 10) {
    reserve(sink, 1)[sink.size++] = 48 + n;
    return;
  }
  let digits = 1;
  for (let p = 10; p <= n && digits < 16; p *= 10) digits++;
  if (digits === 16) {
    writeAscii(sink, String(n));
    return;
  }
  const buf = reserve(sink, digits);
  let o = sink.size + digits;
  sink.size = o;
  while (n >= 10) {
    const q = Math.floor(n / 10);
    buf[--o] = 48 + (n - q * 10);
    n = q;
  }
  buf[--o] = 48 + n;
}

function writeInt(sink: ByteSink, n: number): void {
  if (n < 0) {
    reserve(sink, 1)[sink.size++] = 45;
    writeUint(sink, -n);
  } else writeUint(sink, n);
}

/** A CSV field: the string in double quotes, inner double quotes doubled. */
function writeCsvString(sink: ByteSink, s: string): void {
  const len = s.length;
  // ASCII: at most two bytes a char (a doubled quote) plus the two quotes.
  const buf = reserve(sink, 2 * len + 2);
  const start = sink.size;
  let o = start;
  buf[o++] = 34;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      // Not ASCII: let Buffer do the UTF-8 (up to 3 bytes a UTF-16 unit, quotes doubled).
      const q = csvString(s);
      reserve(sink, 3 * q.length);
      sink.size = start + sink.buf.write(q, start, 'utf8');
      return;
    }
    if (c === 34) buf[o++] = 34;
    buf[o++] = c;
  }
  buf[o++] = 34;
  sink.size = o;
}

/** Writes the value's field and returns true, or returns false when the value does not fit the type. */
type Encode = (v: unknown, sink: ByteSink) => boolean;

interface ColumnCodec {
  name: string;
  type: string;
  encode: Encode;
  /** What an absent value becomes ('' lets ClickHouse apply the DEFAULT; '\\N' is NULL). */
  absent: string | undefined;
}

const ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', "'": "\\'" };
const QUOTED_SPECIAL_G = /[\\\t\n\r']/g;

function csvString(s: string): string {
  return s.includes('"') ? `"${s.replaceAll('"', '""')}"` : `"${s}"`;
}

/** A string as a quoted literal inside an array field: ['a','b\'c']. */
function quotedString(s: string): string {
  return `'${s.replace(QUOTED_SPECIAL_G, (c) => ESC[c])}'`;
}

const INT_RANGES: Record<string, [number, number]> = {
  UInt8: [0, 255],
  UInt16: [0, 65_535],
  UInt32: [0, 4_294_967_295],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
  Int8: [-128, 127],
  Int16: [-32_768, 32_767],
  Int32: [-2_147_483_648, 2_147_483_647],
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Milliseconds since epoch from a number, a Date or an ISO-8601 string; undefined when it is none of them. */
function toMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && v < 1e14 ? Math.trunc(v) : undefined;
  if (v instanceof Date) return toMs(v.getTime());
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) return toMs(Date.parse(v));
  return undefined;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

function unwrap(type: string, wrapper: string): string | undefined {
  const prefix = `${wrapper}(`;
  return type.startsWith(prefix) && type.endsWith(')') ? type.slice(prefix.length, -1) : undefined;
}

/** A value as the text of its field; undefined = the value does not fit the type. */
type TextEncode = (v: unknown) => string | undefined;

/**
 * Builds the text encoder for a ClickHouse type (`quoted`: as an element inside an array field);
 * undefined when the writer does not support the type.
 */
function textEncoderFor(type: string, quoted: boolean): TextEncode | undefined {
  const lc = unwrap(type, 'LowCardinality');
  if (lc) return textEncoderFor(lc, quoted);
  if (type === 'String' || type === 'UUID' || type.startsWith('FixedString(')) {
    const uuid = type === 'UUID';
    const fixed = type.startsWith('FixedString(') ? Number(type.slice(12, -1)) : 0;
    return (v) => {
      if (typeof v !== 'string') return undefined;
      if (uuid && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v))
        return undefined;
      if (fixed && Buffer.byteLength(v) > fixed) return undefined;
      return quoted ? quotedString(v) : csvString(v);
    };
  }
  const range = INT_RANGES[type];
  if (range) {
    const [min, max] = range;
    const wide = type === 'UInt64' || type === 'Int64';
    return (v) => {
      if (typeof v === 'number') return Number.isInteger(v) && v >= min && v <= max ? String(v) : undefined;
      if (typeof v === 'boolean' && type === 'UInt8') return v ? '1' : '0';
      if (typeof v === 'bigint' && wide) return String(v);
      return undefined;
    };
  }
  if (type === 'Float32' || type === 'Float64' || type.startsWith('Decimal')) {
    return (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
  }
  if (type === 'Bool') {
    return (v) => (typeof v === 'boolean' ? (v ? 'true' : 'false') : undefined);
  }
  if (type.startsWith('DateTime64(')) {
    const q = quoted ? "'" : '';
    return (v) => {
      const ms = toMs(v);
      // seconds.fraction parses the same whatever the column's precision.
      return ms === undefined ? undefined : `${q}${Math.floor(ms / 1000)}.${pad3(ms % 1000)}${q}`;
    };
  }
  if (type === 'DateTime' || type.startsWith('DateTime(')) {
    return (v) => {
      const ms = toMs(v);
      return ms === undefined ? undefined : String(Math.floor(ms / 1000));
    };
  }
  if (type === 'Date' || type === 'Date32') {
    const q = quoted ? "'" : '';
    return (v) => {
      const ms = toMs(v);
      return ms === undefined ? undefined : `${q}${new Date(ms).toISOString().slice(0, 10)}${q}`;
    };
  }
  const enumBody = unwrap(type, 'Enum8') ?? unwrap(type, 'Enum16');
  if (enumBody) {
    const names = new Set([...enumBody.matchAll(/'((?:[^'\\]|\\.)*)'\s*=/g)].map((m) => m[1]));
    return (v) =>
      typeof v === 'string' && names.has(v) ? (quoted ? quotedString(v) : csvString(v)) : undefined;
  }
  const nullable = unwrap(type, 'Nullable');
  if (nullable) {
    const inner = textEncoderFor(nullable, quoted);
    if (!inner) return undefined;
    const nul = quoted ? 'NULL' : '\\N';
    return (v) => (v === null || v === undefined ? nul : inner(v));
  }
  const arr = unwrap(type, 'Array');
  if (arr && !quoted) {
    const inner = textEncoderFor(arr, true);
    if (!inner) return undefined;
    return (v) => {
      if (!Array.isArray(v)) return undefined;
      const parts: string[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const p = inner(v[i]);
        if (p === undefined) return undefined;
        parts[i] = p;
      }
      return csvString(`[${parts.join(',')}]`);
    };
  }
  return undefined;
}

/**
 * Builds the byte encoder of a CSV field: the common types write their bytes straight into the sink,
 * the rest (arrays, dates, decimals…) go through their text. Same output as the text encoder.
 */
function fieldEncoderFor(type: string): Encode | undefined {
  const lc = unwrap(type, 'LowCardinality');
  if (lc) return fieldEncoderFor(lc);
  if (type === 'String') {
    return (v, sink) => {
      if (typeof v !== 'string') return false;
      writeCsvString(sink, v);
      return true;
    };
  }
  const range = INT_RANGES[type];
  if (range) {
    const [min, max] = range;
    const text = textEncoderFor(type, false)!;
    return (v, sink) => {
      if (typeof v === 'number') {
        if (!Number.isInteger(v) || v < min || v > max) return false;
        writeInt(sink, v);
        return true;
      }
      const t = text(v);
      if (t === undefined) return false;
      writeAscii(sink, t);
      return true;
    };
  }
  if (type.startsWith('DateTime64(')) {
    return (v, sink) => {
      const ms = toMs(v);
      if (ms === undefined) return false;
      // seconds.fraction parses the same whatever the column's precision.
      const sec = Math.floor(ms / 1000);
      const frac = ms - sec * 1000;
      writeUint(sink, sec);
      const buf = reserve(sink, 4);
      const o = sink.size;
      buf[o] = 46;
      buf[o + 1] = 48 + Math.floor(frac / 100);
      buf[o + 2] = 48 + (Math.floor(frac / 10) % 10);
      buf[o + 3] = 48 + (frac % 10);
      sink.size = o + 4;
      return true;
    };
  }
  const nullable = unwrap(type, 'Nullable');
  if (nullable) {
    const inner = fieldEncoderFor(nullable);
    if (!inner) return undefined;
    return (v, sink) => {
      if (v !== null && v !== undefined) return inner(v, sink);
      writeAscii(sink, '\\N');
      return true;
    };
  }
  const text = textEncoderFor(type, false);
  if (!text) return undefined;
  return (v, sink) => {
    const t = text(v);
    if (t === undefined) return false;
    reserve(sink, 3 * t.length);
    sink.size += sink.buf.write(t, sink.size, 'utf8');
    return true;
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isFinite(v) ? `number ${v}` : String(v);
  if (typeof v === 'string') return `a string of ${v.length} chars`;
  return typeof v;
}

function invalid(table: string, column: string, message: string): AppError {
  return new AppError('STORE_ROW_INVALID', `${table}.${column}: ${message}`, { details: { table, column } });
}

/** Compiles the codec of one table from its columns (system.columns); unsupported types fail on use, not here. */
export function compileRowCodec(table: string, columns: readonly ColumnInfo[]): RowCodec {
  const codecs: ColumnCodec[] = [];
  const skipped = new Set<string>();
  for (const c of columns) {
    if (c.defaultKind === 'MATERIALIZED' || c.defaultKind === 'ALIAS' || c.defaultKind === 'EPHEMERAL') {
      skipped.add(c.name);
      continue;
    }
    const enc = fieldEncoderFor(c.type);
    const nullable = c.type.startsWith('Nullable(') || c.type.startsWith('LowCardinality(Nullable(');
    const absent = nullable ? '\\N' : c.defaultKind === 'DEFAULT' ? '' : undefined;
    codecs.push({
      name: c.name,
      type: c.type,
      encode:
        enc ??
        (() => {
          throw invalid(table, c.name, `type ${c.type} is not supported by the writer; use store.insert`);
        }),
      absent,
    });
  }
  const names = new Set(codecs.map((c) => c.name));
  const n = codecs.length;
  const encodeInto = (row: object, sink: ByteSink): void => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw invalid(table, '(row)', `expected an object, got ${describe(row)}`);
    }
    const r = row as Record<string, unknown>;
    const start = sink.size;
    try {
      let present = 0;
      for (let i = 0; i < n; i++) {
        const c = codecs[i];
        if (i > 0) reserve(sink, 1)[sink.size++] = 44;
        const v = r[c.name];
        if (v === undefined) {
          if (c.absent === undefined) throw invalid(table, c.name, `missing (${c.type})`);
          writeAscii(sink, c.absent);
        } else {
          present++;
          if (!c.encode(v, sink)) throw invalid(table, c.name, `expected ${c.type}, got ${describe(v)}`);
        }
      }
      // More own keys than known columns present = a typo or a column that does not exist.
      const keys = Object.keys(r);
      if (keys.length !== present) {
        for (const k of keys) {
          if (r[k] !== undefined && !names.has(k)) {
            throw invalid(
              table,
              k,
              skipped.has(k) ? 'is computed by ClickHouse; do not supply it' : 'no such column',
            );
          }
        }
      }
      reserve(sink, 1)[sink.size++] = 10;
    } catch (err) {
      // A rejected row leaves nothing behind: the batch it was going into stays whole.
      sink.size = start;
      throw err;
    }
  };
  const scratch: ByteSink = { buf: Buffer.allocUnsafe(1024), size: 0 };
  return {
    table,
    columns: codecs.map((c) => c.name),
    encodeInto,
    encode(row: object): string {
      scratch.size = 0;
      encodeInto(row, scratch);
      return scratch.buf.toString('utf8', 0, scratch.size);
    },
  };
}
