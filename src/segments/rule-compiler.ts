import { AppError } from '../errors.ts';
import { ATTRIBUTES, type Attribute } from './catalogue.ts';
import { DAY_MS, encodeValue, toDayNumber } from './codec.ts';
import {
  ALIVE_BIT,
  type AttributeSlot,
  buildLayout,
  type Layout,
  type ProfileRows,
  rawLevels,
  readRaw,
} from './layout.ts';
import type { ProfileStore } from './profile-store.ts';
import { type LeafRule, ruleShapeSchema, type SegmentRule, validateRule } from './rule-schema.ts';

/** The compiled predicate: the store's rows, slot, today's UTC day number. Allocation-free. */
export type SlotTest = (rows: ProfileRows, slot: number, today: number) => boolean;

export interface CompiledSegment {
  readonly rule: SegmentRule;
  /** The raw predicate, for hot loops that already hold `store.rows` and the day number. */
  readonly test: SlotTest;
  /** True when the profile at `slot` (from `store.slotOf`; −1 gives false) is in the segment at time `nowMs`. */
  matches(store: ProfileStore, slot: number, nowMs: number): boolean;
  /** True when sid has a profile that is in the segment (false for unknown sids). */
  matchesSid(store: ProfileStore, sid: string, nowMs: number): boolean;
  /** Number of live profiles in the segment. */
  count(store: ProfileStore, nowMs: number): number;
  /** Up to `limit` matching sids, a uniform random sample (seeded) of all matches. */
  sample(store: ProfileStore, nowMs: number, limit: number, seed?: number): string[];
  /** Matching profiles counted per value of one attribute (enum, bool, int, set); unknown values under `null`. */
  breakdown(
    store: ProfileStore,
    nowMs: number,
    attr: string,
  ): { total: number; groups: Record<string, number> };
}

/** Emits an integer literal; refuses anything else so generated code holds only validated numbers. */
function lit(n: number): string {
  if (!Number.isSafeInteger(n)) throw new AppError('INTERNAL', `segment compiler: non-integer literal ${n}`);
  return n < 0 ? `(${n})` : String(n);
}

/** Raw value of a rule operand for the attribute (validated beforehand). */
function rawOf(slot: AttributeSlot, value: unknown): number {
  if (slot.attr.type === 'timestamp') return toDayNumber(value)!;
  return encodeValue(slot, value);
}

function setMask(slot: AttributeSlot, values: readonly unknown[]): number {
  return encodeValue(slot, values) | 0;
}

/**
 * Expression of an attribute's raw value in generated code, where `b` is the u8 view, `h` the u16 view,
 * `o` the row's byte offset and `w` its u16 offset (o / 2). u32 fields are read as two u16 halves: a
 * bool from the half holding its bits, a set as an int32 bitset (masks are int32 too), other u32 values
 * as exact unsigned numbers.
 */
function fieldCode(slot: AttributeSlot): string {
  const { kind, offset, shift, mask } = slot;
  if (kind === 'u8') return `b[o + ${lit(offset)}]`;
  const lo = `h[w + ${lit(offset >> 1)}]`;
  const hi = `h[w + ${lit((offset >> 1) + 1)}]`;
  if (kind === 'bits') {
    if (shift === 0) return `(${lo} & ${lit(mask)})`;
    // The field in the word's top bits needs no mask.
    return mask * 2 ** shift === 65536 - 2 ** shift
      ? `(${lo} >>> ${lit(shift)})`
      : `((${lo} >>> ${lit(shift)}) & ${lit(mask)})`;
  }
  if (kind === 'u16') return lo;
  if (slot.attr.type === 'bool')
    return shift < 16 ? `((${lo} >>> ${lit(shift)}) & 3)` : `((${hi} >>> ${lit(shift - 16)}) & 3)`;
  if (slot.attr.type === 'set') return `(${lo} | (${hi} << 16))`;
  return `(${lo} + ${hi} * 65536)`;
}

/**
 * The connectives of generated code: `&&`/`||` (short-circuit, for scans) or `&`/`|` (every leaf
 * evaluated, no data-dependent branch). Leaves are side-effect-free reads of one row, so both give the
 * same answer; the second keeps random lookups from mispredicting on 50/50 conditions, which throws
 * away the next lookups' memory reads the CPU had already started.
 */
interface Ops {
  and: string;
  or: string;
}
const SHORT: Ops = { and: ' && ', or: ' || ' };
const FLAT: Ops = { and: ' & ', or: ' | ' };

