import {
  ATTRIBUTES,
  type Attribute,
  createRandom,
  type LeafRule,
  opsFor,
  type ProfileInput,
  type SegmentRule,
} from './helpers.ts';

/**
 * Seeded random rules over the whole catalogue: every operator on every attribute type, values drawn
 * from a sample of real profiles (so rules select something) or from the attribute's range.
 */
export function createRuleGenerator(seed: number, sample: readonly ProfileInput[], nowMs: number) {
  const random = createRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pickOf = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const today = Math.floor(nowMs / 86_400_000);

  const pickValue = (attr: Attribute): number | string | boolean => {
    const seen = sample[int(0, sample.length - 1)]?.[attr.name];
    switch (attr.type) {
      case 'int':
        return typeof seen === 'number' && random() < 0.7 ? seen : int(attr.min, attr.max);
      case 'decimal':
        return typeof seen === 'number' && random() < 0.7
          ? seen
          : int(attr.min * attr.scale, attr.max * attr.scale) / attr.scale;
      case 'enum':
      case 'set':
        return pickOf(attr.values);
      case 'bool':
        return random() < 0.5;
      case 'timestamp':
        return typeof seen === 'string' && random() < 0.7
          ? seen
          : new Date((today - int(0, 400)) * 86_400_000).toISOString().slice(0, 10);
    }
  };
  const sorted = (a: number | string, b: number | string): [number | string, number | string] =>
    a <= b ? [a, b] : [b, a];

  const leaf = (): LeafRule => {
    const attr = pickOf(ATTRIBUTES);
    const op = pickOf(
      opsFor(attr.type).filter((o) => o !== 'current_month' || attr.name === 'birthday_month'),
    );
    const base = { attr: attr.name, op };
    switch (op) {
      case 'exists':
      case 'current_month':
        return base;
      case 'between':
        return { ...base, value: sorted(pickValue(attr) as number, pickValue(attr) as number) };
      case 'in':
      case 'not_in':
      case 'has_any':
      case 'has_all':
      case 'has_none':
        return { ...base, values: Array.from({ length: int(1, 4) }, () => pickValue(attr)) };
      case 'inactive_for_days':
        return { ...base, days: int(0, 120) };
      case 'days_since': {
        const r = random();
        const a = int(0, 90);
        const b = a + int(0, 90);
        return r < 0.33 ? { ...base, gte: a } : r < 0.66 ? { ...base, lte: b } : { ...base, gte: a, lte: b };
      }
      default:
        return { ...base, value: pickValue(attr) };
    }
  };

  const rule = (depth = 0): SegmentRule => {
    const r = random();
    if (depth >= 3 || r < 0.4) return leaf();
    if (r < 0.6) return { all: Array.from({ length: int(1, 3) }, () => rule(depth + 1)) };
    if (r < 0.85) return { any: Array.from({ length: int(1, 3) }, () => rule(depth + 1)) };
    return { not: rule(depth + 1) };
  };
  return { rule, leaf };
}
