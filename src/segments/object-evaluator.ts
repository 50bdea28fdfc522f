import { ATTRIBUTES, type Attribute, attributeMap } from './catalogue.ts';
import { DAY_MS, type ProfileInput, toDayNumber } from './codec.ts';
import { assertValidRule, monthOfDay } from './rule-compiler.ts';
import type { LeafRule, SegmentRule } from './rule-schema.ts';

/**
 * Evaluates a rule directly over a plain profile object (the API/NDJSON form), with the same semantics
 * as the compiled predicate: a leaf on an unknown value is false, sets default to empty, timestamps in
 * whole UTC days. The straightforward interpreter: the benchmark's baseline and the tests' reference.
 */
export function createObjectEvaluator(
  rule: SegmentRule,
  catalogue: readonly Attribute[] = ATTRIBUTES,
): (profile: ProfileInput, nowMs: number) => boolean {
  const valid = assertValidRule(rule, catalogue);
  const attrs = attributeMap(catalogue);
  const day = (x: unknown) => toDayNumber(x) as number;

  const leaf = (r: LeafRule, p: ProfileInput, today: number): boolean => {
    const attr = attrs.get(r.attr)!;
    const raw = p[r.attr];
    if (attr.type === 'set') {
      const have = typeof raw === 'string' ? raw.split('|') : Array.isArray(raw) ? (raw as string[]) : [];
      const want = r.values as string[] | undefined;
      if (r.op === 'exists') return have.length > 0;
      if (r.op === 'has_any') return want!.some((w) => have.includes(w));
      if (r.op === 'has_all') return want!.every((w) => have.includes(w));
      return !want!.some((w) => have.includes(w));
    }
    if (raw === null || raw === undefined || raw === '') return false;
    const isTs = attr.type === 'timestamp';
    const v = isTs ? day(raw) : raw;
    const operand = (x: unknown) => (isTs ? day(x) : x);
    switch (r.op) {
      case 'exists':
        return true;
      case 'eq':
        return v === operand(r.value);
      case 'ne':
        return v !== operand(r.value);
      case 'gt':
        return (v as number) > (operand(r.value) as number);
      case 'gte':
        return (v as number) >= (operand(r.value) as number);
      case 'lt':
        return (v as number) < (operand(r.value) as number);
      case 'lte':
        return (v as number) <= (operand(r.value) as number);
      case 'between': {
        const [lo, hi] = r.value as [unknown, unknown];
        return (v as number) >= (operand(lo) as number) && (v as number) <= (operand(hi) as number);
      }
      case 'in':
        return r.values!.some((x) => operand(x) === v);
      case 'not_in':
        return !r.values!.some((x) => operand(x) === v);
      case 'current_month':
        return v === monthOfDay(today);
      case 'inactive_for_days':
        return today - (v as number) >= r.days!;
      case 'days_since': {
        const d = today - (v as number);
        return (r.gte === undefined || d >= r.gte) && (r.lte === undefined || d <= r.lte);
      }
      default:
        return false;
    }
  };

  const walk = (r: SegmentRule, p: ProfileInput, today: number): boolean => {
    if ('all' in r) return r.all.every((c) => walk(c, p, today));
    if ('any' in r) return r.any.some((c) => walk(c, p, today));
    if ('not' in r) return !walk(r.not, p, today);
    return leaf(r, p, today);
  };

  return (profile, nowMs) => walk(valid, profile, Math.floor(nowMs / DAY_MS));
}