function leafCode(rule: LeafRule, slot: AttributeSlot, ops: Ops): string {
  const v = fieldCode(slot);
  const r = (x: unknown) => lit(rawOf(slot, x));
  switch (rule.op) {
    case 'exists':
      return `(${v} !== 0)`;
    case 'eq':
      return `(${v} === ${r(rule.value)})`;
    case 'ne':
      return `(${v} !== 0${ops.and}${v} !== ${r(rule.value)})`;
    case 'gt':
      return `(${v} > ${r(rule.value)})`;
    case 'gte':
      return `(${v} >= ${r(rule.value)})`;
    case 'lt':
      return `(${v} !== 0${ops.and}${v} < ${r(rule.value)})`;
    case 'lte':
      return `(${v} !== 0${ops.and}${v} <= ${r(rule.value)})`;
    case 'between': {
      const [lo, hi] = rule.value as [unknown, unknown];
      return `(${v} !== 0${ops.and}${v} >= ${r(lo)}${ops.and}${v} <= ${r(hi)})`;
    }
    case 'in':
    case 'not_in': {
      const raws = [...new Set(rule.values!.map((x) => rawOf(slot, x)))];
      const anyOf =
        rawLevels(slot.attr) <= 32 && raws.length > 2
          ? `((${lit(raws.reduce((m, x) => m | (1 << x), 0) | 0)} >>> ${v}) & 1) === 1`
          : raws.map((x) => `${v} === ${lit(x)}`).join(ops.or);
      return rule.op === 'in' ? `(${anyOf})` : `(${v} !== 0${ops.and}!(${anyOf}))`;
    }
    case 'has_any':
      return `((${v} & ${lit(setMask(slot, rule.values!))}) !== 0)`;
    case 'has_all': {
      const m = lit(setMask(slot, rule.values!));
      return `((${v} & ${m}) === ${m})`;
    }
    case 'has_none':
      return `((${v} & ${lit(setMask(slot, rule.values!))}) === 0)`;
    case 'current_month':
      return `(${v} === month(t) + ${lit(1 - (slot.attr as { min: number }).min)})`;
    case 'inactive_for_days':
      // days since = today − day ≥ N  ⇔  day ≤ today − N
      return `(${v} !== 0${ops.and}${v} <= t - ${lit(rule.days!)})`;
    case 'days_since': {
      const parts = [`${v} !== 0`];
      if (rule.gte !== undefined) parts.push(`${v} <= t - ${lit(rule.gte)}`);
      if (rule.lte !== undefined) parts.push(`${v} >= t - ${lit(rule.lte)}`);
      return `(${parts.join(ops.and)})`;
    }
  }
}

function ruleCode(rule: SegmentRule, layout: Layout, ops: Ops = SHORT): string {
  if ('all' in rule) return `(${rule.all.map((r) => ruleCode(r, layout, ops)).join(ops.and)})`;
  if ('any' in rule) return `(${rule.any.map((r) => ruleCode(r, layout, ops)).join(ops.or)})`;
  if ('not' in rule) return `!${ruleCode(rule.not, layout, ops)}`;
  return leafCode(rule, layout.byName.get(rule.attr)!, ops);
}

/** Validates a rule (structure and catalogue) and throws SEGMENT_INVALID (400) listing every issue. */
export function assertValidRule(rule: unknown, catalogue: readonly Attribute[] = ATTRIBUTES): SegmentRule {
  const shape = ruleShapeSchema.safeParse(rule);
  if (!shape.success) {
    const issues = shape.error.issues.map((i) => ({ path: i.path, reason: 'malformed', message: i.message }));
    throw new AppError('SEGMENT_INVALID', `segment rule is malformed: ${issues[0]?.message}`, {
      httpStatus: 400,
      details: { errors: issues, problem: 'malformed' },
    });
  }
  const issues = validateRule(shape.data, catalogue);
  if (issues.length > 0) {
    throw new AppError(
      'SEGMENT_INVALID',
      `segment rule is invalid: ${issues.map((i) => i.message).join('; ')}`,
      {
        httpStatus: 400,
        details: { errors: issues, problem: issues[0].reason },
      },
    );
  }
  return shape.data;
}

/** Month (1–12) of a UTC day number, without allocating a Date (Hinnant's civil-from-days). */
export function monthOfDay(day: number): number {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  return mp < 10 ? mp + 3 : mp - 9;
}

/** monthOfDay remembering its last answer: the day rarely changes between evaluations. */
function memoMonth(): (day: number) => number {
  let lastDay = Number.NaN;
  let lastMonth = 0;
  return (day) => {
    if (day !== lastDay) {
      lastDay = day;
      lastMonth = monthOfDay(day);
    }
    return lastMonth;
  };
}

