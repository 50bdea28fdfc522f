import { AppError } from '../errors.ts';
import type { AttributeSlot } from './layout.ts';

export const DAY_MS = 86_400_000;

/** A profile as supplied by loaders and the API: attribute name → value (null or absent = unknown). */
export type ProfileInput = Record<string, unknown>;

/** A decoded profile: every catalogue attribute, null where unknown. */
export type Profile = Record<string, number | string | boolean | string[] | null>;

function invalid(slot: AttributeSlot, value: unknown, why: string): AppError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value).slice(0, 40);
  return new AppError('PROFILE_ROW_INVALID', `${slot.attr.name}: ${why} (got ${shown})`, {
    httpStatus: 400,
    details: { attribute: slot.attr.name },
  });
}

function toNumber(slot: AttributeSlot, value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (typeof value === 'string') {
    const n = Number(value.trim());
    if (value.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw invalid(slot, value, 'expected a number');
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days-from-civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (s: string, i: number) => s.charCodeAt(i) - 48;
/** Positions of the digits in 'YYYY-MM-DD'. */
const DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9];

/** 'YYYY-MM-DD' → day number without Date; undefined when it is not exactly such a valid date. */
function isoDateDay(s: string): number | undefined {
  return s.length === 10 ? isoDateDayAt(s, 0) : undefined;
}

/** isoDateDay of the 10 characters of s from `at`. */
function isoDateDayAt(s: string, at: number): number | undefined {
  if (s.charCodeAt(at + 4) !== 45 || s.charCodeAt(at + 7) !== 45) return undefined;
  for (const i of DATE_DIGITS) {
    const c = s.charCodeAt(at + i);
    if (c < 48 || c > 57) return undefined;
  }
  const y = digit(s, at) * 1000 + digit(s, at + 1) * 100 + digit(s, at + 2) * 10 + digit(s, at + 3);
  const m = digit(s, at + 5) * 10 + digit(s, at + 6);
  const d = digit(s, at + 8) * 10 + digit(s, at + 9);
  return civilDay(y, m, d);
}

/** isoDateDay of the 10 bytes (ASCII / UTF-8) of b from `at`: the same reading for scanners of raw lines. */
export function isoDateDayOfBytes(b: Uint8Array, at: number): number | undefined {
  if (b[at + 4] !== 45 || b[at + 7] !== 45) return undefined;
  for (const i of DATE_DIGITS) {
    const c = b[at + i];
    if (c < 48 || c > 57) return undefined;
  }
  const y = (b[at] - 48) * 1000 + (b[at + 1] - 48) * 100 + (b[at + 2] - 48) * 10 + (b[at + 3] - 48);
  const m = (b[at + 5] - 48) * 10 + (b[at + 6] - 48);
  const d = (b[at + 8] - 48) * 10 + (b[at + 9] - 48);
  return civilDay(y, m, d);
}

/** Day number of year y, month m, day d read from digits, or undefined when that is not a valid date. */
function civilDay(y: number, m: number, d: number): number | undefined {
  if (!(y >= 0 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= DAYS_IN_MONTH[m - 1])) return undefined;
  if (m === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return undefined;
  return daysFromCivil(y, m, d);
}

/** UTC day number of a timestamp given as epoch ms or an ISO-8601 date / date-time string. */
export function toDayNumber(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const day = isoDateDay(value);
    if (day !== undefined) return day;
    if (!/^\d{4}-\d{2}-\d{2}[T ]/.test(value)) return undefined;
    ms = Date.parse(value);
  } else if (value instanceof Date) ms = value.getTime();
  else return undefined;
  if (!Number.isFinite(ms)) return undefined;
  return Math.floor(ms / DAY_MS);
}

/** Day number → 'YYYY-MM-DD'. */
export function dayToIso(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', 't']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'f']);

/** A compiled encoder of one attribute: value → raw column value (0 = missing); throws like encodeValue. */
export type Encoder = (value: unknown) => number;

/** Builds the encoder of one attribute once (lookups by Map, no per-value switch on the type). */
export function createEncoder(slot: AttributeSlot): Encoder {
  const attr = slot.attr;
  if (attr.type === 'enum') {
    const codes = new Map(attr.values.map((v, i) => [v, i + 1]));
    return (value) => {
      if (value === null || value === undefined || value === '') return 0;
      const code = typeof value === 'string' ? codes.get(value) : undefined;
      return code ?? encodeValue(slot, value);
    };
  }
  if (attr.type === 'set') {
    const bits = new Map(attr.values.map((v, i) => [v, 1 << i]));
    return (value) => {
      if (Array.isArray(value)) {
        let mask = 0;
        for (let i = 0; i < value.length; i++) {
          const bit = bits.get(value[i]);
          if (bit === undefined) return encodeValue(slot, value);
          mask |= bit;
        }
        return mask >>> 0;
      }
      return encodeValue(slot, value);
    };
  }
  if (attr.type === 'int') {
    const { min, max } = attr;
    return (value) => {
      if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)
        return value - min + 1;
      return encodeValue(slot, value);
    };
  }
  if (attr.type === 'decimal') {
    const { min, max, scale } = attr;
    return (value) => {
      if (typeof value === 'number' && value >= min && value <= max)
        return Math.round((value - min) * scale) + 1;
      return encodeValue(slot, value);
    };
  }
  if (attr.type === 'bool') {
    return (value) => (value === true ? 2 : value === false ? 1 : encodeValue(slot, value));
  }
  if (attr.type === 'timestamp') {
    return (value) => {
      if (typeof value === 'string') {
        const day = isoDateDay(value);
        if (day !== undefined && day >= 1 && day <= 65535) return day;
      }
      return encodeValue(slot, value);
    };
  }
  return (value) => encodeValue(slot, value);
}

/**
 * Encodes one attribute value into its raw column value (0 = missing). Throws PROFILE_ROW_INVALID
 * naming the attribute when the value has the wrong type or is out of range.
 */
export function encodeValue(slot: AttributeSlot, value: unknown): number {
  if (value === null || value === undefined || value === '') return 0;
  const attr = slot.attr;
  switch (attr.type) {
    case 'int': {
      const n = toNumber(slot, value);
      if (!Number.isInteger(n)) throw invalid(slot, value, 'expected an integer');
      if (n < attr.min || n > attr.max) throw invalid(slot, value, `out of range ${attr.min}..${attr.max}`);
      return n - attr.min + 1;
    }
    case 'decimal': {
      const n = toNumber(slot, value);
      if (n < attr.min || n > attr.max) throw invalid(slot, value, `out of range ${attr.min}..${attr.max}`);
      return Math.round((n - attr.min) * attr.scale) + 1;
    }
    case 'enum': {
      const i = typeof value === 'string' ? attr.values.indexOf(value) : -1;
      if (i < 0) throw invalid(slot, value, `expected one of ${attr.values.join(', ')}`);
      return i + 1;
    }
    case 'bool': {
      if (value === true) return 2;
      if (value === false) return 1;
      if (typeof value === 'string') {
        const w = value.trim().toLowerCase();
        if (TRUE_WORDS.has(w)) return 2;
        if (FALSE_WORDS.has(w)) return 1;
      }
      if (value === 1) return 2;
      if (value === 0) return 1;
      throw invalid(slot, value, 'expected a boolean');
    }
    case 'set': {
      // CSV cells carry sets as "a|b|c"
      const items = typeof value === 'string' ? value.split('|') : value;
      if (!Array.isArray(items)) throw invalid(slot, value, 'expected a list');
      let mask = 0;
      for (const item of items) {
        const i = typeof item === 'string' ? attr.values.indexOf(item.trim()) : -1;
        if (i < 0) throw invalid(slot, item, `unknown member; expected ${attr.values.join(', ')}`);
        mask |= 1 << i;
      }
      return mask >>> 0;
    }
    case 'timestamp': {
      const day = toDayNumber(value);
      if (day === undefined) throw invalid(slot, value, 'expected epoch ms or an ISO-8601 date');
      if (day < 1 || day > 65535) throw invalid(slot, value, 'date out of range 1970-01-02..2149-06-06');
      return day;
    }
  }
}

/** Decodes a raw column value back into the API form (null when missing). */
export function decodeValue(slot: AttributeSlot, raw: number): number | string | boolean | string[] | null {
  const attr = slot.attr;
  if (attr.type === 'set') {
    const out: string[] = [];
    for (let i = 0; i < attr.values.length; i++) if (raw & (1 << i)) out.push(attr.values[i]);
    return out;
  }
  if (raw === 0) return null;
  switch (attr.type) {
    case 'int':
      return raw - 1 + attr.min;
    case 'decimal':
      return Math.round(((raw - 1) / attr.scale + attr.min) * attr.scale) / attr.scale;
    case 'enum':
      return attr.values[raw - 1];
    case 'bool':
      return raw === 2;
    case 'timestamp':
      return dayToIso(raw);
  }
}
