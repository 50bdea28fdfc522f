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
  /** Returns the row as a CSV line ending in '\n'; throws STORE_ROW_INVALID naming table and column. */
  encode(row: object): string;
}

type Encode = (v: unknown) => string | undefined;

interface ColumnCodec {
  name: string;
  type: string;
  /** Undefined result = value does not fit the type. */
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

/** Builds the encoder for a ClickHouse type; undefined when the writer does not support the type. */
function encoderFor(type: string, quoted: boolean): Encode | undefined {
  const lc = unwrap(type, 'LowCardinality');
  if (lc) return encoderFor(lc, quoted);
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
    const inner = encoderFor(nullable, quoted);
    if (!inner) return undefined;
    const nul = quoted ? 'NULL' : '\\N';
    return (v) => (v === null || v === undefined ? nul : inner(v));
  }
  const arr = unwrap(type, 'Array');
  if (arr && !quoted) {
    const inner = encoderFor(arr, true);
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
    const enc = encoderFor(c.type, false);
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
  return {
    table,
    columns: codecs.map((c) => c.name),
    encode(row: object): string {
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        throw invalid(table, '(row)', `expected an object, got ${describe(row)}`);
      }
      const r = row as Record<string, unknown>;
      let line = '';
      let present = 0;
      for (let i = 0; i < n; i++) {
        const c = codecs[i];
        const v = r[c.name];
        let field: string | undefined;
        if (v === undefined) {
          field = c.absent;
          if (field === undefined) throw invalid(table, c.name, `missing (${c.type})`);
        } else {
          present++;
          field = c.encode(v);
          if (field === undefined) throw invalid(table, c.name, `expected ${c.type}, got ${describe(v)}`);
        }
        line += i === 0 ? field : `,${field}`;
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
      return `${line}\n`;
    },
  };
}