const layouts = new WeakMap<readonly Attribute[], Layout>();
function layoutOf(catalogue: readonly Attribute[]): Layout {
  let layout = layouts.get(catalogue);
  if (!layout) {
    layout = buildLayout(catalogue);
    layouts.set(catalogue, layout);
  }
  return layout;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Validates a rule against the catalogue and compiles it once into generated code over the store's
 * rows. The code is built only from catalogue field offsets and integers computed here, never
 * from rule text, so a rule cannot inject code.
 */
export function compileSegment(
  rule: SegmentRule,
  catalogue: readonly Attribute[] = ATTRIBUTES,
): CompiledSegment {
  const valid = assertValidRule(rule, catalogue);
  const layout = layoutOf(catalogue);
  const expr = ruleCode(valid, layout);
  // The single-slot test is branch-free (every leaf evaluated); the scan keeps short-circuits.
  const flat = ruleCode(valid, layout, FLAT);
  const stride = layout.bytesPerSlot;
  // one row per subscriber: every attribute the rule reads sits within the same 1–2 cache lines
  const test = new Function(
    'month',
    `return function test(rows, s, t) {\nconst b = rows.u8, h = rows.u16, o = s * ${lit(stride)}, w = s * ${lit(stride >> 1)};\nreturn !!(${flat});\n};`,
  )(memoMonth()) as SlotTest;

  // the scan walks the rows in order; the live bit is bit 15 of the first flags word's high half
  const live = `h[w + ${lit((layout.flagsOffset >> 1) + 1)}] & ${lit(ALIVE_BIT >>> 16)}`;
  const countFn = new Function(
    'month',
    `return function count(rows, n, t) {\nconst b = rows.u8, h = rows.u16;\nlet k = 0;\nfor (let s = 0, o = 0, w = 0; s < n; s++, o += ${lit(stride)}, w += ${lit(stride >> 1)}) if ((${live}) !== 0 && ${expr}) k++;\nreturn k;\n};`,
  )(memoMonth()) as (rows: ProfileRows, n: number, t: number) => number;

  const checkStore = (store: ProfileStore) => {
    if (store.catalogue !== catalogue) {
      throw new AppError('INTERNAL', 'segment compiled for another attribute catalogue than the store');
    }
  };
  const today = (nowMs: number) => Math.floor(nowMs / DAY_MS);

  const compiled: CompiledSegment = {
    rule: valid,
    test,
    matches(store, slot, nowMs) {
      // an unknown sid's slot (−1) must not read as "every attribute missing", which `not` rules would match
      return slot >= 0 && test(store.rows, slot, Math.floor(nowMs / DAY_MS));
    },
    matchesSid(store, sid, nowMs) {
      const slot = store.slotOf(sid);
      return slot >= 0 && test(store.rows, slot, Math.floor(nowMs / DAY_MS));
    },
    count(store, nowMs) {
      checkStore(store);
      return countFn(store.rows, store.highWater, today(nowMs));
    },
    sample(store, nowMs, limit, seed = Date.now()) {
      checkStore(store);
      const t = today(nowMs);
      const rows = store.rows;
      const picked: number[] = [];
      const random = mulberry32(seed);
      let seen = 0;
      for (let s = 0; s < store.highWater; s++) {
        if (!store.isLive(s) || !test(rows, s, t)) continue;
        // reservoir sampling: each match ends up in the sample with probability limit / matches
        if (picked.length < limit) picked.push(s);
        else {
          const j = Math.floor(random() * (seen + 1));
          if (j < limit) picked[j] = s;
        }
        seen++;
      }
      return picked.map((s) => store.sidAt(s)!);
    },
    breakdown(store, nowMs, attrName) {
      checkStore(store);
      const slot = layout.byName.get(attrName);
      const attr = slot?.attr;
      if (
        !slot ||
        !attr ||
        attr.type === 'decimal' ||
        attr.type === 'timestamp' ||
        (attr.type === 'int' && rawLevels(attr) > 65536)
      ) {
        throw new AppError(
          'VALIDATION_FAILED',
          `cannot break down by ${JSON.stringify(attrName)}; use an enum, bool, int or set attribute`,
          {
            httpStatus: 400,
          },
        );
      }
      const t = today(nowMs);
      const rows = store.rows;
      const isSet = attr.type === 'set';
      const counts = new Float64Array(isSet ? 33 : attr.type === 'bool' ? 4 : rawLevels(attr));
      let total = 0;
      for (let s = 0; s < store.highWater; s++) {
        if (!store.isLive(s) || !test(rows, s, t)) continue;
        total++;
        const raw = readRaw(rows, stride, s, slot);
        if (!isSet) counts[raw]++;
        else if (raw === 0) counts[32]++;
        else for (let b = 0; b < 32; b++) if (raw & (1 << b)) counts[b]++;
      }
      const groups: Record<string, number> = {};
      if (attr.type === 'set') {
        attr.values.forEach((name, b) => {
          if (counts[b] > 0) groups[name] = counts[b];
        });
        if (counts[32] > 0) groups.null = counts[32];
      } else {
        for (let raw = 0; raw < counts.length; raw++) {
          if (counts[raw] === 0) continue;
          let key: string;
          if (raw === 0) key = 'null';
          else if (attr.type === 'enum') key = attr.values[raw - 1];
          else if (attr.type === 'bool') key = String(raw === 2);
          else key = String(raw - 1 + (attr.type === 'int' ? attr.min : 0));
          groups[key] = counts[raw];
        }
      }
      return { total, groups };
    },
  };
  return compiled;
}
